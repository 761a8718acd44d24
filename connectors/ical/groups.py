"""Reading the copies of one UID leniently: parse, repair, merge the copies, check, expand.

A UID group is the VEVENT blocks of one UID (`connectors.ical.blocks`) with the VTIMEZONE blocks
worth giving the parser (`connectors.ical.zones`). It is parsed as one calendar text and read
(`read_events`): its copies read leniently and merged (`connectors.ical.copies`), its series
checked for runaway work (`connectors.ical.bounds`), then expanded; so a malformed event is named
and skipped, and what was left out or repaired comes back as notes (`sync --verbose`). A group
that does not parse as a whole is parsed block by block (a copy that does not parse is left
out, not the event).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import icalendar

from agent.model import Occurrence
from connectors.ical import bounds
from connectors.ical import read as ical
from connectors.ical.blocks import top_level_value
from connectors.ical.bounds import TooSlow, series_problem, time_limit
from connectors.ical.copies import only_messages, repair, resolve_copies

if TYPE_CHECKING:
    from connectors.base import ConnectorContext

WR_TIMEZONE_PROPERTY = "X-TOUCHBASE-WR-TIMEZONE"
"""Where the connector puts the X-WR-TIMEZONE of the VCALENDAR an event came from."""

HEAD = b"BEGIN:VCALENDAR\nVERSION:2.0\n"
FOOT = b"END:VCALENDAR\n"


class GroupError(ValueError):
    """One UID group cannot be read; the message says why."""


def parse_group(timezones: bytes, blocks: list[bytes], context: ConnectorContext, zone: ZoneInfo,
                uid: str) -> list[Occurrence]:
    """Parse and expand the events of one UID over the context's window."""
    start, end = context.window_start, context.window_end
    occurrences, _ = read_group(timezones, blocks, start, end, zone)
    for occ in occurrences:
        occ.resource = uid
    return occurrences


def read_group(timezones: bytes, blocks: list[bytes], start: datetime, end: datetime,
                zone: ZoneInfo) -> tuple[list[Occurrence], list[str]]:
    """One group parsed on its own; should it not parse as a whole, each block on its own
    (a block that does not parse is left out and noted)."""
    try:
        calendar = icalendar.Calendar.from_ical(HEAD + timezones + b"".join(blocks) + FOOT)
        zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
        events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
        if len(events) != len(blocks):
            raise GroupError("the blocks do not parse into one event each")
        return read_events(zones, events, start, end, zone)
    except GroupError:
        if len(blocks) == 1:
            raise
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        if len(blocks) == 1:
            raise GroupError(reason(exc)) from None
    return _read_block_by_block(timezones, blocks, start, end, zone)


def _read_block_by_block(timezones: bytes, blocks: list[bytes], start: datetime, end: datetime,
                         zone: ZoneInfo) -> tuple[list[Occurrence], list[str]]:
    zones: list = []
    events: list = []
    notes: list[str] = []
    problem = ""
    for block in blocks:
        try:
            calendar = icalendar.Calendar.from_ical(HEAD + timezones + block + FOOT)
        except Exception as exc:  # noqa: BLE001 - one copy that does not parse is left out
            problem = problem or reason(exc)
            notes.append(f"left out a copy that does not parse ({reason(exc)})")
            continue
        zones = zones or [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
        events += [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if not events:
        raise GroupError(problem or "no event")
    occurrences, more = read_events(zones, events, start, end, zone)
    return occurrences, notes + more


def read_events(zones: list, events: list, start: datetime, end: datetime,
                zone: ZoneInfo) -> tuple[list[Occurrence], list[str]]:
    """The occurrences in [start, end) of one UID's parsed copies, and notes on what was
    repaired or left out; raises GroupError when nothing of it can be counted."""
    messages = only_messages(events)
    if messages:
        return [], [messages]
    problems: list[str] = []
    notes: list[str] = []
    for event in events:
        problem, repaired = repair(event)
        problems.append(problem)
        notes += repaired
    winners, merged = resolve_copies(events, problems)
    notes += merged
    if not winners:
        raise GroupError(next((p for p in problems if p), "no usable copy"))
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.subcomponents.extend(zones)
    calendar.subcomponents.extend(winners)
    calendar = _google_zone(calendar, winners, notes)
    if not any(event.get("RRULE") is not None for event in winners):
        return ical.expand(calendar, start, end, zone), notes
    try:
        with time_limit(bounds.SERIES_SECONDS):
            for event in winners:
                problem = series_problem(event, start, end)
                if problem:
                    raise GroupError(f"series skipped: {problem}")
            return ical.expand(calendar, start, end, zone), notes
    except TooSlow:
        raise GroupError(f"series skipped: expanding it took more than {bounds.SERIES_SECONDS:g} s") from None


def _google_zone(calendar: icalendar.Calendar, events: list, notes: list[str]) -> icalendar.Calendar:
    """The calendar as Google shows it when its events came with an X-WR-TIMEZONE."""
    names = {str(e.pop(WR_TIMEZONE_PROPERTY)).strip() for e in events if WR_TIMEZONE_PROPERTY in e}
    if not names:
        return calendar
    import x_wr_timezone

    name = sorted(names)[0]
    try:
        calendar.add("X-WR-TIMEZONE", name)
        return x_wr_timezone.to_standard(calendar)
    except Exception as exc:  # noqa: BLE001 - an unknown X-WR-TIMEZONE is ignored
        notes.append(f"ignored X-WR-TIMEZONE {name!r} ({reason(exc)})")
        calendar.pop("X-WR-TIMEZONE", None)
        return calendar


def reason(exc: Exception) -> str:
    """The first line of an error, for the one line naming a skipped event."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def label(uid: str, blocks: list[bytes]) -> str:
    """How a skipped event is named: its title and UID."""
    title = top_level_value(blocks[0], b"SUMMARY") or ""  # `Canceled: Erik / me` whole
    return f"{title!r} (UID {uid})" if title else f"UID {uid}"
