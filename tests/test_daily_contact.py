"""Logged interactions and notes (issue 14): contact outside the calendar, notes you manage."""
from __future__ import annotations

import json

from tests.helpers import run_cli
from tests.planning_helpers import NOW, past_meetings, setup

BOB = "bob@acme.example"


def _people(config_path) -> dict[str, dict]:
    result = run_cli(config_path, "people", "--json", now=NOW)
    assert result.exit_code == 0, result.output
    return {row["email"]: row for row in json.loads(result.output)}


def test_log_moves_status_and_last_contact_but_is_never_a_meeting(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [50, 80, 120]))
    before = _people(config_path)[BOB]
    assert before["status"] == "overdue" and before["meetings"] == 3
    result = run_cli(config_path, "log", BOB, "--when", "2026-11-28", "--kind", "coffee",
                     "--note", "talked about the launch", now=NOW)
    assert result.exit_code == 0, result.output
    assert "Logged a coffee with bob@acme.example on Sat 28 Nov 2026 12:00; status: on track" in result.output
    after = _people(config_path)[BOB]
    assert after["status"] == "on track"
    assert after["last_contact"] == "2026-11-28T12:00:00+01:00"
    assert after["last_met"] == before["last_met"]
    assert (after["meetings"], after["one_on_ones"]) == (3, 3)
    assert after["interactions"] == [{"id": 1, "at": "2026-11-28T12:00:00+01:00", "kind": "coffee",
                                      "note": "talked about the launch"}]
    page = run_cli(config_path, "person", BOB, now=NOW).output
    assert "last contact: 2026-11-28 12:00 (logged)" in page
    assert "      1  2026-11-28 12:00  coffee  talked about the launch" in page


def test_log_refuses_a_future_time_a_bad_kind_and_your_own_address(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [50]))
    future = run_cli(config_path, "log", BOB, "--when", "2026-12-24T10:00", now=NOW)
    assert future.exit_code == 2 and "in the future" in future.output
    bad_kind = run_cli(config_path, "log", BOB, "--kind", "lunch", now=NOW)
    assert bad_kind.exit_code == 2
    bad_when = run_cli(config_path, "log", BOB, "--when", "last week", now=NOW)
    assert bad_when.exit_code == 2 and bad_when.output.count("\n") == 1
    own = run_cli(config_path, "log", "me@acme.example", now=NOW)
    assert own.exit_code == 2 and "your own address" in own.output
    assert _people(config_path)[BOB]["interactions"] == []


def test_log_counts_for_strength(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [100, 130, 160]))
    assert run_cli(config_path, "rate", BOB, "--vital", "5", now=NOW).exit_code == 0
    before = json.loads(run_cli(config_path, "person", BOB, "--json", now=NOW).output)
    assert run_cli(config_path, "log", BOB, "--when", "yesterday", "--kind", "call", now=NOW).exit_code == 0
    after = json.loads(run_cli(config_path, "person", BOB, "--json", now=NOW).output)
    assert after["strength"] > before["strength"]
    assert (before["status"], after["status"]) == ("overdue", "on track")
    assert after["meetings"] == before["meetings"] == 3


def test_notes_list_edit_and_delete_by_id(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [50]))
    first = run_cli(config_path, "note", BOB, "Ask", "about", "the", "launch", now=NOW)
    assert first.exit_code == 0 and "note 1" in first.output
    assert run_cli(config_path, "note", BOB, "Likes hiking", now="2026-11-30T09:00:00+01:00").exit_code == 0
    listing = run_cli(config_path, "notes", BOB, now=NOW).output.splitlines()
    assert listing == ["   2  2026-11-30  Likes hiking", "   1  2026-11-30  Ask about the launch"]
    edited = run_cli(config_path, "note", "--edit", "1", "Ask", "about", "the", "beta", now=NOW)
    assert edited.exit_code == 0 and edited.output == f"Changed note 1 about {BOB}.\n"
    deleted = run_cli(config_path, "note", "--delete", "2", now=NOW)
    assert deleted.exit_code == 0 and deleted.output == f"Deleted note 2 about {BOB}.\n"
    notes = json.loads(run_cli(config_path, "notes", BOB, "--json", now=NOW).output)
    assert [(n["id"], n["text"]) for n in notes] == [(1, "Ask about the beta")]
    missing = run_cli(config_path, "note", "--delete", "7", now=NOW)
    assert missing.exit_code == 2 and missing.output.count("touchbase: error") == 1
    assert run_cli(config_path, "note", "--edit", "1", now=NOW).exit_code == 2
    assert run_cli(config_path, "note", BOB, now=NOW).exit_code == 2


