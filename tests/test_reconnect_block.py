"""The weekly Reconnect hour: written once on the touchbase write target (the local calendar file,
Google, Outlook), weekly with no invitee, never counted as a touchbase, ended when turned off,
never written again after the user deleted it."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from agent.configuration.loader import load_config
from agent.landscape.reconnect_block import DESCRIPTION, block_id, ensure_reconnect_block, load_blocks
from agent.model import AGENT_TAG_NAME
from agent.planning import touchbases as tb
from agent.storage import own_series
from agent.storage.installation_key import installation_key
from agent.storage.store import Store
from connectors.ical.read import TAG_PROPERTY, address_of
from tests.fakes.google_setup import google_config
from tests.fakes.graph_fixtures import outlook_config, sign_in
from tests.helpers import USER, run_cli, write_config
from tests.planning_helpers import actions, drifting, live_series, local_calendar, write_calendar

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY, FRIDAY = "2026-12-03T08:00:00+01:00", "2026-12-04T08:00:00+01:00"
ON = "[landscape]\nreconnect_hour = true\n"
OFF = "[landscape]\nreconnect_hour = false\n"
LIMITS = "[touchbase]\nmax_active = 2\nmax_new_per_day = 5\n"
COLLEAGUES = ("alice@acme.example", "bob@acme.example", "carol@acme.example")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local_setup(tmp_path: Path, extra: str) -> Path:
    work = tmp_path / "work.ics"
    write_calendar(work, [event for who in COLLEAGUES for event in drifting(who, _at(THURSDAY))])
    return write_config(tmp_path, [work], extra=extra)


def _key(config_path: Path) -> bytes:
    return installation_key(load_config(config_path).data_dir)


def _run(config_path: Path, now: str) -> str:
    result = run_cli(config_path, "run", "--once", now=now)
    assert result.exit_code == 0, result.output
    assert "FAILED" not in result.output, result.output
    return result.output


def _blocks_in_file(config_path: Path) -> list[icalendar.Event]:
    """The tagged series in the local file with nobody but the user as attendee."""
    result = []
    for event in local_calendar(load_config(config_path)).walk("VEVENT"):
        if event.get("RECURRENCE-ID") is not None or not event.get(TAG_PROPERTY):
            continue
        attendees = event.get("ATTENDEE") or []
        attendees = attendees if isinstance(attendees, list) else [attendees]
        if all(address_of(a) == USER for a in attendees):
            result.append(event)
    return result


def _occurrences(config_path: Path, uid: str, start: str, end: str) -> list[datetime]:
    parsed = local_calendar(load_config(config_path))
    return [occ.decoded("DTSTART") for occ in recurring_ical_events.of(parsed).between(_at(start), _at(end))
            if str(occ["UID"]) == uid]


def test_local_file_gets_one_weekly_block_and_the_touchbases_still_fill_max_active(tmp_path):
    config_path = _local_setup(tmp_path, LIMITS + ON)
    first = _run(config_path, THURSDAY)
    assert "reconnect hour created: weekly on Friday, 09:00-10:00 Europe/Berlin, starting 2026-12-04" in first
    _run(config_path, FRIDAY)

    (block,) = _blocks_in_file(config_path)
    series_id = block_id(_key(config_path), USER)
    assert str(block[TAG_PROPERTY]) == series_id and str(block["UID"]) == f"{series_id}@touchbase.local"
    assert str(block["SUMMARY"]) == "Reconnect hour" and str(block["DESCRIPTION"]) == DESCRIPTION
    assert block["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=FR"
    assert block.decoded("DTSTART") == datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN)
    assert str(block.decoded("DTSTART").tzinfo) == "Europe/Berlin"
    assert block.decoded("DTEND") - block.decoded("DTSTART") == timedelta(hours=1)
    assert address_of(block["ORGANIZER"]) == USER
    fridays = _occurrences(config_path, str(block["UID"]), "2026-12-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00")
    assert [d.day for d in fridays] == [4, 11, 18, 25] and {d.hour for d in fridays} == {9}

    config = load_config(config_path)
    store = Store(config.store_path)
    # The block is not a touchbase: max_active = 2 colleague series, and it is never a colleague's.
    assert len(live_series(config)) == 2
    assert sorted(r.state for r in tb.load(store)) == [tb.ACTIVE, tb.ACTIVE]
    assert all(r.series_id != series_id for r in tb.load(store))
    assert [(b.series_id, b.state) for b in load_blocks(store)] == [(series_id, "active")]
    assert len(actions(store, "reconnect-hour-created")) == 1
    # The touchbases were booked around it (the first free Friday slot is 10:00, not 09:00).
    for events in live_series(config).values():
        start = events[0].decoded("DTSTART")
        assert not (start.weekday() == 4 and start.hour == 9), start
    store.close()

    people = run_cli(config_path, "people", "--json", now=FRIDAY)
    assert USER not in people.output and "Reconnect hour" not in people.output


def test_turning_it_off_ends_the_block_once(tmp_path):
    config_path = _local_setup(tmp_path, ON)
    _run(config_path, THURSDAY)
    uid = str(_blocks_in_file(config_path)[0]["UID"])
    _local_setup(tmp_path, OFF)
    later = "2026-12-14T08:00:00+01:00"
    assert "reconnect hour ended" in _run(config_path, later)
    (block,) = _blocks_in_file(config_path)
    assert "UNTIL" in block["RRULE"]
    assert _occurrences(config_path, uid, later, "2027-06-01T00:00:00+02:00") == []
    assert len(_occurrences(config_path, uid, THURSDAY, later)) == 2  # the past Fridays stay
    sequence = int(block["SEQUENCE"])

    _run(config_path, "2026-12-15T08:00:00+01:00")
    (again,) = _blocks_in_file(config_path)
    assert int(again["SEQUENCE"]) == sequence
    store = Store(load_config(config_path).store_path)
    assert [b.state for b in load_blocks(store)] == ["ended"]
    assert len(actions(store, "reconnect-hour-ended")) == 1
    store.close()


def test_turned_on_again_writes_a_new_block(tmp_path):
    config_path = _local_setup(tmp_path, ON)
    _run(config_path, THURSDAY)
    _local_setup(tmp_path, OFF)
    _run(config_path, "2026-12-14T08:00:00+01:00")
    _local_setup(tmp_path, ON)
    assert "reconnect hour created" in _run(config_path, "2026-12-21T08:00:00+01:00")
    blocks = _blocks_in_file(config_path)
    live = [b for b in blocks if "UNTIL" not in b["RRULE"]]
    assert len(blocks) == 2 and len(live) == 1
    assert live[0].decoded("DTSTART") == datetime(2026, 12, 25, 9, 0, tzinfo=BERLIN)
    assert str(live[0][TAG_PROPERTY]) == block_id(_key(config_path), USER, 2)


def test_a_block_the_user_deleted_is_never_written_again(tmp_path):
    config_path = _local_setup(tmp_path, ON)
    _run(config_path, THURSDAY)
    config = load_config(config_path)
    parsed = local_calendar(config)
    parsed.subcomponents = [c for c in parsed.subcomponents
                            if not (c.name == "VEVENT" and str(c.get("SUMMARY")) == "Reconnect hour")]
    config.local_calendar_path.write_bytes(parsed.to_ical())
    assert "reconnect hour no longer in the calendar: not written again" in _run(config_path, FRIDAY)
    for day in ("2026-12-07", "2026-12-11"):
        _run(config_path, f"{day}T08:00:00+01:00")
    assert _blocks_in_file(config_path) == []
    store = Store(config.store_path)
    assert [b.state for b in load_blocks(store)] == ["deleted"]
    assert len(actions(store, "reconnect-hour-created")) == 1
    store.close()


def test_an_interrupted_write_is_found_by_its_tag_not_written_twice(tmp_path):
    config_path = _local_setup(tmp_path, ON)
    _run(config_path, THURSDAY)
    config = load_config(config_path)
    store = Store(config.store_path)
    (block,) = load_blocks(store)
    block.state, block.event_id = "pending", ""  # crashed after the write
    own_series.save(store, block)
    assert ensure_reconnect_block(config, store, _at(FRIDAY))[0].startswith(
        "reconnect hour found after an interrupted write")
    assert ensure_reconnect_block(config, store, _at(FRIDAY)) == []
    uid = f"{block_id(_key(config_path), USER)}@touchbase.local"
    assert [(b.state, b.event_id) for b in load_blocks(store)] == [("active", uid)]
    assert len(_blocks_in_file(config_path)) == 1
    store.close()


def test_google_gets_one_weekly_block_without_attendees_or_invitations(tmp_path, google):
    config_path = google_config(tmp_path, google, extra='[touchbase]\nwrite_to = "gwork"\n' + ON)
    _run(config_path, THURSDAY)
    _run(config_path, FRIDAY)
    own = [e for e in google.calendar("primary").events.values()
           if (e.get("extendedProperties") or {}).get("private", {}).get(AGENT_TAG_NAME)]
    assert len(own) == 1 and google.counts["events.insert"] == 1
    (event,) = own
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=FR"]
    assert event["start"] == {"dateTime": "2026-12-04T09:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["end"]["dateTime"] == "2026-12-04T10:00:00+01:00"
    assert event["summary"] == "Reconnect hour" and not event.get("attendees")
    insert = next(q for m, q in google.queries if m == "events.insert")
    assert insert["sendUpdates"] == ["none"]

    google.reset_counts()
    config_path.write_text(config_path.read_text().replace("reconnect_hour = true", "reconnect_hour = false"))
    _run(config_path, "2026-12-14T08:00:00+01:00")
    assert "UNTIL=" in google.calendar("primary").events[event["id"]]["recurrence"][0]
    patch = next(q for m, q in google.queries if m == "events.patch")
    assert patch["sendUpdates"] == ["none"]
    _run(config_path, "2026-12-15T08:00:00+01:00")
    assert google.counts["events.patch"] == 1 and google.counts["events.insert"] == 0


def test_outlook_gets_one_weekly_block_without_attendees(tmp_path, graph):
    config_path = outlook_config(tmp_path, graph, extra='[touchbase]\nwrite_to = "office"\n' + ON)
    sign_in(config_path)
    thursday, friday = "2026-10-15T08:00:00+02:00", "2026-10-16T08:00:00+02:00"
    _run(config_path, thursday)
    _run(config_path, friday)
    own = [e for e in graph.mailbox.events.values() if e.get("singleValueExtendedProperties")]
    assert len(own) == 1 and graph.routes.creates == 1
    (event,) = own
    assert event["subject"] == "Reconnect hour" and event["attendees"] == []
    assert event["responseRequested"] is False
    pattern, rng = event["recurrence"]["pattern"], event["recurrence"]["range"]
    assert (pattern["type"], pattern["daysOfWeek"], pattern["interval"]) == ("weekly", ["friday"], 1)
    assert (rng["type"], rng["startDate"], rng["recurrenceTimeZone"]) == ("noEnd", "2026-10-16", "Europe/Berlin")
    assert event["start"] == {"dateTime": "2026-10-16T09:00:00", "timeZone": "Europe/Berlin"}
    assert graph.mailbox.sent == []

    config_path.write_text(config_path.read_text().replace("reconnect_hour = true", "reconnect_hour = false"))
    _run(config_path, "2026-10-26T08:00:00+01:00")
    _run(config_path, "2026-10-27T08:00:00+01:00")
    ended = graph.mailbox.events[event["id"]]["recurrence"]["range"]
    assert (ended["type"], ended["endDate"]) == ("endDate", "2026-10-25")
    assert graph.mailbox.patched == [event["id"]]


def test_caldav_gets_one_weekly_block_without_attendees(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    extra = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
             f'calendars = ["{name}"]\n\n[touchbase]\nwrite_to = "dav"\n' + ON)
    config_path = write_config(tmp_path, [], extra=extra)
    _run(config_path, THURSDAY)
    _run(config_path, FRIDAY)
    own = [event for obj in work.objects(load_objects=True)
           for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT")
           if event.get(TAG_PROPERTY)]
    assert len(own) == 1
    (event,) = own
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=FR"
    assert event.decoded("DTSTART") == datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN)
    attendees = event.get("ATTENDEE") or []
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [address_of(a) for a in attendees] == [USER]

    config_path.write_text(config_path.read_text().replace("reconnect_hour = true", "reconnect_hour = false"))
    _run(config_path, "2026-12-14T08:00:00+01:00")
    (obj,) = work.objects(load_objects=True)
    (ended,) = icalendar.Calendar.from_ical(obj.data).walk("VEVENT")
    assert "UNTIL" in ended["RRULE"]


def test_a_store_from_before_the_unified_table_keeps_its_blocks_and_touchbases(tmp_path):
    """m008 moves `own_blocks` into `own_series` (kind reconnect_block) and keeps the touchbases:
    a block the user deleted stays deleted (never written again), a touchbase stays active; both
    under the ids made before the installation key (unkeyed hashes), which keep working."""
    import hashlib

    import sqlite_utils

    from agent.storage.store import migrations

    config_path = _local_setup(tmp_path, ON)
    config = load_config(config_path)
    config.store_path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(config.store_path)
    migrations.apply(db, stop_before="m008_own_series")
    legacy_block = "reconnect-hour-" + hashlib.sha256(USER.encode()).hexdigest()[:24]
    legacy_series = "tb-" + hashlib.sha1(b"alice@acme.example#1").hexdigest()[:24]
    db["own_blocks"].insert({"series_id": legacy_block, "kind": "reconnect-hour", "target": "local",
                             "state": "deleted", "created_at": "2026-11-02T08:00:00+00:00",
                             "ended_at": "2026-11-20T08:00:00+00:00", "title": "Reconnect hour"})
    db["touchbases"].insert({"series_id": legacy_series, "email": "alice@acme.example",
                             "target": "local", "state": "active", "created_at": "2026-11-01T08:00:00+00:00",
                             "declines": 1, "start": "2026-11-10T09:00:00+00:00", "rrule": "FREQ=MONTHLY"})
    db.conn.close()
    store = Store(config.store_path)
    try:
        assert "own_blocks" not in store.db.table_names() and "touchbases" not in store.db.table_names()
        (block,) = load_blocks(store)
        assert (block.series_id, block.kind, block.state, block.email) == (
            legacy_block, own_series.RECONNECT_BLOCK, "deleted", "")
        assert block.ended_at == _at("2026-11-20T09:00:00+01:00")
        (touchbase,) = tb.load(store)
        assert (touchbase.series_id, touchbase.email, touchbase.state, touchbase.declines, touchbase.kind) == (
            legacy_series, "alice@acme.example", "active", 1, own_series.TOUCHBASE)
        assert ensure_reconnect_block(config, store, _at(FRIDAY)) == []  # deleted by you: not written again
        assert not config.local_calendar_path.exists()  # nothing written
    finally:
        store.close()
