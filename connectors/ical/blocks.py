"""Cutting the raw text of a calendar into VTIMEZONE blocks and VEVENT blocks grouped by UID.

This is the cheap pre-scan that lets the connector parse only the events that changed and can
fall in the window. It must read the text exactly as the full parser (icalendar) does, so the
text is first brought to one form that both then read (`normalise`):

- line endings: CRLF and LF are read as they are; CR alone (old Mac files) becomes LF;
- folding: a line break followed by one space or tab is removed (RFC 5545 3.1), on the bytes,
  so a name folded right after its first letters (`UID` then ` :value`) or a UTF-8 character
  split by a fold reads whole (the text is copied only for what it holds: one copy for a usual
  folded CRLF file);
- names are matched without regard to case (`begin:vevent`, `Begin:VEvent`).

Each event block is cut at its own END:VEVENT or at the next BEGIN:VEVENT (or VTIMEZONE,
BEGIN/END:VCALENDAR), whichever comes first, so a damaged boundary costs at most that one event;
a block cut short is closed with END:VEVENT and handed on (noted). Text outside any block is
ignored. The METHOD and X-WR-TIMEZONE of the VCALENDAR an event came from are copied into its
block (as X-TOUCHBASE-METHOD and X-TOUCHBASE-WR-TIMEZONE) so that each event carries them into
the chunk it is parsed in. An event without a UID gets one made from its text (`no-uid-...`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

METHOD_PROPERTY = b"X-TOUCHBASE-METHOD"
WR_TIMEZONE_PROPERTY = b"X-TOUCHBASE-WR-TIMEZONE"

_MARK = re.compile(
    rb"^(?:(BEGIN|END):(VEVENT|VTIMEZONE|VCALENDAR)[ \t\r]*$|(METHOD|X-WR-TIMEZONE)([;:][^\r\n]*))",
    re.M | re.I)
_LONE_CR = re.compile(rb"\r(?!\n)")
_START = re.compile(rb"[ \t\r\n]*BEGIN:VCALENDAR", re.I)
_NESTING = re.compile(rb"^(?:(BEGIN|END):|([A-Za-z0-9-]+)[;:])", re.M | re.I)
_NESTED_BEGIN = re.compile(rb"^BEGIN:", re.M | re.I)
_TEXT_ESCAPES = re.compile(rb"\\([\\;,nN])")


@dataclass
class ParsedFile:
    """A calendar's text split into its time zones and its events grouped by UID."""

    timezones: list[tuple[str, bytes]]
    groups: dict[str, list[bytes]]
    notes: list[str] = field(default_factory=list)


