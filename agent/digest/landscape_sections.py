"""The landscape sections of the morning email: capacity, one-way relationships, letting go,
and the compact matrix (a table with coloured bars; no SVG, no scripts, no links).

Each builder returns None when its section does not apply; `register` (called by agent/digest/morning.py)
puts them into the email.
"""
from __future__ import annotations

from agent.digest.sections import (
    RECONNECT_LIMIT,
    DigestContext,
    Item,
    Section,
    add_section,
    health_section,
    touchbase_section,
)
from agent.landscape.map import compact_rows
from agent.landscape.matrix import (
    QUADRANT_ADVICE,
    capacity,
    let_go_suggestions,
    matrix,
    reciprocity_flags,
)
from agent.relationships import Relationship
from agent.storage import own_series

MATRIX_LIMIT = 12
"""Rows of the compact matrix; the whole landscape is in `touchbase map --html FILE`."""
BAR_WIDTH = 10
"""Characters of a bar in the text part."""
RECIPROCITY_LIMIT = 3
"""One-way relationships shown a day (priority order); the map lists them all."""


# --- capacity ------------------------------------------------------------------------------

def booked_touchbases(ctx: DigestContext) -> set[str]:
    """Addresses with a touchbase series in the calendar (active, or being written)."""
    return own_series.booked_emails(ctx.store)


def capacity_section(ctx: DigestContext) -> Section | None:
    """When more colleagues are due than free touchbase slots: how many, and who waits."""
    booked = booked_touchbases(ctx)
    rels = [r for r in ctx.relationships if r.email not in booked]
    report = capacity(ctx.config, rels, len(booked), ctx.now)
    if not report.over:
        return None
    free = max(0, report.limit - report.active)
    waiting = report.waiting
    intro = (f"{_people(free + len(waiting))} due but you can sustain "
             f"{_more(free)} (max_active = {report.limit}, {report.active} "
             "booked); waiting, in priority order:")
    items = [Item(ctx.name(r.email), status=r.status, details=[ctx.last_met(r)])
             for r in waiting[:RECONNECT_LIMIT]]
    footer = ["They come next as touchbases end. Raise [touchbase] max_active only if you can "
              "keep up; or let some relationships rest."]
    return Section("capacity", "More people due than you can sustain", items, intro=intro,
                   footer=footer, more=max(0, len(waiting) - RECONNECT_LIMIT),
                   more_hint="touchbase people", actionable=False)


# --- reciprocity ---------------------------------------------------------------------------

def reciprocity_section(ctx: DigestContext) -> Section | None:
    """Relationships where one side organises (almost) every meeting, with a gentle suggestion."""
    paused = {r.email for r in ctx.relationships if r.paused(ctx.now)}
    flags = [f for f in reciprocity_flags(ctx.relationships) if f.email not in paused]
    if not flags:
        return None
    items = [Item(ctx.name(f.email), details=[f.suggestion]) for f in flags[:RECIPROCITY_LIMIT]]
    days = ctx.config.colleagues.window_days
    return Section("reciprocity", "Relationships that run one way", items,
                   intro=f"From who sent the invitations to your meetings in the last {days} days "
                         "(a recurring series counts once): healthy relationships go both ways.",
                   more=max(0, len(flags) - RECIPROCITY_LIMIT), more_hint="touchbase map --html FILE",
                   actionable=False)


# --- letting go ----------------------------------------------------------------------------

def let_go_section(ctx: DigestContext) -> Section | None:
    """Colleagues not met for a long time and not rated vital: suggest letting them go."""
    people = let_go_suggestions(ctx.config, ctx.relationships, ctx.now)
    if not people:
        return None
    items = [_let_go_item(ctx, rel) for rel in people[:RECONNECT_LIMIT]]
    n = len(people)
    return Section("let-go", "Time to let go?", items,
                   intro="Relationships have their time. If this one has passed, let it go: no "
                         "more touchbases or reminders (touchbase resume EMAIL brings it back).",
                   summary=f"{n} to let go?",
                   more=max(0, n - RECONNECT_LIMIT), more_hint="touchbase people")


def _let_go_item(ctx: DigestContext, rel: Relationship) -> Item:
    last = rel.stats.last_seen
    days = (ctx.today - last.astimezone(ctx.zone).date()).days if last else int(rel.days_since or 0)
    return Item(ctx.name(rel.email), details=[
        f"not met for {days} days, nothing booked, not rated vital",
        f"touchbase let-go {rel.email}",
    ])


# --- the compact matrix --------------------------------------------------------------------

def matrix_section(ctx: DigestContext) -> Section | None:
    """Tracked colleagues by importance and strength: coloured bars in HTML, text bars in text."""
    rows = compact_rows(matrix(ctx.config, ctx.relationships))
    if not rows:
        return None
    shown = rows[:MATRIX_LIMIT]
    items = [Item(f"{row['label']} ({row['quadrant']})", status=row["status"], details=[
        f"strength {text_bar(row['strength_pct'])} {row['strength_pct']:>3}%   "
        f"importance {text_bar(row['importance_pct'])} {row['importance_pct']:>3}%"])
        for row in shown]
    quadrants = list(dict.fromkeys(row["quadrant"] for row in shown))
    footer = [f"{q}: {QUADRANT_ADVICE[q]}" for q in QUADRANT_ADVICE if q in quadrants]
    return Section("matrix", "Your landscape", items, bars=shown, footer=footer,
                   intro="How vital (importance) and how strong each relationship is; colour: "
                         "red overdue, amber due, blue booked, green on track.",
                   more=max(0, len(rows) - MATRIX_LIMIT), more_hint="touchbase map --html FILE",
                   actionable=False)


def text_bar(pct: int) -> str:
    """A bar for the text part: "####------" for 40%."""
    filled = max(0, min(BAR_WIDTH, round(pct * BAR_WIDTH / 100)))
    return "#" * filled + "-" * (BAR_WIDTH - filled)


def _people(n: int) -> str:
    return f"{n} person is" if n == 1 else f"{n} people are"


def _more(n: int) -> str:
    if n == 0:
        return "no more touchbases"
    return f"{n} more touchbase{'' if n == 1 else 's'}"


def register() -> None:
    """Put the landscape sections into the morning email (idempotent)."""
    add_section(capacity_section, before=touchbase_section)
    add_section(reciprocity_section, before=health_section)
    add_section(let_go_section, before=health_section)
    add_section(matrix_section, before=health_section)

