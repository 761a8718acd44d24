"""Free-slot finding for touchbases: working hours and days in the user's zone, busy merged.

A touchbase repeats on the rule of its cadence (agent.planning.recurrence), so a slot is judged
on as many first occurrences as that rule needs (`Cadence.check_count`): all must be free, and
none may fall on a day that already holds `max_per_day` touchbases. Recurrences are computed
with dateutil's rrule from the same RRULE text the series carries, never by hand.
"""
from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from agent.configuration.loader import WEEKDAYS, Config
from agent.inference import MeetingRules
from agent.model import Occurrence, WorkingHours
from agent.planning.recurrence import (
    MONTHLY_CADENCE,
    Cadence,
    cadence_of,
    position_in_month,
    schedule_phrase,
)
from agent.storage.store import Store

Interval = tuple[datetime, datetime]

SEARCH_DAYS = 28
"""The first occurrence is looked for in the four weeks from tomorrow: every weekday position once."""
STEP_MINUTES = 30


@dataclass(frozen=True)
class Slot:
    """The first occurrence of a series, its position in the month and its cadence."""

    start: datetime
    end: datetime
    weekday: str  # MO..SU
    week_index: int  # 1..4, or -1 for the last
    cadence: Cadence = MONTHLY_CADENCE

    @property
    def rrule(self) -> str:
        """The RRULE text of the series."""
        return self.cadence.rrule(self.weekday, self.week_index)

    def schedule(self, zone: ZoneInfo) -> str:
        """The series' schedule phrase: "monthly on the 2nd Tuesday, 10:00-10:30 Europe/Berlin"."""
        minutes = int((self.end - self.start).total_seconds() // 60)
        return schedule_phrase(self.rrule, self.start, minutes, zone)

    def describe(self, zone: ZoneInfo) -> str:
        """The schedule and the first day: "monthly on the 2nd Tuesday, 10:00-10:30
        Europe/Berlin, starting 2026-12-08"."""
        return f"{self.schedule(zone)}, starting {self.start.astimezone(zone):%Y-%m-%d}"


def slot_at(start: datetime, minutes: int, zone: ZoneInfo,
            cadence: Cadence = MONTHLY_CADENCE) -> Slot:
    """The slot of a series on `cadence` whose first occurrence is `start`."""
    local = start.astimezone(zone)
    week_index, weekday = position_in_month(local.date())
    return Slot(local, local + timedelta(minutes=minutes), weekday, week_index, cadence)


def describe_series(start: datetime, minutes: int, zone: ZoneInfo, rrule: str = "") -> str:
    """The description of a series (RRULE text `rrule`) whose first occurrence is `start`."""
    return slot_at(start, minutes, zone, cadence_of(rrule)).describe(zone)


def working_hours(config: Config) -> tuple[time, time]:
    """The configured working hours as two times (24:00 means the end of the day)."""
    first, last = config.touchbase.working_hours.split("-")
    end = time.max if last == "24:00" else time.fromisoformat(last)
    return time.fromisoformat(first), end


def search_range(config: Config, now: datetime) -> tuple[datetime, datetime]:
    """Where first occurrences are looked for: from tomorrow 00:00 (user's zone), four weeks."""
    zone = config.zone
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, time(0), zone)
    return start, start + timedelta(days=SEARCH_DAYS)


def busy_range(config: Config, now: datetime,
               cadence: Cadence = MONTHLY_CADENCE) -> tuple[datetime, datetime]:
    """The span busy time is read for: the search range plus the occurrences checked after it."""
    start, end = search_range(config, now)
    return start, end + timedelta(days=cadence.step_days * (cadence.check_count - 1) + 6)


def checked_occurrences(slot: Slot, zone: ZoneInfo) -> list[Interval]:
    """The occurrences of a new series that must be free (`Cadence.check_count` of them)."""
    return occurrences_of(slot, slot.cadence.check_count, zone)


def occurrences_of(slot: Slot, count: int, zone: ZoneInfo) -> list[Interval]:
    """The first `count` occurrences of the series starting at `slot`, in `zone`."""
    local = slot.start.astimezone(zone).replace(tzinfo=None)
    rule = rrulestr(slot.rrule, dtstart=local)
    length = slot.end - slot.start
    result = []
    for moment in rule:
        aware = moment.replace(tzinfo=zone)
        result.append((aware, aware + length))
        if len(result) >= count:
            break
    return result


