"""The relationship map: a self-contained HTML page with an inline SVG of the matrix, and a
compact table version for mail clients that show neither SVG nor scripts."""
from __future__ import annotations

from datetime import datetime

import jinja2

from agent.configuration.loader import Config
from agent.contact_months import KINDS, ContactMonths
from agent.landscape import map_layout as layout
from agent.landscape.matrix import (
    KEEP_STRONG,
    MAINTAIN,
    QUADRANT_ADVICE,
    START_HERE,
    WATCH,
    Placement,
    ReciprocityFlag,
    reconnect_list,
)
from agent.relationships import BOOKED, DUE, ON_TRACK, OVERDUE, PAUSED, Relationship

STATUS_COLOURS = {OVERDUE: "#b3261e", DUE: "#e6a100", BOOKED: "#1f5fa8", ON_TRACK: "#1e7d32"}
STATUS_CSS = {OVERDUE: "overdue", DUE: "due", BOOKED: "booked", ON_TRACK: "ontrack"}
SIZE, PAD = layout.SIZE, layout.PAD
BAR_COLOURS = {"meetings": "#1f5fa8", "logged": "#7b52ab", "email": "#4aa3a8"}
BAR_STEP, BAR_MAX = 3, 8

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("agent", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]))


def _label(rel: Relationship) -> str:
    return rel.name or rel.email


def dots(placements: list[Placement], now: datetime | None = None) -> list[dict]:
    """One positioned, coloured, labelled dot per placed colleague, inside the plot on its
    quadrant's side (agent/landscape/map_layout.py), labels set where they overlap nothing; its
    status says "paused" for a colleague left alone after declines (as `people` and `person` do)."""
    order = sorted(placements, key=lambda p: (-p.importance, p.strength, _label(p.relationship)))
    taken: list[layout.Box] = [q["box"] for q in _quadrant_labels()]
    result = [_dot(p, taken, now) for p in order]
    for dot, p in zip(result, order, strict=True):
        home = layout.quadrant_box(p.strength, p.importance)
        dot["text"] = layout.place_label(dot["x"], dot["y"], dot["short"], taken, home)
    return result


def _dot(p: Placement, taken: list[layout.Box], now: datetime | None) -> dict:
    """One dot, moved off any dot already placed (its box is added to `taken`)."""
    x = layout.PAD + layout.axis_offset(p.strength)
    y = layout.PAD + layout.INNER - layout.axis_offset(p.importance)
    x, y = layout.spread(x, y, layout.quadrant_box(p.strength, p.importance), taken)
    taken.append(layout.dot_box(x, y))
    rel = p.relationship
    return {"x": round(x, 1), "y": round(y, 1), "colour": STATUS_COLOURS[rel.status],
            "label": _label(rel), "short": layout.short_label(_label(rel)),
            "status": PAUSED if now is not None and rel.paused(now) else rel.status, "quadrant": p.quadrant}


def _quadrant_labels() -> list[dict]:
    return layout.quadrant_names({START_HERE: (False, True), KEEP_STRONG: (True, True),
                                  WATCH: (False, False), MAINTAIN: (True, False)})


def reconnect_rows(config: Config, placements: list[Placement], now: datetime,
                   months: dict[str, ContactMonths] | None = None) -> list[dict]:
    """Rows of the reconnect table, in priority order, each with its contact by month (bars)."""
    by_email = {p.relationship.email: p for p in placements}
    rels = reconnect_list([p.relationship for p in placements], now)
    zone = config.zone
    return [
        {
            "label": _label(rel), "status": rel.status, "css": STATUS_CSS[rel.status],
            "last_met": rel.last_contact.astimezone(zone).date().isoformat() if rel.last_contact else "never",
            "advice": by_email[rel.email].advice,
            "months": month_bars(months[rel.email]) if months and rel.email in months else None,
        }
        for rel in rels
    ]


def month_bars(months: ContactMonths) -> dict:
    """A contact sparkline as SVG bars: per month, meetings, logged contact and email stacked
    (a bar's height counts contacts, `BAR_STEP` pixels each, up to `BAR_MAX`)."""
    bars = []
    for i, month in enumerate(months.months):
        y, parts = BAR_MAX * BAR_STEP, []
        for kind in KINDS:
            height = min(getattr(months, kind)[i] * BAR_STEP, y)
            y -= height
            if height:
                parts.append({"y": y, "height": height, "colour": BAR_COLOURS[kind]})
        counts = ", ".join(f"{getattr(months, kind)[i]} {kind}" for kind in KINDS)
        bars.append({"x": i * 8, "parts": parts, "title": f"{month:%b %Y}: {counts}"})
    return {"bars": bars, "width": len(months.months) * 8, "height": BAR_MAX * BAR_STEP,
            "span": months.span(), "text": months.sparkline()}


def render_map(config: Config, placements: list[Placement], flags: list[ReciprocityFlag],
               now: datetime, schedules: dict[str, str] | None = None,
               months: dict[str, ContactMonths] | None = None) -> str:
    """The whole HTML page: no network, no scripts, no external fonts; all user data escaped.
    `schedules`: colleague -> the schedule phrase of their booked touchbase (listed under
    "Touchbases booked", in the same words as everywhere); `months`: contact by month per
    colleague, drawn in the reconnect table."""
    labels = {p.relationship.email: _label(p.relationship) for p in placements}
    booked = sorted((labels.get(email, email), phrase) for email, phrase in (schedules or {}).items())
    return _ENV.get_template("map.html.j2").render(
        day=now.date().isoformat(), size=SIZE, width=SIZE, pad=PAD, inner=layout.INNER, radius=layout.DOT_RADIUS,
        quadrants=_quadrant_labels(), dots=dots(placements, now),
        reconnect=reconnect_rows(config, placements, now, months), bar_colours=BAR_COLOURS,
        flags=[f.suggestion for f in flags], advice_rows=list(QUADRANT_ADVICE.items()),
        booked=booked,
    )


def compact_rows(placements: list[Placement]) -> list[dict]:
    """The mail version: a table row per colleague with strength and importance as bar widths."""
    return [
        {
            "label": _label(p.relationship), "quadrant": p.quadrant,
            "status": p.relationship.status, "colour": STATUS_COLOURS[p.relationship.status],
            "strength_pct": int(round(p.strength * 100)), "importance_pct": int(round(p.importance * 100)),
        }
        for p in sorted(placements, key=lambda p: (p.quadrant != START_HERE, -p.importance, -p.strength))
    ]
