"""Contact the user logs outside the calendar (`touchbase log`): a call, a coffee, a chat.

A logged interaction is contact that took place: it counts for a colleague's status, strength
and last contact, never as a calendar meeting (meetings, 1:1s and reciprocity stay calendar
figures). Private like notes: it never goes into anything that can be sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.errors import UserError
from agent.model import Interaction
from agent.storage import interactions as logged
from agent.storage.store import Store

KINDS = ("call", "coffee", "chat", "email", "other")
DEFAULT_KIND = "other"
NOON = time(12, 0)
"""A logged date without a time is read as noon of that day in the user's zone."""


def parse_when(text: str | None, zone: ZoneInfo, now: datetime) -> datetime:
    """The moment `--when` names: today (now, the default), yesterday (noon), a date (noon that
    day), or an ISO 8601 time (local to the user's zone unless it carries an offset).

    A moment in the future is refused: a logged interaction is contact that took place.
    """
    word = (text or "today").strip().lower()
    if word == "today":
        return now
    if word == "yesterday":
        return datetime.combine(now.astimezone(zone).date() - timedelta(days=1), NOON, zone)
    moment = _parse_moment((text or "").strip(), zone)
    if moment > now + timedelta(minutes=1):
        raise UserError(f"--when {text!r} is in the future: log contact that took place")
    return moment


def _parse_moment(text: str, zone: ZoneInfo) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), NOON, zone)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--when {text!r} must be a date (2026-03-09) or an ISO 8601 time "
                        "(2026-03-09T15:30)") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def log_interaction(store: Store, email: str, at: datetime, kind: str, note: str,
                    now: datetime) -> Interaction:
    """Record contact with `email` (already normalised) at `at`; returns it."""
    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}")
    return logged.add(store, Interaction(0, email, at, kind, (note or "").strip()), now)


def interactions_of(store: Store, email: str, since: datetime | None = None,
                    until: datetime | None = None) -> list[Interaction]:
    """Logged interactions with `email`, newest first, optionally within [since, until]."""
    return logged.with_person(store, email, since, until)


def all_interactions(store: Store, until: datetime | None = None) -> list[Interaction]:
    """Every logged interaction up to `until`, oldest first."""
    return logged.up_to(store, until)


@dataclass
class ContactLog:
    """Per colleague: the latest logged interaction and how many fall in the window."""

    latest: dict[str, datetime]
    in_window: dict[str, int]


def contact_log(store: Store, window_start: datetime, now: datetime) -> ContactLog:
    """The logged interactions up to `now`, summed per colleague (one query)."""
    latest: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for item in all_interactions(store, until=now):
        latest[item.email] = item.at
        if item.at >= window_start:
            counts[item.email] = counts.get(item.email, 0) + 1
    return ContactLog(latest, counts)
