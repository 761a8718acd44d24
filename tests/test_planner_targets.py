"""The planner writing to real backends: Google (the emulator) and CalDAV (a real Radicale)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from agent.configuration.loader import load_config
from agent.errors import SourceError
from agent.model import AGENT_TAG_NAME
from agent.planning import touchbases as tb
from agent.planning.planner import run_planner
from agent.storage.store import Store
from connectors.ical.read import TAG_PROPERTY
from tests.fakes.google_setup import gev, google_config
from tests.helpers import USER, calendar, run_cli, write_config
from tests.planning_helpers import NOW, NOW_DT, actions, drifting, imported_copy, one_on_one, starts_from

BERLIN = ZoneInfo("Europe/Berlin")
ALICE, BOB = "alice@acme.example", "bob@acme.example"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- Google ------------------------------------------------------------------------------------

def _past_one_on_ones(google, who: str) -> None:
    for days in (100, 130, 160):
        start = (NOW_DT - timedelta(days=days)).replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M")
        google.put_event(gev(f"{who.split('@')[0]}past{days}", start,
                             attendees=((who, "accepted"), (USER, "accepted")), organizer=USER))


def test_google_target_books_around_the_colleagues_busy_time_with_one_freebusy_each(tmp_path, google, fast_retries):
    _past_one_on_ones(google, ALICE)
    _past_one_on_ones(google, BOB)
    google.put_event(gev("morning", "2026-12-01T09:00", minutes=180, attendees=(("zed@acme.example", "accepted"),),
                         organizer=USER))
    google.visible_busy[ALICE] = [(_at("2026-12-01T12:00:00+01:00"), _at("2026-12-01T13:00:00+01:00"))]
    config_path = google_config(tmp_path, google,
                                extra='[touchbase]\nwrite_to = "gwork"\nmax_per_day = 2\n')
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config = load_config(config_path)
    store = Store(config.store_path)
    google.reset_counts()
    report = run_planner(config, store, NOW_DT)
    assert report.created == [ALICE, BOB]
    assert google.counts["freebusy.query"] == 2 and google.counts["events.insert"] == 2
    events = {e["attendees"][0]["email"]: e for e in google.calendar("primary").events.values()
              if (e.get("extendedProperties") or {}).get("private", {}).get(AGENT_TAG_NAME)}
    assert events[ALICE]["start"]["dateTime"] == "2026-12-01T13:00:00+01:00"  # Alice is busy at 12
    assert events[BOB]["start"]["dateTime"] == "2026-12-01T12:00:00+01:00"
    assert events[ALICE]["recurrence"] == ["RRULE:FREQ=MONTHLY;BYDAY=1TU"]
    assert not config.local_calendar_path.exists()

    google.reset_counts()
    assert run_planner(config, store, NOW_DT + timedelta(hours=1)).actions == []
    assert google.counts["events.insert"] == 0 and google.counts["freebusy.query"] == 0

    alice_id = events[ALICE]["id"]
    google.respond(alice_id, ALICE, "declined")  # the whole series
    later = "2026-12-02T08:00:00+01:00"
    assert run_cli(config_path, "sync", now=later).exit_code == 0
    ended = run_planner(config, store, _at(later))
    assert [a.kind for a in ended.actions] == ["declined", "ended", "paused"]
    master = google.calendar("primary").events[alice_id]
    assert master["recurrence"][0].startswith("RRULE:FREQ=MONTHLY;") and "UNTIL=" in master["recurrence"][0]
    assert {r.email: r.state for r in tb.load(store)} == {ALICE: tb.ENDED, BOB: tb.ACTIVE}
    store.close()


def test_google_series_deleted_by_the_user_is_never_recreated(tmp_path, google, fast_retries):
    _past_one_on_ones(google, ALICE)
    config_path = google_config(tmp_path, google, extra='[touchbase]\nwrite_to = "gwork"\n')
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config = load_config(config_path)
    store = Store(config.store_path)
    assert run_planner(config, store, NOW_DT).created == [ALICE]
    (row,) = tb.load(store)
    google.delete_event(row.event_id)
    later = "2027-02-01T08:00:00+01:00"
    assert run_cli(config_path, "sync", now=later).exit_code == 0
    google.reset_counts()
    report = run_planner(config, store, _at(later))
    assert [a.kind for a in report.actions] == ["deleted"]
    assert google.counts["events.insert"] == 0
    assert [a["kind"] for a in actions(store)][-1] == "touchbase-deleted-by-user"
    store.close()


# --- CalDAV ------------------------------------------------------------------------------------

def _own_objects(work) -> dict[str, icalendar.Event]:
    result = {}
    for obj in work.objects(load_objects=True):
        cal = icalendar.Calendar.from_ical(obj.data)
        for event in cal.walk("VEVENT"):
            if event.get(TAG_PROPERTY) and event.get("RECURRENCE-ID") is None:
                result[str(event["UID"])] = (obj, event)
    return result


def test_caldav_target_books_once_reads_declines_back_and_ends_the_series(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    for event in [*drifting(ALICE), one_on_one("busy", "zed@acme.example", datetime(2026, 12, 1, 9), minutes=60)]:
        work.save_event(calendar(event))
    extra = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
             f'calendars = ["{name}"]\n\n[touchbase]\nwrite_to = "dav"\n')
    config_path = write_config(tmp_path, [], extra=extra)
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config = load_config(config_path)
    store = Store(config.store_path)
    assert run_planner(config, store, NOW_DT).created == [ALICE]
    assert run_planner(config, store, NOW_DT + timedelta(hours=2)).actions == []
    (uid, (obj, event)), = _own_objects(work).items()
    assert event.decoded("DTSTART") == _at("2026-12-01T10:00:00+01:00")
    assert event["RRULE"].to_ical() == b"FREQ=MONTHLY;BYDAY=1TU"
    (row,) = tb.load(store)
    assert str(event[TAG_PROPERTY]) == row.series_id and uid.startswith(row.series_id)

    # The server now holds Alice's answers: she declined the series.
    replies = calendar(imported_copy(event, ALICE, starts_from(event, _at("2026-12-01T10:00:00+01:00"))))
    obj.data = replies
    obj.save()
    later = "2026-12-02T08:00:00+01:00"
    assert run_cli(config_path, "sync", now=later).exit_code == 0
    report = run_planner(config, store, _at(later))
    assert [a.kind for a in report.actions] == ["declined", "ended", "paused"]
    (_, (_, ended)), = _own_objects(work).items()
    assert "UNTIL" in ended["RRULE"]
    assert tb.load(store)[0].state == tb.ENDED
    store.close()


def test_google_one_refused_booking_does_not_stop_the_next(tmp_path, google, fast_retries):
    _past_one_on_ones(google, ALICE)
    _past_one_on_ones(google, BOB)
    config_path = google_config(tmp_path, google,
                                extra='[touchbase]\nwrite_to = "gwork"\nmax_per_day = 2\n')
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    config = load_config(config_path)
    store = Store(config.store_path)
    google.inject(400, reason="invalid", method="events.insert")  # the first booking only
    with pytest.raises(SourceError, match="creating 'Touchbase: Alice'"):  # the job shows as failing
        run_planner(config, store, NOW_DT)
    assert {r.email: r.state for r in tb.load(store)} == {ALICE: tb.PENDING, BOB: tb.ACTIVE}  # Bob booked too
    retried = run_planner(config, store, NOW_DT + timedelta(hours=1))
    assert retried.created == [ALICE]
    store.close()
