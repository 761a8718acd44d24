"""Writing touchbases, reading free/busy and writing Gmail drafts through the emulator."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from agent.errors import AuthError, SourceError
from agent.model import AGENT_TAG_NAME, SeriesSpec
from connectors.google.mapping import event_id_for
from tests.fakes.google_api import SCOPE
from tests.fakes.google_setup import gev, google_config, open_google

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 1, 12, tzinfo=BERLIN)
ME, ALICE = "me@acme.example", "alice@acme.example"


def spec(colleague: str = ALICE, series_id: str = "touchbase-alice-1") -> SeriesSpec:
    return SeriesSpec(
        series_id=series_id, colleague=colleague, colleague_name="Alice A", organizer=ME,
        title="Touchbase: Alice / me", description="What are you working on?", timezone="Europe/Berlin",
        start=datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN), duration_minutes=30,
        weekday="TU", week_index=2, tag="touchbase-v1",
    )


@pytest.fixture
def connector(tmp_path, google, fast_retries):
    config = google_config(tmp_path, google)
    conn = open_google(config, NOW)
    yield conn
    conn.close()


def primary(google):
    return google.calendar("primary").events


def test_writing_a_touchbase_costs_one_freebusy_and_one_insert(connector, google):
    busy = connector.busy(NOW, datetime(2026, 11, 29, tzinfo=BERLIN), [ALICE])
    event_id = connector.create_series(spec())
    assert busy == []
    assert google.counts["freebusy.query"] == 1 and google.counts["events.insert"] == 1
    assert google.counts.total() - google.counts["oauth.token"] == 2
    event = primary(google)[event_id]
    assert event_id == event_id_for("touchbase-alice-1")
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert event["start"] == {"dateTime": "2026-11-10T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert event["end"]["dateTime"] == "2026-11-10T10:30:00+01:00"
    assert event["recurrence"] == ["RRULE:FREQ=MONTHLY;BYDAY=2TU"]
    assert event["extendedProperties"]["private"][AGENT_TAG_NAME] == "touchbase-v1"
    assert event["attendees"] == [{"email": ALICE, "displayName": "Alice A",
                                   "responseStatus": "needsAction"}]
    insert = next(q for m, q in google.queries if m == "events.insert")
    assert insert["sendUpdates"] == ["all"]


def test_a_retried_insert_answers_409_and_creates_nothing_more(connector, google):
    first = connector.create_series(spec())
    second = connector.create_series(spec())
    assert first == second
    assert [s for m, s in google.log if m == "events.insert"] == [200, 409]
    assert len(primary(google)) == 1


def test_a_lost_answer_after_the_insert_is_retried_into_a_409(connector, google):
    google.inject(500, method="events.insert", after=True)
    event_id = connector.create_series(spec())
    assert [s for m, s in google.log if m == "events.insert"] == [500, 409]
    assert list(primary(google)) == [event_id]


def test_a_crash_between_insert_and_record_creates_the_series_once(tmp_path, google, fast_retries):
    config = google_config(tmp_path, google)
    google.inject(0, method="events.insert", after=True)
    crashed = open_google(config, NOW)
    with pytest.raises(SourceError, match="network failure"):
        crashed.create_series(spec())
    crashed.close()
    assert len(primary(google)) == 1  # it was created, the agent never heard back
    again = open_google(config, NOW)
    event_id = again.create_series(spec())
    again.close()
    assert list(primary(google)) == [event_id]


def test_own_events_are_found_by_the_private_property_and_ended_with_until(connector, google):
    google.put_event(gev("foreign01", "2026-11-03T10:00", summary="Touchbase: Alice / me",
                         attendees=((ME, "accepted"), (ALICE, "accepted")),
                         recurrence=["RRULE:FREQ=MONTHLY;BYDAY=1TU"]))
    event_id = connector.create_series(spec())
    own = connector.find_own_events()
    assert [(o.event_id, o.series_id, o.tag, o.ended) for o in own] == [
        (event_id, "touchbase-alice-1", "touchbase-v1", False)]
    listing = next(q for m, q in google.queries if m == "events.list")
    assert listing["privateExtendedProperty"] == ["touchbase-owner=touchbase-agent"]
    connector.end_series(event_id, datetime(2027, 1, 1, tzinfo=BERLIN))
    event = primary(google)[event_id]
    assert event["recurrence"] == ["RRULE:FREQ=MONTHLY;BYDAY=2TU;UNTIL=20261231T230000Z"]
    assert connector.find_own_events()[0].ended
    connector.end_series(event_id, datetime(2027, 1, 1, tzinfo=BERLIN))  # idempotent
    assert [m for m, _ in google.modified] == ["events.insert", "events.patch"]


def test_ending_a_foreign_event_is_refused_and_changes_nothing(connector, google):
    google.put_event(gev("foreign02", "2026-11-03T10:00", attendees=((ME, "accepted"),),
                         recurrence=["RRULE:FREQ=WEEKLY"]))
    before = dict(primary(google)["foreign02"])
    with pytest.raises(SourceError, match="not created by touchbase"):
        connector.end_series("foreign02", datetime(2026, 12, 1, tzinfo=BERLIN))
    assert primary(google)["foreign02"] == before
    assert google.modified == []


def test_busy_covers_the_user_and_visible_colleagues(connector, google):
    google.put_event(gev("busy0001", "2026-11-02T10:00", minutes=60, attendees=((ME, "accepted"),)))
    google.put_event(gev("busy0002", "2026-11-02T14:00", attendees=((ME, "declined"),)))
    google.visible_busy[ALICE] = [(datetime(2026, 11, 3, 9, tzinfo=BERLIN),
                                   datetime(2026, 11, 3, 11, tzinfo=BERLIN))]
    blocks = connector.busy(NOW, datetime(2026, 11, 8, tzinfo=BERLIN),
                            [ALICE, "hidden@acme.example"])
    as_text = [(s.astimezone(BERLIN).isoformat(), e.astimezone(BERLIN).isoformat()) for s, e in blocks]
    assert as_text == [("2026-11-02T10:00:00+01:00", "2026-11-02T11:00:00+01:00"),
                       ("2026-11-03T09:00:00+01:00", "2026-11-03T11:00:00+01:00")]
    assert google.counts["freebusy.query"] == 1


def message(subject: str = "Thanks for today", message_id: str = "<fu-1@touchbase.local>") -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ME, ALICE, subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content("Thanks for the chat.\n")
    return msg


def test_a_draft_lands_once_across_retries_and_crashes(connector, google):
    draft_id = connector.create_draft(message())
    assert connector.create_draft(message()) == draft_id  # found again by Message-ID
    assert len(google.drafts) == 1
    google.inject(0, method="drafts.create", after=True)
    with pytest.raises(SourceError):
        connector.create_draft(message("Second", "<fu-2@touchbase.local>"))
    again = connector.create_draft(message("Second", "<fu-2@touchbase.local>"))
    assert len(google.drafts) == 2 and again in google.drafts
    assert [s for m, s in google.log if m == "drafts.create"] == [200, 0]  # found, not re-sent
    stored = google.drafts[again]["parsed"]
    assert stored["Subject"] == "Second" and stored["To"] == ALICE
    assert google.sent == []  # drafts are never sent


def test_a_draft_without_message_id_gets_a_stable_one(connector, google):
    first = connector.create_draft(message(message_id=""))
    assert connector.create_draft(message(message_id="")) == first
    assert len(google.drafts) == 1


def test_the_morning_email_is_sent_as_raw_base64url(connector, google):
    connector.send(message("Your morning", "<digest-1@touchbase.local>"))
    assert len(google.sent) == 1
    sent = google.sent[0]["parsed"]
    assert sent["Subject"] == "Your morning"
    assert "Thanks for the chat." in sent.get_body().get_content()
    assert not set(google.sent[0]["raw"]) & {"+", "/"}  # base64url, not base64
    assert google.drafts == {}


def test_gmail_without_the_compose_scope_is_a_reauth_message(tmp_path, google):
    config = google_config(tmp_path, google, scopes=[SCOPE + "calendar.events.readonly"])
    conn = open_google(config, NOW)
    with pytest.raises(AuthError, match="touchbase auth google --source gwork"):
        conn.create_draft(message())
    assert google.counts["drafts.create"] == 0 and google.counts["drafts.list"] == 0
