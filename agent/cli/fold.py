"""Lines folded for an 80-column terminal: `status`, `plan` and `person` print through here.

A line longer than `WIDTH` is wrapped at spaces, its continuation lines indented under the value
of a `label: value` line or the last column of a row whose columns are set apart by two spaces
(`  12  2026-03-01  text`), else two more than the line's own indent, so every line fits 80
columns unless one word (an address, a path) is longer than the room left. Such a word is never
cut (it is copied and searched for whole): it stays on its label's line, or has a line to itself.
So no line passes `HARD_WIDTH` (100) unless one word alone (a path, an address) is that long.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

WIDTH = 80
"""The width lines are folded to."""
HARD_WIDTH = 100
"""No line is longer than this, whatever it holds."""
LABEL = re.compile(r"^\s*[^\s:][^:]{0,24}:[ ]+(?=\S)")
"""`  status:       ` or `morning email: `: continuation lines start under the value."""
COLUMN_GAP = re.compile(r"(?<=\S) {2,}(?=\S)")
"""Two or more spaces between words: the start of a row's next column."""


def fold(lines: Iterable[str], width: int = WIDTH) -> list[str]:
    """Every line of `lines` (which may hold newlines) folded to `width` columns."""
    return [part for line in lines for text in line.split("\n") for part in fold_line(text, width)]


def fold_line(line: str, width: int = WIDTH) -> list[str]:
    """One line as one or more lines of at most `width` columns (see the module's docstring)."""
    line = line.rstrip()
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip())
    hang = _hang(line, width) or lead + 2
    return _wrap(WORD.findall(line), width, hang)


WORD = re.compile(r" *\S+")
"""A word with the spaces before it (a row's column gaps are kept within a line)."""


def _wrap(pieces: list[str], width: int, hang: int) -> list[str]:
    """Greedy wrap of `pieces`: a word goes on the line if it fits `width`, or if the line holds
    nothing past its label yet (`config: /a/long/path` stays one line: a word is never cut)."""
    lines = [pieces[0]]
    for piece in pieces[1:]:
        line = lines[-1]
        if len(line) + len(piece) <= width or len(line) <= hang:
            lines[-1] = line + piece
        else:
            lines.append(" " * hang + piece.lstrip())
    return lines


def _hang(line: str, width: int) -> int:
    """The column continuation lines start at: a label's value, or a row's last column (within
    the first half of the width); 0 when the line has neither."""
    label = LABEL.match(line)
    if label and len(label.group(0)) <= width // 2:
        return len(label.group(0))
    gaps = [gap.end() for gap in COLUMN_GAP.finditer(line) if gap.end() <= width // 2]
    return gaps[-1] if gaps else 0
