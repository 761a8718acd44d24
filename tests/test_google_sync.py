"""Reading Google calendars through the real googleapiclient against the emulator."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from agent.configuration.loader import load_config
from agent.storage.store import Store
from tests.contract import COLLEAGUE, Backend, ConnectorContract
from tests.contract import NOW as CONTRACT_NOW
from tests.contract import USER as CONTRACT_USER
from tests.fakes.google_setup import SOURCE, gev, google_config, open_google
from tests.helpers import people_json, run_cli

NOW = "2026-11-01T12:00:00+01:00"
ALICE, BOB = "alice@acme.example", "bob@acme.example"
ME = "me@acme.example"
TEAM = "team@group.calendar.google.com"


def sync(config, now=NOW, accept_loss=False):
    """`touchbase sync`; `accept_loss` where a test removes most of a small calendar on purpose
    (a loss of more than half is otherwise held until a second answer confirms it)."""
    result = run_cli(config, "sync", *(["--accept-loss"] if accept_loss else []), now=now)
    assert result.exit_code == 0, result.output
    return result


def stored(config) -> dict[str, object]:
    store = Store(load_config(config).store_path)
    try:
        return {occ.key: occ for occ in store.occurrences(source=SOURCE)}
    finally:
        store.close()


def list_queries(google):
    return [query for method, query in google.queries if method == "events.list"]


def one_on_one(event_id, start, who=ALICE, **extra):
    return gev(event_id, start, attendees=((ME, "accepted"), (who, "accepted")), **extra)


def test_unchanged_sync_costs_one_request_per_calendar(tmp_path, google):
    google.put_event(one_on_one("single01", "2026-10-05T10:00"))
    google.put_event(one_on_one("weekly01", "2026-10-06T09:00", who=BOB,
                                recurrence=["RRULE:FREQ=WEEKLY;COUNT=8"]))
    google.put_event(one_on_one("teamev01", "2026-10-07T11:00"), calendar_id=TEAM)
    config = google_config(tmp_path, google, calendars=["primary", TEAM])
    sync(config)
    assert len(stored(config)) == 10
    google.reset_counts()
    sync(config)
    assert google.counts["events.list"] == 2
    assert google.counts.total() == 2  # not even a token refresh: the access token was saved
    for query in list_queries(google):
        assert set(query) - {"alt"} == {"syncToken", "singleEvents", "maxResults"}
        assert query["singleEvents"] == ["true"] and query["maxResults"] == ["2500"]


def test_first_sync_pages_with_2500_and_keeps_the_sync_token_of_the_last_page(tmp_path, google):
    for number in range(2600):
        day = datetime(2026, 3, 1, 8) + timedelta(hours=number * 3)
        google.put_event(one_on_one(f"bulk{number:05d}", day.isoformat(timespec="minutes")))
    config = google_config(tmp_path, google)
    sync(config)
    assert google.counts["events.list"] == 2  # ceil(2600 / 2500)
    first, second = list_queries(google)
    assert "timeMin" in first and "timeMax" in first and "pageToken" not in first
    assert "pageToken" in second
    assert len(stored(config)) == 2600
    google.reset_counts()
    sync(config)
    assert google.counts["events.list"] == 1


def test_sync_after_changes_costs_one_request_and_applies_them(tmp_path, google):
    for number in range(20):
        google.put_event(one_on_one(f"chg{number:05d}", f"2026-10-{number + 1:02d}T10:00"))
    config = google_config(tmp_path, google)
    sync(config)
    google.put_event(one_on_one("chg00003", "2026-10-04T15:00", summary="moved"))
    google.delete_event("chg00004")
    google.put_event(one_on_one("new00001", "2026-10-28T10:00", who=BOB))
    google.reset_counts()
    sync(config)
    assert google.counts["events.list"] == 1
    occurrences = stored(config)
    assert occurrences["chg00003"].title == "moved"
    assert occurrences["chg00003"].start.hour == 13  # 15:00 Berlin summer time in UTC
    assert "chg00004" not in occurrences and "new00001" in occurrences


def test_short_and_empty_pages_are_followed_until_the_token_is_gone(tmp_path, google):
    for number in range(5):
        google.put_event(one_on_one(f"short{number:04d}", f"2026-10-{number + 5:02d}T10:00"))
    config = google_config(tmp_path, google)
    google.page_plan = [0, 2, 0, 1]
    sync(config)
    assert google.counts["events.list"] == 5
    assert len(stored(config)) == 5
    google.put_event(one_on_one("short0009", "2026-10-20T10:00"))
    google.page_plan = [0]
    google.reset_counts()
    sync(config)
    assert google.counts["events.list"] == 2
    assert "short0009" in stored(config)


def test_expired_sync_token_drops_the_calendar_and_reads_it_again(tmp_path, google):
    google.put_event(one_on_one("keep00001", "2026-10-05T10:00"))
    google.put_event(one_on_one("gone00001", "2026-10-06T10:00", who=BOB))
    config = google_config(tmp_path, google)
    sync(config)
    google.delete_event("gone00001")
    google.expire_sync_tokens()
    google.reset_counts()
    sync(config)
    assert [status for _, status in google.log] == [410, 200]
    assert "timeMin" in list_queries(google)[1]
    assert set(stored(config)) == {"keep00001"}
    google.reset_counts()
    sync(config)
    assert google.log == [("events.list", 200)]


@pytest.mark.parametrize("style", ["master", "instances"])
def test_cancelled_instances_and_deleted_series_are_applied(tmp_path, google, style):
    google.deleted_series_style = style
    weekly = ["RRULE:FREQ=WEEKLY;COUNT=6"]
    google.put_event(one_on_one("seriesa1", "2026-10-05T10:00", recurrence=weekly))
    google.put_event(one_on_one("seriesb1", "2026-10-06T10:00", who=BOB, recurrence=weekly))
    config = google_config(tmp_path, google)
    sync(config)
    assert len(stored(config)) == 12
    cancelled = google.cancel_instance("seriesa1", "2026-10-12T10:00:00+02:00")
    google.delete_event("seriesb1")
    google.reset_counts()
    sync(config, accept_loss=True)
    assert google.counts["events.list"] == 1
    keys = set(stored(config))
    assert cancelled not in keys
    assert len(keys) == 5 and all(k.startswith("seriesa1_") for k in keys)
    rows = people_json(config, NOW)
    assert rows[ALICE]["meetings"] == 3 and BOB not in rows


def test_shortened_series_and_moved_instance(tmp_path, google):
    google.put_event(one_on_one("short001", "2026-10-05T10:00",
                                recurrence=["RRULE:FREQ=WEEKLY;COUNT=10"]))
    config = google_config(tmp_path, google)
    sync(config)
    moved = google.edit_instance("short001", "2026-10-12T10:00:00+02:00",
                                 {"start": {"dateTime": "2026-10-13T16:00:00+02:00",
                                            "timeZone": "Europe/Berlin"},
                                  "end": {"dateTime": "2026-10-13T16:30:00+02:00",
                                          "timeZone": "Europe/Berlin"}})
    master = dict(google.calendar("primary").events["short001"])
    master["recurrence"] = ["RRULE:FREQ=WEEKLY;UNTIL=20261020T000000Z"]
    google.put_event(master)
    sync(config, accept_loss=True)
    occurrences = stored(config)
    assert sorted(o.start.isoformat() for o in occurrences.values()) == [
        "2026-10-05T08:00:00+00:00", "2026-10-13T14:00:00+00:00", "2026-10-19T08:00:00+00:00"]
    assert occurrences[moved].series_id == "short001"


def test_mapping_of_attendees_rooms_declines_and_types(tmp_path, google):
    room = ("room-4@resource.calendar.google.com", "accepted", {"resource": True,
                                                                 "displayName": "Room 4"})
    google.put_event(gev("mapped01", "2026-10-05T10:00", organizer=ALICE, attendees=(
        (ME, "tentative"), (ALICE, "accepted", {"organizer": True, "displayName": "Alice A"}),
        (BOB, "needsAction", {"optional": True}), room)))
    google.put_event(gev("declined", "2026-10-06T10:00", organizer=BOB,
                         attendees=((ME, "declined"), (BOB, "accepted"))))
    all_day = gev("allday01", "2026-10-07T00:00", attendees=((ME, "accepted"), (BOB, "accepted")))
    all_day.update(start={"date": "2026-10-07"}, end={"date": "2026-10-08"})
    google.put_event(all_day)
    for number, kind in enumerate(("outOfOffice", "focusTime", "workingLocation", "birthday")):
        google.put_event(gev(f"skip{number:04d}", f"2026-10-0{number + 1}T08:00",
                             attendees=((ME, "accepted"), (BOB, "accepted")), eventType=kind))
    config = google_config(tmp_path, google)
    sync(config)
    occurrences = stored(config)
    assert set(occurrences) == {"mapped01", "declined", "allday01"}
    mapped = occurrences["mapped01"]
    assert mapped.organizer == ALICE and mapped.user_response == "tentative"
    kinds = {a.email: (a.kind, a.response, a.optional) for a in mapped.attendees}
    assert kinds["room-4@resource.calendar.google.com"] == ("resource", "accepted", False)
    assert kinds[BOB] == ("person", "needs-action", True)
    assert occurrences["declined"].user_response == "declined"
    assert occurrences["allday01"].all_day
    rows = people_json(config, NOW)
    assert rows[ALICE]["name"] == "Alice A"
    assert (rows[ALICE]["meetings"], rows[ALICE]["one_on_ones"]) == (1, 0)
    assert rows[BOB]["meetings"] == 1  # the declined one and the all-day one do not count


def test_the_user_declining_later_is_applied_incrementally(tmp_path, google):
    google.put_event(one_on_one("resp0001", "2026-10-05T10:00",
                                recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"]))
    config = google_config(tmp_path, google)
    assert people_json(config, NOW)[ALICE]["meetings"] == 4
    google.respond("resp0001_20261019T080000Z", ME, "declined")
    assert people_json(config, NOW)[ALICE]["meetings"] == 3


def test_window_moving_past_what_was_read_triggers_a_full_read(tmp_path, google):
    google.put_event(one_on_one("drift001", "2026-10-05T10:00"))
    config = google_config(tmp_path, google)
    sync(config)
    google.reset_counts()
    sync(config, now="2026-11-20T12:00:00+01:00")
    assert "syncToken" in list_queries(google)[0]
    google.reset_counts()
    sync(config, now="2027-01-15T12:00:00+01:00")
    assert "timeMin" in list_queries(google)[0]
    assert "drift001" in stored(config)


def test_an_event_on_two_calendars_stays_while_either_has_it(tmp_path, google):
    shared = one_on_one("shared01", "2026-10-05T10:00")
    google.put_event(shared)
    google.put_event(shared, calendar_id=TEAM)
    config = google_config(tmp_path, google, calendars=["primary", TEAM])
    sync(config)
    assert people_json(config, NOW)[ALICE]["meetings"] == 1
    google.put_event(one_on_one("shared01", "2026-10-05T11:00", summary="renamed"))
    google.delete_event("shared01", calendar_id=TEAM)
    sync(config)
    assert stored(config)["shared01"].title == "renamed"  # changed on one, gone from the other
    google.delete_event("shared01")
    sync(config, accept_loss=True)
    assert "shared01" not in stored(config)


# --- the connector contract (tests/contract.py) -----------------------------------------------


class GoogleBackend(Backend):
    """The primary calendar of the Google emulator, changed as in Google's own web app."""

    def __init__(self, folder, emulator) -> None:
        self.emulator = emulator
        self.config = google_config(folder, emulator)
        self.bodies: dict[str, dict] = {}

    def connector(self):
        return open_google(self.config, CONTRACT_NOW)

    def put(self, title, start, minutes=30):
        event_id = f"contract{len(self.bodies) + 1:04d}"
        self.bodies[event_id] = {
            "id": event_id, "summary": title, "organizer": {"email": CONTRACT_USER, "self": True},
            "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": "UTC"},
            "attendees": [{"email": CONTRACT_USER, "responseStatus": "accepted", "self": True},
                          {"email": COLLEAGUE, "responseStatus": "accepted"}],
        }
        self.emulator.put_event(self.bodies[event_id])
        return event_id

    def change(self, resource, title):
        self.bodies[resource]["summary"] = title
        self.emulator.put_event(self.bodies[resource])

    def remove(self, resource):
        self.emulator.delete_event(resource)

    def stale(self, state):
        """Google answers 410 to every sync token issued so far."""
        self.emulator.expire_sync_tokens()
        return state


class TestGoogleContract(ConnectorContract):
    """Google Calendar through googleapiclient against the emulator."""

    @pytest.fixture
    def backend(self, tmp_path, google):
        return GoogleBackend(tmp_path, google)
