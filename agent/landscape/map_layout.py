"""Where the map draws each dot and label: every dot and label inside the plot, a dot on its
own quadrant's side of a divider, dots on one spot spread apart, labels set where they overlap
nothing (beside the dot, else the other side, else a line up or down with a leader line).

The plot is the square [PAD, PAD + INNER] on both axes; strength runs left to right, importance
bottom to top. Each axis is mapped half by half: the values below 0.5 into the low half, 0.5 and
above into the high half (as `matrix.place` assigns quadrants), each kept `MARGIN` away from the
half's edges, so a dot never sits on a divider or the border.
"""
from __future__ import annotations

from dataclasses import dataclass

SIZE, PAD = 560, 40
INNER = SIZE - 2 * PAD
MID = PAD + INNER / 2
DOT_RADIUS = 6
MARGIN = DOT_RADIUS + 6
"""Space between a dot's centre and its quadrant's edges."""
LINE_HEIGHT = 13
"""A label's height (11 px text) and the step labels and dots move by."""
CHAR_WIDTH = 6.6
"""A generous average width of one 11 px sans-serif character (labels are measured with it)."""
LABEL_CHARS = 24
"""Longer labels are cut with an ellipsis (the dot's tooltip and the tables name them whole)."""
QUADRANT_CHAR_WIDTH = 7.4
"""The same for the bold quadrant names."""
GAP = 3


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share any area."""
        return (self.left < other.right and other.left < self.right
                and self.top < other.bottom and other.top < self.bottom)

    def inside(self, outer: Box) -> bool:
        """Whether this rectangle lies within `outer`."""
        return (self.left >= outer.left and self.right <= outer.right
                and self.top >= outer.top and self.bottom <= outer.bottom)


PLOT = Box(PAD, PAD, PAD + INNER, PAD + INNER)


def axis_offset(value: float) -> float:
    """How far along an axis (0..INNER) `value` (0..1) is drawn: within its half, off its edges."""
    half = INNER / 2
    low = half if value >= 0.5 else 0.0
    fraction = (value - 0.5) / 0.5 if value >= 0.5 else value / 0.5
    return low + MARGIN + max(0.0, min(1.0, fraction)) * (half - 2 * MARGIN)


def quadrant_box(strength: float, importance: float) -> Box:
    """The quadrant of the plot a colleague with these figures belongs to."""
    left = MID if strength >= 0.5 else PAD
    top = PAD if importance >= 0.5 else MID
    return Box(left, top, left + INNER / 2, top + INNER / 2)


def dot_box(x: float, y: float) -> Box:
    """The square around a dot."""
    return Box(x - DOT_RADIUS, y - DOT_RADIUS, x + DOT_RADIUS, y + DOT_RADIUS)


def label_width(text: str, char_width: float = CHAR_WIDTH) -> float:
    """The room a label's text takes."""
    return len(text) * char_width


def short_label(text: str) -> str:
    """`text`, cut to LABEL_CHARS with an ellipsis."""
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


def text_box(x: float, baseline: float, text: str, anchor: str = "start",
             char_width: float = CHAR_WIDTH) -> Box:
    """The box of a text drawn at (x, baseline) with this text-anchor."""
    width = label_width(text, char_width)
    left = x - width if anchor == "end" else x
    return Box(left, baseline - LINE_HEIGHT + 3, left + width, baseline + 3)


def quadrant_names(names: dict[str, tuple[bool, bool]]) -> list[dict]:
    """Each quadrant's name at its foot, left; `names` maps a name to (strong, vital)."""
    result = []
    for name, (strong, vital) in names.items():
        x = (MID if strong else PAD) + 8
        y = (MID if vital else PAD + INNER) - 8
        result.append({"name": name, "x": x, "y": y, "box": text_box(x, y, name, char_width=QUADRANT_CHAR_WIDTH)})
    return result


def spread(x: float, y: float, area: Box, taken: list[Box]) -> tuple[float, float]:
    """(x, y), or the nearest free spot a step or more away within `area`, for a dot."""
    steps = [(dx * LINE_HEIGHT, dy * LINE_HEIGHT) for ring in range(0, 8)
             for dx in range(-ring, ring + 1) for dy in range(-ring, ring + 1)
             if max(abs(dx), abs(dy)) == ring]
    inner = Box(area.left + DOT_RADIUS + 1, area.top + DOT_RADIUS + 1,
                area.right - DOT_RADIUS - 1, area.bottom - DOT_RADIUS - 1)
    for dx, dy in steps:
        spot = (x + dx, y + dy)
        if inner.left <= spot[0] <= inner.right and inner.top <= spot[1] <= inner.bottom \
                and not any(dot_box(*spot).overlaps(box) for box in taken):
            return spot
    return x, y


def place_label(x: float, y: float, text: str, taken: list[Box], home: Box = PLOT) -> dict | None:
    """Where the label of the dot at (x, y) goes: {x, y, anchor, leader, box}, or None when no
    spot inside the plot is free (the dot's tooltip still names it). A spot inside the dot's own
    quadrant (`home`) comes first, beside the dot, then a line up or down, and so on."""
    for area in (home, PLOT):
        for shift in (0, -1, 1, -2, 2, -3, 3):
            spot = _free_spot(x, y + 4 + shift * LINE_HEIGHT, text, taken, area)
            if spot is not None:
                taken.append(spot["box"])
                return {**spot, "leader": shift != 0}
    return None


def _free_spot(x: float, baseline: float, text: str, taken: list[Box], area: Box) -> dict | None:
    """The label right of the dot, else left of it, at this baseline, if it is inside `area`
    and overlaps nothing taken."""
    for anchor, left in (("start", x + DOT_RADIUS + GAP), ("end", x - DOT_RADIUS - GAP)):
        box = text_box(left, baseline, text, anchor)
        if box.inside(area) and box.inside(PLOT) and not any(box.overlaps(other) for other in taken):
            return {"x": round(left, 1), "y": round(baseline, 1), "anchor": anchor, "box": box}
    return None
