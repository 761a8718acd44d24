"""Daily use tells the truth (issue 14): status and strength from contact that took place."""
from __future__ import annotations

import email
import html
import json
import re
from datetime import datetime
from email import policy
from pathlib import Path

from agent.demo import DEMO_NOW
from agent.landscape.matrix import place
from agent.relationships import BOOKED, DUE, ON_TRACK, OVERDUE, relationships, status_of
from tests.helpers import flat, run_cli
from tests.planning_helpers import NOW, NOW_DT, one_on_one, open_all, past_meetings, setup

QUADRANT_NAMES = ("start here", "keep strong", "maintain lightly", "let it rest")


def _terminal_quadrants(output: str) -> dict[str, str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Your landscape"))
    found = {}
    for line in lines[start + 1:start + 5]:
        for quadrant in QUADRANT_NAMES:
            if line.strip().startswith(quadrant):
                names = line.strip()[len(quadrant):].strip()
                for name in names.split(", "):
                    if name and name != "-":
                        found[re.sub(r" \(.*\)$", "", name)] = quadrant
    return found


def _map_quadrants(page: str) -> dict[str, str]:
    titles = re.findall(r"<title>([^<]+): [a-z ]+, ([a-z ]+)</title>", page)
    return {html.unescape(name): quadrant for name, quadrant in titles}


def _email_quadrants(folder: Path) -> dict[str, str]:
    (path,) = list((folder / "outbox" / "new").iterdir())
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    body = text.split("Your landscape", 1)[1].split("Agent health", 1)[0]
    return {name: quadrant for name, quadrant in re.findall(r"^- \[[A-Z ]+\] (.+) \(([a-z ]+)\)$", body, re.M)}


def test_demo_terminal_map_and_morning_email_agree_on_every_quadrant(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(tmp_path / "none.toml"))
    folder = tmp_path / "demo"
    result = run_cli(None, "demo", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    terminal = _terminal_quadrants(result.output)
    mapped = _map_quadrants((folder / "map.html").read_text())
    mailed = _email_quadrants(folder)
    assert terminal and len(terminal) == len(mapped) == len(mailed)
    assert terminal == mapped == mailed
    for vital_not_met in ("Mei Chen", "Omar Haddad"):
        assert terminal[vital_not_met] == "start here"
    people = json.loads(run_cli(folder / "config.toml", "people", "--json",
                                now=DEMO_NOW.isoformat()).output)
    by_name = {row["name"]: row for row in people if row.get("tracked")}
    assert {name: by_name[name]["quadrant"] for name in terminal} == terminal


def test_booking_a_touchbase_changes_no_ones_quadrant_and_reads_booked(tmp_path):
    events = [*past_meetings("vital@acme.example", [100, 130, 160])]
    config_path = setup(tmp_path, events)
    assert run_cli(config_path, "rate", "vital@acme.example", "--vital", "5", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    before = {r.email: (place(r, config).quadrant, place(r, config).strength)
              for r in relationships(config, store, NOW_DT)}
    assert before["vital@acme.example"][0] == "start here"
    result = run_cli(config_path, "approve", "vital@acme.example", now=NOW)
    assert result.exit_code == 0, result.output
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    rels = relationships(config, store, NOW_DT)
    after = {r.email: (place(r, config).quadrant, place(r, config).strength) for r in rels}
    assert after == before
    (rel,) = [r for r in rels if r.email == "vital@acme.example"]
    # ics only: the touchbase went into the local calendar file; the agent's own series reads
    # booked there too (issue 20), while the quadrant and strength above stay as they were
    assert rel.stats.next_meeting is not None and rel.status == BOOKED and not rel.drifting


def test_status_booked_only_when_not_met_within_the_cadence():
    soon = NOW_DT.replace(day=min(NOW_DT.day + 3, 28))
    assert status_of(10, soon, 30, NOW_DT) == ON_TRACK
    assert status_of(40, soon, 30, NOW_DT) == BOOKED
    assert status_of(None, soon, 30, NOW_DT) == BOOKED
    assert status_of(40, None, 30, NOW_DT) == DUE
    assert status_of(50, datetime(2099, 1, 1, tzinfo=NOW_DT.tzinfo), 30, NOW_DT) == OVERDUE


def test_a_booked_meeting_within_the_cadence_reads_booked_in_people(tmp_path):
    events = [*past_meetings("booked@acme.example", [60, 90, 120]),
              one_on_one("booked-next", "booked@acme.example", datetime(2026, 12, 20, 10))]
    config_path = setup(tmp_path, events)
    rows = {r["email"]: r for r in json.loads(run_cli(config_path, "people", "--json", now=NOW).output)}
    assert rows["booked@acme.example"]["status"] == "booked"
    filtered = run_cli(config_path, "people", "--status", "booked", "--json", now=NOW)
    assert [r["email"] for r in json.loads(filtered.output)] == ["booked@acme.example"]


def test_reciprocity_has_one_vocabulary_in_person_email_readme_and_docs(tmp_path):
    from agent.digest.morning import build_digest

    root = Path(__file__).resolve().parent.parent
    readme = " ".join((root / "README.md").read_text().split())
    landscape = " ".join((root / "docs" / "landscape.md").read_text().split())
    for text in (readme, landscape):
        assert "80% of at least 3 invitations" in text and "a recurring series counts once" in text
        assert "four meetings" not in text
    events = past_meetings("them@acme.example", [10, 20, 30, 40])
    config_path = setup(tmp_path, events)
    page = run_cli(config_path, "person", "them@acme.example", now=NOW).output
    assert ("invitations in the last 180 days: you sent 4, they sent 0 "
            "(a recurring series counts once)") in flat(page)
    assert "organised:" not in page
    config, store = open_all(config_path)
    mail = build_digest(config, store, NOW_DT).text
    assert "You sent 4 of the 4 invitations between you and" in mail
    assert "(a recurring series counts once)" in mail


def test_a_meeting_booked_in_the_calendar_reads_booked_and_moves_no_one(tmp_path):
    from tests.planning_helpers import write_calendar

    vital = "vital@acme.example"
    past = past_meetings(vital, [100, 130, 160])
    config_path = setup(tmp_path, past)
    assert run_cli(config_path, "rate", vital, "--vital", "5", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (rel,) = relationships(config, store, NOW_DT)
    before = place(rel, config)
    write_calendar(tmp_path / "work.ics", [*past, one_on_one("next-week", vital, datetime(2026, 12, 3, 10))])
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (rel,) = relationships(config, store, NOW_DT)
    after = place(rel, config)
    assert rel.status == BOOKED and rel.stats.next_meeting is not None
    assert (after.quadrant, after.strength) == (before.quadrant, before.strength) == ("start here", before.strength)
    page = json.loads(run_cli(config_path, "person", vital, "--json", now=NOW).output)
    assert (page["status"], page["quadrant"]) == ("booked", "start here")
