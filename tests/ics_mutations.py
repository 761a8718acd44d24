"""Damaged calendars for the ICS reader's mutation tests (tests/test_ics_fuzz.py, bench/ics_fuzz.py).

`BASE` is a valid calendar in which each colleague meets the user in events of their own
(singles, series with exceptions, copies, zones, alarms, all-day events). A mutation (a byte
flipped, a line removed or duplicated, a line's case changed, the file cut short) is applied
line-wise, so we know which lines it touched; a colleague is touched when a touched line is one
of their events' (or of a zone only their events use, that tzdata does not know). What the
reader must guarantee: no traceback, no hang, and every untouched colleague keeps their figures.
"""
from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import run_cli, write_config

NOW = "2026-11-02T12:00:00+01:00"
FIGURES = ("meetings", "one_on_ones", "last_met", "next_meeting", "organised_by_user")
KINDS = ("flip", "remove", "duplicate", "case", "truncate")
INTERESTING = b"\n\r \t:;=,\"\\\x00\xff"

ME = "me@acme.example"


def _event(uid: str, start: str, end: str, who: list[str], tz: str = "Europe/Berlin",
           extra: str = "", seq: int = 0) -> list[str]:
    zone = f";TZID={tz}" if tz else ""
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261001T120000Z", f"SEQUENCE:{seq}",
             f"DTSTART{zone}:{start}", f"DTEND{zone}:{end}", f"SUMMARY:Meeting {uid}",
             f"ORGANIZER;CN=Me:mailto:{ME}", f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}"]
    lines += [f"ATTENDEE;CN={w.split('@')[0].title()};PARTSTAT=ACCEPTED:mailto:{w}" for w in who]
    lines += [line for line in extra.splitlines() if line]
    lines.append("END:VEVENT")
    return lines


BERLIN = ["BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100",
          "TZOFFSETTO:+0200", "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
          "END:DAYLIGHT", "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100",
          "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
          "END:VTIMEZONE"]
