"""Graph errors: throttling retried within a bound, one token refresh, clear lines, network cuts."""
from __future__ import annotations

import email.utils
import time

import pytest

from agent.configuration.loader import load_config
from agent.errors import AuthError, SourceError
from agent.storage.store import Store
from connectors.outlook.graph import RetryPolicy, retry_after_seconds
from tests.fakes.graph_fixtures import NOW, at, connector, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import people_json, run_cli

DELTA = "GET /v1.0/me/calendarView/delta"


@pytest.fixture
def office(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    for day in range(1, 8):
        graph.mailbox.add_event("1:1", at(f"2026-10-0{day} 10:00"), at(f"2026-10-0{day} 10:30"),
                                attendees=[att("ann@acme.example")])
    return config


def test_429_with_retry_after_is_waited_out_by_sync(office, graph):
    graph.inject(429, DELTA, retry_after="1")
    started = time.monotonic()
    assert people_json(office, NOW)["ann@acme.example"]["meetings"] == 7
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in graph.graph_requests()] == [429, 200]


def test_503_and_504_without_retry_after_back_off_exponentially(office, graph):
    graph.inject(503, DELTA)
    graph.inject(504, DELTA)
    sleeps: list[float] = []
    changes, _ = connector(office, policy=RetryPolicy(sleep=sleeps.append)).fetch_changes({})
    assert sleeps == [0.5, 1.0]
    assert changes.occurrence_count() == 7


def test_throttling_is_bounded_in_time(office, graph):
    graph.inject(429, DELTA, count=50, retry_after="30")
    sleeps: list[float] = []
    with pytest.raises(SourceError, match="HTTP 429 TooManyRequests.*after 60s of retries"):
        connector(office, policy=RetryPolicy(sleep=sleeps.append)).fetch_changes({})
    assert sleeps == [30.0, 30.0]


def test_a_second_401_after_the_refresh_asks_for_sign_in(office, graph):
    graph.inject(401, DELTA, count=2)
    with pytest.raises(AuthError, match="touchbase auth outlook --source office"):
        connector(office).fetch_changes({})
    assert len(graph.graph_requests()) == 2


def test_other_4xx_are_one_clear_line_naming_the_request(office, graph):
    graph.inject(400, DELTA)
    result = run_cli(office, "sync", now=NOW)
    assert result.exit_code == 1
    assert ("office: FAILED: GET /v1.0/me/calendarView/delta: HTTP 400 BadRequest: "
            "Injected by the test.") in result.output
    assert "Traceback" not in result.output


def test_a_network_cut_mid_round_ends_the_cycle_and_the_next_one_recovers(office, graph):
    graph.routes.max_page_size = 3
    assert run_cli(office, "sync", now=NOW).exit_code == 0
    graph.mailbox.add_event("1:1", at("2026-10-08 10:00"), at("2026-10-08 10:30"), attendees=[att("bob@acme.example")])
    graph.routes.expire_delta_tokens()
    graph.drop(DELTA, when="before", count=1)  # the 410 answer never arrives
    result = run_cli(office, "sync", now=NOW)
    assert "network error" in result.output and "retrying next cycle" in result.output
    store = Store(load_config(office).store_path)
    assert store.occurrence_count("office") == 7  # nothing lost
    assert store.sources()[0]["last_error"]
    people = people_json(office, NOW)
    assert people["bob@acme.example"]["meetings"] == 1 and people["ann@acme.example"]["meetings"] == 7


def test_retry_after_accepts_seconds_and_http_dates():
    assert retry_after_seconds("7") == 7.0
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(soon) <= 31
    assert retry_after_seconds("soon") is None
