"""Healing on the local calendar file: conflicts and single declines move one instance (a
RECURRENCE-ID override), a series decline counts, crashes never move twice, nothing foreign."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import recurring_ical_events

from agent.daemon.jobs import run_job
from agent.planning import touchbases as tb
from agent.planning.planner import Planner, heal_after_sync, run_planner
from agent.storage import instance_moves as moves
from connectors.ical.read import TAG_PROPERTY
from connectors.localcal import LocalCalendar
from tests.helpers import calendar, run_cli
from tests.mail_helpers import opened
from tests.planning_helpers import (
    ALICE,
    DEC_1,
    NOW_DT,
    actions,
    book_alice,
    drifting,
    imported_copy,
    local_calendar,
    one_on_one,
    series_in_file,
    write_calendar,
)
from tests.test_planner_readback import Crash, opener

LATER = datetime.fromisoformat("2026-11-30T09:00:00+01:00")


def _booked(tmp_path, extra_events=()):
    config_path, config, store, event = book_alice(tmp_path, tuple(extra_events))
    return config_path, config, store, event, [*drifting(ALICE), *extra_events]


def _instances(config, uid: str, days: int = 40) -> list[datetime]:
    found = recurring_ical_events.of(local_calendar(config)).between(NOW_DT, NOW_DT + timedelta(days=days))
    return sorted(e.decoded("DTSTART") for e in found
                  if str(e["UID"]) == uid and str(e.get("STATUS", "")) != "CANCELLED")


def _overrides(config) -> list:
    return [e for e in local_calendar(config).walk("VEVENT") if e.get("RECURRENCE-ID") is not None]


def test_a_meeting_over_the_next_instance_moves_that_instance_only(tmp_path):
    clash = one_on_one("zed-clash", "zed@acme.example", DEC_1.replace(tzinfo=None), minutes=60)
    config_path, config, store, event, events = _booked(tmp_path)
    before = _instances(config, str(event["UID"]))
    write_calendar(tmp_path / "work.ics", [*events, clash])
    work_before = (tmp_path / "work.ics").read_bytes()
    assert run_job(config, store, "sync", LATER).ok
    result = run_job(config, store, "heal", LATER)
    assert result.ok, result.line()
    assert result.detail.startswith("touchbases healed: ")
    after = _instances(config, str(event["UID"]))
    assert after == [DEC_1 + timedelta(hours=1)] + before[1:]  # 10:00 the same day, the rest as before
    (override,) = _overrides(config)
    assert override.decoded("RECURRENCE-ID") == DEC_1 and override.get("X-TOUCHBASE-AGENT")
    (master,) = series_in_file(config)[ALICE]
    assert master.to_ical() == event.to_ical()  # the series itself is intact
    assert (tmp_path / "work.ics").read_bytes() == work_before  # nothing foreign touched
    (logged,) = actions(store, "touchbase-moved")
    assert logged["detail"] == ("moved your touchbase with alice@acme.example from Tue 1 to Tue 1 "
                                "10:00: it clashed with another meeting of yours")
    # Healed: syncing and planning again move nothing more.
    assert run_job(config, store, "sync", LATER + timedelta(minutes=5)).ok
    assert heal_after_sync(config, store, LATER + timedelta(minutes=5)) is None
    report = run_planner(config, store, LATER + timedelta(minutes=6))
    assert [a.kind for a in report.actions] == []
    assert len(_overrides(config)) == 1
    store.close()


def test_a_single_decline_moves_that_instance_and_does_not_count(tmp_path):
    config_path, config, store, event, _ = _booked(tmp_path)
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, [DEC_1])))
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    report = run_planner(config, store, LATER)
    assert [a.kind for a in report.actions] == ["moved"]
    assert "Alice declined it" in report.actions[0].detail or "alice@acme.example" in report.actions[0].detail
    (override,) = _overrides(config)
    new_start = override.decoded("DTSTART")
    assert new_start.date() != DEC_1.date() and new_start > LATER + timedelta(hours=2)
    assert 9 <= new_start.hour < 17 and new_start.weekday() < 5
    (row,) = tb.load(store)
    assert (row.state, row.declines) == (tb.ACTIVE, 0)
    assert run_planner(config, store, LATER + timedelta(minutes=1)).actions == []
    store.close()


def test_a_series_decline_counts_and_at_the_limit_ends_the_series(tmp_path):
    config_path, config, store, event, _ = _booked(tmp_path)
    starts = _instances(config, str(event["UID"]), days=200)
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, starts)))
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    first = run_planner(config, store, LATER)
    assert [a.kind for a in first.actions] == ["declined"]  # the next one: counted, not moved
    assert not _overrides(config)
    later = DEC_1 + timedelta(days=1)
    assert run_cli(config_path, "sync", now=later.isoformat()).exit_code == 0
    second = run_planner(config, store, later)
    assert [a.kind for a in second.actions] == ["declined", "ended", "paused"]
    store.close()


def test_a_decline_of_a_moved_instance_counts(tmp_path):
    config_path, config, store, event, _ = _booked(tmp_path)
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, [DEC_1])))
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    assert [a.kind for a in run_planner(config, store, LATER).actions] == ["moved"]
    (override,) = _overrides(config)
    moved_to = override.decoded("DTSTART")
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, [moved_to])))
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    report = run_planner(config, store, LATER + timedelta(minutes=1))
    assert [a.kind for a in report.actions] == ["declined"]
    assert tb.load(store)[0].declines == 1
    assert len(_overrides(config)) == 1
    store.close()


def test_no_free_slot_in_two_weeks_cancels_that_instance(tmp_path):
    config_path, config, store, event, events = _booked(tmp_path)
    weeks = [one_on_one(f"full-{d}", "zed@acme.example", datetime(2026, 11, 30, 9) + timedelta(days=d),
                        minutes=480) for d in range(14)]
    write_calendar(tmp_path / "work.ics", [*events, *weeks])
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    report = run_planner(config, store, LATER)
    assert [a.kind for a in report.actions] == ["instance-cancelled"]
    (override,) = _overrides(config)
    assert str(override["STATUS"]) == "CANCELLED" and override.decoded("RECURRENCE-ID") == DEC_1
    assert DEC_1 not in _instances(config, str(event["UID"]))
    (logged,) = actions(store, "touchbase-instance-cancelled")
    assert "no slot free for both" in logged["detail"]
    store.close()


def test_plan_shows_the_move_and_changes_nothing(tmp_path):
    clash = one_on_one("zed-clash", "zed@acme.example", DEC_1.replace(tzinfo=None), minutes=60)
    config_path, config, store, event, events = _booked(tmp_path)
    write_calendar(tmp_path / "work.ics", [*events, clash])
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    before = config.local_calendar_path.read_bytes()
    result = run_cli(config_path, "plan", now=LATER.isoformat())
    assert result.exit_code == 0, result.output
    assert "Would move one touchbase with alice@acme.example: moved your touchbase" in result.output
    assert config.local_calendar_path.read_bytes() == before
    assert moves.load(store) == {} and not actions(store, "touchbase-moved")
    store.close()


class CrashAfterMove(LocalCalendar):
    """Moves the instance in the file, then the process dies before the move is recorded."""

    def move_instance(self, series_id, original_start, new_start):  # noqa: ANN001
        super().move_instance(series_id, original_start, new_start)
        raise Crash


def test_a_crash_after_the_move_never_moves_twice(tmp_path):
    clash = one_on_one("zed-clash", "zed@acme.example", DEC_1.replace(tzinfo=None), minutes=60)
    config_path, config, store, event, events = _booked(tmp_path)
    write_calendar(tmp_path / "work.ics", [*events, clash])
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    try:
        Planner(config, store, LATER, open_connector=opener(CrashAfterMove)).run()
    except Crash:
        pass
    (pending,) = moves.load(store).values()
    assert pending.state == moves.PENDING
    (override,) = _overrides(config)
    written = override.to_ical()
    # Meanwhile another meeting takes the slot the crashed run chose: the retry still writes the
    # recorded slot (the move happened), never a second one.
    report = run_planner(config, store, LATER + timedelta(minutes=1))
    assert [a.kind for a in report.actions] == ["moved"]
    (override,) = _overrides(config)
    assert override.to_ical() == written
    (done,) = moves.load(store).values()
    assert done.state == moves.DONE and len(actions(store, "touchbase-moved")) == 1
    store.close()
    erased = run_cli(config_path, "forget", done.email, "--yes", now=LATER.isoformat())
    assert "instance_moves 1" in erased.output  # the healer's record names the person too
    with opened(config_path) as (_, reopened):
        assert moves.load(reopened) == {}


def test_an_instance_you_moved_yourself_is_left_alone(tmp_path):
    config_path, config, store, event, events = _booked(tmp_path)
    cal = local_calendar(config)
    mine = icalendar.Event()
    for key in ("UID", "SUMMARY", TAG_PROPERTY):
        mine.add(key, event[key])
    mine.add("DTSTAMP", event.decoded("DTSTAMP"))
    mine.add("RECURRENCE-ID", DEC_1)
    mine.add("DTSTART", DEC_1 + timedelta(hours=5))
    mine.add("DTEND", DEC_1 + timedelta(hours=5, minutes=30))
    cal.add_component(mine)
    config.local_calendar_path.write_bytes(cal.to_ical())
    clash = one_on_one("zed-clash", "zed@acme.example", (DEC_1 + timedelta(hours=5)).replace(tzinfo=None))
    write_calendar(tmp_path / "work.ics", [*events, clash])
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    before = config.local_calendar_path.read_bytes()
    report = run_planner(config, store, LATER)
    assert report.errors == [] and report.actions == []
    assert any("changed outside the agent" in note for note in report.notes)
    assert config.local_calendar_path.read_bytes() == before
    again = run_planner(config, store, LATER + timedelta(minutes=1))
    assert again.errors == [] and again.actions == [] and again.notes == []
    store.close()
