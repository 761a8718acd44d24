"""The touchbase planner over real .ics calendars, the real store and the local calendar file."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

import recurring_ical_events

from agent.planning import touchbases as tb
from agent.planning.planner import run_planner
from agent.planning.slots import position_in_month
from connectors.ical.read import TAG_PROPERTY
from tests.helpers import USER, Ev, flat, run_cli, write_config
from tests.planning_helpers import (
    NOW,
    NOW_DT,
    actions,
    drifting,
    live_series,
    local_calendar,
    one_on_one,
    open_all,
    past_meetings,
    series_in_file,
    setup,
)

ALICE, BOB, CAROL, DAVE, ERIN, FRANK = (f"{n}@acme.example" for n in
                                        ("alice", "bob", "carol", "dave", "erin", "frank"))


def _team() -> list:
    """Alice and Bob drift; Carol was met last week; Dave drifts but has an upcoming weekly 1:1;
    Erin has too few meetings to be tracked; Frank drifts and his weekly series ended in August."""
    weekly = Ev(uid="dave-weekly", start="20261105T150000", end="20261105T153000",
                attendees=(f";PARTSTAT=ACCEPTED:mailto:{DAVE}",), extra="RRULE:FREQ=WEEKLY;COUNT=20")
    ended = Ev(uid="frank-weekly", start="20260601T150000", end="20260601T153000",
               attendees=(f";PARTSTAT=ACCEPTED:mailto:{FRANK}",), extra="RRULE:FREQ=WEEKLY;UNTIL=20260801T000000Z")
    return [*drifting(ALICE), *drifting(BOB), *past_meetings(CAROL, [7, 40, 70]), *drifting(DAVE),
            weekly, *past_meetings(ERIN, [100, 130]), ended,
            one_on_one("zz-busy", "zed@acme.example", datetime(2026, 12, 1, 9), minutes=180)]


def test_run_books_monthly_touchbases_for_drifting_colleagues_and_a_second_run_adds_nothing(tmp_path):
    config_path = setup(tmp_path, _team(), extra='[touchbase]\nmax_new_per_day = 5\n')
    first = run_cli(config_path, "run", "--once", now=NOW)
    assert first.exit_code == 0, first.output
    assert "planner: ok" in first.output
    config, store = open_all(config_path)
    booked = series_in_file(config)
    assert sorted(booked) == [ALICE, BOB, FRANK]
    for who, (event,) in booked.items():
        start = event.decoded("DTSTART")
        assert start.tzinfo.key == "Europe/Berlin" and start > NOW_DT
        assert start.weekday() < 5 and 9 <= start.hour and (start + timedelta(minutes=30)).hour <= 17
        index, weekday = position_in_month(start.date())
        assert event["RRULE"].to_ical().decode() == f"FREQ=MONTHLY;BYDAY={index}{weekday}"
        assert event.decoded("DTEND") - start == timedelta(minutes=30)
        row = next(r for r in tb.load(store) if r.email == who)
        assert (row.state, str(event[TAG_PROPERTY])) == (tb.ACTIVE, row.series_id)
        assert str(event["UID"]) == row.event_id == f"{row.series_id}@touchbase.local"
        assert "Ideas for the conversation" in str(event["DESCRIPTION"])
        assert row.series_id in str(event["DESCRIPTION"])
    starts = sorted(e.decoded("DTSTART") for (e,) in booked.values())
    assert starts[0] >= datetime.fromisoformat("2026-12-01T12:00:00+01:00")  # after the 9-12 meeting
    assert len(set(starts)) == 3
    assert sorted(a["email"] for a in actions(store, "touchbase-created")) == [ALICE, BOB, FRANK]
    people = {p["email"]: p for p in json.loads(run_cli(config_path, "people", "--json", now=NOW).output)}
    # the local calendar file invites nobody, but the agent's own series is booked (issue 20)
    assert people[ALICE]["next_meeting"] == booked[ALICE][0].decoded("DTSTART").isoformat()
    assert people[ALICE]["status"] == "booked" and people[ALICE]["meetings"] == 3
    before = config.local_calendar_path.read_bytes()
    for later in (NOW, "2026-12-01T08:00:00+01:00"):
        again = run_cli(config_path, "run", "--once", now=later)
        assert again.exit_code == 0, again.output
    assert config.local_calendar_path.read_bytes() == before
    assert len(actions(store, "touchbase-created")) == 3
    assert len(tb.load(store)) == 3


def test_plan_shows_what_it_would_do_and_changes_nothing(tmp_path):
    config_path = setup(tmp_path, _team())
    config, store = open_all(config_path)
    before = "\n".join(sqlite3.connect(config.store_path).iterdump())
    result = run_cli(config_path, "plan", now=NOW)
    assert result.exit_code == 0, result.output
    assert "Would book a touchbase with" in result.output
    assert result.output.count("Would book") == 2  # max_new_per_day
    assert "1 more drifting colleague(s) wait: max_new_per_day = 2 reached today" in result.output
    assert "\n".join(sqlite3.connect(config.store_path).iterdump()) == before
    assert not config.local_calendar_path.exists()


def test_capacity_daily_limit_and_priority(tmp_path):
    names = [f"p{i}@acme.example" for i in range(5)]
    events = [e for who in names for e in drifting(who)]
    config_path = setup(tmp_path, events, extra="[touchbase]\nmax_active = 3\nmax_new_per_day = 2\n")
    assert run_cli(config_path, "rate", names[4], "--vital", "5", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    first = run_planner(config, store, NOW_DT)
    assert first.created[0] == names[4]  # vital and drifting first
    assert len(first.created) == 2
    assert any("wait: max_new_per_day = 2 reached today" in line for line in first.lines())
    second = run_planner(config, store, NOW_DT + timedelta(days=1))
    assert len(second.created) == 1
    third = run_planner(config, store, NOW_DT + timedelta(days=2))
    assert third.created == []
    assert any("3 of max_active = 3 touchbases in use" in line for line in third.lines())
    assert len(live_series(config)) == 3


def test_the_slot_respects_working_hours_days_busy_time_and_the_next_month(tmp_path):
    events = [
        *drifting(ALICE),
        one_on_one("wed-busy", "zed@acme.example", datetime(2026, 12, 2, 13, 0), minutes=90),
        one_on_one("jan-busy", "yan@acme.example", datetime(2027, 1, 6, 14, 30), minutes=30),
        Ev(uid="declined", start="20261209T130000", end="20261209T140000", organizer="zed@acme.example",
           attendees=(f";PARTSTAT=DECLINED:mailto:{USER}", ";PARTSTAT=ACCEPTED:mailto:zed@acme.example")),
    ]
    extra = '[touchbase]\nworking_hours = "13:00-15:00"\nworking_days = ["WE"]\n'
    config, store = open_all(setup(tmp_path, events, extra=extra))
    run_planner(config, store, NOW_DT)
    (event,) = series_in_file(config)[ALICE]
    # Dec 2 14:30 is free, but its next occurrence (Jan 6 14:30) is not; the meeting the user
    # declined on Dec 9 does not block.
    assert event.decoded("DTSTART") == datetime.fromisoformat("2026-12-09T13:00:00+01:00")
    assert event["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=2WE"


def test_no_free_slot_is_reported_and_nothing_written(tmp_path):
    blocker = Ev(uid="all-week", start="20261130T000000", end="20261130T235900",
                 attendees=(";PARTSTAT=ACCEPTED:mailto:zed@acme.example",), extra="RRULE:FREQ=DAILY;COUNT=80")
    config, store = open_all(setup(tmp_path, [*drifting(ALICE), blocker]))
    report = run_planner(config, store, NOW_DT)
    assert [a.kind for a in report.actions] == ["skipped"]
    assert "no free slot" in report.lines()[0]
    assert tb.load(store) == [] and not config.local_calendar_path.exists()


def test_propose_mode_records_proposals_and_approve_books_one(tmp_path):
    config_path = setup(tmp_path, [*drifting(ALICE), *drifting(BOB)], extra='[touchbase]\nmode = "propose"\n')
    config, store = open_all(config_path)
    report = run_planner(config, store, NOW_DT)
    assert sorted(report.proposed) == [ALICE, BOB]
    assert not config.local_calendar_path.exists()
    assert {r.state for r in tb.load(store)} == {tb.PROPOSED}
    assert "touchbase approve" in actions(store, "touchbase-proposed")[0]["detail"]
    assert run_planner(config, store, NOW_DT).actions == []  # proposed once
    shown = run_cli(config_path, "plan", now=NOW).output
    assert f"Proposed earlier: {BOB}: monthly on the " in flat(shown) and f"touchbase approve {BOB}" in flat(shown)
    assert "Nothing to do" not in shown
    proposed = {r.email: r.start for r in tb.load(store)}
    assert proposed[ALICE] < proposed[BOB]
    # Bob is approved first and keeps his slot, though Alice's earlier one is free.
    result = run_cli(config_path, "approve", BOB, now=NOW)
    assert result.exit_code == 0, result.output
    assert "Booked a touchbase with" in result.output
    assert sorted(series_in_file(config)) == [BOB]
    assert series_in_file(config)[BOB][0].decoded("DTSTART") == proposed[BOB]
    again = run_cli(config_path, "approve", BOB.upper(), now=NOW)
    assert again.exit_code != 0 and "already has a touchbase" in again.output
    states = {r.email: r.state for r in tb.load(store)}
    assert states == {ALICE: tb.PROPOSED, BOB: tb.ACTIVE}
    # Alice's is booked as proposed too.
    assert run_cli(config_path, "approve", ALICE, now=NOW).exit_code == 0
    assert series_in_file(config)[ALICE][0].decoded("DTSTART") == proposed[ALICE]


def test_a_later_proposal_keeps_clear_of_an_earlier_one(tmp_path):
    extra = '[touchbase]\nmode = "propose"\nmax_new_per_day = 1\nworking_days = ["WE"]\n'
    config, store = open_all(setup(tmp_path, [*drifting(ALICE), *drifting(BOB)], extra=extra))
    assert run_planner(config, store, NOW_DT).proposed == [ALICE]
    assert run_planner(config, store, NOW_DT + timedelta(days=1)).proposed == [BOB]
    starts = {r.email: r.start.isoformat() for r in tb.load(store)}
    assert starts == {ALICE: "2026-12-02T08:00:00+00:00", BOB: "2026-12-02T08:30:00+00:00"}


def test_a_proposal_is_withdrawn_once_the_colleague_is_met(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE), extra='[touchbase]\nmode = "propose"\n')
    config, store = open_all(config_path)
    assert run_planner(config, store, NOW_DT).proposed == [ALICE]
    (tmp_path / "work.ics").write_text((tmp_path / "work.ics").read_text().replace(
        "END:VCALENDAR", one_on_one("met", ALICE, datetime(2026, 12, 1, 10)).text() + "END:VCALENDAR"))
    assert run_cli(config_path, "sync", now="2026-12-02T08:00:00+01:00").exit_code == 0
    report = run_planner(config, store, datetime.fromisoformat("2026-12-02T08:00:00+01:00"))
    assert [a.kind for a in report.actions] == ["withdrawn"]
    assert tb.load(store) == []


def test_mode_off_writes_and_proposes_nothing(tmp_path):
    config, store = open_all(setup(tmp_path, drifting(ALICE), extra='[touchbase]\nmode = "off"\n'))
    report = run_planner(config, store, NOW_DT)
    assert report.actions == [] and tb.load(store) == []
    assert report.lines() == ['Touchbases are off ([touchbase] mode = "off").']


def test_a_broken_local_file_is_one_clear_error_and_nothing_is_lost(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE))
    config, _ = open_all(config_path)
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:nonsense\n")
    result = run_cli(config_path, "plan", now=NOW)
    assert result.exit_code == 1
    assert "error: touchbase-local" in result.output and "Traceback" not in result.output
    assert config.local_calendar_path.read_text() == "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:nonsense\n"
    run = run_cli(config_path, "run", "--once", now=NOW)
    assert "planner: FAILED" in run.output and "digest: ok" in run.output


def test_note_and_person(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE))
    assert run_cli(config_path, "note", "Alice@ACME.example", "Moving", "to", "Lisbon", now=NOW).exit_code == 0
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    result = run_cli(config_path, "person", ALICE, now=NOW)
    assert result.exit_code == 0, result.output
    assert "alice@acme.example" in result.output and "(tracked)" in result.output
    assert "Moving to Lisbon" in result.output
    assert "active" in result.output
    assert "monthly on the 1st Tuesday, 09:00-09:30 Europe/Berlin, starting 2026-12-01" in flat(result.output)
    assert "meetings:     3" in result.output
    unknown = run_cli(config_path, "person", "nobody@acme.example", now=NOW)  # seen in no source
    assert unknown.exit_code == 2 and "nobody@acme.example appears in no synced event" in unknown.output
    bad = run_cli(config_path, "note", "not-an-address", "x", now=NOW)
    assert bad.exit_code == 2 and "not an email address" in bad.output


def test_letting_go_ends_the_agents_series(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE))
    config, store = open_all(config_path)
    run_planner(config, store, NOW_DT)
    result = run_cli(config_path, "let-go", ALICE, now=NOW)
    assert result.exit_code == 0
    assert result.output.startswith("Ended the touchbase series ")  # at once, not on the next run
    assert live_series(config) == {}
    (row,) = tb.load(store)
    assert row.state == tb.ENDED
    report = run_planner(config, store, NOW_DT + timedelta(hours=1))
    assert [a.kind for a in report.actions] == []


def test_occurrences_follow_the_rrule_from_the_first_slot(tmp_path):
    config, store = open_all(setup(tmp_path, drifting(ALICE)))
    run_planner(config, store, NOW_DT)
    cal = local_calendar(config)
    starts = [e.decoded("DTSTART") for e in recurring_ical_events.of(cal).between(NOW_DT, NOW_DT + timedelta(days=100))]
    positions = {position_in_month(s.date()) for s in starts}
    assert len(starts) == 4 and len(positions) == 1
    assert len({(s.hour, s.minute) for s in starts}) == 1


def test_without_the_users_address_the_planner_stops_with_a_clear_line(tmp_path):
    work = tmp_path / "work.ics"
    work.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    config_path = write_config(tmp_path, [work], user="")
    result = run_cli(config_path, "run", "--once", now=NOW)
    assert "planner: FAILED" in result.output and "[user] email is not set" in result.output