def normalise(data: bytes) -> bytes:
    """The text with CRLF or LF line endings and no folding (see the module docstring)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    if _LONE_CR.search(data):
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    for fold in (b"\r\n ", b"\r\n\t", b"\n ", b"\n\t"):
        if fold in data:
            data = data.replace(fold, b"")
    return data


def starts_calendar(data: bytes) -> bool:
    """True when the (normalised) text starts with BEGIN:VCALENDAR, blank lines aside."""
    return _START.match(data) is not None


def ends_complete(data: bytes) -> bool:
    """True when the (normalised) text ends with END:VCALENDAR, blank lines aside."""
    tail = data[-4096:].rstrip(b" \t\r\n")  # a slice: the text itself is not copied
    if not tail and len(data) > 4096:
        tail = data.rstrip(b" \t\r\n")[-4096:]
    return tail.rsplit(b"\n", 1)[-1].strip().upper() == b"END:VCALENDAR"


def split_blocks(name: str, data: bytes) -> ParsedFile:
    """Cut normalised calendar text into VTIMEZONE blocks and VEVENT blocks grouped by UID."""
    parsed = ParsedFile(timezones=[], groups={})
    calendars: list[dict[bytes, bytes]] = [{}]
    events: list[tuple[bytes, int]] = []
    kind, start, cut = b"", 0, 0
    for match in _MARK.finditer(data):
        begin_end, what, prop, value = match.groups()
        if prop is not None:
            if not kind:  # a calendar property, not one of a component being read
                calendars[-1].setdefault(prop.upper(), _value(value).strip())
            continue
        begin_end, what = begin_end.upper(), what.upper()
        if begin_end == b"END" and what == kind:
            _close(parsed, events, kind, data[start:match.end()] + b"\n", len(calendars) - 1)
            kind = b""
            continue
        if kind and (begin_end == b"BEGIN" or what == b"VCALENDAR"):
            cut += kind == b"VEVENT"
            _close(parsed, events, kind, data[start:match.start()], len(calendars) - 1, cut=True)
            kind = b""
        if begin_end == b"BEGIN" and what != b"VCALENDAR":
            kind, start = what, match.start()
        elif begin_end == b"BEGIN":
            calendars.append({})
    if kind:
        cut += kind == b"VEVENT"
        _close(parsed, events, kind, data[start:], len(calendars) - 1, cut=True)
    if cut:
        parsed.notes.append(f"{name}: {cut} event(s) without END:VEVENT, read up to the next event")
    for block, index in events:
        _add_event(parsed, name, block, calendars[index])
    return parsed


def _close(parsed: ParsedFile, events: list[tuple[bytes, int]], kind: bytes, block: bytes,
           calendar: int, cut: bool = False) -> None:
    if cut:
        block = block.rstrip(b"\r\n") + b"\nEND:" + kind + b"\n"
    if kind == b"VEVENT":
        events.append((block, calendar))
    else:
        parsed.timezones.append((top_level_value(block, b"TZID") or "", block))


def _add_event(parsed: ParsedFile, name: str, block: bytes, calendar: dict[bytes, bytes]) -> None:
    extra = b""
    method = calendar.get(b"METHOD", b"").upper()
    if method and method not in (b"PUBLISH", b"REQUEST"):
        extra += METHOD_PROPERTY + b":" + method + b"\n"
    if calendar.get(b"X-WR-TIMEZONE"):
        extra += WR_TIMEZONE_PROPERTY + b":" + calendar[b"X-WR-TIMEZONE"] + b"\n"
    uid = top_level_value(block, b"UID")
    if uid is None:
        uid = "no-uid-" + hashlib.sha1(block).hexdigest()[:16]
        extra += b"UID:" + uid.encode() + b"\n"
    if extra:
        head, _, rest = block.partition(b"\n")
        block = head + b"\n" + extra + rest
    parsed.groups.setdefault(uid, []).append(block)


def top_level_value(block: bytes, wanted: bytes) -> str | None:
    """The value of the first `wanted` property of the block's own component (not of a nested
    one such as a VALARM), TEXT escapes undone as icalendar does; None when there is none."""
    first = _property_pattern(wanted).search(block)
    if first is not None and not _NESTED_BEGIN.search(block, block.find(b"\n") + 1, first.start()):
        return _line_value(block, first.end())  # the usual case: before any nested component
    depth = 0
    for match in _NESTING.finditer(block):
        if match.group(1) is not None:
            depth += 1 if match.group(1).upper() == b"BEGIN" else -1
        elif depth == 1 and match.group(2).upper() == wanted:
            return _line_value(block, match.end())
    return None


def _line_value(block: bytes, after_separator: int) -> str:
    """The unescaped value of the content line whose name ends just before `after_separator`."""
    line_end = block.find(b"\n", after_separator)
    rest = block[after_separator - 1:line_end if line_end >= 0 else len(block)]
    value = _value(rest.rstrip(b"\r"))
    return _TEXT_ESCAPES.sub(_unescape, value).decode("utf-8", "replace")


@lru_cache(maxsize=8)
def _property_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"^" + re.escape(name) + rb"[;:]", re.M | re.I)


def _value(rest: bytes) -> bytes:
    """The value part of a content line's tail (`;params:value` or `:value`): after the first
    colon outside double quotes."""
    if rest[:1] == b":":
        return rest[1:]
    quoted = False
    for index, byte in enumerate(rest):
        if byte == 0x22:  # "
            quoted = not quoted
        elif byte == 0x3A and not quoted:  # :
            return rest[index + 1:]
    return b""


def _unescape(match: re.Match[bytes]) -> bytes:
    char = match.group(1)
    return b"\n" if char in b"nN" else char
