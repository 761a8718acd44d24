"""The relationship map: a self-contained HTML page with an inline SVG of the matrix, and a
compact table version for mail clients that show neither SVG nor scripts."""
from __future__ import annotations

from datetime import datetime

import jinja2

from agent.configuration.loader import Config
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
SIZE, PAD = 560, 40
LABEL_ROOM = 150  # room right of the plot for the labels of the strongest relationships
LABEL_WIDTH, LINE_HEIGHT = 110, 13

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("agent", "templates"),
                          autoescape=jinja2.select_autoescape(["html", "j2"]))


def _label(rel: Relationship) -> str:
    return rel.name or rel.email


def dots(placements: list[Placement], now: datetime | None = None) -> list[dict]:
    """One positioned, coloured, labelled dot per placed colleague (overlaps nudged apart); its
    status says "paused" for a colleague left alone after declines (as `people` and `person` do)."""
    inner = SIZE - 2 * PAD
    result: list[dict] = []
    order = sorted(placements, key=lambda p: (-p.importance, p.strength, _label(p.relationship)))
    for p in order:
        x = round(PAD + p.strength * inner, 1)
        y = _free_row(result, x, PAD + (1 - p.importance) * inner)
        result.append({
            "x": x, "y": y,
            "colour": STATUS_COLOURS[p.relationship.status],
            "label": _label(p.relationship),
            "status": PAUSED if now is not None and p.relationship.paused(now) else p.relationship.status,
            "quadrant": p.quadrant,
        })
    return result


def _free_row(placed: list[dict], x: float, y: float) -> float:
    """`y`, moved down a line at a time while a placed label would overlap this one."""
    while any(abs(d["x"] - x) < LABEL_WIDTH and abs(d["y"] - y) < LINE_HEIGHT for d in placed):
        y += LINE_HEIGHT
    return round(y, 1)


def _quadrant_labels() -> list[dict]:
    inner = SIZE - 2 * PAD
    left, right = PAD + 8, PAD + inner / 2 + 8
    top, bottom = PAD + inner / 2 - 8, PAD + inner - 8  # each quadrant's name at its foot
    return [{"name": START_HERE, "x": left, "y": top}, {"name": KEEP_STRONG, "x": right, "y": top},
            {"name": WATCH, "x": left, "y": bottom}, {"name": MAINTAIN, "x": right, "y": bottom}]


def reconnect_rows(config: Config, placements: list[Placement], now: datetime) -> list[dict]:
    """Rows of the reconnect table, in priority order."""
    by_email = {p.relationship.email: p for p in placements}
    rels = reconnect_list([p.relationship for p in placements], now)
    zone = config.zone
    return [
        {
            "label": _label(rel), "status": rel.status, "css": STATUS_CSS[rel.status],
            "last_met": rel.last_contact.astimezone(zone).date().isoformat() if rel.last_contact else "never",
            "advice": by_email[rel.email].advice,
        }
        for rel in rels
    ]


def render_map(config: Config, placements: list[Placement], flags: list[ReciprocityFlag],
               now: datetime, schedules: dict[str, str] | None = None) -> str:
    """The whole HTML page: no network, no scripts, no external fonts; all user data escaped.
    `schedules`: colleague -> the schedule phrase of their booked touchbase (listed under
    "Touchbases booked", in the same words as everywhere)."""
    labels = {p.relationship.email: _label(p.relationship) for p in placements}
    booked = sorted((labels.get(email, email), phrase) for email, phrase in (schedules or {}).items())
    return _ENV.get_template("map.html.j2").render(
        day=now.date().isoformat(), size=SIZE, width=SIZE + LABEL_ROOM, pad=PAD, inner=SIZE - 2 * PAD,
        quadrants=_quadrant_labels(), dots=dots(placements, now),
        reconnect=reconnect_rows(config, placements, now),
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
