"""A cheap text pre-filter: which UID groups of an .ics file can have occurrences in a window.

Parsing with icalendar is the expensive part of reading a large file, and most of a calendar
that spans years lies outside the window the agent reads (about a year back to 90 days ahead).
`may_overlap` reads only a few raw lines of each VEVENT block (DTSTART, DTEND, DURATION, RRULE,
RDATE, RECURRENCE-ID) and answers False only when it is sure that no occurrence of the group can
touch the window; anything it cannot read with certainty counts as "may overlap" and is parsed.

Sure means: every time is compared as if it were UTC, against the window widened by PAD on both
sides, which covers any UTC offset (TZID, floating times, all-day dates) and daylight-saving
shifts; a series is bounded only by an UNTIL (a COUNT, an RDATE or a RANGE=THISANDFUTURE
override makes the group always parsed); an override counts by its own start, end and
RECURRENCE-ID, so an instance moved into the window keeps its whole series.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

PAD = timedelta(days=2)
"""Slack on both sides of the window: more than any UTC offset (max 14 h) plus a DST hour."""

_PROPS = re.compile(
    rb"^(BEGIN|END|DTSTART|DTEND|DURATION|RRULE|RDATE|RECURRENCE-ID)([;:][^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.M | re.I)
_FOLD = re.compile(rb"\r?\n[ \t]")
_DATETIME = re.compile(rb"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$")
_DURATION = re.compile(rb"^\+?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_UNTIL = re.compile(rb"(?:^|;)UNTIL=([^;]*)", re.I)

Span = tuple[datetime, datetime | None]
"""(earliest instant, latest instant or None for unbounded) of one block, naive, read as UTC."""


def may_overlap(blocks: list[bytes], start: datetime, end: datetime) -> bool:
    """False only when no occurrence of the VEVENT `blocks` (one UID) can touch [start, end)."""
    low = _naive_utc(start) - PAD
    high = _naive_utc(end) + PAD
    for block in blocks:
        try:
            span = block_span(block)
        except (ArithmeticError, ValueError):  # dates at the edge of datetime's range
            return True
        if span is None:
            return True
        first, last = span
        if first <= high and (last is None or last >= low):
            return True
    return False


def block_span(block: bytes) -> Span | None:
    """The instants one VEVENT block can cover, or None when they cannot be read for sure."""
    props = _top_level_props(block)
    if props is None or b"RDATE" in props:
        return None
    starts = props.get(b"DTSTART", [])
    if len(starts) != 1:
        return None
    parsed = _when(starts[0])
    if parsed is None:
        return None
    begin, all_day = parsed
    length = _length(props, begin, all_day)
    if length is None:
        return None
    last: datetime | None = begin + length
    rules = props.get(b"RRULE", [])
    if rules:
        untils = [_until(rule) for rule in rules]
        bounded = [u for u in untils if u is not None]
        if len(bounded) < len(untils):
            last = None
        else:  # the DTSTART instance counts even when UNTIL lies before it
            last = max(max(bounded) + length, begin + length)
    first = begin
    for value in props.get(b"RECURRENCE-ID", []):
        if b"RANGE=" in value.partition(b":")[0].upper():
            return None
        recurrence = _when(value)
        if recurrence is None:
            return None
        first = min(first, recurrence[0])
        last = None if last is None else max(last, recurrence[0] + length)
    return first, last


def _top_level_props(block: bytes) -> dict[bytes, list[bytes]] | None:
    """The wanted properties of the VEVENT itself (not of a nested VALARM), unfolded."""
    props: dict[bytes, list[bytes]] = {}
    depth = 0
    for match in _PROPS.finditer(block):
        name = match.group(1).upper()
        if name == b"BEGIN":
            depth += 1
        elif name == b"END":
            depth -= 1
        elif depth == 1:
            props.setdefault(name, []).append(_FOLD.sub(b"", match.group(2)))
        elif depth < 1:
            return None
    return props if depth == 0 else None


def _when(text: bytes) -> tuple[datetime, bool] | None:
    """The naive date-time of a DTSTART-like line tail (`;params:value`) and whether it is a date."""
    params, _, value = text.rpartition(b":")
    match = _DATETIME.match(value.strip())
    if match is None or b"," in value:
        return None
    year, month, day, *clock = (int(p) for p in match.groups() if p is not None)
    hour, minute, second = clock or (0, 0, 0)  # the pattern has all three time fields or none
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    kind = re.search(rb"VALUE=([A-Z-]+)", params.upper())
    if kind is not None and kind.group(1) not in (b"DATE", b"DATE-TIME"):
        return None
    return moment, match.group(4) is None


def _length(props: dict[bytes, list[bytes]], begin: datetime, all_day: bool) -> timedelta | None:
    """How long one instance lasts (never negative), or None when it cannot be read."""
    ends = props.get(b"DTEND", [])
    durations = props.get(b"DURATION", [])
    if len(ends) + len(durations) > 1:
        return None
    if ends:
        parsed = _when(ends[0])
        if parsed is None:
            return None
        return max(parsed[0] - begin, timedelta(0))
    if durations:
        match = _DURATION.match(durations[0].rpartition(b":")[2].strip())
        if match is None:
            return None
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    return timedelta(days=1) if all_day else timedelta(0)


def _until(rule: bytes) -> datetime | None:
    """The UNTIL of an RRULE line tail, or None when the rule is not bounded by one."""
    value = rule.rpartition(b":")[2].strip()
    match = _UNTIL.search(value)
    if match is None:
        return None
    parsed = _when(b":" + match.group(1))
    return parsed[0] if parsed else None


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
