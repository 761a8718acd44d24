"""The relationship landscape: the matrix, reciprocity, capacity and letting go.

Turns the habits of DESIGN.md "Why it exists" into figures: each tracked colleague placed by
importance (vital rating, sponsor / anti-sponsor) and by strength (inferred frequency and
recency, rated quality and trust) in one of four named quadrants, each with what to do there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.configuration.loader import Config
from agent.relationships import DUE, ON_TRACK, OVERDUE, Relationship

START_HERE = "start here"
KEEP_STRONG = "keep strong"
MAINTAIN = "maintain lightly"
WATCH = "let it rest"

QUADRANT_ADVICE = {
    START_HERE: "Vital but weak: book a touchbase, ask what they need and how you can help.",
    KEEP_STRONG: "Vital and strong: keep the cadence, share useful information, ask their opinion.",
    MAINTAIN: "Strong but less vital: a friendly note now and then is enough.",
    WATCH: "Neither vital nor strong: do not stretch yourself; let it go when its time has passed.",
}
ANTI_SPONSOR_ADVICE = "Likely to resist: invite them in early, ask what they need, listen first."

_RECENCY = {ON_TRACK: 1.0, DUE: 0.5, OVERDUE: 0.0}
RECIPROCITY_MIN_INVITATIONS = 3
RECIPROCITY_SHARE = 0.8


@dataclass
class Placement:
    """Where one colleague sits in the matrix."""

    relationship: Relationship
    importance: float  # 0..1
    strength: float  # 0..1
    quadrant: str

    @property
    def advice(self) -> str:
        """What to do with this relationship now."""
        if self.relationship.role == "anti-sponsor":
            return ANTI_SPONSOR_ADVICE
        return QUADRANT_ADVICE[self.quadrant]


def importance(rel: Relationship) -> float:
    """0..1 from the vital rating (unrated: 0.4) raised for sponsors and anti-sponsors."""
    base = (rel.vital - 1) / 4 if rel.vital else 0.4
    if rel.role in ("sponsor", "anti-sponsor"):
        base += 0.25
    return round(min(1.0, base), 3)


def strength(rel: Relationship, config: Config) -> float:
    """0..1: the mean of frequency against the cadence, recency, and rated quality and trust.

    Frequency and recency count only contact that took place (held meetings and logged
    interactions): a booked meeting is not contact yet and never makes a relationship stronger.
    """
    expected = max(1.0, config.colleagues.window_days / rel.cadence_days)
    frequency = min(1.0, (rel.stats.meetings + rel.interactions) / expected)
    recency = _RECENCY[rel.contact_status]
    parts = [frequency, recency]
    parts += [(value - 1) / 4 for value in (rel.quality, rel.trust) if value]
    return round(sum(parts) / len(parts), 3)


def place(rel: Relationship, config: Config) -> Placement:
    """The colleague's placement and quadrant."""
    imp, strong = importance(rel), strength(rel, config)
    if imp >= 0.5:
        quadrant = KEEP_STRONG if strong >= 0.5 else START_HERE
    else:
        quadrant = MAINTAIN if strong >= 0.5 else WATCH
    return Placement(rel, imp, strong, quadrant)


def matrix(config: Config, relationships: list[Relationship]) -> list[Placement]:
    """Every tracked colleague who has not been let go, placed."""
    return [place(rel, config) for rel in relationships if not rel.let_go]


@dataclass
class ReciprocityFlag:
    """A relationship that runs one way over the window."""

    email: str
    name: str
    by_user: int
    by_them: int
    direction: str  # "you initiate" | "they initiate"

    @property
    def suggestion(self) -> str:
        """A gentle suggestion for the morning email."""
        who = self.name or self.email
        if self.direction == "you initiate":
            return (f"You sent {self.by_user} of the {self.by_user + self.by_them} invitations "
                    f"between you and {who}. Let them come to you for a while, or ask what would help them.")
        return (f"{who} sent {self.by_them} of the {self.by_user + self.by_them} invitations between you. "
                "Take the initiative next time: invite them, offer help or share something useful.")


def reciprocity_flags(relationships: list[Relationship]) -> list[ReciprocityFlag]:
    """Relationships where one side sent at least 80% of at least 3 invitations.

    An invitation is a meeting or a whole recurring series: a weekly 1:1 one side set up once
    does not make the relationship one-sided by itself.
    """
    flags = []
    for rel in relationships:
        by_user, by_them = len(rel.stats.initiated_by_user), len(rel.stats.initiated_by_them)
        total = by_user + by_them
        if rel.let_go or total < RECIPROCITY_MIN_INVITATIONS:
            continue
        if by_user / total >= RECIPROCITY_SHARE:
            flags.append(ReciprocityFlag(rel.email, rel.name, by_user, by_them, "you initiate"))
        elif by_them / total >= RECIPROCITY_SHARE:
            flags.append(ReciprocityFlag(rel.email, rel.name, by_user, by_them, "they initiate"))
    return flags


def reconnect_list(relationships: list[Relationship], now: datetime) -> list[Relationship]:
    """Drifting colleagues in priority order, without the paused and the let go."""
    return [r for r in relationships if r.drifting and not r.let_go and not r.paused(now)]


@dataclass
class CapacityReport:
    """How many due colleagues there are against what the user can sustain."""

    limit: int
    active: int
    waiting: list[Relationship]

    @property
    def over(self) -> bool:
        """More people are due than free touchbase slots."""
        return bool(self.waiting)


def capacity(config: Config, relationships: list[Relationship], active_touchbases: int,
             now: datetime) -> CapacityReport:
    """Who waits because `touchbase.max_active` series already exist or would be exceeded."""
    free = max(0, config.touchbase.max_active - active_touchbases)
    due = reconnect_list(relationships, now)
    return CapacityReport(config.touchbase.max_active, active_touchbases, due[free:])


def let_go_suggestions(config: Config, relationships: list[Relationship],
                       now: datetime) -> list[Relationship]:
    """Colleagues not met for `let_go_after_days`, not rated vital (4+), not yet let go."""
    limit = config.landscape.let_go_after_days
    return [
        r for r in relationships
        if not r.let_go and (r.vital or 0) < 4 and r.role != "sponsor"
        and r.stats.next_meeting is None
        and r.days_since is not None and r.days_since >= limit
    ]
