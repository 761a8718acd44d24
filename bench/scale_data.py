"""Shared pieces of the scale benchmarks (digest_scale, planner_scale, heal_scale): the user, a synthetic
small meeting, and a config with its store in a scratch folder."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.configuration.loader import Config, parse_config
from agent.model import Attendee, Occurrence

USER = "me@acme.example"


def meeting(uid: str, start: datetime, email: str, name: str, minutes: int = 30) -> Occurrence:
    """A meeting the user organised with one colleague."""
    return Occurrence(
        resource=uid, key=f"{uid}|{start.isoformat()}", title=f"1:1 {name}", start=start,
        end=start + timedelta(minutes=minutes), organizer=USER,
        attendees=(Attendee(email=email, name=name, response="accepted"),),
    )


def busy_weeks(now: datetime, days: int = 42) -> list[Occurrence]:
    """Six one-hour team meetings on each working day of the next `days` (the user's busy time)."""
    result = []
    for day in range(days):
        date = (now + timedelta(days=day)).date()
        if date.weekday() >= 5:
            continue
        for slot in range(6):
            start = datetime(date.year, date.month, date.day, 9 + slot + (slot >= 3), 0, tzinfo=now.tzinfo)
            result.append(meeting(f"busy-{day}-{slot}", start, "team@acme.example", "Team", minutes=60))
    return result


def scale_config(folder: str, **sections: dict[str, Any]) -> Config:
    """The benchmarks' config: store and .ics source in `folder`, plus `sections`."""
    return parse_config({
        "user": {"email": USER, "timezone": "Europe/Berlin"},
        "colleagues": {"internal_domains": ["acme.example"]},
        "store": {"path": str(Path(folder) / "touchbase.db")},
        "sources": [{"name": "work", "type": "ics", "path": str(Path(folder) / "cal.ics")}],
        **sections,
    })


def timed(run: Callable[[], Any]) -> tuple[Any, float, float]:
    """(what `run` returns, its CPU seconds, its wall seconds). CPU time is the figure the
    goals are judged on: the machines are shared and wall time swings with their load."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return result, time.process_time() - cpu, time.perf_counter() - wall