def test_forget_and_export_include_logged_interactions(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [50, 80]))
    assert run_cli(config_path, "log", BOB, "--kind", "chat", "--note", "private", now=NOW).exit_code == 0
    exported = json.loads(run_cli(config_path, "export", now=NOW).output)
    assert [(i["email"], i["kind"], i["note"]) for i in exported["interactions"]] == [(BOB, "chat", "private")]
    result = run_cli(config_path, "forget", BOB, "--yes", now=NOW)
    assert result.exit_code == 0 and "interactions 1" in result.output
    again = json.loads(run_cli(config_path, "export", now=NOW).output)
    assert again["interactions"] == []


def test_person_json_carries_the_page(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [10, 50, 80]))
    run_cli(config_path, "note", BOB, "Ask about the launch", now=NOW)
    data = json.loads(run_cli(config_path, "person", BOB, "--json", now=NOW).output)
    assert data["email"] == BOB and data["status"] == "on track" and data["meetings"] == 3
    assert data["last_met"].endswith("+01:00") and data["next_meeting"] is None
    assert data["invitations"] == {"by_you": 3, "by_them": 0}
    assert [n["text"] for n in data["notes"]] == ["Ask about the launch"]
    assert data["quadrant"] in ("start here", "keep strong", "maintain lightly", "let it rest")


def test_people_table_fits_80_columns_and_names_come_from_the_address(tmp_path):
    who = "maximilian.von-hohenzollern-sigmaringen@acme.example"
    config_path = setup(tmp_path, past_meetings(who, [10, 20, 30]))
    lines = run_cli(config_path, "people", now=NOW).output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[2].startswith("Maximilian V\u2026 maximilian.von-hohenzollern-\u2026")


def test_let_go_ends_the_series_at_once_and_person_no_longer_shows_it_booked(tmp_path):
    from tests.planning_helpers import drifting, live_series, open_all

    config_path = setup(tmp_path, drifting(BOB))
    assert run_cli(config_path, "approve", BOB, now=NOW).exit_code == 0
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    before = json.loads(run_cli(config_path, "person", BOB, "--json", now=NOW).output)
    # the agent's own series counts as booked, in the local calendar file too (issue 20)
    assert before["status"] == "booked" and before["touchbases"][0]["state"] == "active"
    result = run_cli(config_path, "let-go", BOB, now=NOW)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Ended the touchbase series ")
    assert f"Let go of {BOB}" in result.output
    config, _ = open_all(config_path)
    assert live_series(config) == {}
    after = json.loads(run_cli(config_path, "person", BOB, "--json", now=NOW).output)
    assert after["let_go"] and after["status"] == "overdue" and after["next_meeting"] is None
    assert after["touchbases"][0]["state"] == "ended"


def test_resume_says_what_it_changed_or_that_there_was_nothing(tmp_path):
    config_path = setup(tmp_path, past_meetings(BOB, [50, 80]))
    nothing = run_cli(config_path, "resume", BOB, now=NOW)
    assert nothing.exit_code == 0
    assert nothing.output == f"Nothing to resume: {BOB} is neither paused nor let go.\n"
    assert run_cli(config_path, "let-go", BOB, now=NOW).exit_code == 0
    back = run_cli(config_path, "resume", BOB, now=NOW)
    assert back.output.startswith(f"{BOB} is tracked again (let go on 2026-11-30)")
    assert run_cli(config_path, "resume", BOB, now=NOW).output.startswith("Nothing to resume")
