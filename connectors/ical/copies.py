"""Reading parsed VEVENTs leniently, and merging the copies of one UID and RECURRENCE-ID.

Lenient (`repair`): icalendar's tolerant parser keeps a property it cannot read as a vBroken
value and records it in `errors`. Counting cannot do without a usable DTSTART (nor, for a series,
its RRULE, nor, for an override, its RECURRENCE-ID): a copy lacking one cannot be the event. Any
other unreadable property (a DTSTAMP without seconds, a CREATED of year 0, one ATTENDEE line) is
left out and noted; the event stays.

Copies (`resolve_copies`, docs/rules.md "Copies of one event"): per RECURRENCE-ID, the copy with
the highest SEQUENCE that has a DTSTART wins; ties go to the later DTSTAMP, then to the later
copy; a METHOD:CANCEL or STATUS:CANCELLED copy with a SEQUENCE at least the winner's cancels it;
REPLY, COUNTER, REFRESH and DECLINECOUNTER copies (attendee messages) never replace the
organiser's event, but a REPLY at the winner's SEQUENCE or later sets its sender's PARTSTAT.
Copies that all came with a METHOD other than PUBLISH or REQUEST (a stored CANCEL or REPLY and
no organiser's event beside them) are not an event (`only_messages`).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import icalendar
from icalendar.prop import vBroken

from connectors.ical.read import address_of

METHOD_PROPERTY = "X-TOUCHBASE-METHOD"
"""Where the connector puts the METHOD of the VCALENDAR an event came from."""
ATTENDEE_METHODS = ("REPLY", "COUNTER", "REFRESH", "DECLINECOUNTER")
NEEDED = ("DTSTART", "DTEND", "DURATION", "RRULE", "RECURRENCE-ID")
"""Properties a copy cannot be the event without, once given: its start, its end (busy time and
length; a guessed end would be wrong either way), its rule and which instance it replaces."""
SINGLE = ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SEQUENCE", "DTSTAMP", "STATUS",
          "SUMMARY", "ORGANIZER")
"""Properties an event has once: of several, the first is used (as the pre-scan uses the first
UID)."""
_OLDEST = datetime.min.replace(tzinfo=UTC)


def repair(event: icalendar.Event) -> tuple[str, list[str]]:
    """Leave out the unreadable properties of `event` that counting can do without.

    Returns (problem, notes): `problem` is non-empty when the copy cannot be the event (no
    usable DTSTART, an unreadable RRULE or RECURRENCE-ID); `notes` say what was left out.
    """
    notes = [f"ignored an unreadable line ({_short(msg)})" for name, msg in event.errors if not name]
    problem = ""
    for name in list(event.keys()):
        value = event[name]
        items = value if isinstance(value, list) else [value]
        broken = [item for item in items if isinstance(item, vBroken)]
        if not broken:
            continue
        if name in NEEDED:
            problem = problem or f"{name}: {_short(_error_of(event, name) or str(broken[0]))}"
            continue
        good = [item for item in items if not isinstance(item, vBroken)]
        if good:
            event[name] = good if len(good) > 1 else good[0]
        else:
            del event[name]
        notes.append(f"ignored unreadable {name}" + (f" ({len(broken)} of {len(items)})"
                                                      if len(items) > 1 else ""))
    for name in SINGLE:
        value = event.get(name)
        if isinstance(value, list) and value:
            event[name] = value[0]
            notes.append(f"used the first of {len(value)} {name} lines")
    if not problem:
        problem = _start_problem(event)
    return problem, notes


def only_messages(events: Sequence[icalendar.Event]) -> str:
    """A note when every copy is a scheduling message (CANCEL, REPLY, COUNTER...) and none the
    organiser's event: such a group is not an event. "" otherwise."""
    kinds = {method_of(event) for event in events}
    if not events or "" in kinds:
        return ""
    return f"only {', '.join(sorted(kinds))} message(s), no organiser's event: not an event"


def _start_problem(event: icalendar.Event) -> str:
    start = event.get("DTSTART")
    if start is None:
        return "no DTSTART"
    if not isinstance(getattr(start, "dt", None), date):
        return "DTSTART is not a date or date-time"
    return ""


