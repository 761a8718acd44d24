"""Writing touchbases through the Graph emulator: once across retries, 429s and crashes; never
touching an event the agent did not create; free/busy through getSchedule."""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from agent.errors import SourceError
from agent.model import SeriesSpec
from connectors.outlook import mapping as gm
from connectors.outlook.graph import RetryPolicy
from tests.fakes.graph_fixtures import NOW, at, connector, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import run_cli


def spec(colleague: str = "bob@acme.example", start: str = "2026-11-10 14:00") -> SeriesSpec:
    """A monthly touchbase on the second Tuesday."""
    return SeriesSpec(
        series_id=f"tb-{colleague.split('@')[0]}-1", colleague=colleague, colleague_name="Bob",
        organizer="me@acme.example", title="Touchbase: me / Bob", description="How can I help?",
        start=at(start), duration_minutes=30, timezone="Europe/Berlin", weekday="TU", week_index=2,
        tag=f"touchbase:{colleague}:1")


@pytest.fixture
def office(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    return config


class Sleeps(list):
    """A RetryPolicy sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_writing_a_touchbase_costs_a_lookup_a_schedule_and_a_create(office, graph):
    conn = connector(office)
    graph.reset_log()
    busy = conn.busy(at("2026-11-09 00:00"), at("2026-12-09 00:00"), ["bob@acme.example"])
    event_id = conn.create_series(spec())
    assert busy == []
    assert [f"{r.method} {r.path}" for r in graph.graph_requests()] == [
        "POST /v1.0/me/calendar/getSchedule", "GET /v1.0/me/events", "POST /v1.0/me/events"]
    event = graph.mailbox.events[event_id]
    assert event["recurrence"]["pattern"] == {"type": "relativeMonthly", "interval": 1,
                                              "daysOfWeek": ["tuesday"], "index": "second",
                                              "firstDayOfWeek": "monday"}
    assert event["recurrence"]["range"]["type"] == "noEnd"
    assert event["start"] == {"dateTime": "2026-11-10T14:00:00", "timeZone": "Europe/Berlin"}
    assert event["transactionId"] == gm.transaction_id(spec())
    assert {"id": gm.TAG_PROPERTY_ID, "value": "touchbase:bob@acme.example:1"} in event["singleValueExtendedProperties"]
    conn.close()


def test_a_retry_after_a_lost_answer_or_a_crash_never_duplicates(office, graph):
    graph.drop("POST /v1.0/me/events", when="after")  # created, but the answer never arrives
    conn = connector(office)
    with pytest.raises(SourceError, match="network error"):
        conn.create_series(spec())
    first = conn.create_series(spec())  # the retry finds it by its tag
    again = connector(office).create_series(spec())  # a crash between create and record
    assert first == again
    assert graph.routes.creates == 1
    assert len(graph.mailbox.events) == 1


def test_a_429_on_create_is_retried_after_retry_after_and_lands_once(office, graph):
    sleeps = Sleeps()
    graph.inject(429, "POST /v1.0/me/events", count=2, retry_after="3")
    conn = connector(office, policy=RetryPolicy(sleep=sleeps))
    conn.create_series(spec())
    assert sleeps == [3.0, 3.0]
    assert graph.routes.creates == 1


def test_duplicate_transaction_id_returns_the_first_event(office, graph):
    conn = connector(office)
    body = gm.series_event(spec())
    first = conn.graph.request("POST", "me/events", json=body).json()["id"]
    second = conn.graph.request("POST", "me/events", json=body).json()["id"]
    assert first == second and graph.routes.creates == 1


def test_own_series_are_found_by_tag_and_synced_with_it(office, graph):
    graph.mailbox.add_event("Touchbase: me / Bob", at("2026-10-05 10:00"), at("2026-10-05 10:30"),
                            attendees=[att("bob@acme.example")])  # same title, not ours
    conn = connector(office)
    event_id = conn.create_series(spec())
    own = conn.find_own_events()
    assert [(o.event_id, o.tag, o.series_id, o.ended) for o in own] == [
        (event_id, "touchbase:bob@acme.example:1", "tb-bob-1", False)]
    changes, state = conn.fetch_changes({})
    tagged = [o for items in changes.upserts.values() for o in items if o.tag]
    assert tagged and all(o.series_id == event_id for o in tagged)
    assert state["own"] == {event_id: "touchbase:bob@acme.example:1"}
    graph.reset_log()
    conn.fetch_changes(state)  # nothing new: no lookup again
    assert len(graph.graph_requests()) == 1


def test_ending_patches_only_the_agents_own_series(office, graph):
    foreign = graph.mailbox.add_event(
        "Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"), attendees=[att("bob@acme.example")],
        recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                    "range": {"type": "noEnd", "startDate": "2026-06-02"}})
    conn = connector(office)
    own = conn.create_series(spec())
    with pytest.raises(SourceError, match="did not create"):
        conn.end_series(foreign, at("2026-12-01 00:00"))
    conn.end_series(own, at("2027-01-01 00:00"))
    conn.end_series(own, at("2027-01-01 00:00"))  # twice: no second patch
    conn.end_series("AAMkAGIgone", at("2027-01-01 00:00"))  # already deleted: nothing to do
    assert graph.mailbox.patched == [own] and graph.mailbox.deleted == []
    assert graph.mailbox.events[own]["recurrence"]["range"]["type"] == "endDate"
    assert graph.mailbox.events[own]["recurrence"]["range"]["endDate"] == "2026-12-31"
    assert graph.mailbox.events[foreign]["recurrence"]["range"]["type"] == "noEnd"
    assert [o.ended for o in conn.find_own_events()] == [True]
    own2 = conn.create_series(spec("cid@acme.example", "2026-12-08 14:00"))
    conn.end_series(own2, at("2026-11-30 00:00"))  # ends before its first occurrence
    assert graph.mailbox.deleted == [own2]


def test_busy_reads_get_schedule_in_chunks_of_20_addresses_and_62_days(office, graph):
    graph.mailbox.add_event("Mine", at("2026-11-10 10:00"), at("2026-11-10 11:00"),
                            attendees=[att("bob@acme.example")])
    graph.mailbox.add_event("Free", at("2026-11-11 10:00"), at("2026-11-11 11:00"), show_as="free")
    graph.mailbox.free_busy["bob@acme.example"] = [
        (at("2026-11-10 10:30"), at("2026-11-10 12:00"), "busy"),
        (at("2026-12-20 09:00"), at("2026-12-20 09:30"), "oof")]
    conn = connector(office)
    graph.reset_log()
    others = ["bob@acme.example"] + [f"p{i}@acme.example" for i in range(24)]
    busy = conn.busy(at("2026-11-01 00:00"), at("2027-01-31 00:00"), others)
    calls = graph.graph_requests("getSchedule")
    assert len(calls) == 4  # 26 addresses -> 2 chunks; 91 days -> 2 spans
    assert all(len(c.body["schedules"]) <= 20 for c in calls)
    assert busy == [(at("2026-11-10 10:00"), at("2026-11-10 12:00")),
                    (at("2026-12-20 09:00"), at("2026-12-20 09:30"))]


def test_the_local_agent_writes_nothing_when_only_reading(office, graph):
    graph.mailbox.add_event("1:1", at("2026-10-05 10:00"), at("2026-10-05 10:30"),
                            attendees=[att("bob@acme.example")])
    assert run_cli(office, "sync", now=NOW).exit_code == 0
    assert all(r.method == "GET" for r in graph.graph_requests())


def test_tls_verification_stays_on(office, graph, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    result = run_cli(office, "sync", now=NOW)
    assert result.exit_code == 1
    assert "office: FAILED" in result.output and "Traceback" not in result.output
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(graph.graph_endpoint, timeout=5)


def test_span_helper_covers_the_whole_range(office):
    conn = connector(office)
    from connectors.outlook.connector import _spans
    spans = _spans(at("2026-09-01 00:00"), at("2027-01-01 00:00"), timedelta(days=62))  # across DST
    assert spans[0][0] == at("2026-09-01 00:00") and spans[-1][1] == at("2027-01-01 00:00")
    assert all(b - a <= timedelta(days=62) for a, b in spans)
    conn.close()
