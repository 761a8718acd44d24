"""The emulator follows Calendar v3's documented rules (checked through the real client), and the
connector's error helpers read Google's two error formats."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import httplib2
import pytest
from googleapiclient.errors import HttpError

from connectors.google.http import is_retryable, reasons_of, retry_after_seconds
from tests.fakes.google_setup import gev, google_config, open_google

NOW = datetime(2026, 11, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
ME, ALICE = "me@acme.example", "alice@acme.example"


@pytest.fixture
def events(tmp_path, google):
    connector = open_google(google_config(tmp_path, google), NOW)
    yield connector._service("calendar").events()
    connector.close()


def failure(call) -> HttpError:
    with pytest.raises(HttpError) as caught:
        call.execute(num_retries=0)
    return caught.value


def test_instances_apply_exceptions_and_cancellations(google, events):
    google.put_event(gev("weekly01", "2026-10-05T10:00", attendees=((ME, "accepted"),),
                         recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    google.cancel_instance("weekly01", "2026-10-12T10:00:00+02:00")
    answer = events.instances(calendarId="primary", eventId="weekly01").execute()
    assert [i["id"] for i in answer["items"]] == [
        "weekly01_20261005T080000Z", "weekly01_20261019T080000Z", "weekly01_20261026T090000Z"]
    assert all(i["recurringEventId"] == "weekly01" for i in answer["items"])
    with_deleted = events.instances(calendarId="primary", eventId="weekly01", showDeleted=True).execute()
    assert [i["status"] for i in with_deleted["items"]].count("cancelled") == 1


def test_a_sync_token_cannot_be_combined_with_a_time_range(google, events):
    google.put_event(gev("single01", "2026-10-05T10:00"))
    token = events.list(calendarId="primary", singleEvents=True).execute()["nextSyncToken"]
    error = failure(events.list(calendarId="primary", syncToken=token,
                                timeMin="2026-01-01T00:00:00Z"))
    assert error.resp.status == 400 and reasons_of(error) == {"invalid"}
    google.expire_sync_tokens()
    gone = failure(events.list(calendarId="primary", syncToken=token))
    assert gone.resp.status == 410 and reasons_of(gone) == {"fullsyncrequired"}


def test_time_min_bounds_the_end_and_time_max_the_start(google, events):
    google.put_event(gev("overlap1", "2026-10-05T10:00", minutes=60))
    listed = events.list(calendarId="primary", timeMin="2026-10-05T08:30:00Z",
                         timeMax="2026-10-05T08:31:00Z").execute()
    assert [i["id"] for i in listed["items"]] == ["overlap1"]
    assert events.list(calendarId="primary", timeMin="2026-10-05T09:00:00Z").execute()["items"] == []


def test_inserts_check_ids_duplicates_and_time_zones(google, events):
    body = gev("dup00001", "2026-10-05T10:00")
    events.insert(calendarId="primary", body=body).execute()
    assert failure(events.insert(calendarId="primary", body=body)).resp.status == 409
    bad_id = failure(events.insert(calendarId="primary", body=dict(body, id="Not_Base32!")))
    assert bad_id.resp.status == 400
    no_zone = dict(gev("nozone01", "2026-10-05T10:00"), recurrence=["RRULE:FREQ=DAILY"])
    no_zone["start"] = {"dateTime": no_zone["start"]["dateTime"]}
    assert failure(events.insert(calendarId="primary", body=no_zone)).resp.status == 400
    google.delete_event("dup00001")
    assert failure(events.insert(calendarId="primary", body=body)).resp.status == 409


def test_private_extended_property_filter(google, events):
    google.put_event(gev("tagged01", "2026-10-05T10:00",
                         extendedProperties={"private": {"k": "v"}}))
    google.put_event(gev("plain001", "2026-10-06T10:00"))
    listed = events.list(calendarId="primary", privateExtendedProperty="k=v").execute()
    assert [i["id"] for i in listed["items"]] == ["tagged01"]


def http_error(status: int, body: dict, headers: dict | None = None) -> HttpError:
    info = {"status": str(status), **(headers or {})}
    return HttpError(httplib2.Response(info), json.dumps(body).encode())


def test_reasons_are_read_from_both_error_formats():
    classic = http_error(403, {"error": {"code": 403, "message": "Forbidden",
                                         "errors": [{"reason": "rateLimitExceeded"}]}})
    detailed = http_error(403, {"error": {"code": 403, "message": "x", "errors": [],
                                          "details": [{"reason": "USER_RATE_LIMIT_EXCEEDED"}]}})
    quota = http_error(403, {"error": {"code": 403, "message": "Rate Limit Exceeded",
                                       "errors": [{"reason": "quotaExceeded"}]}})
    assert is_retryable(classic) and is_retryable(detailed) and not is_retryable(quota)
    assert reasons_of(detailed) == {"userratelimitexceeded"}


def test_retry_after_as_seconds_or_http_date():
    assert retry_after_seconds(http_error(429, {}, {"retry-after": "7"})) == 7.0
    when = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)
    dated = http_error(429, {}, {"retry-after": format_datetime(when, usegmt=True)})
    assert retry_after_seconds(dated, now=when.timestamp() - 30) == pytest.approx(30.0)
    assert retry_after_seconds(http_error(429, {})) is None
