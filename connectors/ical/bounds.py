"""Bounded work: which recurring series are too costly to expand, checked before expanding.

A series is skipped (and named) when its RRULE repeats more often than daily (SECONDLY,
MINUTELY, HOURLY: not a meeting one counts), has INTERVAL=0, has more than MAX_INSTANCES
instances in the window, or takes more than EXPAND_SECONDS to step through. The instance count
is first bounded from the rule's parts (`estimate`); only a rule that might exceed the cap, or
that starts so long before the window that stepping to it is long, is stepped through, lazily,
with dateutil, checking the clock as it goes.

What stepping cannot see (dateutil looking for a day that never comes, as with
BYMONTH=2;BYMONTHDAY=30, walks day by day to the year 9999 without yielding) is cut by
`time_limit`: a timer signal that ends the expansion of one series after SERIES_SECONDS, in the
main thread of a process (the agent's, or a parsing worker's), where signals are delivered.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import icalendar

from agent import time_limits as limits

MAX_INSTANCES = 5000
"""More instances than this in the window: the series is skipped."""
EXPAND_SECONDS = 2.0
"""Stepping through one series may take this long."""
SERIES_SECONDS = 5.0
"""Expanding one series (its checks included) may take this long."""
MAX_STEPS = 200_000
"""A rule estimated to take more steps than this from its start is stepped through first."""
SUB_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")
_PERIOD_DAYS = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 28, "YEARLY": 365}
_UTC_UNTIL = re.compile(r"(UNTIL=\d{8}(?:T\d{6})?)Z", re.I)


def series_problem(event: icalendar.Event, start: datetime, end: datetime) -> str:
    """Why the series of `event` must not be expanded over [start, end) ("" when it may)."""
    rules = event.get("RRULE")
    if rules is None:
        return ""
    first = getattr(event.get("DTSTART"), "dt", None)
    if not isinstance(first, date):
        return ""
    for rule in rules if isinstance(rules, list) else [rules]:
        problem = _rule_problem(rule, first, start, end)
        if problem:
            return problem
    return ""


def _rule_problem(rule: icalendar.vRecur, first: date, start: datetime, end: datetime) -> str:
    freq = str(_one(rule, "FREQ") or "").upper()
    if freq in SUB_DAILY:
        return f"it repeats {freq.lower()} (FREQ={freq}): not counted"
    try:
        interval = int(_one(rule, "INTERVAL") or 1)
    except (TypeError, ValueError):
        interval = 1
    if interval < 1:
        return "INTERVAL=0 never moves on"
    if freq not in _PERIOD_DAYS:
        return ""
    per_period = estimate(rule, freq)
    days = _period_days(freq) * interval
    in_window = ((end - start).days // days + 2) * per_period
    first_dt = first if isinstance(first, datetime) else datetime.combine(first, datetime.min.time())
    steps = (max((end.replace(tzinfo=None) - first_dt.replace(tzinfo=None)).days, 0) // days + 2) \
        * per_period
    count = _one(rule, "COUNT")
    if count is not None:
        try:
            steps = min(steps, int(count))
            in_window = min(in_window, int(count))
        except (TypeError, ValueError):
            pass
    if in_window <= MAX_INSTANCES and steps <= MAX_STEPS:
        return ""
    return _step_through(rule, first_dt, start, end)


def estimate(rule: icalendar.vRecur, freq: str) -> int:
    """An upper bound of the instances one period of `rule` yields."""
    result = 1
    for part in ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "BYHOUR", "BYMINUTE",
                 "BYSECOND"):
        values = rule.get(part)
        if values:
            result *= len(values) if isinstance(values, list) else 1
    if rule.get("BYDAY") and freq == "MONTHLY":
        result *= 5
    if rule.get("BYDAY") and freq == "YEARLY" and not rule.get("BYMONTH"):
        result *= 53
    elif rule.get("BYDAY") and freq == "YEARLY":
        result *= 5
    if rule.get("BYMONTHDAY") and freq == "YEARLY" and not rule.get("BYMONTH"):
        result *= 12
    return result


def _step_through(rule: icalendar.vRecur, first: datetime, start: datetime, end: datetime) -> str:
    from dateutil.rrule import rrulestr

    text = _UTC_UNTIL.sub(r"\1", rule.to_ical().decode("utf-8", "replace"))
    try:
        steps = iter(rrulestr(text, dtstart=first.replace(tzinfo=None)))
    except (ValueError, TypeError, OverflowError, IndexError, KeyError):
        return ""  # recurring-ical-events reads it, or names why not
    low, high = start.replace(tzinfo=None), end.replace(tzinfo=None)
    deadline = time.monotonic() + EXPAND_SECONDS
    count = 0
    try:
        for number, moment in enumerate(steps):
            if number % 512 == 0 and time.monotonic() > deadline:
                return f"expanding it took more than {EXPAND_SECONDS:g} s"
            if moment >= high:
                break
            if moment >= low:
                count += 1
                if count > MAX_INSTANCES:
                    return f"more than {MAX_INSTANCES:,} instances in the window"
    except (ValueError, OverflowError, TypeError):
        return ""
    if time.monotonic() > deadline:
        return f"expanding it took more than {EXPAND_SECONDS:g} s"
    return ""


def _one(rule: icalendar.vRecur, key: str) -> str | None:
    value = rule.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def _period_days(freq: str) -> int:
    return _PERIOD_DAYS[freq]


class TooSlow(Exception):
    """A series took longer than its time limit to expand."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TooSlow in the body once `seconds` have passed (main thread only; elsewhere the
    body runs unbounded). An outer timer (a test's hang guard) is restored, less the time used."""
    with limits.time_limit(seconds, TooSlow):
        yield
