"""Relationship state: who is tracked, their cadence, status and priority order."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.colleague_figures import colleague_stats
from agent.configuration.loader import Config
from agent.inference import ColleagueStats, MeetingRules
from agent.interactions import ContactLog, contact_log
from agent.mail_signal import MailFigures, mail_figures
from agent.storage import people_records
from agent.storage.store import Store, parse_iso

ON_TRACK, BOOKED, DUE, OVERDUE = "on track", "booked", "due", "overdue"
STATUSES = (ON_TRACK, BOOKED, DUE, OVERDUE)
_STATUS_RANK = {OVERDUE: 0, DUE: 1, BOOKED: 2, ON_TRACK: 3}
VITAL_RATING = 4
"""A vital rating at least this high puts a drifting colleague ahead of the others."""


@dataclass
class Relationship:
    """One colleague as the agent sees them: figures, ratings, status."""

    email: str
    name: str
    stats: ColleagueStats
    cadence_days: int
    status: str
    days_since: float | None  # since the last contact that took place (meeting, logged, mail)
    last_contact: datetime | None = None
    interactions: int = 0  # logged interactions in the window
    email_threads: int = 0  # two-way mail threads whose latest counted message is in the window
    last_emailed: datetime | None = None
    rated: bool = False
    vital: int | None = None
    quality: int | None = None
    trust: int | None = None
    role: str = "neutral"
    paused_until: datetime | None = None
    let_go: bool = False

    @property
    def drifting(self) -> bool:
        """Due or overdue (a booked meeting is not yet contact, but nothing to act on)."""
        return self.status in (DUE, OVERDUE)

    @property
    def contact_status(self) -> str:
        """The status from contact that took place alone: what strength reads, never bookings."""
        return contact_status_of(self.days_since, self.cadence_days)

    def paused(self, now: datetime) -> bool:
        """True while the colleague is left alone after declines."""
        return self.paused_until is not None and self.paused_until > now

    @property
    def vital_one(self) -> bool:
        """Rated vital (4 or 5 of 5)."""
        return (self.vital or 0) >= VITAL_RATING

    def priority_key(self) -> tuple:
        """Sort key: drifting first, and among them vital before the rest; then overdue before
        due, the higher vital rating, the longest gap against the cadence (never met: longest)."""
        ratio = (self.days_since / self.cadence_days) if self.days_since is not None else 1e6
        return (not self.drifting, not self.vital_one, _STATUS_RANK[self.status],
                -(self.vital or 0), -ratio, self.email)


def relationships(config: Config, store: Store, now: datetime,
                  stats: dict[str, ColleagueStats] | None = None) -> list[Relationship]:
    """Tracked colleagues in priority order (paused and let-go colleagues included, flagged).

    Tracked: every colleague the user rated, plus those the calendar shows as a real working
    relationship (`landscape.track_min_meetings` counted meetings in the past year). Excluded
    addresses and the user's own addresses are never tracked.
    """
    stats = colleague_stats(config, store, now) if stats is None else stats
    rules = MeetingRules(config)
    log = _contact_log(config, store, now)
    mail = mail_figures(config, store, now)
    rows = people_records.all_records(store)
    minimum = config.landscape.track_min_meetings
    emails = {email for email, row in rows.items() if _rated(row)}
    emails |= {email for email, entry in stats.items() if entry.meetings_past_year >= minimum}
    result = [
        _relationship(config, email, stats.get(email), rows.get(email), now, log, mail.get(email))
        for email in emails if email not in rules.exclude and email not in rules.user
    ]
    result.sort(key=Relationship.priority_key)
    return result


def relationship_of(config: Config, store: Store, email: str, now: datetime,
                    stats: dict[str, ColleagueStats] | None = None) -> Relationship:
    """The relationship with one colleague, tracked or not (for `person` and `approve`)."""
    stats = colleague_stats(config, store, now) if stats is None else stats
    row = people_records.record_of(store, email)
    mail = mail_figures(config, store, now).get(email)
    return _relationship(config, email, stats.get(email), row, now, _contact_log(config, store, now), mail)


def is_tracked(config: Config, rel: Relationship) -> bool:
    """True when `rel` would be listed by `relationships`."""
    return rel.rated or rel.stats.meetings_past_year >= config.landscape.track_min_meetings


TRACKED, NOT_TRACKED, LET_GO, PAUSED = "tracked", "not tracked", "let go", "paused"
STANDINGS = (TRACKED, NOT_TRACKED, LET_GO, PAUSED)
"""The one vocabulary of where a colleague stands, said the same way by people, person, the
morning email and the map."""


def standing(config: Config, rel: Relationship, now: datetime) -> str:
    """"let go" (until `touchbase resume`), "paused" (left alone after declines, until a date),
    else "tracked" or "not tracked"."""
    if rel.let_go:
        return LET_GO
    if rel.paused(now):
        return PAUSED
    return TRACKED if is_tracked(config, rel) else NOT_TRACKED


def shown_status(config: Config, rel: Relationship, now: datetime) -> str:
    """The word shown where a status goes: the status (on track, booked, due, overdue) of a
    tracked colleague, else the standing ("not tracked", "let go", "paused")."""
    where = standing(config, rel, now)
    return rel.status if where == TRACKED else where


def _rated(row: dict) -> bool:
    return bool(row.get("rated_at") or row.get("vital") or row.get("quality") or row.get("trust"))


def _contact_log(config: Config, store: Store, now: datetime) -> ContactLog:
    return contact_log(store, now - timedelta(days=config.colleagues.window_days), now)


def last_contact(entry: ColleagueStats, log: ContactLog,
                 mail: MailFigures | None = None) -> datetime | None:
    """The latest contact that took place: a held meeting, a logged interaction, two-way mail."""
    emailed = mail.last_emailed if mail else None
    moments = [m for m in (entry.last_seen, log.latest.get(entry.email), emailed) if m is not None]
    return max(moments) if moments else None


def _relationship(config: Config, email: str, entry: ColleagueStats | None, row: dict | None,
                  now: datetime, log: ContactLog, mail: MailFigures | None = None) -> Relationship:
    entry = entry or ColleagueStats(email=email)
    row = row or {}
    mail = mail or MailFigures()
    cadence = row.get("cadence_days") or config.touchbase.cadence_days
    contact = last_contact(entry, log, mail)
    days_since = (now - contact).total_seconds() / 86400 if contact else None
    return Relationship(
        email=email,
        name=row.get("name") or entry.name or "",
        stats=entry,
        cadence_days=cadence,
        status=status_of(days_since, entry.next_meeting, cadence, now),
        days_since=days_since,
        last_contact=contact,
        interactions=log.in_window.get(email, 0),
        email_threads=mail.email_threads,
        last_emailed=mail.last_emailed,
        rated=_rated(row) if row else False,
        vital=row.get("vital"),
        quality=row.get("quality"),
        trust=row.get("trust"),
        role=row.get("role") or "neutral",
        paused_until=parse_iso(row["paused_until"]) if row.get("paused_until") else None,
        let_go=bool(row.get("let_go_at")),
    )


def status_of(days_since: float | None, next_meeting: datetime | None, cadence: int,
              now: datetime) -> str:
    """On track (contact within the cadence), booked (no contact within it, but a meeting booked
    within it), due (past the cadence) or overdue (past 1.5x the cadence)."""
    status = contact_status_of(days_since, cadence)
    if status != ON_TRACK and next_meeting is not None and next_meeting <= now + timedelta(days=cadence):
        return BOOKED
    return status


def contact_status_of(days_since: float | None, cadence: int) -> str:
    """On track, due or overdue from the days since the last contact alone (no bookings)."""
    if days_since is not None and days_since <= cadence:
        return ON_TRACK
    if days_since is not None and days_since <= 1.5 * cadence:
        return DUE
    return OVERDUE