def _error_of(event: icalendar.Event, name: str) -> str:
    return next((msg for prop, msg in event.errors if prop == name), "")


def _short(text: str) -> str:
    return text.splitlines()[0][:120] if text else ""


def resolve_copies(events: Sequence[icalendar.Event],
                   problems: Sequence[str]) -> tuple[list[icalendar.Event], list[str]]:
    """The winning copy per RECURRENCE-ID of one UID's `events` (in file order; `problems` as
    `repair` gave them), cancels and replies applied, and notes on the copies left out."""
    by_instance: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        by_instance.setdefault(_instance_key(event), []).append(index)
    winners: list[icalendar.Event] = []
    notes: list[str] = []
    for indexes in by_instance.values():
        winner, note = _winner(events, problems, indexes)
        if note:
            notes.append(note)
        if winner is not None:
            winners.append(winner)
    for event in events:
        event.pop(METHOD_PROPERTY, None)
    return winners, notes


def _winner(events: Sequence[icalendar.Event], problems: Sequence[str],
            indexes: list[int]) -> tuple[icalendar.Event | None, str]:
    organiser = [i for i in indexes if method_of(events[i]) not in ATTENDEE_METHODS]
    candidates = [i for i in organiser if not problems[i]]
    if not candidates:
        return None, ""
    best = max(candidates, key=lambda i: (sequence_of(events[i]), _stamp(events[i]), i))
    winner, level = events[best], sequence_of(events[best])
    if any(_cancelling(events[i]) and sequence_of(events[i]) >= level for i in organiser):
        winner["STATUS"] = "CANCELLED"
    replies = sorted((i for i in indexes if method_of(events[i]) == "REPLY"
                      and sequence_of(events[i]) >= level),
                     key=lambda i: (sequence_of(events[i]), _stamp(events[i]), i))
    for i in replies:
        _apply_reply(winner, events[i])
    if len(indexes) == 1:
        return winner, ""
    left = [i for i in indexes if i != best]
    kinds = sorted({method_of(events[i]) or ("unusable" if problems[i] else "older") for i in left})
    if replies:
        kinds = [f"{kind} (its PARTSTAT applied)" if kind == "REPLY" else kind for kind in kinds]
    return winner, (f"{len(indexes)} copies: used the one with SEQUENCE {level}; "
                    f"left out: {', '.join(kinds)}")


def method_of(event: icalendar.Event) -> str:
    """The METHOD of the calendar the copy came from ("" for PUBLISH, REQUEST or none)."""
    return str(event.get(METHOD_PROPERTY, "")).strip().upper()


def sequence_of(event: icalendar.Event) -> int:
    """The copy's SEQUENCE (0 when missing or unreadable)."""
    try:
        return int(str(event.get("SEQUENCE", 0)).strip())
    except ValueError:
        return 0


def _stamp(event: icalendar.Event) -> datetime:
    value = getattr(event.get("DTSTAMP"), "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), UTC)
    return _OLDEST


def _cancelling(event: icalendar.Event) -> bool:
    return method_of(event) == "CANCEL" or str(event.get("STATUS", "")).upper() == "CANCELLED"


def _instance_key(event: icalendar.Event) -> str:
    value = getattr(event.get("RECURRENCE-ID"), "dt", None)
    if value is None:
        return "" if event.get("RECURRENCE-ID") is None else f"unreadable {event['RECURRENCE-ID']}"
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC).isoformat()
        except (OverflowError, ValueError):
            return value.isoformat()
    return value.isoformat()


def _apply_reply(winner: icalendar.Event, reply: icalendar.Event) -> None:
    """Set the PARTSTAT of each attendee of `reply` on the same attendee of `winner`."""
    answers = {address_of(a): str(a.params.get("PARTSTAT", "")) for a in _attendees(reply)}
    answers.pop("", None)  # an attendee without an address answers for nobody
    for attendee in _attendees(winner):
        answer = answers.get(address_of(attendee) or "-")
        if answer:
            attendee.params["PARTSTAT"] = answer


def _attendees(event: icalendar.Event) -> list:
    value = event.get("ATTENDEE")
    if value is None:
        return []
    return [a for a in (value if isinstance(value, list) else [value]) if hasattr(a, "params")]
