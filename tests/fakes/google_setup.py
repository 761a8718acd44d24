"""Test set-up around the Google emulator: a started emulator, a token file, a config."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from agent.config import load_config
from agent.sync import open_connector
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
