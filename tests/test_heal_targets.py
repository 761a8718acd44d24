"""Healing and cadence on the Google and Outlook emulators and on CalDAV (a real Radicale):
a foreign meeting over the next instance, or the colleague declining that one instance, leads
after the next `run --once` to that one instance moved into a slot free for both, the series
intact and nothing else touched; `rate --cadence 2w` / `3m` give the matching recurrence."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar

from agent.configuration.loader import load_config
from agent.model import AGENT_TAG_NAME
from agent.planning import touchbases as tb
from agent.storage.store import Store
from connectors.ical.read import TAG_PROPERTY
from tests.fakes.google_setup import gev, google_config
from tests.fakes.graph_fixtures import outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import USER, calendar, run_cli, write_config
from tests.planning_helpers import NOW, NOW_DT, drifting, one_on_one

ALICE = "alice@acme.example"
LATER = "2026-11-30T09:00:00+01:00"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _run(config_path, now: str = NOW):
    result = run_cli(config_path, "run", "--once", now=now)
    assert result.exit_code == 0, result.output
    return result


def _row(config_path) -> tb.Touchbase:
    store = Store(load_config(config_path).store_path)
    try:
        (row,) = [r for r in tb.load(store) if r.state == tb.ACTIVE]
        return row
    finally:
        store.close()


# --- Google ------------------------------------------------------------------------------------

def _google_alice(tmp_path, google, extra: str = ""):
    for days in (100, 130, 160):
        start = (NOW_DT - timedelta(days=days)).replace(hour=10, minute=0).strftime("%Y-%m-%dT%H:%M")
        google.put_event(gev(f"alicepast{days}", start, attendees=((ALICE, "accepted"), (USER, "accepted")),
                             organizer=USER))
    config_path = google_config(tmp_path, google, extra='[touchbase]\nwrite_to = "gwork"\n' + extra)
    _run(config_path)
    events = google.calendar("primary").events
    (master,) = [e for e in events.values() if (e.get("extendedProperties") or {}).get("private", {})
                 .get(AGENT_TAG_NAME) and not e.get("recurringEventId")]
    return config_path, master


def _google_instance_id(master: dict, local: str) -> str:
    return f"{master['id']}_{_at(local).astimezone(_at('2026-01-01T00:00:00+00:00').tzinfo):%Y%m%dT%H%M%SZ}"


def test_google_a_foreign_meeting_over_the_next_instance_moves_that_instance(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    assert master["start"]["dateTime"] == "2026-12-01T09:00:00+01:00"
    google.put_event(gev("clash0001", "2026-12-01T09:00", minutes=60, organizer="zed@acme.example",
                         attendees=((USER, "accepted"), ("zed@acme.example", "accepted"))))
    foreign = dict(google.calendar("primary").events["clash0001"])
    google.modified.clear()
    _run(config_path, LATER)
    instance_id = _google_instance_id(master, "2026-12-01T09:00:00+01:00")
    assert google.modified == [("events.patch", instance_id)]  # one instance, nothing else
    moved = google.calendar("primary").events[instance_id]
    assert moved["start"]["dateTime"] == "2026-12-01T10:00:00+01:00"  # free for both, nearest
    assert moved["recurringEventId"] == master["id"] and moved["status"] == "confirmed"
    events = google.calendar("primary").events
    assert events[master["id"]]["recurrence"] == master["recurrence"]  # the series is intact
    assert events[master["id"]]["start"] == master["start"]
    assert events["clash0001"] == foreign
    google.modified.clear()
    _run(config_path, "2026-11-30T09:30:00+01:00")  # healed once: nothing more
    assert google.modified == []


def test_google_a_single_decline_moves_that_instance_and_does_not_count(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    instance_id = _google_instance_id(master, "2026-12-01T09:00:00+01:00")
    google.respond(instance_id, ALICE, "declined")
    google.modified.clear()
    _run(config_path, LATER)
    assert google.modified == [("events.patch", instance_id)]
    moved = google.calendar("primary").events[instance_id]
    start = _at(moved["start"]["dateTime"])
    assert start.date() != _at("2026-12-01T09:00:00+01:00").date() and start > _at(LATER)
    assert [a["responseStatus"] for a in moved["attendees"] if a["email"] == ALICE] == ["needsAction"]
    assert _row(config_path).declines == 0
    assert "declined it" in run_cli(config_path, "digest", "--preview", now=LATER).output


def test_google_a_busy_colleague_moves_the_instance(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    google.visible_busy[ALICE] = [(_at("2026-12-01T08:30:00+01:00"), _at("2026-12-01T10:30:00+01:00"))]
    google.modified.clear()
    _run(config_path, LATER)
    instance_id = _google_instance_id(master, "2026-12-01T09:00:00+01:00")
    assert google.modified == [("events.patch", instance_id)]
    assert google.calendar("primary").events[instance_id]["start"]["dateTime"] == "2026-12-01T10:30:00+01:00"


def test_google_rate_cadence_gives_the_matching_recurrence(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    assert master["recurrence"] == ["RRULE:FREQ=MONTHLY;BYDAY=1TU"]
    assert run_cli(config_path, "rate", ALICE, "--cadence", "2w", now=LATER).exit_code == 0
    _run(config_path, LATER)
    live = [e for e in google.calendar("primary").events.values()
            if (e.get("extendedProperties") or {}).get("private", {}).get(AGENT_TAG_NAME)
            and not e.get("recurringEventId") and not any("UNTIL=" in r for r in e["recurrence"])]
    (biweekly,) = live
    assert biweekly["recurrence"][0].startswith("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=")
    assert "UNTIL=" in google.calendar("primary").events[master["id"]]["recurrence"][0]
    assert run_cli(config_path, "rate", ALICE, "--cadence", "3m", now=LATER).exit_code == 0
    _run(config_path, "2026-11-30T10:00:00+01:00")
    (quarterly,) = [e for e in google.calendar("primary").events.values()
                    if (e.get("extendedProperties") or {}).get("private", {}).get(AGENT_TAG_NAME)
                    and not e.get("recurringEventId") and not any("UNTIL=" in r for r in e["recurrence"])]
    assert quarterly["recurrence"][0].startswith("RRULE:FREQ=MONTHLY;INTERVAL=3;BYDAY=")


# --- Outlook -----------------------------------------------------------------------------------

def _outlook_alice(tmp_path, graph, extra: str = ""):
    for days in (100, 130, 160):
        start = (NOW_DT - timedelta(days=days)).replace(hour=10, minute=0)
        graph.mailbox.add_event("1:1 Alice", start, start + timedelta(minutes=30),
                                attendees=[att(ALICE, "accepted")])
    config_path = outlook_config(tmp_path, graph, extra='[touchbase]\nwrite_to = "office"\n' + extra)
    sign_in(config_path)
    _run(config_path)
    (master,) = [e for e in graph.mailbox.events.values() if e.get("transactionId", "").startswith("touchbase-")]
    return config_path, master


def _graph_instance(graph, master: dict, original: str) -> dict:
    wanted = _at(original)
    found = [i for i in graph.mailbox.instances(master, wanted - timedelta(days=1), wanted + timedelta(days=15))
             if _at(i["originalStart"].replace("Z", "+00:00")) == wanted]
    assert len(found) == 1
    return found[0]


def _graph_start(instance: dict) -> datetime:
    return _at(instance["start"]["dateTime"].split(".")[0] + "+00:00")


def test_outlook_a_foreign_meeting_over_the_next_instance_moves_that_instance(tmp_path, graph):
    config_path, master = _outlook_alice(tmp_path, graph)
    first = _at("2026-12-01T09:00:00+01:00")
    assert _graph_start(_graph_instance(graph, master, first.isoformat())) == first
    foreign_id = graph.mailbox.add_event("Board", first, first + timedelta(hours=1),
                                         organizer="zed@acme.example", response="accepted")
    foreign = dict(graph.mailbox.events[foreign_id])
    graph.mailbox.patched.clear()
    _run(config_path, LATER)
    instance = _graph_instance(graph, master, first.isoformat())
    assert graph.mailbox.patched == [instance["id"]] and graph.mailbox.deleted == []
    assert instance["type"] == "exception"
    assert _graph_start(instance) == first + timedelta(hours=1)
    assert graph.mailbox.events[master["id"]]["recurrence"] == master["recurrence"]
    assert graph.mailbox.events[foreign_id] == foreign
    graph.mailbox.patched.clear()
    _run(config_path, "2026-11-30T09:30:00+01:00")
    assert graph.mailbox.patched == []


def test_outlook_a_single_decline_moves_that_instance_and_does_not_count(tmp_path, graph):
    config_path, master = _outlook_alice(tmp_path, graph)
    first = _at("2026-12-01T09:00:00+01:00")
    graph.mailbox.modify_occurrence(master["id"], first, attendees=[att(ALICE, "declined")])
    graph.mailbox.patched.clear()
    _run(config_path, LATER)
    instance = _graph_instance(graph, master, first.isoformat())
    assert graph.mailbox.patched == [instance["id"]]
    start = _graph_start(instance)
    assert start.date() != first.date() and start > _at(LATER)
    assert [a["status"]["response"] for a in instance["attendees"]] == ["none"]  # asked again
    assert _row(config_path).declines == 0


def test_outlook_no_slot_for_both_cancels_that_instance(tmp_path, graph):
    config_path, master = _outlook_alice(tmp_path, graph)
    first = _at("2026-12-01T09:00:00+01:00")
    graph.mailbox.free_busy[ALICE] = [(_at("2026-11-30T00:00:00+01:00"), _at("2026-12-15T00:00:00+01:00"), "oof")]
    _run(config_path, LATER)
    gone = [i for i in graph.mailbox.instances(master, first - timedelta(hours=1), first + timedelta(hours=1))]
    assert gone == [] and graph.mailbox.patched == []
    assert len(graph.mailbox.deleted) == 1 and graph.mailbox.deleted[0].startswith(master["id"])
    assert master["id"] in graph.mailbox.events  # the series stays


def test_outlook_the_colleagues_working_hours_from_getschedule(tmp_path, graph):
    graph.mailbox.working_hours[ALICE] = {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "09:00:00.0000000", "endTime": "17:00:00.0000000",
        "timeZone": {"name": "Eastern Standard Time"}}
    config_path, master = _outlook_alice(tmp_path, graph)
    # 09:00 in New York is 15:00 in Berlin: the first slot inside both people's hours.
    assert master["start"] == {"dateTime": "2026-12-01T15:00:00", "timeZone": "Europe/Berlin"}


def test_outlook_rate_cadence_gives_the_matching_recurrence(tmp_path, graph):
    config_path, master = _outlook_alice(tmp_path, graph)
    assert run_cli(config_path, "rate", ALICE, "--cadence", "3m", now=LATER).exit_code == 0
    _run(config_path, LATER)
    live = [e for e in graph.mailbox.events.values() if e.get("transactionId", "").startswith("touchbase-")
            and e["recurrence"]["range"]["type"] == "noEnd"]
    (quarterly,) = live
    assert quarterly["recurrence"]["pattern"]["type"] == "relativeMonthly"
    assert quarterly["recurrence"]["pattern"]["interval"] == 3
    assert master["id"] not in graph.mailbox.events  # it had not started: ended means removed


# --- CalDAV ------------------------------------------------------------------------------------

def _dav_series(work) -> tuple[object, icalendar.Calendar]:
    for obj in work.objects(load_objects=True):
        if TAG_PROPERTY in obj.data:
            return obj, icalendar.Calendar.from_ical(obj.data)
    raise AssertionError("no series on the server")


def test_caldav_a_foreign_meeting_over_the_next_instance_moves_that_instance(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    for event in drifting(ALICE):
        work.save_event(calendar(event))
    extra = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
             f'calendars = ["{name}"]\n\n[touchbase]\nwrite_to = "dav"\n')
    config_path = write_config(tmp_path, [], extra=extra)
    _run(config_path)
    _, before = _dav_series(work)
    (master,) = [e for e in before.walk("VEVENT")]
    first = master.decoded("DTSTART")
    work.save_event(calendar(one_on_one("clash", "zed@acme.example", first.replace(tzinfo=None), minutes=60)))
    _run(config_path, LATER)
    _, after = _dav_series(work)
    masters = [e for e in after.walk("VEVENT") if e.get("RECURRENCE-ID") is None]
    (override,) = [e for e in after.walk("VEVENT") if e.get("RECURRENCE-ID") is not None]
    assert masters[0]["RRULE"] == master["RRULE"] and masters[0].decoded("DTSTART") == first
    assert override.decoded("RECURRENCE-ID") == first
    assert override.decoded("DTSTART") == first + timedelta(hours=1)
    _run(config_path, "2026-11-30T09:30:00+01:00")
    _, again = _dav_series(work)
    assert len([e for e in again.walk("VEVENT") if e.get("RECURRENCE-ID") is not None]) == 1


def test_google_no_slot_for_both_cancels_that_instance(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    google.visible_busy[ALICE] = [(_at("2026-11-30T00:00:00+01:00"), _at("2026-12-14T00:00:00+01:00"))]
    google.modified.clear()
    _run(config_path, LATER)
    instance_id = _google_instance_id(master, "2026-12-01T09:00:00+01:00")
    assert google.modified == [("events.patch", instance_id)]
    assert google.calendar("primary").events[instance_id]["status"] == "cancelled"
    assert google.calendar("primary").events[master["id"]]["recurrence"] == master["recurrence"]


def test_google_a_lost_answer_to_the_move_never_moves_twice(tmp_path, google, fast_retries):
    from agent.storage import instance_moves as moves
    from tests.planning_helpers import actions

    config_path, master = _google_alice(tmp_path, google)
    google.put_event(gev("clash0001", "2026-12-01T09:00", minutes=60, organizer="zed@acme.example",
                         attendees=((USER, "accepted"), ("zed@acme.example", "accepted"))))
    google.inject(500, "backendError", method="events.patch", times=50, after=True)  # written, answer lost
    failed = run_cli(config_path, "run", "--once", now=LATER)
    assert failed.exit_code == 1  # the sync job's healing failed...
    google.faults.clear()
    instance_id = _google_instance_id(master, "2026-12-01T09:00:00+01:00")
    events = google.calendar("primary").events
    assert events[instance_id]["start"]["dateTime"] == "2026-12-01T10:00:00+01:00"
    assert [e for e in events if e.startswith(master["id"] + "_")] == [instance_id]
    store = Store(load_config(config_path).store_path)
    # ...and the planner job of the same run found the instance already moved: recorded, once.
    assert [m.state for m in moves.load(store).values()] == [moves.DONE]
    assert len(actions(store, "touchbase-moved")) == 1
    google.modified.clear()
    _run(config_path, "2026-11-30T09:10:00+01:00")
    assert google.modified == []
    store.close()


# --- never a foreign event ---------------------------------------------------------------------

def test_instance_writes_refuse_a_series_the_agent_did_not_create(tmp_path, google, graph, fast_retries):
    import pytest

    from agent.errors import SourceError
    from tests.fakes.google_setup import open_google
    from tests.fakes.graph_fixtures import connector as outlook_connector

    google.put_event(gev("teamweekly", "2026-12-01T09:00", organizer=USER, recurrence=["RRULE:FREQ=WEEKLY"],
                         attendees=((ALICE, "accepted"),)))
    (tmp_path / "g").mkdir()
    gconn = open_google(google_config(tmp_path / "g", google), NOW_DT)
    google.modified.clear()
    with pytest.raises(SourceError, match="not created by touchbase"):
        gconn.move_instance("teamweekly", _at("2026-12-08T09:00:00+01:00"), _at("2026-12-08T11:00:00+01:00"))
    with pytest.raises(SourceError, match="not created by touchbase"):
        gconn.cancel_instance("teamweekly", _at("2026-12-08T09:00:00+01:00"))
    assert google.modified == []
    gconn.close()

    start = _at("2026-12-01T09:00:00+01:00")
    series = graph.mailbox.add_event("Team", start, start + timedelta(minutes=30), recurrence={
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"},
        "range": {"type": "noEnd", "startDate": "2026-12-01", "recurrenceTimeZone": "Europe/Berlin"}})
    (tmp_path / "o").mkdir()
    config_path = outlook_config(tmp_path / "o", graph)
    sign_in(config_path)
    oconn = outlook_connector(config_path)
    with pytest.raises(SourceError, match="did not create"):
        oconn.move_instance(series, start + timedelta(days=7), start + timedelta(days=7, hours=2))
    with pytest.raises(SourceError, match="did not create"):
        oconn.cancel_instance(series, start + timedelta(days=7))
    assert graph.mailbox.patched == [] and graph.mailbox.deleted == []
    oconn.close()


def test_the_local_file_refuses_a_series_the_agent_did_not_write(tmp_path):
    import pytest

    from agent.errors import SourceError
    from agent.sources import local_source, open_connector

    config_path = write_config(tmp_path, [])
    config = load_config(config_path)
    foreign = one_on_one("foreign", "zed@acme.example", datetime(2026, 12, 1, 9, 0))
    foreign.extra = "RRULE:FREQ=WEEKLY"
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_text(calendar(foreign))
    before = config.local_calendar_path.read_bytes()
    local = open_connector(config, local_source(config), NOW_DT)
    with pytest.raises(SourceError, match="not written by touchbase"):
        local.move_instance("foreign", _at("2026-12-08T09:00:00+01:00"), _at("2026-12-08T11:00:00+01:00"))
    with pytest.raises(SourceError, match="not written by touchbase"):
        local.cancel_instance("foreign", _at("2026-12-08T09:00:00+01:00"))
    assert config.local_calendar_path.read_bytes() == before
    local.close()


def test_google_an_instance_you_moved_yourself_is_left_alone(tmp_path, google, fast_retries):
    config_path, master = _google_alice(tmp_path, google)
    instance_id = google.edit_instance(master["id"], "2026-12-01T09:00:00+01:00", {
        "start": {"dateTime": "2026-12-01T14:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-01T14:30:00+01:00", "timeZone": "Europe/Berlin"}})
    google.put_event(gev("clash0001", "2026-12-01T14:00", minutes=60, organizer="zed@acme.example",
                         attendees=((USER, "accepted"), ("zed@acme.example", "accepted"))))
    google.modified.clear()
    result = _run(config_path, LATER)
    assert "changed outside the agent" in result.output or "FAILED" not in result.output
    assert google.modified == []
    assert google.calendar("primary").events[instance_id]["start"]["dateTime"] == "2026-12-01T14:00:00+01:00"
