"""`touchbase demo` end to end: no config, a fresh folder, deterministic output."""
from __future__ import annotations

import re
from pathlib import Path

import icalendar
import pytest

from agent.demo import CALENDAR_FILE, MARKER_FILE, holidays
from tests.helpers import run_cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG folders inside tmp_path; a config path that does not exist."""
    for name, sub in (("HOME", "home"), ("XDG_DATA_HOME", "data"),
                      ("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state"),
                      ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(tmp_path / "no-such-config.toml"))
    return tmp_path


def run_demo(*args: str) -> str:
    result = run_cli(None, *args)
    assert result.exit_code == 0, result.output
    return result.output


def section(output: str, heading: str) -> list[str]:
    """The indented lines under the line that starts with `heading`."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        body.append(line.strip())
    return body


def test_demo_runs_without_config_and_shows_key_figures(home: Path):
    folder = home / "demo"
    output = run_demo("demo", "--dir", str(folder))

    assert not (home / "no-such-config.toml").exists()
    assert not (home / "config").exists()
    assert "as of Tue 10 Mar 2026 09:00" in output
    top = section(output, "Who you meet most")
    assert len(top) == 5
    assert re.match(r"Priya Shah\s+55 meetings\s+24 1:1s", top[0])
    assert [line.split("  ")[0] for line in top[:3]] == ["Priya Shah", "Aisha Okafor", "Jonas Weber"]
    drifting = section(output, "Who is drifting")
    assert [re.split(r"\s{2,}", line)[:2] for line in drifting] == [
        ["overdue", "Mei Chen"], ["overdue", "Omar Haddad"],
        ["overdue", "Lucas Moreau"], ["due", "Tom Becker"],
    ]
    assert "Who is drifting (4 of 12 tracked colleagues)" in output
    assert "step failed" not in output
    for name in ("config.toml", CALENDAR_FILE, "touchbase.db", MARKER_FILE):
        assert (folder / name).exists(), name
    assert f"touchbase --config {folder / 'config.toml'} people" in output


def test_demo_runs_the_agent_once_and_shows_what_it_did(home: Path):
    folder = home / "demo"
    output = run_demo("demo", "--dir", str(folder))

    landscape = section(output, "Your landscape")
    assert landscape[0].startswith("start here") and "Mei Chen, Omar Haddad (anti-sponsor)" in landscape[0]
    assert landscape[1].startswith("keep strong") and "Priya Shah (sponsor)" in landscape[1]
    assert f"map: {folder / 'map.html'}" in output
    assert "<svg" in (folder / "map.html").read_text(encoding="utf-8")

    assert f"Touchbases booked by the agent (2), in {folder / 'touchbase.ics'}" in output
    assert section(output, "Touchbases booked") == [
        "Mei Chen: monthly on the 2nd Wednesday, 09:00-09:30 Europe/Berlin, first on Wed 11 Mar",
        "Omar Haddad: monthly on the 2nd Thursday, 09:00-09:30 Europe/Berlin, first on Thu 12 Mar",  # max_per_day = 1
    ]
    page = (folder / "map.html").read_text(encoding="utf-8")  # written after the agent acted
    assert "Mei Chen: booked" in page and "Omar Haddad: booked" in page
    assert "Mei Chen: overdue" not in page and "Lucas Moreau: overdue" in page
    ics = (folder / "touchbase.ics").read_text(encoding="utf-8")
    assert "mei.chen@northwind.example" in ics and "omar.haddad@northwind.example" in ics

    draft = section(output, "Follow-up draft to Aisha Okafor, never sent")
    assert draft[0] == "Subject: Thanks: Coffee 1:1 with Aisha"
    assert "| Hi Aisha," in draft
    assert not any("Preparing the onboarding redesign" in line for line in draft)  # notes stay private
    assert f"in {folder / 'outbox' / 'Drafts'}" in output

    morning = section(output, "Morning email")
    assert morning[0].startswith("Subject: touchbase Tue 10 Mar")
    assert "| Today's meetings" in morning
    assert any("14:00-14:30 Priya / You 1:1" in line for line in morning)
    assert any("Lucas Moreau" in line for line in morning)

    steps = section(output, "What to do next")
    assert steps[:3] == [
        f"- Import or subscribe to {folder / 'touchbase.ics'} to see the touchbases in your calendar.",
        "- Add a line of your own to the draft for Aisha Okafor and send it yourself.",
        "- Lucas Moreau and Tom Becker come next: the agent books at most 2 new touchbases a day.",
    ]


