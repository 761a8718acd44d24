"""Which VTIMEZONE blocks of a calendar are needed, and which of them can be read.

The rule (docs/rules.md, "Time zones"): a TZID that tzdata knows, directly or through the
Windows-name table icalendar carries (`W. Europe Standard Time`), is read with tzdata whatever
its VTIMEZONE says, so its block is not even parsed. A block for any other TZID is parsed on its
own; one that cannot be read is left out, which makes the events using it read as floating
times (the user's zone), as for a TZID nobody defines. A block without a TZID is left out. So a
broken VTIMEZONE only affects the events that use it and that tzdata does not know.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

HEAD = b"BEGIN:VCALENDAR\nVERSION:2.0\n"
FOOT = b"END:VCALENDAR\n"
_TZID_PARAM = re.compile(rb';TZID=(?:"([^"\r\n]*)"|([^;:\r\n]*))', re.I)


@lru_cache(maxsize=4096)
def known_zone(tzid: str) -> str | None:
    """The tzdata name for `tzid` (itself, its Windows mapping, or the Olson tail of a
    `/vendor/Area/City` id), or None when tzdata does not know it."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    cleaned = tzid.strip().strip("/")
    candidates = [cleaned]
    if cleaned in WINDOWS_TO_OLSON:
        candidates.append(WINDOWS_TO_OLSON[cleaned])
    if tzid.startswith("/"):
        parts = cleaned.split("/")
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for name in candidates:
        if _tzdata_has(name):
            return name
    return None


_DECLARED = re.compile(rb"^X-WR-TIMEZONE(?:;[^:\r\n]*)?:([^\r\n]+)", re.I | re.M)
_VTIMEZONE_ID = re.compile(rb"^BEGIN:VTIMEZONE\r?\n(?:[^\r\n]*\r?\n)*?TZID(?:;[^:\r\n]*)?:([^\r\n]+)", re.I | re.M)


def declared_zone(data: bytes) -> str | None:
    """The tzdata name of the zone a calendar declares: its X-WR-TIMEZONE, else its first
    VTIMEZONE that tzdata knows (a Windows name mapped); None when it declares none."""
    head = data[:1 << 20]  # the calendar's properties and VTIMEZONEs come before the events
    for pattern in (_DECLARED, _VTIMEZONE_ID):
        for match in pattern.finditer(head):
            zone = known_zone(match.group(1).decode("utf-8", "replace").strip())
            if zone:
                return zone
    return None


def _tzdata_has(name: str) -> bool:
    if not name or len(name) > 200:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def used_zones(blocks: Iterable[bytes]) -> set[str]:
    """The TZID parameters the VEVENT `blocks` (normalised text) use."""
    return {(m.group(1) if m.group(1) is not None else m.group(2)).decode("utf-8", "replace")
            for block in blocks for m in _TZID_PARAM.finditer(block)}


def usable_timezones(blocks: list[tuple[str, bytes]],
                     used: set[str] | None = None) -> tuple[bytes, list[str]]:
    """The VTIMEZONE blocks worth giving the parser, joined, and a note per block left out
    because it cannot be read. With `used`, only the zones named there are looked at (a zone
    no event to be parsed uses costs nothing, broken or not)."""
    kept: list[bytes] = []
    notes: list[str] = []
    seen: set[str] = set()
    for tzid, block in blocks:
        if used is not None and tzid not in used:
            continue
        if not tzid.strip():
            notes.append("a VTIMEZONE without TZID ignored")
            continue
        if tzid in seen or known_zone(tzid):
            continue
        seen.add(tzid)
        problem = zone_problem(block)
        if problem:
            notes.append(f"time zone {tzid!r} cannot be read ({problem}); "
                         "events using it are read in your zone")
            continue
        kept.append(block)
    return b"".join(kept), notes


def zone_problem(block: bytes) -> str:
    """Why one VTIMEZONE block cannot be turned into a time zone ("" when it can)."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(HEAD + block + FOOT)
        zones = calendar.walk("VTIMEZONE")
        if len(zones) != 1:
            return "not one VTIMEZONE"
        zone = zones[0]
        if not isinstance(zone, icalendar.Timezone):
            return "not a VTIMEZONE"
        errors = zone.errors + [e for sub in zone.subcomponents for e in sub.errors]
        if errors:
            return f"{errors[0][0]}: {errors[0][1]}"[:120]
        zone.to_tz(lookup_tzid=False)
    except Exception as exc:  # noqa: BLE001 - whatever breaks, the block is left out
        return (str(exc).splitlines() or [type(exc).__name__])[0][:120]
    return ""
