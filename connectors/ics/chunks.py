"""Parsing many UID groups of an .ics file at once, in this process or in worker processes.

The groups of a chunk are parsed as one calendar text (the VTIMEZONEs once per chunk, not once
per event), then each group is read on its own (`connectors.ical.groups.read_events`), so a
malformed event is named and skipped exactly as when it is parsed alone. Should the chunk as a
whole fail to parse, or parse into something other than one VEVENT per block, its groups are
read one by one (`connectors.ical.groups.read_group`).

Results are plain tuples (cheap to send from a worker process) that `occurrence_from_row` turns
back into Occurrences. Start and end keep a ZoneInfo or UTC zone; any other zone (one built from
a VTIMEZONE) becomes the fixed offset it has at that instant, which is the same instant.
"""
from __future__ import annotations

import gc
from dataclasses import fields
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

import icalendar

from agent.model import Attendee, Occurrence
from connectors.ical.groups import FOOT, HEAD, read_events, read_group, reason
from connectors.ical.plain import read_plain
from connectors.ical.singles import NotPlain

Group = tuple[str, list[bytes]]
Row = tuple
Note = tuple[str, str]
ChunkResult = tuple[list[tuple[str, list[Row]]], list[tuple[str, str]], list[Note]]


def parse_chunk(timezones: bytes, groups: list[Group], start: datetime, end: datetime,
                zone_name: str) -> ChunkResult:
    """Parse and expand `groups`: (uid, rows) for the good ones, (uid, reason) for the bad,
    (uid, note) for what was repaired or left out."""
    zone = ZoneInfo(zone_name)
    enabled = gc.isenabled()
    gc.disable()  # parsing allocates millions of small objects and frees them all together
    try:
        good, groups = read_plain_groups(groups, start, end, zone)
        parsed = _parse_together(timezones, groups) if groups else None
        bad: list[tuple[str, str]] = []
        notes: list[Note] = []
        for index, (uid, blocks) in enumerate(groups):
            try:
                if parsed is None:
                    occurrences, said = read_group(timezones, blocks, start, end, zone)
                else:
                    occurrences, said = read_events(parsed[0], parsed[1][index], start, end, zone)
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the file
                bad.append((uid, reason(exc)))
                continue
            notes += [(uid, note) for note in said]
            good.append((uid, [occurrence_row(occ) for occ in occurrences]))
        return good, bad, notes
    finally:
        if enabled:
            gc.enable()


def read_plain_groups(groups: list[Group], start: datetime, end: datetime,
                      zone: ZoneInfo) -> tuple[list[tuple[str, list[Row]]], list[Group]]:
    """(uid, rows) of the groups the narrow reader reads (`connectors.ical.plain`: one plain
    single event), and the groups left for icalendar."""
    good: list[tuple[str, list[Row]]] = []
    rest: list[Group] = []
    for uid, blocks in groups:
        if len(blocks) == 1:
            try:
                good.append((uid, [occurrence_row(occ) for occ in read_plain(blocks[0], start, end, zone)]))
                continue
            except NotPlain:
                pass
        rest.append((uid, blocks))
    return good, rest


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


