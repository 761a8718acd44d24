"""Throttling, quota, network and sign-in failures: retried where Google says so, else one
clear line, nothing lost, and the other sources keep syncing."""
from __future__ import annotations

import logging
import time

import pytest

from agent.configuration.loader import load_config
from agent.storage.store import Store
from connectors.google.connector import GoogleConnector
from connectors.google.http import RetryPolicy
from tests.fakes.google_setup import gev, google_config
from tests.helpers import Ev, calendar, people_json, run_cli

NOW = "2026-11-01T12:00:00+01:00"
ME, ALICE = "me@acme.example", "alice@acme.example"
FIX = "touchbase auth google --source gwork"


@pytest.fixture
def config(tmp_path, google, fast_retries):
    google.put_event(gev("evt00001", "2026-10-05T10:00",
                         attendees=((ME, "accepted"), (ALICE, "accepted"))))
    return google_config(tmp_path, google)


def sync(config):
    return run_cli(config, "sync", now=NOW)


def statuses(google):
    return [status for method, status in google.log if method == "events.list"]


@pytest.mark.parametrize("status,reason,style", [
    (429, "rateLimitExceeded", "errors"),
    (500, "backendError", "errors"),
    (503, "backendError", "errors"),
    (403, "rateLimitExceeded", "errors"),
    (403, "userRateLimitExceeded", "errors"),
    (403, "rateLimitExceeded", "details"),
])
def test_throttling_and_server_errors_are_retried(config, google, status, reason, style):
    google.inject(status, reason, method="events.list", times=2, style=style)
    result = sync(config)
    assert result.exit_code == 0, result.output
    assert statuses(google) == [status, status, 200]


def test_retry_after_is_honoured(config, google):
    google.inject(429, retry_after="1", method="events.list")
    started = time.monotonic()
    assert sync(config).exit_code == 0
    assert time.monotonic() - started >= 1.0
    assert statuses(google) == [429, 200]


def test_retries_are_bounded_then_the_cycle_ends_cleanly(config, google):
    google.inject(429, method="events.list", times=50)
    result = sync(config)
    assert result.exit_code == 1
    assert "gwork: FAILED" in result.output and "will retry next cycle" in result.output
    assert statuses(google) == [429] * RetryPolicy().max_attempts
    assert "Traceback" not in result.output


def test_a_retry_after_beyond_the_budget_ends_the_cycle_at_once(config, google):
    google.inject(429, retry_after="3600", method="events.list")
    result = sync(config)
    assert result.exit_code == 1 and statuses(google) == [429]


def test_quota_exceeded_ends_the_cycle_and_the_next_one_reads_everything(config, google):
    google.inject(403, "quotaExceeded", method="events.list")
    result = sync(config)
    assert result.exit_code == 1
    assert "quota" in result.output and statuses(google) == [403]
    rows = people_json(config, NOW)
    assert rows[ALICE]["meetings"] == 1


def test_reasons_come_from_the_details_not_the_message(config, google):
    google.inject(403, "forbidden", method="events.list", message="Rate Limit Exceeded")
    result = sync(config)
    assert result.exit_code == 1 and statuses(google) == [403]
    google.reset_counts()
    google.inject(403, "rateLimitExceeded", method="events.list", message="Forbidden")
    assert sync(config).exit_code == 0 and statuses(google) == [403, 200]


def test_a_network_failure_ends_the_cycle_and_other_sources_still_sync(tmp_path, google, fast_retries):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev(uid="i1", start="20261006T100000", end="20261006T103000",
                               attendees=(";PARTSTAT=ACCEPTED:mailto:bob@acme.example",))))
    config = google_config(tmp_path, google, ics_paths=[ics])
    google.stop()
    result = sync(config)
    assert result.exit_code == 1  # one source worked, one failed: a partial sync is a failure
    lines = [line for line in result.output.splitlines() if "gwork" in line]
    assert len(lines) == 1 and "network failure" in lines[0]
    assert "work: 1 occurrences read" in result.output


def test_a_revoked_sign_in_is_one_clear_message_with_the_fix(tmp_path, google, fast_retries, caplog):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev(uid="i1", start="20261006T100000", end="20261006T103000",
                               attendees=(";PARTSTAT=ACCEPTED:mailto:bob@acme.example",))))
    config = google_config(tmp_path, google, ics_paths=[ics])
    token_text = (tmp_path / "data" / "tokens" / "gwork.json").read_text()
    google.revoke_all()
    with caplog.at_level(logging.ERROR):
        result = sync(config)
    assert result.exit_code == 1  # a partial sync is a failure
    assert "work: 1 occurrences read" in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("gwork")]
    assert len(failed) == 1 and FIX in failed[0] and "expired or was revoked" in failed[0]
    logged = [r.getMessage() for r in caplog.records if "gwork" in r.getMessage()]
    assert len(logged) == 1 and FIX in logged[0]
    status = run_cli(config, "status", now=NOW).output
    assert f"needs re-authorising: {FIX}" in status
    refresh = __import__("json").loads(token_text)["refresh_token"]
    assert refresh not in result.output + status + "".join(logged)
    store = Store(load_config(config).store_path)
    try:
        row = {r["name"]: r for r in store.sources()}["gwork"]
        assert row["needs_reauth"] == FIX
    finally:
        store.close()


def test_a_missing_token_names_the_command(tmp_path, google, fast_retries):
    config = google_config(tmp_path, google)
    (tmp_path / "data" / "tokens" / "gwork.json").unlink()
    result = sync(config)
    assert result.exit_code == 1 and "not signed in" in result.output and FIX in result.output


def test_an_expired_access_token_is_refreshed_and_saved(config, google, tmp_path):
    assert sync(config).exit_code == 0
    google.expire_access_tokens()
    google.reset_counts()
    assert sync(config).exit_code == 0
    assert google.counts["oauth.token"] == 1
    assert statuses(google) == [401, 200]
    token = tmp_path / "data" / "tokens" / "gwork.json"
    assert token.stat().st_mode & 0o777 == 0o600
    google.reset_counts()
    assert sync(config).exit_code == 0
    assert google.counts["oauth.token"] == 0


def test_default_policy_is_bounded_in_time():
    policy = GoogleConnector.retry_policy
    assert policy.max_attempts <= 8 and policy.budget_seconds <= 120
