"""The relationship landscape: matrix, reciprocity, capacity, letting go, the map, forgetting."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from html.parser import HTMLParser

from agent.configuration.loader import load_config
from agent.landscape.matrix import (
    KEEP_STRONG,
    MAINTAIN,
    START_HERE,
    WATCH,
    capacity,
    let_go_suggestions,
    matrix,
    reciprocity_flags,
)
from agent.relationships import relationships
from agent.storage.store import Store
from tests.helpers import USER, Ev, calendar, flat, run_cli, write_config

NOW = "2026-11-02T12:00:00+01:00"
NOW_DT = datetime.fromisoformat(NOW)


def _one_on_one(uid: str, who: str, day: datetime, organizer: str = USER, name: str = "") -> Ev:
    start = day.strftime("%Y%m%dT100000")
    end = day.strftime("%Y%m%dT103000")
    cn = f";CN={name}" if name else ""
    return Ev(uid=uid, start=start, end=end, organizer=organizer,
              attendees=(f"{cn};PARTSTAT=ACCEPTED:mailto:{who}", f";PARTSTAT=ACCEPTED:mailto:{USER}"))


def _series(who: str, days_ago: list[int], organizer_them: int = 0, name: str = "") -> list[Ev]:
    events = []
    for i, ago in enumerate(days_ago):
        organizer = who if i < organizer_them else USER
        events.append(_one_on_one(f"{who}-{i}", who, NOW_DT - timedelta(days=ago), organizer, name))
    return events


def _setup(tmp_path, events: list[Ev], extra: str = ""):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(*events))
    config_path = write_config(tmp_path, [ics], extra=extra)
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    return config_path


def _rels(config_path):
    config = load_config(config_path)
    store = Store(config.store_path)
    return config, store, relationships(config, store, NOW_DT)


def test_quadrants_follow_importance_and_strength(tmp_path):
    events = (_series("strong@acme.example", [3, 10, 17, 24, 31, 38]) +
              _series("weak@acme.example", [200, 210, 220]) +
              _series("plain@acme.example", [5, 12, 19, 26, 33, 40]) +
              _series("faded@acme.example", [250, 260, 270]))
    config_path = _setup(tmp_path, events)
    for who in ("strong", "weak"):
        assert run_cli(config_path, "rate", f"{who}@acme.example", "--vital", "5", now=NOW).exit_code == 0
    config, store, rels = _rels(config_path)
    quadrants = {p.relationship.email: p.quadrant for p in matrix(config, rels)}
    assert quadrants == {
        "strong@acme.example": KEEP_STRONG, "weak@acme.example": START_HERE,
        "plain@acme.example": MAINTAIN, "faded@acme.example": WATCH,
    }
    result = run_cli(config_path, "people", "--quadrant", "start-here", "--json", now=NOW)
    assert [r["email"] for r in json.loads(result.output)] == ["weak@acme.example"]


def test_anti_sponsor_is_important_and_gets_its_own_advice(tmp_path):
    config_path = _setup(tmp_path, _series("critic@acme.example", [100, 110, 120]))
    run_cli(config_path, "rate", "critic@acme.example", "--vital", "3", "--role", "anti-sponsor", now=NOW)
    config, _, rels = _rels(config_path)
    [placement] = matrix(config, rels)
    assert placement.quadrant == START_HERE
    assert "invite them in" in placement.advice
    rows = json.loads(run_cli(config_path, "people", "--role", "anti-sponsor", "--json", now=NOW).output)
    assert [r["email"] for r in rows] == ["critic@acme.example"]


def test_reciprocity_flags_one_way_relationships(tmp_path):
    events = (_series("always-me@acme.example", [3, 10, 17, 24, 31]) +
              _series("always-them@acme.example", [4, 11, 18, 25], organizer_them=4) +
              _series("balanced@acme.example", [5, 12, 19, 26], organizer_them=2) +
              _series("few@acme.example", [6, 13]) +
              [Ev(uid="weekly-series", start="20260907T150000", end="20260907T153000",
                  attendees=(";PARTSTAT=ACCEPTED:mailto:series@acme.example",),
                  extra="RRULE:FREQ=WEEKLY;COUNT=8")])
    config_path = _setup(tmp_path, events)
    _, _, rels = _rels(config_path)
    flags = {f.email: f.direction for f in reciprocity_flags(rels)}
    # "few" sent too few invitations; "series" is one weekly series: one invitation, not 8.
    assert flags == {"always-me@acme.example": "you initiate", "always-them@acme.example": "they initiate"}


def test_capacity_reports_who_waits(tmp_path):
    events = [e for i in range(4) for e in _series(f"p{i}@acme.example", [100 + i, 110 + i, 120 + i])]
    config_path = _setup(tmp_path, events, extra="[touchbase]\nmax_active = 2\n")
    config, _, rels = _rels(config_path)
    report = capacity(config, rels, active_touchbases=1, now=NOW_DT)
    assert report.over
    assert len(report.waiting) == 3  # four overdue, one free slot


def test_let_go_suggested_then_left_out(tmp_path):
    events = _series("old@acme.example", [300, 310, 320]) + _series("vip@acme.example", [300, 310, 320])
    config_path = _setup(tmp_path, events)
    run_cli(config_path, "rate", "vip@acme.example", "--vital", "5", now=NOW)
    config, store, rels = _rels(config_path)
    assert [r.email for r in let_go_suggestions(config, rels, NOW_DT)] == ["old@acme.example"]
    assert run_cli(config_path, "let-go", "old@acme.example", now=NOW).exit_code == 0
    config, store, rels = _rels(config_path)
    assert let_go_suggestions(config, rels, NOW_DT) == []
    assert "old@acme.example" not in {p.relationship.email for p in matrix(config, rels)}
    assert run_cli(config_path, "resume", "old@acme.example", now=NOW).exit_code == 0
    config, store, rels = _rels(config_path)
    assert "old@acme.example" in {p.relationship.email for p in matrix(config, rels)}


class _MapParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.dots = 0
        self.urls: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "line", "rect", "circle"):
            self.stack.append(tag)
        if tag == "g" and ("class", "dot") in attrs:
            self.dots += 1
        if tag == "script":
            self.scripts += 1
        self.urls += [v for _, v in attrs if v and re.search(r"(https?:)?//", v)]

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in ("line", "rect", "circle"):
            return
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_map_is_self_contained_and_escapes_names(tmp_path):
    evil = "<script>alert(1)</script>"
    events = (_series("evil@acme.example", [3, 10, 17], name=evil) +
              _series("bob@acme.example", [100, 110, 120], name="Bob"))
    config_path = _setup(tmp_path, events)
    out = tmp_path / "map.html"
    result = run_cli(config_path, "map", "--html", str(out), now=NOW)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    parser = _MapParser()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    assert parser.dots == 2
    assert parser.scripts == 0
    assert parser.urls == []
    assert "&lt;script&gt;" in page and evil not in page
    assert "http" not in page.lower()


def test_forget_leaves_no_row_mentioning_the_address(tmp_path):
    events = _series("gone@acme.example", [3, 10, 17]) + [Ev(
        uid="group", start="20261030T100000", end="20261030T110000",
        attendees=(";PARTSTAT=ACCEPTED:mailto:gone@acme.example",
                   ";PARTSTAT=ACCEPTED:mailto:stay@acme.example"))]
    config_path = _setup(tmp_path, events)
    run_cli(config_path, "rate", "gone@acme.example", "--vital", "4", now=NOW)
    run_cli(config_path, "note", "gone@acme.example", "likes chess", now=NOW)
    assert run_cli(config_path, "forget", "gone@acme.example", "--yes", now=NOW).exit_code == 0
    db = sqlite3.connect(load_config(config_path).store_path)
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in db.execute(f"SELECT * FROM {table}"):
            assert "gone@acme.example" not in repr(row).lower(), (table, row)
    rows = json.loads(run_cli(config_path, "people", "--json", now=NOW).output)
    assert [r["email"] for r in rows] == ["stay@acme.example"]
    gone = Ev(uid="new", start="20261031T100000", end="20261031T103000",
              attendees=(";PARTSTAT=ACCEPTED:mailto:gone@acme.example",))
    (tmp_path / "cal.ics").write_text(calendar(*events, gone))
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    rows = json.loads(run_cli(config_path, "people", "--json", now=NOW).output)
    assert "gone@acme.example" not in [r["email"] for r in rows]


def test_export_is_json_of_the_users_data(tmp_path):
    config_path = _setup(tmp_path, _series("x@acme.example", [3, 10, 17]))
    run_cli(config_path, "rate", "x@acme.example", "--quality", "4", "--motivators", "autonomy", now=NOW)
    data = json.loads(run_cli(config_path, "export", now=NOW).output)
    assert data["people"][0]["motivators"] == "autonomy"
    assert data["colleagues"][0]["email"] == "x@acme.example"


def _booked_touchbase(tmp_path, who: str):
    """A drifting colleague whose touchbase `run --once` wrote into the local calendar file."""
    config_path = _setup(tmp_path, _series(who, [100, 130, 160]))
    result = run_cli(config_path, "run", "--once", now=NOW)
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    return config_path, load_config(config_path).local_calendar_path


def _store_mentions(config_path, address: str) -> list:
    db = sqlite3.connect(load_config(config_path).store_path)
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [(table, row) for table in tables for row in db.execute(f"SELECT * FROM {table}")
            if address in repr(row).lower()]


def test_forget_ends_the_touchbase_series_in_the_calendar_first(tmp_path):
    import icalendar
    import recurring_ical_events

    config_path, ics = _booked_touchbase(tmp_path, "gone@acme.example")
    later = "2026-11-20T12:00:00+01:00"
    result = run_cli(config_path, "forget", "gone@acme.example", "--yes", now=later)
    assert result.exit_code == 0, result.output
    assert "Ended the touchbase series 'Touchbase: Gone' (monthly on the 1st Tuesday" in result.output
    assert f"in {ics}." in result.output and "Forgot gone@acme.example" in result.output
    # Ended first, then (issue 11) the ended series itself leaves the local calendar file: no
    # occurrence after the forget, and no line of the file names them any more.
    assert "Removed 1 ended touchbase series with gone@acme.example from" in result.output
    parsed = icalendar.Calendar.from_ical(ics.read_bytes())
    assert [e for e in parsed.walk("VEVENT") if "gone@acme.example" in str(e.get("ATTENDEE"))] == []
    after = recurring_ical_events.of(parsed).between(datetime.fromisoformat(later), NOW_DT + timedelta(days=800))
    assert [o for o in after if "gone@acme.example" in str(o.get("ATTENDEE"))] == []
    assert "gone@acme.example" not in ics.read_text(encoding="utf-8").lower()
    assert _store_mentions(config_path, "gone@acme.example") == []
    again = run_cli(config_path, "run", "--once", now="2026-11-21T12:00:00+01:00")
    assert again.exit_code == 0 and "FAILED" not in again.output, again.output
    assert _store_mentions(config_path, "gone@acme.example") == []


def test_forget_erases_even_when_the_series_cannot_be_ended(tmp_path):
    config_path, ics = _booked_touchbase(tmp_path, "gone@acme.example")
    ics.write_text("this is not a calendar", encoding="utf-8")
    result = run_cli(config_path, "forget", "gone@acme.example", "--yes", now=NOW)
    assert result.exit_code == 1, result.output  # erased, but a part of the work (ending the series) failed
    (line,) = [line for line in result.output.splitlines() if line.startswith("Could not end")]
    assert "'Touchbase: Gone' (monthly on the 1st Tuesday" in line and f"in {ics} (" in line
    assert "still there" in line
    assert "Forgot gone@acme.example" in result.output
    assert _store_mentions(config_path, "gone@acme.example") == []


def test_person_shows_frequency_reciprocity_quadrant_and_motivators(tmp_path):
    config_path = _setup(tmp_path, _series("tess@acme.example", [4, 11, 18, 25], organizer_them=4,
                                           name="Tess"))
    run_cli(config_path, "rate", "tess@acme.example", "--vital", "5", "--motivators", "autonomy", now=NOW)
    out = run_cli(config_path, "person", "tess@acme.example", now=NOW).output
    assert "frequency:    0.7 meetings a month (inferred over 180 days)" in out
    assert ("reciprocity: invitations in the last 180 days: you sent 0, they sent 4 "
            "(a recurring series counts once)") in flat(out)
    assert "runs one way (they initiate)" in out
    assert "quadrant:     keep strong" in out
    assert "motivators:   autonomy" in out
