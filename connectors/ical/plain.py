"""A narrow reader for plain single events, in front of icalendar.

Most events of a large calendar are plain single meetings: one copy, no RRULE, RDATE, EXDATE,
EXRULE or RECURRENCE-ID, a start in a zone tzdata knows. Parsing them with icalendar builds an
object per property and parameter; this reader reads the few lines counting needs straight from
the (normalised, unfolded) text of the VEVENT block and hands them to the same
`connectors.ical.read.to_occurrence` the full path uses, through `connectors.ical.singles`.

It reads a block only when it is sure to read it as icalendar would: every line a plain content
line, each property one the agent either uses (read here the way icalendar reads it) or ignores
and icalendar cannot find unreadable, no VALUE parameter but VALUE=DATE / DATE-TIME on a start
or end, no parameter value with a comma, a caret or a backslash, no repeated property but
ATTENDEE, nested components only VALARMs. Anything else raises NotPlain and the block takes the
full path (icalendar, the lenient repairs, recurring-ical-events), which is also the only path
that writes notes: a plain block has nothing to note.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from agent.model import Occurrence
from connectors.ical.read import TAG_PROPERTY
from connectors.ical.singles import NotPlain, single_occurrence

_LINE = re.compile(r"([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:\"[^\"]*\"|[^\";:,]*))*):(.*)", re.S)
_PARAM = re.compile(r";([A-Za-z0-9-]+)=(\"[^\"]*\"|[^\";:,]*)")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_STAMP = re.compile(r"\d{8}T\d{6}Z?")
_NUMBER = re.compile(r"\d{1,9}")
_DURATION = re.compile(r"[-+]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)")
_WHEN = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")

TEXT = frozenset({"UID", "SUMMARY", "STATUS", "TRANSP", TAG_PROPERTY})
"""Text properties read here (escapes undone as icalendar does)."""
ADDRESSES = frozenset({"ORGANIZER", "ATTENDEE"})
TIMES = frozenset({"DTSTART", "DTEND"})
IGNORED_TEXT = frozenset({"DESCRIPTION", "LOCATION", "CLASS", "COMMENT", "URL"})
"""Text properties the agent does not use: icalendar reads any value of them."""
ALARM_TEXT = frozenset({"ACTION", "DESCRIPTION", "SUMMARY", "UID"})
"""Text properties of a VALARM: icalendar reads any value of them."""
IGNORED_STAMPS = frozenset({"DTSTAMP", "CREATED", "LAST-MODIFIED"})
IGNORED_NUMBERS = frozenset({"SEQUENCE", "PRIORITY"})
REFUSED_X = frozenset({"X-TOUCHBASE-METHOD", "X-TOUCHBASE-WR-TIMEZONE"})
"""Properties the connector adds that need the full path (copies by METHOD, Google's zone)."""


class Value(str):
    """A property value with its parameters, as the readers of `connectors.ical.read` expect."""

    params: dict[str, str]


class Moment:
    """A DTSTART or DTEND value: `dt` as icalendar gives it."""

    def __init__(self, value: date | datetime, params: dict[str, str]) -> None:
        self.dt = value
        self.params = params


def read_plain(block: bytes, start: datetime, end: datetime, zone: ZoneInfo) -> list[Occurrence]:
    """The occurrences in [start, end) of one plain single VEVENT block (none or one); raises
    NotPlain when the block is not one this reader is sure of."""
    event = plain_event(block)
    found = single_occurrence(event, start, end, zone)
    return [] if found is None else [found]


def plain_event(block: bytes) -> dict[str, Any]:
    """The properties counting needs of a plain single VEVENT block, by upper-case name."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise NotPlain("not UTF-8") from None
    text = text.replace("\r\n", "\n")
    if _CONTROL.search(text):
        raise NotPlain("a control character")
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2 or lines[0].upper() != "BEGIN:VEVENT" or lines[-1].upper() != "END:VEVENT":
        raise NotPlain("not one VEVENT")
    event: dict[str, Any] = {}
    seen: set[str] = set()
    nested = False
    for line in lines[1:-1]:
        was = nested
        nested = _nesting(line, nested)
        if was and nested:  # a VALARM's property: icalendar fails the event on a bad one
            _check_alarm_line(line)
            continue
        if was or nested:  # its BEGIN or END
            continue
        _add(event, line, seen)
    if nested:
        raise NotPlain("a VALARM not closed")
    if "UID" not in event or "DTSTART" not in event:
        raise NotPlain("no UID or DTSTART")
    return event


def _nesting(line: str, nested: bool) -> bool:
    """Whether the reader is inside a VALARM after `line`."""
    head = line[:12].upper()
    if head.startswith("BEGIN:"):
        if nested or line.upper() != "BEGIN:VALARM":
            raise NotPlain("a nested component other than one VALARM")
        return True
    if head.startswith("END:"):
        if not nested or line.upper() != "END:VALARM":
            raise NotPlain("an END without its BEGIN")
        return False
    return nested


def _check_alarm_line(line: str) -> None:
    """Raise NotPlain unless icalendar surely reads this line of a VALARM."""
    match = _LINE.fullmatch(line)
    if match is None:
        raise NotPlain("not a plain content line")
    name, params, value = match.group(1).upper(), _params(match.group(2)), match.group(3)
    if name in ALARM_TEXT or (name.startswith("X-") and "VALUE" not in params):
        return
    if name == "TRIGGER" and set(params) <= {"RELATED"} and _is_duration(value):
        return
    if name == "DURATION" and not params and _is_duration(value):
        return
    if name == "REPEAT" and not params and _NUMBER.fullmatch(value):
        return
    raise NotPlain(f"alarm property {name}")


def _is_duration(value: str) -> bool:
    return (_DURATION.fullmatch(value) is not None and any(c.isdigit() for c in value)
            and not value.endswith("T"))


def _add(event: dict[str, Any], line: str, seen: set[str]) -> None:
    match = _LINE.fullmatch(line)
    if match is None:
        raise NotPlain("not a plain content line")
    name, raw_params, value = match.group(1).upper(), match.group(2), match.group(3)
    params = _params(raw_params)
    if name in seen and name != "ATTENDEE":
        raise NotPlain(f"{name} twice")
    seen.add(name)
    if "VALUE" in params and not (name in TIMES and params["VALUE"].upper() in ("DATE", "DATE-TIME")):
        raise NotPlain("a VALUE parameter")
    if name in TIMES:
        event[name] = _moment(value, params)
    elif name in ADDRESSES:
        _add_address(event, name, value, params)
    elif name in TEXT:
        event[name] = _value(_unescape(value), params)
    elif not _ignorable(name, value, params):
        raise NotPlain(f"property {name}")


def _params(raw: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in _PARAM.findall(raw):
        key = key.upper()
        if key in params or "^" in value or "\\" in value:
            raise NotPlain("a parameter this reader does not read")
        params[key] = value[1:-1] if value.startswith('"') else value
    return params


def _value(text: str, params: dict[str, str]) -> Value:
    result = Value(text)
    result.params = params
    return result


def _add_address(event: dict[str, Any], name: str, value: str, params: dict[str, str]) -> None:
    if "\\" in value:
        raise NotPlain("an escaped address")
    item = _value(value, params)
    if name == "ORGANIZER":
        event[name] = item
    elif name in event:
        previous = event[name]
        event[name] = [*previous, item] if isinstance(previous, list) else [previous, item]
    else:
        event[name] = item


def _unescape(text: str) -> str:
    """A TEXT value's escapes undone in icalendar's order (a doubled backslash: not plain)."""
    if "\\" not in text:
        return text
    if "\\\\" in text:
        raise NotPlain("a doubled backslash")
    return text.replace("\\N", "\\n").replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";")


def _ignorable(name: str, value: str, params: dict[str, str]) -> bool:
    """True for a property the agent does not use and icalendar cannot find unreadable."""
    if name in IGNORED_TEXT:
        return True
    if name in IGNORED_STAMPS:
        return not params and _STAMP.fullmatch(value) is not None and _when(value) is not None
    if name in IGNORED_NUMBERS:
        return not params and _NUMBER.fullmatch(value) is not None
    return name.startswith("X-") and name not in REFUSED_X


def _moment(value: str, params: dict[str, str]) -> Moment:
    if set(params) - {"TZID", "VALUE"}:
        raise NotPlain("a start or end with other parameters")
    moment = _when(value)
    if moment is None:
        raise NotPlain("a start or end this reader does not read")
    kind = params.get("VALUE", "").upper()
    if isinstance(moment, datetime):
        if kind == "DATE":
            raise NotPlain("VALUE=DATE with a time")
        tzid = params.get("TZID")
        if tzid is not None:
            if moment.tzinfo is not None:
                raise NotPlain("a TZID on a UTC time")
            moment = moment.replace(tzinfo=_zone(tzid))
    elif kind == "DATE-TIME" or "TZID" in params:
        raise NotPlain("a date given as a date-time")
    return Moment(moment, params)


def _when(value: str) -> date | datetime | None:
    match = _WHEN.fullmatch(value)
    if match is None:
        return None
    parts = match.groups()
    try:
        if parts[3] is None:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        moment = datetime(*(int(p) for p in parts[:6]))  # type: ignore[arg-type]
    except ValueError:
        return None
    return moment.replace(tzinfo=_UTC) if parts[6] else moment


@lru_cache(maxsize=256)
def _zone(tzid: str) -> ZoneInfo:
    """The zone icalendar gives a TZID without a VTIMEZONE: a tzdata name or a Windows name."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    from connectors.ical.zones import known_zone

    name = known_zone(tzid)
    if name is None or (name != tzid and WINDOWS_TO_OLSON.get(tzid) != name):
        raise NotPlain("a zone this reader does not know")
    return ZoneInfo(name)


_UTC = ZoneInfo("UTC")
"""The zone icalendar gives a time ending in Z (not datetime.UTC)."""
