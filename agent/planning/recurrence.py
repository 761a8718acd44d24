"""The cadence of a relationship as the recurrence of its touchbase.

Up to 10 days: weekly; 11-20: every two weeks; 21-45: monthly on a relative day ("second
Tuesday"); 46-75: every two months; over 75: quarterly (docs/touchbases.md "The cadence").
"""
from __future__ import annotations

from dataclasses import dataclass

WEEKLY, MONTHLY = "weekly", "monthly"


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
        """'every week', 'every other week', 'monthly', 'every two months', 'quarterly'."""
        if self.frequency == WEEKLY:
            return "every week" if self.interval == 1 else "every other week"
        return {1: "monthly", 2: "every two months", 3: "quarterly"}.get(
            self.interval, f"every {self.interval} months")


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


def cadence_of(rrule: str) -> Cadence:
    """The Cadence of an RRULE text the agent wrote (an empty text is the monthly default)."""
    parts = dict(p.split("=", 1) for p in rrule.upper().split(";") if "=" in p)
    frequency = WEEKLY if parts.get("FREQ") == "WEEKLY" else MONTHLY
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    return Cadence(frequency, interval)
