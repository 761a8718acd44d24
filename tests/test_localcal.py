"""The local calendar file: valid iCalendar, deterministic UIDs, the agent's tag, idempotent writes."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from agent.configuration.loader import load_config
from agent.errors import SourceError
from agent.model import SeriesSpec
from agent.sources import LOCAL_SOURCE, local_source, open_connector
from agent.storage.store import Store
from agent.sync import sync_all
from connectors.ical.read import TAG_PROPERTY
from tests.contract import NOW as CONTRACT_NOW
from tests.contract import CalendarFileBackend, ConnectorContract
from tests.helpers import USER, Ev, calendar, write_config

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN)


def _spec(series_id: str = "tb-one", who: str = "alice@acme.example",
          start: datetime = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN), title: str = "Touchbase: Alice") -> SeriesSpec:
    return SeriesSpec(series_id=series_id, colleague=who, colleague_name="Alice Archer", organizer=USER,
                      title=title, description="Ideas:\n- ask, offer, share", start=start,
                      duration_minutes=30, timezone="Europe/Berlin", weekday="TU", week_index=2,
                      tag=series_id)


@pytest.fixture()
def setup(tmp_path):
    config = load_config(write_config(tmp_path, []))
    return config, open_connector(config, local_source(config), NOW)


def _parse(config) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(config.local_calendar_path.read_bytes())


def _masters(cal: icalendar.Calendar) -> list[icalendar.Event]:
    return [e for e in cal.walk("VEVENT") if e.get("RECURRENCE-ID") is None]


def test_a_series_is_valid_icalendar_with_vtimezone_rrule_uid_and_tag(setup):
    config, local = setup
    uid = local.create_series(_spec())
    cal = _parse(config)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    (event,) = _masters(cal)
    assert str(event["UID"]) == uid == "tb-one@touchbase.local"
    assert str(event[TAG_PROPERTY]) == "tb-one"
    assert event["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=2TU"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    attendees = {str(a).lower(): a.params for a in event["ATTENDEE"]}
    assert attendees["mailto:alice@acme.example"]["PARTSTAT"] == "NEEDS-ACTION"
    assert attendees[f"mailto:{USER}"]["PARTSTAT"] == "ACCEPTED"
    starts = [e.decoded("DTSTART") for e in recurring_ical_events.of(cal).between(
        datetime(2026, 12, 1, tzinfo=BERLIN), datetime(2027, 4, 1, tzinfo=BERLIN))]
    assert [s.strftime("%Y-%m-%d %H:%M %Z") for s in starts] == [
        "2026-12-08 10:00 CET", "2027-01-12 10:00 CET", "2027-02-09 10:00 CET", "2027-03-09 10:00 CET"]
    assert config.local_calendar_path.stat().st_mode & 0o777 == 0o600


def test_writing_the_same_series_twice_keeps_one_copy_and_the_same_bytes(setup):
    config, local = setup
    local.create_series(_spec())
    first = config.local_calendar_path.read_bytes()
    assert local.create_series(_spec()) == "tb-one@touchbase.local"
    assert config.local_calendar_path.read_bytes() == first


def test_a_changed_retry_rewrites_in_place_with_a_new_sequence(setup):
    config, local = setup
    local.create_series(_spec())
    local.create_series(_spec(start=datetime(2026, 12, 8, 14, 0, tzinfo=BERLIN)))
    (event,) = _masters(_parse(config))
    assert event.decoded("DTSTART") == datetime(2026, 12, 8, 14, 0, tzinfo=BERLIN)
    assert int(event["SEQUENCE"]) == 1


def test_find_own_events_reads_tagged_series_only(setup, tmp_path):
    config, local = setup
    local.create_series(_spec())
    local.create_series(_spec("tb-two", "bob@acme.example"))
    own = {e.series_id: e for e in local.find_own_events()}
    assert set(own) == {"tb-one", "tb-two"}
    assert own["tb-one"].event_id == "tb-one@touchbase.local"
    assert own["tb-one"].start == datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)
    assert not own["tb-one"].ended


def test_ending_a_series_keeps_the_past_and_stops_after_until(setup):
    config, local = setup
    uid = local.create_series(_spec())
    local.end_series(uid, datetime(2027, 1, 20, tzinfo=BERLIN))
    local.end_series(uid, datetime(2027, 1, 20, tzinfo=BERLIN))  # idempotent
    cal = _parse(config)
    (event,) = _masters(cal)
    assert int(event["SEQUENCE"]) == 1
    starts = [e.decoded("DTSTART").date().isoformat() for e in recurring_ical_events.of(cal).between(
        datetime(2026, 12, 1, tzinfo=BERLIN), datetime(2027, 6, 1, tzinfo=BERLIN))]
    assert starts == ["2026-12-08", "2027-01-12"]
    assert [e.ended for e in local.find_own_events()] == [True]


def test_ending_before_the_first_occurrence_cancels_the_series(setup):
    config, local = setup
    uid = local.create_series(_spec())
    local.end_series(uid, datetime(2026, 12, 1, tzinfo=BERLIN))
    (event,) = _masters(_parse(config))
    assert str(event["STATUS"]) == "CANCELLED"
    assert local.busy(datetime(2026, 12, 1, tzinfo=BERLIN), datetime(2027, 3, 1, tzinfo=BERLIN), []) == []


def test_events_without_the_tag_are_never_changed(setup):
    config, local = setup
    foreign = Ev(uid="tb-one@touchbase.local", start="20261209T100000", end="20261209T110000",
                 summary="Not ours").text()
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_bytes(calendar(foreign).encode())
    with pytest.raises(SourceError, match="not written by touchbase"):
        local.create_series(_spec())
    local.end_series("tb-one@touchbase.local", datetime(2026, 12, 20, tzinfo=BERLIN))
    assert config.local_calendar_path.read_bytes() == calendar(foreign).encode()
    assert local.find_own_events() == []


def test_other_events_in_the_file_survive_a_write(setup):
    config, local = setup
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_text(calendar(Ev(uid="mine", start="20261209T100000",
                                                      end="20261209T110000", summary="Kept")))
    local.create_series(_spec())
    titles = sorted(str(e["SUMMARY"]) for e in _masters(_parse(config)))
    assert titles == ["Kept", "Touchbase: Alice"]


def test_busy_lists_the_files_occurrences(setup):
    _, local = setup
    local.create_series(_spec())
    busy = local.busy(datetime(2026, 12, 1, tzinfo=BERLIN), datetime(2027, 2, 1, tzinfo=BERLIN), [])
    assert busy == [(datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN), datetime(2026, 12, 8, 10, 30, tzinfo=BERLIN)),
                    (datetime(2027, 1, 12, 10, 0, tzinfo=BERLIN), datetime(2027, 1, 12, 10, 30, tzinfo=BERLIN))]


def test_a_missing_file_is_an_empty_calendar_and_a_broken_one_a_clear_error(setup):
    config, local = setup
    assert local.find_own_events() == []
    changes, _ = local.fetch_changes({})
    assert changes.upserts == {} and changes.full
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_text("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n")
    with pytest.raises(SourceError, match="touchbase.ics"):
        local.find_own_events()


def test_sync_reads_the_file_as_the_local_source_with_the_tag(tmp_path):
    config_path = write_config(tmp_path, [])
    config = load_config(config_path)
    open_connector(config, local_source(config), NOW).create_series(_spec())
    store = Store(config.store_path)
    results = sync_all(config, store, NOW)
    assert [(r.name, r.ok) for r in results] == [(LOCAL_SOURCE, True)]
    occurrences = list(store.occurrences(NOW, NOW + timedelta(days=75)))
    assert [(o.source, o.tag, o.start.date().isoformat()) for o in occurrences] == [
        (LOCAL_SOURCE, "tb-one", "2026-12-08"), (LOCAL_SOURCE, "tb-one", "2027-01-12"),
        (LOCAL_SOURCE, "tb-one", "2027-02-09")]


def test_a_zone_with_daylight_saving_keeps_the_wall_clock_time(tmp_path):
    config = load_config(write_config(tmp_path, [], timezone="America/New_York"))
    local = open_connector(config, local_source(config), NOW)
    york = ZoneInfo("America/New_York")
    spec = _spec(start=datetime(2027, 2, 9, 10, 0, tzinfo=york))
    spec.timezone = "America/New_York"
    local.create_series(spec)
    cal = _parse(config)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    starts = [e.decoded("DTSTART") for e in recurring_ical_events.of(cal).between(
        datetime(2027, 2, 1, tzinfo=york), datetime(2027, 4, 30, tzinfo=york))]
    assert [(s.strftime("%m-%d %H:%M"), s.utcoffset().total_seconds() / 3600) for s in starts] == [
        ("02-09 10:00", -5), ("03-09 10:00", -5), ("04-13 10:00", -4)]


# --- the connector contract (tests/contract.py) -----------------------------------------------


class LocalFileBackend(CalendarFileBackend):
    """The local calendar file in the data folder, which the user may also edit."""

    def __init__(self, folder) -> None:
        self.config = load_config(write_config(folder, []))
        super().__init__(self.config.local_calendar_path)

    def connector(self):
        return open_connector(self.config, local_source(self.config), CONTRACT_NOW)


class TestLocalCalendarContract(ConnectorContract):
    """The local calendar file: read like an .ics file, and written."""

    @pytest.fixture
    def backend(self, tmp_path):
        return LocalFileBackend(tmp_path)