def test_demo_output_is_identical_on_a_second_run(home: Path):
    folder = home / "demo"
    first = run_demo("demo", "--dir", str(folder))
    calendar = (folder / CALENDAR_FILE).read_bytes()
    page = (folder / "map.html").read_bytes()
    second = run_demo("demo", "--dir", str(folder))
    assert second == first
    assert (folder / CALENDAR_FILE).read_bytes() == calendar
    assert (folder / "map.html").read_bytes() == page


def test_demo_starts_fresh_and_uses_the_data_dir_by_default(home: Path):
    default = home / "data" / "touchbase" / "demo"
    first = run_demo("demo")
    assert f"Demo folder: {default}" in first
    (default / "leftover.txt").write_text("from an earlier run")
    assert run_demo("demo") == first
    assert not (default / "leftover.txt").exists()


def test_demo_refuses_a_folder_it_did_not_make(home: Path):
    folder = home / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    result = run_cli(None, "demo", "--dir", str(folder))
    assert result.exit_code != 0
    assert "not a touchbase demo folder" in result.output
    assert (folder / "thesis.tex").read_text() == "precious"


def test_demo_follows_now(home: Path):
    output = run_demo("--now", "2026-06-16T09:00:00+02:00", "demo", "--dir", str(home / "d"))
    assert "as of Tue 16 Jun 2026 09:00" in output
    drifting = section(output, "Who is drifting")
    assert [re.split(r"\s{2,}", line)[1] for line in drifting] == [
        "Mei Chen", "Omar Haddad", "Lucas Moreau", "Tom Becker"]


def test_demo_calendar_has_what_the_docs_promise(home: Path):
    folder = home / "demo"
    run_demo("demo", "--dir", str(folder))
    cal = icalendar.Calendar.from_ical((folder / CALENDAR_FILE).read_bytes())
    events = list(cal.walk("VEVENT"))
    by_uid: dict[str, list] = {}
    for event in events:
        by_uid.setdefault(str(event["UID"]).split("@")[0], []).append(event)

    team = by_uid["team-weekly"]
    master = next(e for e in team if "RECURRENCE-ID" not in e)
    assert len(team) == 3  # the series, a moved instance, a cancelled instance
    assert any(e.get("STATUS") == "CANCELLED" for e in team)
    exdates = [d.dt.date() for d in master["EXDATE"].dts]
    assert exdates and all(d in holidays(d.year) for d in exdates)
    rooms = [a for a in master["ATTENDEE"] if a.params.get("CUTYPE") == "ROOM"]
    assert len(rooms) == 1

    all_hands = by_uid["all-hands"][0]
    assert len(all_hands["ATTENDEE"]) == 40
    partner = by_uid["fabrikam-sync"][0]
    assert str(partner["ORGANIZER"]).endswith("@fabrikam.example")
    declined = {str(a).removeprefix("mailto:") for e in events for a in attendees(e)
                if a.params.get("PARTSTAT") == "DECLINED"}
    assert {"you@northwind.example", "mei.chen@northwind.example"} <= declined
    ended = [k for k in ("mei-1on1", "lucas-1on1", "tom-1on1") if "COUNT" in by_uid[k][0]["RRULE"]]
    assert len(ended) == 3


def attendees(event) -> list:
    value = event.get("ATTENDEE")
    return [] if value is None else value if isinstance(value, list) else [value]


def test_holidays_know_easter():
    assert {(d.month, d.day) for d in holidays(2026)} >= {(4, 3), (4, 6), (5, 14), (5, 25), (12, 25)}
