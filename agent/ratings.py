"""The user's own view of each colleague: ratings, role, cadence; pausing and letting go."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from agent.addresses import normalise_email
from agent.errors import UserError
from agent.storage import people_records
from agent.storage.store import Store

ROLES = ("sponsor", "anti-sponsor", "neutral")
_CADENCE = re.compile(r"^\s*(\d+)\s*([dwm]?)\s*$")


def parse_cadence(text: str) -> int:
    """Days from '30d', '2w', '1m' or a bare number of days."""
    match = _CADENCE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise UserError(f"cadence {text!r} must look like 30d, 2w or 1m")
    number, unit = int(match.group(1)), match.group(2) or "d"
    return number * {"d": 1, "w": 7, "m": 30}[unit]


def rate(store: Store, email: str, now: datetime, **fields: object) -> dict:
    """Set any of vital, quality, trust (1-5), role, cadence_days, motivators, demotivators, name."""
    address = normalise_email(email)
    for key in ("vital", "quality", "trust"):
        value = fields.get(key)
        if value is not None and not (isinstance(value, int) and 1 <= value <= 5):
            raise UserError(f"--{key} must be a number from 1 to 5")
    if fields.get("role") is not None and fields["role"] not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}")
    return people_records.save_rating(
        store, address, {k: v for k, v in fields.items() if v is not None}, now)


def pause(store: Store, email: str, until: datetime, reason: str) -> None:
    """Leave `email` alone until `until` (no touchbase, not in reconnect lists)."""
    people_records.pause(store, normalise_email(email), until, reason)


def pause_for(store: Store, email: str, now: datetime, days: int, reason: str) -> datetime:
    """Pause `email` for `days` days from `now`; returns the end of the pause."""
    until = now + timedelta(days=days)
    pause(store, email, until, reason)
    return until


def resume(store: Store, email: str) -> None:
    """End a pause and take back a let-go."""
    people_records.resume(store, normalise_email(email))


def let_go(store: Store, email: str, now: datetime) -> None:
    """Stop suggesting `email`: no touchbase, not in reconnect lists (undo with resume)."""
    people_records.let_go(store, normalise_email(email), now)
