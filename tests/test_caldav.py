"""The CalDAV connector against a real Radicale server on loopback."""
from __future__ import annotations

import itertools
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from agent.configuration.loader import load_config
from agent.model import SeriesSpec
from agent.sources import open_connector
from tests.contract import NOW as CONTRACT_NOW
from tests.contract import Backend, ConnectorContract, meeting_calendar
from tests.helpers import Ev, calendar, people_json, run_cli, write_config

NOW = "2026-11-01T12:00:00+01:00"
ALICE = ";CN=Alice;PARTSTAT=ACCEPTED:MAILTO:Alice@ACME.example"
BOB_DECLINED = ";CN=Bob;PARTSTAT=DECLINED:mailto:bob@acme.example"
ROOM = ";CUTYPE=ROOM;CN=Room 1:mailto:room1@acme.example"


def _events() -> list[Ev]:
    return [
        Ev(uid="weekly", start="20261005T100000", end="20261005T103000", attendees=(ALICE, ROOM),
           extra="RRULE:FREQ=WEEKLY;COUNT=8\nEXDATE;TZID=Europe/Berlin:20261012T100000"),
        Ev(uid="declined", start="20261020T140000", end="20261020T150000", attendees=(ALICE, BOB_DECLINED)),
        Ev(uid="cancelled", start="20261021T140000", end="20261021T150000", attendees=(ALICE,),
           extra="STATUS:CANCELLED"),
    ]


def _caldav_config(tmp_path, base: str, name: str, extra: str = "") -> object:
    text = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
            f'calendars = ["{name}"]\n\n{extra}')
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_config(tmp_path, [], extra=text)


def test_caldav_sync_matches_ics(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    for event in _events():
        work.save_event(calendar(event))
    dav_rows = people_json(_caldav_config(tmp_path / "dav", base, name), NOW)
    (tmp_path / "ics").mkdir()
    ics = tmp_path / "same.ics"
    ics.write_text(calendar(*_events()))
    ics_rows = people_json(write_config(tmp_path / "ics", [ics]), NOW)
    assert dav_rows == ics_rows
    assert dav_rows["alice@acme.example"]["meetings"] == 4  # 3 weekly before now + the declined-by-Bob one


def test_caldav_incremental_sync_applies_changes_and_deletions(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    saved = [work.save_event(calendar(event)) for event in _events()]
    config = _caldav_config(tmp_path, base, name)
    assert people_json(config, NOW)["alice@acme.example"]["meetings"] == 4
    saved[1].delete()
    work.save_event(calendar(Ev(uid="new", start="20261028T090000", end="20261028T093000",
                                attendees=(";PARTSTAT=ACCEPTED:mailto:carol@acme.example",))))
    rows = people_json(config, NOW)
    assert rows["alice@acme.example"]["meetings"] == 3
    assert rows["carol@acme.example"]["one_on_ones"] == 1


def test_caldav_expired_token_means_full_resync(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    work.save_event(calendar(_events()[0]))
    config = _caldav_config(tmp_path, base, name)
    people_json(config, NOW)
    loaded = load_config(config)
    from agent.storage.store import Store
    store = Store(loaded.store_path)
    state = store.source_state("dav")
    state["tokens"] = {k: "http://radicale.org/ns/sync/0000" for k in state["tokens"]}
    store.db["sources"].update("dav", {"state": json.dumps(state)})
    store.close()
    assert people_json(config, NOW)["alice@acme.example"]["meetings"] == 3


def test_caldav_series_is_created_once_and_only_own_events_are_ended(tmp_path, dav_calendar):
    base, work, name = dav_calendar
    foreign = work.save_event(calendar(_events()[0]))
    config = load_config(_caldav_config(tmp_path, base, name))
    connector = open_connector(config, config.source("dav"), datetime.fromisoformat(NOW))
    spec = SeriesSpec(series_id="tb-alice-1", colleague="alice@acme.example", colleague_name="Alice",
                      organizer="me@acme.example", title="Touchbase: Alice", description="How are you?",
                      start=datetime(2026, 11, 10, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
                      duration_minutes=30, timezone="Europe/Berlin", weekday="TU", week_index=2,
                      tag="touchbase:alice@acme.example")
    first = connector.create_series(spec)
    assert connector.create_series(spec) == first
    own = connector.find_own_events()
    assert [(e.event_id, e.series_id) for e in own] == [(first, "tb-alice-1")]
    with pytest.raises(Exception, match="not created by touchbase"):
        connector.end_series(str(foreign.url), datetime(2026, 12, 31, tzinfo=ZoneInfo("UTC")))
    connector.end_series(first, datetime(2027, 1, 31, tzinfo=ZoneInfo("UTC")))
    assert connector.find_own_events()[0].ended
    foreign.load()
    assert "UNTIL" not in foreign.data
    rule = icalendar.Calendar.from_ical(work.event_by_uid("tb-alice-1@touchbase.local").data).walk("VEVENT")[0]["RRULE"]
    assert rule["BYDAY"] == ["2TU"]
    connector.close()


def test_caldav_wrong_password_is_one_clear_line(tmp_path, dav_calendar, monkeypatch):
    base, _, name = dav_calendar
    monkeypatch.setenv("TOUCHBASE_CALDAV_PASSWORD", "wrong")
    config = _caldav_config(tmp_path, base, name)
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1
    assert "dav: FAILED: the server refused the login" in result.output
    assert "Traceback" not in result.output
    status = run_cli(config, "status", now=NOW)
    assert "needs re-authorising" in status.output


# --- the connector contract (tests/contract.py) -----------------------------------------------


class RadicaleBackend(Backend):
    """A calendar on the shared Radicale, changed by another CalDAV client (the caldav library)."""

    def __init__(self, folder, dav) -> None:
        self.dav = dav
        self.config = load_config(_caldav_config(folder, dav.base, dav.name))
        self.objects: dict[str, object] = {}
        self.numbers = itertools.count(1)

    def connector(self):
        return open_connector(self.config, self.config.source("dav"), CONTRACT_NOW)

    def put(self, title, start, minutes=30):
        saved = self.dav.calendar.save_event(meeting_calendar(f"contract-{next(self.numbers)}", title, start,
                                                              minutes))
        self.objects[str(saved.url)] = saved
        return str(saved.url)

    def change(self, resource, title):
        obj = self.objects[resource]
        obj.load()
        parsed = icalendar.Calendar.from_ical(obj.data)
        (event,) = parsed.walk("VEVENT")
        event.pop("SUMMARY")
        event.add("SUMMARY", title)
        obj.data = parsed.to_ical().decode("utf-8")
        obj.save()

    def remove(self, resource):
        self.objects.pop(resource).delete()

    def stale(self, state):
        """Tokens Radicale no longer knows."""
        return {**state, "tokens": {k: "http://radicale.org/ns/sync/0000" for k in state["tokens"]}}


class TestCalDavContract(ConnectorContract):
    """CalDAV against Radicale."""

    @pytest.fixture
    def backend(self, tmp_path, dav_calendar):
        return RadicaleBackend(tmp_path, dav_calendar)
