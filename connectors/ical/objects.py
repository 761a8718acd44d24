"""Reading one calendar text (a CalDAV object, the local calendar file) the way .ics files are read.

The same lenient, bounded path as the ICS connector's, group by group: the raw-text pre-scan
into VTIMEZONE blocks and UID groups (`connectors.ical.blocks`), only the VTIMEZONEs that can be
read and are needed (`connectors.ical.zones`: one broken zone affects only the events using it),
then each UID group read on its own (`connectors.ical.groups`: copies merged, series bounded).
An event that cannot be counted is skipped with the same line as in an .ics file
(`skipped event 'Title' (UID ...): why`); what was left out or repaired comes back as notes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent.model import Occurrence
from connectors.ical.blocks import ends_complete, normalise, split_blocks, starts_calendar
from connectors.ical.groups import label, read_group, reason
from connectors.ical.zones import usable_timezones, used_zones


class NotACalendar(ValueError):
    """The text does not start with BEGIN:VCALENDAR."""


@dataclass
class Reading:
    """What one calendar text holds in a window: occurrences by UID, skipped events, notes."""

    occurrences: dict[str, list[Occurrence]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def all(self) -> list[Occurrence]:
        """Every occurrence, UID after UID."""
        return [occ for items in self.occurrences.values() for occ in items]


def read_calendar(where: str, data: bytes | str, start: datetime, end: datetime,
                  zone: str, whole: bool = False) -> Reading:
    """The occurrences in [start, end) of the calendar text `data` (`where` names it in notes),
    floating times in `zone`. Raises NotACalendar when it is no iCalendar text at all, or, with
    `whole` (a file, as the ICS connector takes one), when it does not end with END:VCALENDAR."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    text = normalise(raw)
    if not starts_calendar(text):
        raise NotACalendar("not an iCalendar object (it does not start with BEGIN:VCALENDAR)")
    if whole and not ends_complete(text):
        raise NotACalendar("the calendar is incomplete (it does not end with END:VCALENDAR)")
    parsed = split_blocks(where, text)
    used = used_zones(block for blocks in parsed.groups.values() for block in blocks)
    timezones, zone_notes = usable_timezones(parsed.timezones, used)
    reading = Reading(notes=parsed.notes + zone_notes)
    for uid, blocks in parsed.groups.items():
        _read_one(reading, timezones, uid, blocks, start, end, zone)
    return reading


def _read_one(reading: Reading, timezones: bytes, uid: str, blocks: list[bytes], start: datetime,
              end: datetime, zone: str) -> None:
    from zoneinfo import ZoneInfo

    try:
        occurrences, notes = read_group(timezones, blocks, start, end, ZoneInfo(zone))
    except Exception as exc:  # noqa: BLE001 - one bad event must not stop the others
        reading.skipped.append(f"skipped event {label(uid, blocks)}: {reason(exc)}")
        return
    reading.notes += [f"{label(uid, blocks)}: {note}" for note in notes]
    for occ in occurrences:
        occ.resource = uid
    reading.occurrences[uid] = occurrences
