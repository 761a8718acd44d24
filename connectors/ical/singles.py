"""Single events read without the expansion library.

A single event (no RRULE, RDATE, EXDATE, EXRULE or RECURRENCE-ID in any copy of its UID) has at
most one occurrence: itself. recurring-ical-events would copy the component to say so; here the
event is turned into an Occurrence directly when it lies in the window, with the library's own
rule for "lies in the window" (`time_span_contains_event`, floating times and dates read in the
window's zone) and its own end (DTEND, else DTSTART + DURATION, else a day for a date and no
length for a date-time). What the library would repair on its way (an end before the start, a
date mixed with a date-time) raises NotPlain: such an event goes through the library as before.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent.model import Occurrence
from connectors.ical.read import to_occurrence

SERIES_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID")


class NotPlain(ValueError):
    """Only the expansion library can read this event the way the agent always has."""


def is_single(event: Any) -> bool:
    """True when the copy has none of the properties that make a series or part of one."""
    return all(event.get(name) is None for name in SERIES_PROPERTIES)


def single_occurrence(event: Any, start: datetime, end: datetime, zone: ZoneInfo) -> Occurrence | None:
    """The occurrence of the single `event` when it touches [start, end) (None when it does not);
    raises NotPlain when the expansion library must decide."""
    from recurring_ical_events.errors import PeriodEndBeforeStart
    from recurring_ical_events.util import time_span_contains_event

    first = getattr(event.get("DTSTART"), "dt", None)
    last = _end(event, first)
    if not _same_kind(first, last):
        raise NotPlain("a date mixed with a date-time")
    try:
        inside = time_span_contains_event(start, end, first, last)
    except (PeriodEndBeforeStart, TypeError, ValueError, OverflowError) as exc:
        raise NotPlain(str(exc)) from None
    return to_occurrence(event, zone, recurring=False) if inside else None


def _end(event: Any, first: object) -> object:
    """The end recurring-ical-events gives the event (its EventAdapter.raw_end)."""
    dtend = event.get("DTEND")
    if dtend is not None:
        return getattr(dtend, "dt", None)
    duration = getattr(event.get("DURATION"), "dt", None)
    if duration is not None:
        if not isinstance(duration, timedelta) or (duration.seconds and not isinstance(first, datetime)):
            raise NotPlain("a DURATION the library converts")
        return first + duration  # type: ignore[operator]
    if isinstance(first, date) and not isinstance(first, datetime):
        return first + timedelta(days=1)
    return first


def _same_kind(first: object, last: object) -> bool:
    """Both dates, or both date-times that are both aware or both floating."""
    if isinstance(first, datetime) and isinstance(last, datetime):
        return (first.tzinfo is None) == (last.tzinfo is None)
    return (isinstance(first, date) and isinstance(last, date)
            and not isinstance(first, datetime) and not isinstance(last, datetime))


def split_singles(calendar: Any, start: datetime, end: datetime,
                  zone: ZoneInfo) -> tuple[list[Occurrence], list]:
    """The occurrences of the single events among `calendar`'s VEVENTs, and the components
    still to expand (the series, the VTIMEZONEs, what raised NotPlain)."""
    components = list(calendar.subcomponents)
    uids = [str(c.get("UID", "")) for c in components if c.name == "VEVENT"]
    series = {str(c.get("UID", "")) for c in components if c.name == "VEVENT" and not is_single(c)}
    series |= {uid for uid, count in Counter(uids).items() if count > 1}  # the library picks one
    found: list[Occurrence] = []
    rest = []
    for component in components:
        if component.name != "VEVENT" or str(component.get("UID", "")) in series:
            rest.append(component)
            continue
        try:
            occurrence = single_occurrence(component, start, end, zone)
        except NotPlain:
            rest.append(component)
            continue
        if occurrence is not None:
            found.append(occurrence)
    return found, rest
