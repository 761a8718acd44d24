"""Both people's hours: the colleague's zone inferred from the events they organise (the user's
hours mapped into it), and events that show as free do not block or clash."""
from __future__ import annotations

from datetime import datetime, timedelta

from agent.planning.planner import run_planner
from agent.storage import instance_moves as moves
from tests.helpers import USER, Ev, run_cli
from tests.planning_helpers import NOW, NOW_DT, drifting, open_all, series_in_file, setup, write_calendar

BOB, ALICE = "bob@acme.example", "alice@acme.example"


def _organised_by_bob_in_new_york() -> list[Ev]:
    local = NOW_DT.replace(tzinfo=None)
    return [Ev(uid=f"bob-ny-{ago}", start=(local - timedelta(days=ago)).strftime("%Y%m%dT100000"),
               end=(local - timedelta(days=ago)).strftime("%Y%m%dT103000"), organizer=BOB,
               tzid="America/New_York",
               attendees=(f";PARTSTAT=ACCEPTED:mailto:{BOB}", f";PARTSTAT=ACCEPTED:mailto:{USER}"))
            for ago in (100, 130, 160)]


def test_a_colleague_who_organises_in_new_york_gets_a_slot_inside_both_days(tmp_path):
    config_path = setup(tmp_path, _organised_by_bob_in_new_york())
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (event,) = series_in_file(config)[BOB]
    # 09:00-17:00 in New York is 15:00-23:00 in Berlin: 15:00 is the first start inside both.
    assert event.decoded("DTSTART") == datetime.fromisoformat("2026-12-01T15:00:00+01:00")
    store.close()


def test_a_meeting_that_shows_as_free_neither_blocks_nor_clashes(tmp_path):
    free = Ev(uid="focus", start="20261201T090000", end="20261201T170000", summary="Focus",
              extra="TRANSP:TRANSPARENT")
    events = [*drifting(ALICE), free]
    config_path = setup(tmp_path, events)
    config, store = open_all(config_path)
    assert run_planner(config, store, NOW_DT).created == [ALICE]
    (event,) = series_in_file(config)[ALICE]
    assert event.decoded("DTSTART") == datetime.fromisoformat("2026-12-01T09:00:00+01:00")
    busy = Ev(uid="offsite", start="20261201T090000", end="20261201T100000", summary="Offsite")
    write_calendar(tmp_path / "work.ics", [*events, busy])
    assert run_cli(config_path, "sync", now="2026-11-30T09:00:00+01:00").exit_code == 0
    report = run_planner(config, store, datetime.fromisoformat("2026-11-30T09:00:00+01:00"))
    assert [a.kind for a in report.actions] == ["moved"]  # the busy one clashes, the free one not
    (move,) = moves.load(store).values()
    assert move.new_start == datetime.fromisoformat("2026-12-01T10:00:00+01:00")
    store.close()


def test_backends_report_free_events_and_the_zone_they_were_written_in():
    from zoneinfo import ZoneInfo

    from connectors.google.mapping import to_occurrence as google_occurrence
    from connectors.outlook.mapping import to_occurrence as graph_occurrence
    from connectors.outlook.mapping import working_hours_of

    berlin = ZoneInfo("Europe/Berlin")
    item = {"id": "ev1", "start": {"dateTime": "2026-12-01T10:00:00-05:00", "timeZone": "America/New_York"},
            "end": {"dateTime": "2026-12-01T10:30:00-05:00"}, "transparency": "transparent"}
    occ = google_occurrence(item, "primary", berlin)
    assert (occ.transparent, occ.zone) == (True, "America/New_York")
    event = {"id": "g1", "type": "singleInstance", "showAs": "free",
             "originalStartTimeZone": "Eastern Standard Time",
             "start": {"dateTime": "2026-12-01T15:00:00.0000000", "timeZone": "UTC"},
             "end": {"dateTime": "2026-12-01T15:30:00.0000000", "timeZone": "UTC"}}
    occ = graph_occurrence(event, berlin, [USER])
    assert (occ.transparent, occ.zone) == (True, "America/New_York")
    hours = working_hours_of({"daysOfWeek": ["monday", "friday"], "startTime": "08:30:00.0000000",
                              "endTime": "16:00:00.0000000", "timeZone": {"name": "Pacific Standard Time"}})
    assert (hours.days, str(hours.start), str(hours.end), hours.timezone) == (
        ("MO", "FR"), "08:30:00", "16:00:00", "America/Los_Angeles")
    assert hours.contains(datetime(2026, 11, 30, 8, 30, tzinfo=ZoneInfo("America/Los_Angeles")),
                          datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")))
    assert not hours.contains(datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles")),
                              datetime(2026, 12, 1, 10, 30, tzinfo=ZoneInfo("America/Los_Angeles")))