def user_busy(config: Config, store: Store, start: datetime, end: datetime) -> list[Interval]:
    """The user's busy time from every synced source: timed, not cancelled, not declined."""
    rules = MeetingRules(config)
    result = []
    for occ in store.occurrences(start - timedelta(days=1), end):
        if occ.end > start and blocks_user(occ, rules):
            result.append((occ.start, occ.end))
    return result


def blocks_user(occ: Occurrence, rules: MeetingRules) -> bool:
    """True when `occ` makes the user busy: timed, not cancelled, not free (transparent), not
    declined by the user."""
    return (not occ.all_day and not occ.cancelled and not occ.transparent
            and not _user_declined(occ, rules))


def _user_declined(occ: Occurrence, rules: MeetingRules) -> bool:
    if occ.user_response == "declined":
        return True
    own = [a for a in occ.attendees if rules.normalise(a.email) in rules.user]
    return bool(own) and all(a.response == "declined" for a in own)


class BusyIndex:
    """Busy intervals merged and sorted, for fast overlap checks."""

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.add_all(intervals)

    def add_all(self, intervals: Iterable[Interval]) -> None:
        """Add intervals (merging overlapping ones)."""
        merged: list[Interval] = []
        for start, end in sorted([*zip(self.starts, self.ends, strict=True), *intervals]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def is_free(self, start: datetime, end: datetime) -> bool:
        """True when nothing busy overlaps [start, end)."""
        index = bisect.bisect_left(self.starts, end)
        return index == 0 or self.ends[index - 1] <= start


class DayLoad:
    """Touchbases per day (user's zone), against `[touchbase] max_per_day`."""

    def __init__(self, zone: ZoneInfo, limit: int, starts: Iterable[datetime] = ()) -> None:
        self.zone, self.limit = zone, limit
        self.counts: Counter[date] = Counter()
        self.add(starts)

    def add(self, starts: Iterable[datetime]) -> None:
        """Count touchbases starting at `starts`."""
        self.counts.update(start.astimezone(self.zone).date() for start in starts)

    def remove(self, start: datetime) -> None:
        """Stop counting one touchbase (an instance being moved away)."""
        day = start.astimezone(self.zone).date()
        if self.counts[day] > 0:
            self.counts[day] -= 1

    def has_room(self, start: datetime) -> bool:
        """True when the day of `start` holds fewer than `max_per_day` touchbases."""
        return self.counts[start.astimezone(self.zone).date()] < self.limit


def find_slot(config: Config, busy: BusyIndex, now: datetime, cadence: Cadence = MONTHLY_CADENCE,
              load: DayLoad | None = None, hours: WorkingHours | None = None) -> Slot | None:
    """The earliest slot in working hours (the user's, and the colleague's `hours` where known)
    whose checked occurrences are all free, or None."""
    zone = config.zone
    first_day, last_moment = search_range(config, now)
    length = timedelta(minutes=config.touchbase.duration_minutes)
    opens, closes = working_hours(config)
    days = set(config.touchbase.working_days)
    day = first_day.date()
    while datetime.combine(day, time(0), zone) < last_moment:
        if WEEKDAYS[day.weekday()] in days:
            slot = _slot_on(day, (opens, closes), length, zone, busy, cadence, load, hours)
            if slot is not None:
                return slot
        day += timedelta(days=1)
    return None


def _slot_on(day: date, span: tuple[time, time], length: timedelta, zone: ZoneInfo,
             busy: BusyIndex, cadence: Cadence, load: DayLoad | None,
             hours: WorkingHours | None) -> Slot | None:
    week_index, weekday = position_in_month(day)
    moment = datetime.combine(day, span[0], zone)
    closing = datetime.combine(day, span[1], zone)
    if load is not None and not load.has_room(moment):
        return None
    while moment + length <= closing:
        slot = Slot(moment, moment + length, weekday, week_index, cadence)
        if (hours is None or hours.contains(slot.start, slot.end)) and is_free(slot, zone, busy, load):
            return slot
        moment += timedelta(minutes=STEP_MINUTES)
    return None


def is_free(slot: Slot, zone: ZoneInfo, busy: BusyIndex, load: DayLoad | None = None) -> bool:
    """True when the checked occurrences of the series are all free (and, with `load`, on
    days with room for one more touchbase)."""
    for start, end in checked_occurrences(slot, zone):
        if not busy.is_free(start, end) or (load is not None and not load.has_room(start)):
            return False
    return True
