"""The cadence of a relationship as the recurrence of its touchbase, and its one phrase.

Up to 10 days: weekly; 11-20: every two weeks; 21-45: monthly on a relative day ("2nd
Tuesday"); 46-75: every two months; over 75: quarterly (docs/touchbases.md "The cadence").

`schedule_phrase` is the only wording of a series' schedule: the terminal, the morning email,
the touchbase event's description on every target, the map and the docs all say it this way
("monthly on the 2nd Wednesday, 09:00-09:30 Europe/Berlin").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent.configuration.loader import WEEKDAYS

WEEKLY, MONTHLY = "weekly", "monthly"
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday"), strict=True))
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", -1: "last"}


@dataclass(frozen=True)
class Cadence:
    """A recurrence frequency: weekly or monthly (relative day), every `interval` of them."""

    frequency: str = MONTHLY
    interval: int = 1

    def rrule(self, weekday: str, week_index: int) -> str:
        """The RRULE text on `weekday` (and, monthly, its `week_index` in the month)."""
        every = f";INTERVAL={self.interval}" if self.interval > 1 else ""
        if self.frequency == WEEKLY:
            return f"FREQ=WEEKLY{every};BYDAY={weekday}"
        return f"FREQ=MONTHLY{every};BYDAY={week_index}{weekday}"

    @property
    def check_count(self) -> int:
        """How many upcoming occurrences a new slot must have free: about five weeks' worth,
        at least two."""
        if self.frequency == WEEKLY:
            return 4 if self.interval == 1 else 3
        return 2

    @property
    def step_days(self) -> int:
        """The longest gap between two occurrences, in days."""
        return 7 * self.interval if self.frequency == WEEKLY else 31 * self.interval

    def words(self) -> str:
        """'weekly', 'every 2 weeks', 'monthly', 'every 2 months', 'quarterly'."""
        if self.frequency == WEEKLY:
            return "weekly" if self.interval == 1 else f"every {self.interval} weeks"
        return {1: "monthly", 3: "quarterly"}.get(self.interval, f"every {self.interval} months")


MONTHLY_CADENCE = Cadence()


def cadence_for(days: int) -> Cadence:
    """The recurrence a cadence of `days` asks for."""
    if days <= 10:
        return Cadence(WEEKLY, 1)
    if days <= 20:
        return Cadence(WEEKLY, 2)
    if days <= 45:
        return Cadence(MONTHLY, 1)
    if days <= 75:
        return Cadence(MONTHLY, 2)
    return Cadence(MONTHLY, 3)


def _rule_parts(rrule: str) -> dict[str, str]:
    text = rrule.strip().upper().removeprefix("RRULE:")
    return dict(p.split("=", 1) for p in text.split(";") if "=" in p)


def cadence_of(rrule: str) -> Cadence:
    """The Cadence of an RRULE text the agent wrote (an empty text is the monthly default)."""
    parts = _rule_parts(rrule)
    frequency = WEEKLY if parts.get("FREQ") == "WEEKLY" else MONTHLY
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    return Cadence(frequency, interval)


def schedule_phrase(rrule: str, start: datetime, minutes: int, zone: ZoneInfo) -> str:
    """The one phrase of a series' schedule: "weekly on Tuesday", "every 2 weeks on Tuesday",
    "monthly on the 2nd Wednesday", "every 2 months on the last Friday", "quarterly on the 1st
    Monday", then the time in `zone` and the zone's name: "..., 09:00-09:30 Europe/Berlin".

    `rrule` is the series' RRULE text (as written, or as read back from a calendar); the day
    comes from its BYDAY, else from `start` (the first occurrence) in `zone`.
    """
    local = start.astimezone(zone)
    end = local + timedelta(minutes=minutes)
    return f"{repeat_phrase(rrule, local.date())}, {local:%H:%M}-{end:%H:%M} {zone.key}"


def repeat_phrase(rrule: str, first: date) -> str:
    """How the series repeats, without the time: "monthly on the 2nd Wednesday" (`first`: the
    date of the first occurrence, for a rule without BYDAY)."""
    cadence, byday = cadence_of(rrule), _rule_parts(rrule).get("BYDAY", "").split(",")[0]
    weekday = byday[-2:] if byday[-2:] in DAY_NAMES else WEEKDAYS[first.weekday()]
    if cadence.frequency == WEEKLY:
        return f"{cadence.words()} on {DAY_NAMES[weekday]}"
    index = _week_index(byday[:-2]) or position_in_month(first)[0]
    return f"{cadence.words()} on the {ordinal(index)} {DAY_NAMES[weekday]}"


def _week_index(text: str) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def ordinal(index: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., last (-1), 2nd to last (-2)."""
    if index < -1:
        return f"{ordinal(-index)} to last"
    return _ORDINALS.get(index, f"{index}th")


def position_in_month(day: date) -> tuple[int, str]:
    """(week index, weekday) of `day`: 1..4, or -1 for a fifth weekday (which is the last)."""
    index = (day.day - 1) // 7 + 1
    return (-1 if index == 5 else index), WEEKDAYS[day.weekday()]
