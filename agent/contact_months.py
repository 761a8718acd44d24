"""Contact per month over the last twelve months: held meetings, logged contact and two-way
email with each colleague, counted by the rules of the figures (agent/inference.py,
agent/mail_signal.py), and the sparkline that shows it, so drift is seen rather than read.

The months are calendar months in the user's zone, the current one last (it is still running).
The terminal and the morning email draw the sparkline with text characters (`·` for a month
without contact, then `▁` for one contact up to `█` for eight or more); the map draws bars.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.configuration.loader import Config
from agent.inference import MeetingRules
from agent.model import LOCAL_SOURCE
from agent.storage import interactions, mail_contacts, occurrences
from agent.storage.store import Store

MONTHS = 12
BLOCKS = "▁▂▃▄▅▆▇█"
NO_CONTACT = "·"
KINDS = ("meetings", "logged", "email")


@dataclass
class ContactMonths:
    """One colleague's contact per month, oldest month first."""

    months: list[date]
    meetings: list[int] = field(default_factory=list)
    logged: list[int] = field(default_factory=list)
    email: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for kind in KINDS:
            if not getattr(self, kind):
                setattr(self, kind, [0] * len(self.months))

    @property
    def totals(self) -> list[int]:
        """All contact per month."""
        return [sum(counts) for counts in zip(self.meetings, self.logged, self.email, strict=True)]

    def sparkline(self) -> str:
        """Twelve characters, one a month: `·` none, `▁` one contact ... `█` eight or more."""
        return "".join(BLOCKS[min(n, len(BLOCKS)) - 1] if n else NO_CONTACT for n in self.totals)

    def span(self) -> str:
        """The months covered, e.g. "Apr 2025 to Mar 2026"."""
        return f"{self.months[0]:%b %Y} to {self.months[-1]:%b %Y}"

    def as_dict(self) -> dict:
        """The JSON shape: the months (YYYY-MM) and each kind's counts, in the same order."""
        return {"months": [f"{m:%Y-%m}" for m in self.months],
                **{kind: list(getattr(self, kind)) for kind in KINDS}}


def month_starts(now: datetime, zone: ZoneInfo, count: int = MONTHS) -> list[date]:
    """The first days of the `count` months up to and including `now`'s, in `zone`."""
    today = now.astimezone(zone).date()
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


def contact_months(config: Config, store: Store, emails: Iterable[str],
                   now: datetime) -> dict[str, ContactMonths]:
    """Each of `emails` (normalised addresses) with its contact per month up to `now`."""
    zone = config.zone
    months = month_starts(now, zone)
    result = {email: ContactMonths(months) for email in emails}
    start = datetime.combine(months[0], time(0), zone)
    slot = {month: i for i, month in enumerate(months)}

    def add(email: str, moment: datetime, kind: str) -> None:
        entry = result.get(email)
        local = moment.astimezone(zone).date().replace(day=1)
        if entry is not None and local in slot and start <= moment <= now:
            getattr(entry, kind)[slot[local]] += 1

    rules = MeetingRules(config)
    for email, moment in _meetings(store, rules, start, now, set(result)):
        add(email, moment, "meetings")
    for item in interactions.up_to(store, now):
        add(rules.normalise(item.email), item.at, "logged")
    for email, moment in _two_way_mail(store, rules, now):
        add(email, moment, "email")
    return result


NARROW_MAX = 50
"""Up to this many colleagues, only the occurrences naming one of them are read."""


def _meetings(store: Store, rules: MeetingRules, start: datetime, now: datetime,
              wanted: set[str]) -> Iterable[tuple[str, datetime]]:
    """(colleague, start) of every held meeting that counts (a copy in two sources once); for
    a few `wanted` colleagues (the morning email's ten, `person`'s one) only the first copies
    that name one of them or an alias of theirs are read (the rest cannot count for them)."""
    if len(wanted) <= NARROW_MAX:
        needles = sorted(wanted | {raw for raw, target in rules.aliases.items() if target in wanted})
        for occ in occurrences.first_copies_naming(store, start - timedelta(days=1), now, needles):
            counted = rules.count(occ)
            for email in counted.colleagues if counted else ():
                yield email, occ.start
        return
    seen: set[str] = set()
    for occ in store.occurrences(start - timedelta(days=1), now):
        if occ.key in seen or occ.source == LOCAL_SOURCE:
            continue
        seen.add(occ.key)
        counted = rules.count(occ)
        for email in counted.colleagues if counted else ():
            yield email, occ.start


def _two_way_mail(store: Store, rules: MeetingRules, now: datetime) -> Iterable[tuple[str, datetime]]:
    """(colleague, instant) of every counted message in a thread that went both ways."""
    threads: dict[tuple[str, str], list] = {}
    for row in mail_contacts.up_to(store, now):
        threads.setdefault((rules.normalise(row.email), row.thread), []).append(row)
    for (email, _), rows in threads.items():
        if {row.direction for row in rows} == {"in", "out"}:
            yield from ((email, row.at) for row in rows)
