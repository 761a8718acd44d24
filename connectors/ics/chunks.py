"""Parsing many UID groups of an .ics file at once, in this process or in worker processes.

The groups of a chunk are parsed as one calendar text (the VTIMEZONEs once per chunk, not once
per event), then each group is checked and expanded on its own, so a malformed event is named and
skipped exactly as when it is parsed alone. Should the chunk as a whole fail to parse, or parse
into something other than one VEVENT per block, its groups are parsed one by one (`parse_group`).

Results are plain tuples (cheap to send from a worker process) that `occurrence_from_row` turns
back into Occurrences. Start and end keep a ZoneInfo or UTC zone; any other zone (one built from
a VTIMEZONE) becomes the fixed offset it has at that instant, which is the same instant.
"""
from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import icalendar

from agent.model import Attendee, Occurrence
from connectors.ical import read as ical

if TYPE_CHECKING:
    from connectors.base import ConnectorContext

Group = tuple[str, list[bytes]]
Row = tuple
ChunkResult = tuple[list[tuple[str, list[Row]]], list[tuple[str, str]]]

HEAD = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
FOOT = b"END:VCALENDAR\r\n"


def parse_group(timezones: bytes, blocks: list[bytes], context: _Window | ConnectorContext, zone: ZoneInfo,
                uid: str) -> list[Occurrence]:
    """Parse and expand the events of one UID over the context's window."""
    calendar = icalendar.Calendar.from_ical(HEAD + timezones + b"".join(blocks) + FOOT)
    reject_broken(calendar.walk("VEVENT"))
    occurrences = ical.expand(calendar, context.window_start, context.window_end, zone)
    for occ in occurrences:
        occ.resource = uid
    return occurrences


def reject_broken(events: Sequence[icalendar.Component]) -> None:
    """Raise ValueError naming the first problem of a malformed event."""
    for event in events:
        if event.errors:
            raise ValueError("; ".join(f"{name}: {err}" for name, err in event.errors))
        if event.get("DTSTART") is None:
            raise ValueError("no DTSTART")
        event.decoded("DTSTART")


def parse_chunk(timezones: bytes, groups: list[Group], start: datetime, end: datetime,
                zone_name: str) -> ChunkResult:
    """Parse and expand `groups`: (uid, rows) for the good ones, (uid, reason) for the bad."""
    zone = ZoneInfo(zone_name)
    enabled = gc.isenabled()
    gc.disable()  # parsing allocates millions of small objects and frees them all together
    try:
        parsed = _parse_together(timezones, groups)
        good: list[tuple[str, list[Row]]] = []
        bad: list[tuple[str, str]] = []
        for index, (uid, blocks) in enumerate(groups):
            try:
                if parsed is None:
                    occurrences = parse_group(timezones, blocks, _Window(start, end), zone, uid)
                else:
                    occurrences = _expand(parsed[0], parsed[1][index], start, end, zone)
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the file
                bad.append((uid, reason(exc)))
                continue
            good.append((uid, [occurrence_row(occ) for occ in occurrences]))
        return good, bad
    finally:
        if enabled:
            gc.enable()


class _Window:
    """The two attributes of a connector context that `parse_group` reads."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.window_start = start
        self.window_end = end


def _parse_together(timezones: bytes, groups: list[Group]) -> tuple[list, list[list]] | None:
    """The VTIMEZONEs and the VEVENTs of each group, or None when the chunk did not parse cleanly."""
    count = sum(len(blocks) for _, blocks in groups)
    try:
        calendar = icalendar.Calendar.from_ical(
            HEAD + timezones + b"".join(b for _, blocks in groups for b in blocks) + FOOT)
    except Exception:  # noqa: BLE001 - parse the groups one by one to name the bad one
        return None
    zones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if len(events) != count or len(zones) + count != len(calendar.subcomponents):
        return None
    split, at = [], 0
    for _, blocks in groups:
        split.append(events[at:at + len(blocks)])
        at += len(blocks)
    return zones, split


def _expand(zones: list, events: list, start: datetime, end: datetime,
            zone: ZoneInfo) -> list[Occurrence]:
    reject_broken(events)
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.subcomponents.extend(zones)
    calendar.subcomponents.extend(events)
    return ical.expand(calendar, start, end, zone)


_FIELDS = tuple(f.name for f in fields(Occurrence) if f.name != "resource")
_ATTENDEE_FIELDS = tuple(f.name for f in fields(Attendee))


def occurrence_row(occ: Occurrence) -> Row:
    """The fields of an Occurrence (resource left out) as a tuple of plain values."""
    values = []
    for name in _FIELDS:
        value = getattr(occ, name)
        if name in ("start", "end"):
            value = _portable(value)
        elif name == "attendees":
            value = tuple(tuple(getattr(a, f) for f in _ATTENDEE_FIELDS) for a in value)
        values.append(value)
    return tuple(values)


def occurrence_from_row(resource: str, row: Row) -> Occurrence:
    """The Occurrence of a row made by `occurrence_row`."""
    values = dict(zip(_FIELDS, row, strict=True))
    values["attendees"] = tuple(Attendee(*a) for a in values["attendees"])
    return Occurrence(resource=resource, **values)


def _portable(moment: datetime) -> datetime:
    zone: tzinfo | None = moment.tzinfo
    if zone is None or isinstance(zone, (ZoneInfo, timezone)):
        return moment
    offset = moment.utcoffset()
    if offset is None:  # a tzinfo without an offset: Python treats the time as naive
        return moment.replace(tzinfo=None)
    return moment.astimezone(timezone(offset))


def reason(exc: Exception) -> str:
    """The first line of an error, for the one line naming a skipped event."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def label(uid: str, blocks: list[bytes]) -> str:
    """How a skipped event is named: its title and UID."""
    summary = re.search(rb"^SUMMARY[;:]([^\r\n]*)", blocks[0], re.M)
    title = summary.group(1).decode("utf-8", "replace").split(":")[-1] if summary else ""
    return f"{title!r} (UID {uid})" if title else f"UID {uid}"