HEAD_OFFICE = ["BEGIN:VTIMEZONE", "TZID:Head Office", "BEGIN:STANDARD", "TZOFFSETFROM:+0300",
               "TZOFFSETTO:+0300", "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]


def _base() -> tuple[bytes, dict[str, set[int]]]:
    """The calendar's bytes and, per colleague, the numbers of the lines they depend on."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//touchbase fuzz//EN"]
    spans: dict[str, set[int]] = {}

    def add(block: list[str], *who: str) -> None:
        for person in who:
            spans.setdefault(person, set()).update(range(len(lines), len(lines) + len(block)))
        lines.extend(block)

    add(BERLIN)
    add(HEAD_OFFICE, "f6@acme.example")
    p = [f"c{n}@acme.example" for n in range(20)]
    add(_event("single", "20261005T100000", "20261005T103000", [p[0]]), p[0])
    add(_event("weekly", "20260601T090000", "20260601T093000", [p[1]], extra=(
        "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=Europe/Berlin:20260615T090000,20260622T090000")),
        p[1])
    add(_event("weekly", "20260707T150000", "20260707T153000", [p[1]], seq=1,
               extra="RECURRENCE-ID;TZID=Europe/Berlin:20260706T090000"), p[1])
    add(_event("utc", "20261012T080000Z", "20261012T083000Z", [p[2]], tz=""), p[2])
    add(_event("floating", "20261013T110000", "20261013T113000", [p[3]], tz=""), p[3])
    add(_event("monthly", "20260310T140000", "20260310T150000", [p[4]],
               extra="RRULE:FREQ=MONTHLY;COUNT=12"), p[4])
    add(_event("head-office", "20261014T120000", "20261014T123000", ["f6@acme.example"],
               tz="Head Office", extra="RRULE:FREQ=WEEKLY;COUNT=6"), "f6@acme.example")
    add(_event("copies", "20261015T100000", "20261015T103000", [p[7]], seq=0), p[7])
    add(_event("copies", "20261016T100000", "20261016T103000", [p[7]], seq=1), p[7])
    add(_event("alarm", "20261019T100000", "20261019T103000", [p[8]], extra=(
        "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Soon\nTRIGGER:-PT15M\nEND:VALARM")), p[8])
    add(_replaced(_event("all-day", "20261020", "20261021", [p[9]], tz=""),
                  ("DTSTART:", "DTSTART;VALUE=DATE:"), ("DTEND:", "DTEND;VALUE=DATE:")), p[9])
    add(_event("timed-9", "20261021T100000", "20261021T103000", [p[9]]), p[9])
    add(_event("trio", "20261022T100000", "20261022T110000", [p[10], p[11], p[12]]),
        p[10], p[11], p[12])
    add(_event("daily", "20261001T083000", "20261001T084500", [p[13]],
               extra="RRULE:FREQ=DAILY;UNTIL=20261010T000000Z"), p[13])
    add(_replaced(_event("duration", "20261023T100000", "20261023T100000", [p[14]]),
                  ("DTEND;TZID=Europe/Berlin:20261023T100000", "DURATION:PT45M")), p[14])
    add(_event("upcoming", "20261110T100000", "20261110T103000", [p[15]],
               extra="RRULE:FREQ=WEEKLY;COUNT=3"), p[15])
    add(_event("folded", "20261026T100000", "20261026T103000", [p[16]],
               extra="DESCRIPTION:" + "A long agenda, " * 8), p[16])
    add(_replaced(_event("organised-by-them", "20261027T100000", "20261027T103000", [p[17]]),
                  (f"ORGANIZER;CN=Me:mailto:{ME}", f"ORGANIZER:mailto:{p[17]}")), p[17])
    lines.append("END:VCALENDAR")
    text = "".join(_fold(line) + "\r\n" for line in lines)
    return text.encode(), spans


def _replaced(lines: list[str], *pairs: tuple[str, str]) -> list[str]:
    for old, new in pairs:
        lines = [line.replace(old, new) for line in lines]
    return lines


def _fold(line: str) -> str:
    return "\r\n ".join(line[i:i + 73] for i in range(0, max(len(line), 1), 73))


BASE, SPANS = _base()
BASE_LINES = BASE.splitlines(keepends=True)
# Folding made some logical lines two physical ones: map physical lines to the logical ones.
_LOGICAL: list[int] = []
for _line in BASE_LINES:
    _LOGICAL.append(_LOGICAL[-1] if _line.startswith(b" ") and _LOGICAL else
                    (_LOGICAL[-1] + 1 if _LOGICAL else 0))


@dataclass
class Mutated:
    """A damaged calendar and the colleagues its damage may have touched."""

    data: bytes
    touched: set[str] = field(default_factory=set)
    what: list[str] = field(default_factory=list)


Op = tuple[str, int, int, int]
"""(kind, line number, byte position in the line, new byte or case mode)."""


def mutate(ops: list[Op]) -> Mutated:
    """Apply `ops` to BASE, line-wise, noting which logical lines they touched."""
    lines = [(line, _LOGICAL[i]) for i, line in enumerate(BASE_LINES)]
    touched_lines: set[int] = set()
    what = []
    for kind, at, pos, value in ops:
        if not lines:
            break
        i = at % len(lines)
        line, logical = lines[i]
        touched_lines.add(logical)
        if kind == "flip":
            j = pos % len(line)
            new = INTERESTING[value % len(INTERESTING)] if value % 3 else value % 256
            lines[i] = (line[:j] + bytes([new]) + line[j + 1:], logical)
            if j == 0 and i > 0:  # a space or tab there folds the line into the one before
                touched_lines.add(lines[i - 1][1])
            if j >= len(line.rstrip(b"\r\n")) and i + 1 < len(lines):  # the line break itself
                touched_lines.add(lines[i + 1][1])
            what.append(f"flip line {i} byte {j} to {new:#04x}")
        elif kind == "remove":
            del lines[i]
            what.append(f"remove line {i}")
        elif kind == "duplicate":
            lines.insert(i + 1, (line, logical))
            what.append(f"duplicate line {i}")
        elif kind == "case":
            change = (bytes.lower, bytes.upper, bytes.swapcase)[value % 3]
            lines[i] = (change(line), logical)
            what.append(f"{change.__name__} line {i}")
        else:  # truncate: the file is cut here
            data = b"".join(entry[0] for entry in lines)
            cut = (sum(len(entry[0]) for entry in lines[:i]) + pos % len(line)) % max(len(data), 1)
            lines = _cut_lines(data[:cut])
            touched_lines.update(range(lines[-1][1] if lines else 0, _LOGICAL[-1] + 1))
            what.append(f"truncate at byte {cut}")
    touched = {who for who, span in SPANS.items() if span & touched_lines}
    return Mutated(b"".join(entry[0] for entry in lines), touched, what)


def _cut_lines(data: bytes) -> list[tuple[bytes, int]]:
    """Lines of a cut-short text, each with the logical line it came from."""
    result, offset = [], 0
    for i, line in enumerate(BASE_LINES):
        if offset >= len(data):
            break
        result.append((data[offset:offset + len(line)], _LOGICAL[i]))
        offset += len(line)
    return result


def random_ops(rng: random.Random) -> list[Op]:
    """One to three mutations, drawn from `rng`."""
    ops: list[Op] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choices(KINDS, weights=(5, 2, 2, 2, 1))[0]
        ops.append((kind, rng.randrange(10_000), rng.randrange(10_000), rng.randrange(10_000)))
    return ops


@dataclass
class Case:
    """What reading one damaged calendar did."""

    synced: bool
    output: str
    lost: dict[str, tuple] = field(default_factory=dict)  # untouched colleague: (before, after)


class Bench:
    """A store synced from BASE once, copied for each damaged calendar."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.calendar = folder / "calendar.ics"
        self.calendar.write_bytes(BASE)
        self.config = write_config(folder, [self.calendar])
        self.store = folder / "data" / "touchbase.db"
        synced = run_cli(self.config, "sync", now=NOW)
        assert synced.exit_code == 0 and "skipped" not in synced.output, synced.output
        self.figures = self.people()
        assert set(self.figures) == set(SPANS), sorted(set(SPANS) ^ set(self.figures))
        self.saved = folder / "base.db"
        shutil.copy(self.store, self.saved)

    def people(self) -> dict[str, tuple]:
        """Each colleague's figures in the store now."""
        result = run_cli(self.config, "people", "--json", now=NOW)
        return {row["email"]: tuple(row[k] for k in FIGURES) for row in json.loads(result.output)}

    def read(self, mutated: Mutated, fresh: bool) -> Case:
        """Sync the damaged calendar over the base store (or into a fresh one) and compare."""
        self.store.unlink(missing_ok=True)
        for extra in ("-wal", "-shm"):
            Path(str(self.store) + extra).unlink(missing_ok=True)
        if not fresh:
            shutil.copy(self.saved, self.store)
        self.calendar.write_bytes(mutated.data)
        synced = run_cli(self.config, "sync", now=NOW)
        case = Case(synced=synced.exit_code == 0, output=synced.output)
        if fresh and not case.synced:
            return case  # nothing was taken, nothing to compare
        after = self.people()
        for who, before in self.figures.items():
            if who not in mutated.touched and after.get(who) != before:
                case.lost[who] = (before, after.get(who))
        return case
