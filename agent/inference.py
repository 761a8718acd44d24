"""What counts as a meeting with a colleague, and the figures per colleague.

The rules are those of DESIGN.md "What counts as a meeting with a colleague"; the project's own
reading of the points it leaves open is in docs/rules.md.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent.addresses import bare_address
from agent.configuration.loader import Config
from agent.model import LOCAL_SOURCE, Occurrence

LOOKAHEAD_DAYS = 90
TRACKING_YEAR_DAYS = 365


@dataclass(frozen=True)
class CountedMeeting:
    """An occurrence that counts, with the colleagues it counts for."""

    occurrence: Occurrence
    colleagues: tuple[str, ...]
    others: int  # people besides the user who did not decline
    organizer: str  # normalised address of the organiser

    @property
    def one_on_one(self) -> bool:
        """A counted meeting with exactly one other person."""
        return self.others == 1


class MeetingRules:
    """Applies the counting rules of the design to single occurrences."""

    def __init__(self, config: Config) -> None:
        cfg = config.colleagues
        self.aliases = {bare_address(k): bare_address(v) for k, v in cfg.aliases.items()}
        self._normalised: dict[str, str] = {}
        self.user = {self.normalise(a) for a in config.user_emails}
        self.domains = tuple(d.lower().lstrip("@") for d in cfg.internal_domains)
        self.exclude = {self.normalise(a) for a in cfg.exclude}
        self.max_attendees = cfg.max_attendees

    def normalise(self, address: str) -> str:
        """Lower-cased, without `mailto:`, after mapping configured aliases (memoised)."""
        known = self._normalised.get(address)
        if known is None:
            bare = bare_address(address)
            known = self._normalised[address] = self.aliases.get(bare, bare)
        return known

    def is_internal(self, address: str) -> bool:
        """True when no internal domains are set, or the address is in one of them."""
        if not self.domains:
            return True
        domain = address.rpartition("@")[2]
        return any(domain == d or domain.endswith("." + d) for d in self.domains)

    def user_took_part(self, occ: Occurrence) -> bool:
        """The user organised it, or is an attendee who did not decline."""
        if occ.user_response == "declined":
            return False
        own = [a for a in occ.attendees if self.normalise(a.email) in self.user]
        if own:
            return any(a.response != "declined" for a in own)
        if self.normalise(occ.organizer) in self.user:
            return True
        return bool(occ.user_response)

    def count(self, occ: Occurrence) -> CountedMeeting | None:
        """The counted meeting `occ` is, or None when it does not count at all."""
        if occ.source == LOCAL_SOURCE:  # the agent's local calendar file: nobody was invited
            return None
        if occ.all_day or occ.cancelled or not self.user_took_part(occ):
            return None
        present = self._people_present(occ)
        if present is None or not present or len(present) > self.max_attendees:
            return None
        colleagues = tuple(
            p for p in present if p not in self.exclude and self.is_internal(p)
        )
        if not colleagues:
            return None
        return CountedMeeting(occ, colleagues, len(present), self.normalise(occ.organizer))

    def _people_present(self, occ: Occurrence) -> list[str] | None:
        """Persons besides the user who did not decline; None for a mailing-list invitation."""
        seen: dict[str, bool] = {}
        for attendee in occ.attendees:
            if attendee.kind == "group":
                return None
            address = self.normalise(attendee.email)
            if attendee.kind != "person" or not address or address in self.user:
                continue
            declined = attendee.response == "declined"
            seen[address] = seen.get(address, False) or not declined
        organizer = self.normalise(occ.organizer)
        if organizer and organizer not in self.user and organizer not in seen:
            seen[organizer] = True
        return [address for address, present in seen.items() if present]


@dataclass
class ColleagueStats:
    """The figures of one colleague over the window."""

    email: str
    name: str = ""
    meetings: int = 0
    one_on_ones: int = 0
    last_met: datetime | None = None
    last_seen: datetime | None = None  # the latest counted meeting in the whole synced past
    next_meeting: datetime | None = None
    organised_by_user: int = 0
    organised_by_them: int = 0
    meetings_past_year: int = 0
    upcoming_recurring: bool = False  # an upcoming occurrence of a small recurring meeting
    starts: list[datetime] = field(default_factory=list, repr=False)
    # Invitations rather than occurrences: a recurring series counts once (reciprocity).
    initiated_by_user: set[str] = field(default_factory=set, repr=False)
    initiated_by_them: set[str] = field(default_factory=set, repr=False)

    @property
    def typical_gap_days(self) -> float | None:
        """The median number of days between consecutive meetings in the window."""
        if len(self.starts) < 2:
            return None
        gaps = [(b - a).total_seconds() / 86400 for a, b in zip(self.starts, self.starts[1:], strict=False)]
        return round(statistics.median(gaps), 1)

    def as_dict(self) -> dict:
        """The JSON shape of `people --json` (ISO 8601 with offset, or null)."""
        return {
            "email": self.email,
            "name": self.name,
            "meetings": self.meetings,
            "one_on_ones": self.one_on_ones,
            "last_met": self.last_met.isoformat() if self.last_met else None,
            "next_meeting": self.next_meeting.isoformat() if self.next_meeting else None,
            "organised_by_user": self.organised_by_user,
            "organised_by_them": self.organised_by_them,
            "typical_gap_days": self.typical_gap_days,
            "meetings_past_year": self.meetings_past_year,
        }


def sync_window(config: Config, now: datetime) -> tuple[datetime, datetime]:
    """The span of time the connectors read: the past year (or window) and 90+ days ahead."""
    back = max(config.colleagues.window_days, TRACKING_YEAR_DAYS)
    ahead = max(LOOKAHEAD_DAYS, config.touchbase.cadence_days * 2)
    return now - timedelta(days=back), now + timedelta(days=ahead)


def compute_stats(config: Config, occurrences: Iterable[Occurrence],
                  now: datetime) -> dict[str, ColleagueStats]:
    """Per colleague figures, from occurrences in start order, as of `now`.

    Days are counted in the user's calendar (the window starts at the same wall-clock time
    `window_days` earlier in the user's zone, whatever zone `now` is written in). The same
    occurrence (same key, i.e. UID and recurrence id) seen in several sources counts once.
    """
    rules = MeetingRules(config)
    now = now.astimezone(config.zone)
    window_start = now - timedelta(days=config.colleagues.window_days)
    year_start = now - timedelta(days=TRACKING_YEAR_DAYS)
    horizon = sync_window(config, now)[1]
    stats: dict[str, ColleagueStats] = {}
    seen: set[str] = set()
    for occ in occurrences:
        if occ.start >= horizon or occ.key in seen or occ.source == LOCAL_SOURCE:
            continue
        seen.add(occ.key)
        counted = rules.count(occ)
        if counted is None:
            continue
        for email in counted.colleagues:
            entry = stats.get(email)
            if entry is None:
                entry = stats[email] = ColleagueStats(email=email)
            _add(entry, counted, occ, now, window_start, year_start, rules)
    for entry in stats.values():
        entry.starts.sort()
    return stats


def _add(entry: ColleagueStats, counted: CountedMeeting, occ: Occurrence, now: datetime,
         window_start: datetime, year_start: datetime, rules: MeetingRules) -> None:
    name = _name_of(entry.email, occ, rules)
    if name:
        entry.name = name
    if occ.start >= now:
        if entry.next_meeting is None or occ.start < entry.next_meeting:
            entry.next_meeting = occ.start
        if occ.series_id:
            entry.upcoming_recurring = True
        return
    if entry.last_seen is None or occ.start > entry.last_seen:
        entry.last_seen = occ.start
    if occ.start >= year_start:
        entry.meetings_past_year += 1
    if occ.start < window_start:
        return
    entry.meetings += 1
    entry.starts.append(occ.start)
    if counted.one_on_one:
        entry.one_on_ones += 1
    if entry.last_met is None or occ.start > entry.last_met:
        entry.last_met = occ.start
    if counted.organizer in rules.user:
        entry.organised_by_user += 1
        entry.initiated_by_user.add(occ.series_id or occ.resource)
    elif counted.organizer == entry.email:
        entry.organised_by_them += 1
        entry.initiated_by_them.add(occ.series_id or occ.resource)


def _name_of(email: str, occ: Occurrence, rules: MeetingRules) -> str:
    """The colleague's display name in `occ`; a "name" that is an address (Graph gives the
    address when it knows no name) is no name."""
    for attendee in occ.attendees:
        if _is_name(attendee.name) and rules.normalise(attendee.email) == email:
            return attendee.name
    if _is_name(occ.organizer_name) and rules.normalise(occ.organizer) == email:
        return occ.organizer_name
    return ""


def _is_name(text: str) -> bool:
    return bool(text) and "@" not in text
