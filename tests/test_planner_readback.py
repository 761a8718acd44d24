"""Reading the agent's series back: declines -> end and pause, deletions, crashes mid-write."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest

from agent.planning import touchbases as tb
from agent.planning.planner import Planner, read_back_series, run_planner
from agent.sources import make_context, open_connector
from agent.storage.store import parse_iso
from connectors.ical.read import TAG_PROPERTY
from connectors.localcal import LocalCalendar
from tests.helpers import calendar, run_cli
from tests.planning_helpers import (
    ALICE,
    DEC_1,
    NOW,
    NOW_DT,
    actions,
    book_alice,
    drifting,
    imported_copy,
    live_series,
    local_calendar,
    open_all,
    series_in_file,
    setup,
    starts_from,
)

BOB = "bob@acme.example"
JAN_5 = datetime.fromisoformat("2027-01-05T09:00:00+01:00")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _alice_declines(tmp_path, config_path, event, starts, now: str) -> None:
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, starts)))
    assert run_cli(config_path, "sync", now=now).exit_code == 0


def test_declines_are_counted_and_at_the_limit_the_series_ends_and_alice_is_paused(tmp_path):
    config_path, config, store, event = book_alice(tmp_path)
    # Alice held the first one, then declines the series from January on.
    _alice_declines(tmp_path, config_path, event, starts_from(event, JAN_5), "2026-12-02T08:00:00+01:00")
    first = run_planner(config, store, _at("2026-12-02T08:00:00+01:00"))
    assert [a.kind for a in first.actions] == ["declined"]
    assert "1 of 2 declined" in first.lines()[0]
    (row,) = tb.load(store)
    assert (row.state, row.declines) == (tb.ACTIVE, 1)

    _alice_declines(tmp_path, config_path, event, starts_from(event, JAN_5), "2027-01-06T08:00:00+01:00")
    second = run_planner(config, store, _at("2027-01-06T08:00:00+01:00"))
    assert [a.kind for a in second.actions] == ["declined", "ended", "paused"]
    (row,) = tb.load(store)
    assert (row.state, row.declines) == (tb.ENDED, 2)
    (ended,) = series_in_file(config)[ALICE]
    assert ended["RRULE"]["UNTIL"][0] == _at("2027-01-06T07:00:00+00:00")
    person = store.db["people"].get(ALICE)
    assert parse_iso(person["paused_until"]) == _at("2027-01-06T08:00:00+01:00") + timedelta(days=90)
    assert "declined the touchbase 2 times" in person["paused_reason"]
    kinds = [a["kind"] for a in actions(store) if a["email"] == ALICE]
    assert kinds == ["touchbase-created", "touchbase-declined", "touchbase-declined",
                     "touchbase-ended", "touchbase-paused"]
    # Paused: no new series while the pause lasts, even though Alice drifts again.
    later = run_planner(config, store, _at("2027-03-01T08:00:00+01:00"))
    assert later.created == [] and len(tb.load(store)) == 1
    assert "paused until" in run_cli(config_path, "person", ALICE, now="2027-03-01T08:00:00+01:00").output


def test_read_back_alone_ends_a_declined_series_and_books_nothing(tmp_path):
    config_path, config, store, event = book_alice(tmp_path)
    (tmp_path / "work.ics").write_text((tmp_path / "work.ics").read_text().replace(
        "END:VCALENDAR", "".join(e.text() for e in drifting(BOB)) + "END:VCALENDAR"))
    _alice_declines(tmp_path, config_path, event, starts_from(event, DEC_1), "2026-12-02T08:00:00+01:00")
    report = read_back_series(config, store, _at("2026-12-02T08:00:00+01:00"))
    assert [a.kind for a in report.actions] == ["declined", "ended", "paused"]
    assert [r.email for r in tb.load(store)] == [ALICE]  # Bob drifts, but nothing is booked


def test_declines_of_future_occurrences_count_only_for_the_next_one(tmp_path):
    config_path, config, store, event = book_alice(tmp_path)
    _alice_declines(tmp_path, config_path, event, starts_from(event, DEC_1), NOW)
    assert [a.kind for a in run_planner(config, store, NOW_DT).actions] == ["declined"]
    assert tb.load(store)[0].declines == 1
    assert run_planner(config, store, NOW_DT).actions == []  # the same decline counts once
    after = run_planner(config, store, _at("2026-12-02T08:00:00+01:00"))
    assert [a.kind for a in after.actions] == ["declined", "ended", "paused"]


def test_a_series_the_user_deleted_is_never_recreated(tmp_path):
    config_path, config, store, event = book_alice(tmp_path)
    cal = local_calendar(config)
    cal.subcomponents = [c for c in cal.subcomponents if c.name != "VEVENT"]
    config.local_calendar_path.write_bytes(cal.to_ical())
    report = run_planner(config, store, _at("2026-12-02T08:00:00+01:00"))
    assert [a.kind for a in report.actions] == ["deleted"]
    assert [a["kind"] for a in actions(store)][-1] == "touchbase-deleted-by-user"
    for later in ("2027-01-15T08:00:00+01:00", "2027-04-01T08:00:00+01:00"):
        assert run_cli(config_path, "sync", now=later).exit_code == 0
        assert run_planner(config, store, _at(later)).created == []
    assert series_in_file(config) == {}
    # Only the user can ask for one again, explicitly.
    approved = run_cli(config_path, "approve", ALICE, now="2027-04-01T08:00:00+01:00")
    assert approved.exit_code == 0, approved.output
    (again,) = series_in_file(config)[ALICE]
    assert str(again[TAG_PROPERTY]) != str(event[TAG_PROPERTY])


class Crash(BaseException):
    """Stands for the process dying (kill -9, power loss) at that instant."""


class CrashAfterWrite(LocalCalendar):
    """Writes the series, then the process dies before the planner records it."""

    def create_series(self, spec):  # noqa: ANN001
        super().create_series(spec)
        raise Crash


class CrashBeforeWrite(LocalCalendar):
    """The process dies after the pending row, before anything reaches the file."""

    def create_series(self, spec):  # noqa: ANN001
        raise Crash


class CrashAfterEnd(LocalCalendar):
    """Ends the series in the file, then the process dies before the planner records it."""

    def end_series(self, event_id, until):  # noqa: ANN001
        super().end_series(event_id, until)
        raise Crash


def opener(cls: type[LocalCalendar]):
    """An open_connector that gives `cls` for the local calendar file."""
    def open_(config, source, now):  # noqa: ANN001
        if source.type == "local":
            return cls(source, make_context(config, now))
        return open_connector(config, source, now)
    return open_


def test_a_crash_between_write_and_record_never_creates_a_second_series(tmp_path):
    config_path = setup(tmp_path, [*drifting(ALICE), *drifting(BOB)])
    config, store = open_all(config_path)
    with pytest.raises(Crash):
        Planner(config, store, NOW_DT, open_connector=opener(CrashAfterWrite)).run()
    (row,) = tb.load(store)
    assert row.state == tb.PENDING
    assert list(series_in_file(config)) == [row.email]
    assert actions(store) == []
    report = run_planner(config, store, NOW_DT)
    assert [(a.kind, a.email) for a in report.actions] == [("recovered", row.email),
                                                            ("created", BOB if row.email == ALICE else ALICE)]
    assert {r.state for r in tb.load(store)} == {tb.ACTIVE}
    assert {who: len(events) for who, events in series_in_file(config).items()} == {ALICE: 1, BOB: 1}
    assert sorted(a["email"] for a in actions(store, "touchbase-created")) == [ALICE, BOB]
    assert run_planner(config, store, NOW_DT + timedelta(days=1)).actions == []


def test_a_crash_before_the_write_plans_again_under_the_same_id(tmp_path):
    config, store = open_all(setup(tmp_path, drifting(ALICE)))
    with pytest.raises(Crash):
        Planner(config, store, NOW_DT, open_connector=opener(CrashBeforeWrite)).run()
    (pending,) = tb.load(store)
    assert pending.state == tb.PENDING and series_in_file(config) == {}
    report = run_planner(config, store, NOW_DT)
    assert [a.kind for a in report.actions] == ["retried", "created"]
    (row,) = tb.load(store)
    assert (row.series_id, row.state) == (pending.series_id, tb.ACTIVE)
    assert str(series_in_file(config)[ALICE][0][TAG_PROPERTY]) == pending.series_id


def test_a_crash_after_ending_a_series_is_recorded_once_on_the_next_run(tmp_path):
    config_path, config, store, event = book_alice(tmp_path)
    _alice_declines(tmp_path, config_path, event, starts_from(event, DEC_1), "2026-12-02T08:00:00+01:00")
    at = _at("2026-12-02T08:00:00+01:00")
    with pytest.raises(Crash):
        Planner(config, store, at, open_connector=opener(CrashAfterEnd)).run()
    assert live_series(config) == {} and tb.load(store)[0].state == tb.ACTIVE
    report = run_planner(config, store, at)
    assert [a.kind for a in report.actions] == ["ended", "paused"]
    assert [a["kind"] for a in actions(store)].count("touchbase-ended") == 1
    (ended,) = series_in_file(config)[ALICE]
    assert int(ended["SEQUENCE"]) == 1  # ended once, not twice


def test_a_pending_row_is_found_by_tag_even_when_the_file_was_rewritten_by_others(tmp_path):
    config, store = open_all(setup(tmp_path, drifting(ALICE)))
    with pytest.raises(Crash):
        Planner(config, store, NOW_DT, open_connector=opener(CrashAfterWrite)).run()
    cal = local_calendar(config)
    (event,) = [c for c in cal.subcomponents if c.name == "VEVENT"]
    event["SUMMARY"] = icalendar.vText("Renamed by the user")
    config.local_calendar_path.write_bytes(cal.to_ical())
    report = run_planner(config, store, NOW_DT)
    assert [a.kind for a in report.actions] == ["recovered"]
    assert len(series_in_file(config)[ALICE]) == 1


def test_the_heal_job_acts_on_declines_as_soon_as_they_are_synced(tmp_path):
    from agent.daemon.jobs import run_job
    from agent.planning.planner import new_declines_synced

    config_path, config, store, event = book_alice(tmp_path)
    now = _at("2026-12-02T08:00:00+01:00")
    assert run_job(config, store, "sync", now).ok
    assert not new_declines_synced(config, store, now)  # nothing declined: no read-back at all
    assert run_job(config, store, "heal", now).detail == "nothing to do"
    (tmp_path / "replies.ics").write_text(calendar(imported_copy(event, ALICE, starts_from(event, DEC_1))))
    assert run_job(config, store, "sync", now).ok
    result = run_job(config, store, "heal", now)
    assert result.ok, result.line()
    assert result.detail.startswith("declines read back: ")
    (row,) = tb.load(store)
    assert (row.state, row.declines) == (tb.ENDED, 2)
    assert store.db["people"].get(ALICE)["paused_until"]
    assert not new_declines_synced(config, store, now)
