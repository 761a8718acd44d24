"""Test set-up around the Google emulator: a token file, a config, event bodies.

The `google` and `fast_retries` fixtures are in tests/conftest.py.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from agent.configuration.loader import load_config
from agent.sources import open_connector
from connectors.base import Connector
from tests.fakes.google_api import GoogleEmulator
from tests.helpers import write_config

SOURCE = "gwork"


def write_token(path: Path, info: dict) -> Path:
    """An authorized-user token file (mode 0600) as `touchbase auth google` leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info), encoding="utf-8")
    os.chmod(path, 0o600)
    return path


def google_source(emulator: GoogleEmulator, name: str = SOURCE,
                  calendars: list[str] | None = None, send_updates: str = "all") -> str:
    """The [[sources]] entry of a google source served by `emulator`."""
    return (f'[[sources]]\nname = "{name}"\ntype = "google"\n'
            f'api_endpoint = "{emulator.url}"\ncalendars = {json.dumps(calendars or ["primary"])}\n'
            f'send_updates = "{send_updates}"\n\n')


def google_config(tmp_path: Path, emulator: GoogleEmulator, extra: str = "",
                  calendars: list[str] | None = None, scopes: list[str] | None = None,
                  ics_paths: list[Path] | None = None) -> Path:
    """A config whose google source reads `emulator`, with a granted token in place."""
    config = write_config(tmp_path, ics_paths or [], extra=google_source(emulator, calendars=calendars) + extra)
    write_token(tmp_path / "data" / "tokens" / f"{SOURCE}.json", emulator.grant(scopes))
    return config


def open_google(config_path: Path, now: datetime, name: str = SOURCE) -> Connector:
    """The google connector of `config_path` as the agent opens it."""
    config = load_config(config_path)
    return open_connector(config, config.source(name), now)


ZONE = "Europe/Berlin"


def timed(local: str, zone: str = ZONE) -> dict:
    """A start/end object for a wall-clock time ("2026-10-05T10:00") in `zone`."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))
    return {"dateTime": moment.isoformat(), "timeZone": zone}


def gev(event_id: str, start: str, minutes: int = 30, attendees: tuple = (),
        organizer: str = "", summary: str = "Meeting", recurrence: list[str] | None = None,
        **extra: object) -> dict:
    """A Google event body; attendees are (email, responseStatus) or (email, status, {extra})."""
    end = (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()
    body: dict = {"id": event_id, "summary": summary, "start": timed(start), "end": timed(end)}
    people = []
    for entry in attendees:
        email, status = entry[0], entry[1]
        person = {"email": email, "responseStatus": status}
        if len(entry) > 2:
            person.update(entry[2])
        people.append(person)
    if people:
        body["attendees"] = people
    if organizer:
        body["organizer"] = {"email": organizer}
    if recurrence:
        body["recurrence"] = recurrence
    body.update(extra)
    return body
