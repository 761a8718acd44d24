"""The cadence decides the recurrence: weekly, every two weeks, monthly, every two months,
quarterly; a changed cadence ends the series and books one on the new rule."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import recurring_ical_events

from agent.planning import touchbases as tb
from agent.planning.planner import run_planner
from agent.planning.recurrence import cadence_for
from agent.planning.slots import position_in_month
from tests.helpers import flat, run_cli
from tests.planning_helpers import (
    NOW,
    NOW_DT,
    actions,
    drifting,
    live_series,
    local_calendar,
    one_on_one,
    open_all,
    series_in_file,
    setup,
)

ALICE = "alice@acme.example"


@pytest.mark.parametrize(("days", "rule"), [
    (7, "FREQ=WEEKLY;BYDAY=TU"), (10, "FREQ=WEEKLY;BYDAY=TU"),
    (11, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"), (20, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),
    (21, "FREQ=MONTHLY;BYDAY=2TU"), (45, "FREQ=MONTHLY;BYDAY=2TU"),
    (46, "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU"), (75, "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU"),
    (76, "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"), (365, "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"),
])
def test_the_cadence_in_days_picks_the_rule(days, rule):
    assert cadence_for(days).rrule("TU", 2) == rule


@pytest.mark.parametrize(("cadence", "freq", "interval", "words"), [
    ("1w", "WEEKLY", None, "weekly on Tuesday"), ("2w", "WEEKLY", 2, "every 2 weeks on Tuesday"),
    ("1m", "MONTHLY", None, "monthly on the 1st Tuesday"),
    ("2m", "MONTHLY", 2, "every 2 months on the 1st Tuesday"),
    ("3m", "MONTHLY", 3, "quarterly on the 1st Tuesday"),
])
def test_rate_cadence_gives_the_matching_recurrence(tmp_path, cadence, freq, interval, words):
    config_path = setup(tmp_path, drifting(ALICE), extra='[touchbase]\ncadence_days = 30\n')
    assert run_cli(config_path, "rate", ALICE, "--cadence", cadence, now=NOW).exit_code == 0
    result = run_cli(config_path, "run", "--once", now=NOW)
    assert result.exit_code == 0, result.output
    config, store = open_all(config_path)
    (event,) = series_in_file(config)[ALICE]
    rule = event["RRULE"]
    assert rule["FREQ"] == [freq] and rule.get("INTERVAL") == ([interval] if interval else None)
    start = event.decoded("DTSTART")
    index, weekday = position_in_month(start.date())
    assert rule["BYDAY"] == [weekday if freq == "WEEKLY" else f"{index}{weekday}"]
    row = tb.of_person(store, ALICE)[0]
    assert row.rrule == rule.to_ical().decode()
    phrase = f"{words}, 09:00-09:30 Europe/Berlin"  # the event says the schedule, not "monthly"
    assert f"A touchbase to stay in touch: {phrase}." in str(event["DESCRIPTION"])
    assert f"{phrase}, starting 2026-12-01" in flat(run_cli(config_path, "person", ALICE, now=NOW).output)
    (created,) = actions(store, "touchbase-created")
    assert created["detail"].startswith(f"{phrase}, starting 2026-12-01")
    store.close()


def test_a_weekly_slot_is_checked_over_four_weeks(tmp_path):
    """A meeting on the fourth Tuesday at 09:00 keeps a weekly touchbase off Tuesdays 09:00."""
    blocker = one_on_one("zed-late", "zed@acme.example", datetime(2026, 12, 22, 9, 0), minutes=60)
    config_path = setup(tmp_path, [*drifting(ALICE), blocker],
                        extra='[touchbase]\ncadence_days = 7\nworking_days = ["TU"]\n')
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (event,) = series_in_file(config)[ALICE]
    assert event["RRULE"].to_ical().decode() == "FREQ=WEEKLY;BYDAY=TU"
    assert event.decoded("DTSTART") == datetime.fromisoformat("2026-12-01T10:00:00+01:00")
    store.close()


def test_a_changed_cadence_ends_the_series_and_books_one_on_the_new_rule(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE))
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (monthly,) = series_in_file(config)[ALICE]
    assert monthly["RRULE"]["FREQ"] == ["MONTHLY"]
    first = monthly.decoded("DTSTART")
    later = first + timedelta(days=1, hours=1)  # the first instance was held
    assert run_cli(config_path, "rate", ALICE, "--cadence", "2w", now=later.isoformat()).exit_code == 0
    sync = run_cli(config_path, "sync", now=later.isoformat())
    assert sync.exit_code == 0, sync.output
    report = run_planner(config, store, later)
    assert [a.kind for a in report.actions] == ["ended", "created"]
    assert "the cadence changed to every 2 weeks" in report.actions[0].detail
    events = {str(e["UID"]): e for e in series_in_file(config)[ALICE]}
    old = events[str(monthly["UID"])]
    assert old["RRULE"]["UNTIL"][0] <= later
    (new,) = live_series(config)[ALICE]
    assert new["RRULE"].to_ical().decode().startswith("FREQ=WEEKLY;INTERVAL=2;BYDAY=")
    assert new.decoded("DTSTART") > later > first
    states = sorted((r.state, r.rrule.split(";")[0]) for r in tb.of_person(store, ALICE))
    assert states == [(tb.ACTIVE, "FREQ=WEEKLY"), (tb.ENDED, "FREQ=MONTHLY")]
    held = recurring_ical_events.of(local_calendar(config)).between(first - timedelta(days=1), later)
    assert [e.decoded("DTSTART") for e in held] == [first]  # the held instance stays
    assert run_planner(config, store, later + timedelta(hours=1)).actions == []  # settled
    assert len(actions(store, "touchbase-created")) == 2
    store.close()


def test_a_crash_between_ending_and_recording_a_changed_cadence_is_completed(tmp_path):
    """The old series was ended for the new cadence, the run stopped: the next run records it
    as ended (not as deleted by the user) and books the new series."""
    config_path = setup(tmp_path, drifting(ALICE))
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    row = tb.of_person(store, ALICE)[0]
    assert run_cli(config_path, "rate", ALICE, "--cadence", "1w", now=NOW).exit_code == 0
    from agent.sources import local_source, open_connector
    connector = open_connector(config, local_source(config), NOW_DT)
    connector.end_series(row.event_id, NOW_DT)  # what the interrupted run had done
    connector.close()
    report = run_planner(config, store, NOW_DT)
    assert [a.kind for a in report.actions] == ["ended", "created"]
    assert {r.state for r in tb.of_person(store, ALICE)} == {tb.ENDED, tb.ACTIVE}
    assert not actions(store, "touchbase-deleted-by-user")
    store.close()
