"""`touchbase run --once` with touchbases and follow-up drafts written through the Google source:
each lands exactly once even when Google's answer is lost after the write, or throttled, and
nothing the agent did not create is touched."""
from __future__ import annotations

from agent.configuration.loader import load_config
from agent.storage import own_series
from agent.storage.store import Store
from tests.fakes.google_setup import gev, google_config
from tests.helpers import run_cli

NOW = "2026-10-14T12:00:00+02:00"
ME, BOB, ANN = "me@acme.example", "bob@acme.example", "ann@acme.example"
AGENT = ('[touchbase]\nwrite_to = "gwork"\nmode = "auto"\n\n'
         '[followups]\ntransport = "gwork"\n')


def seed(google) -> None:
    for number, day in enumerate(("2026-06-03", "2026-07-01", "2026-08-05")):  # Bob: drifting
        google.put_event(gev(f"bob{number:05d}", f"{day}T10:00", summary="1:1 Bob",
                             attendees=((ME, "accepted"), (BOB, "accepted"))))
    for number, day in enumerate(("2026-08-12", "2026-09-16", "2026-10-14")):  # Ann: this morning
        google.put_event(gev(f"ann{number:05d}", f"{day}T09:00", summary="1:1 Ann",
                             attendees=((ME, "accepted"), (ANN, "accepted"))))


def run_once(config) -> str:
    result = run_cli(config, "run", "--once", now=NOW)
    return result.output


def test_touchbase_and_draft_land_once_through_google(tmp_path, google, fast_retries):
    config = google_config(tmp_path, google, extra=AGENT)
    seed(google)
    foreign = {key: dict(value) for key, value in google.calendar("primary").events.items()}
    google.inject(0, method="events.insert", after=True)  # created, the answer lost
    google.inject(0, method="drafts.create", after=True)  # the draft too
    google.inject(429, retry_after="1", method="freebusy.query")
    run_once(config)
    for _ in range(2):
        run_once(config)

    own = [e for e in google.calendar("primary").events.values() if e.get("extendedProperties")]
    assert len(own) == 1
    assert google.faults == []  # every injected failure happened
    inserts = [s for m, s in google.log if m == "events.insert"]
    assert inserts[0] == 0 and 200 not in inserts  # the one lost answer; no second series
    assert [s for m, s in google.log if m == "freebusy.query"][:2] == [429, 200]
    assert own[0]["attendees"][0]["email"] == BOB
    assert own[0]["recurrence"][0].startswith("RRULE:FREQ=MONTHLY;BYDAY=")
    assert len(google.drafts) == 1
    draft = next(iter(google.drafts.values()))["parsed"]
    assert ANN in draft["To"]
    assert google.sent == []  # drafts are never sent
    assert [event_id for _, event_id in google.modified] == [own[0]["id"]]
    for key, before in foreign.items():
        assert google.calendar("primary").events[key] == before

    store = Store(load_config(config).store_path)
    try:
        rows = own_series.rows(store)
        assert [(r["email"], r["state"], r["event_id"]) for r in rows] == [(BOB, "active", own[0]["id"])]
        assert store.db["followups"].count == 1
    finally:
        store.close()
    assert run_cli(config, "status", now=NOW).exit_code == 0


def test_the_morning_email_goes_out_once_through_gmail(tmp_path, google, fast_retries):
    config = google_config(tmp_path, google, extra='[digest]\ntransport = "gwork"\nto = "me@acme.example"\n')
    seed(google)
    google.inject(503, method="messages.send")  # retried within the cycle
    for _ in range(2):
        run_once(config)
    assert len(google.sent) == 1
    sent = google.sent[0]["parsed"]
    assert sent["To"] == ME and sent.get_body(("plain",)) is not None
    assert [s for m, s in google.log if m == "messages.send"] == [503, 200]
    assert google.drafts == {}
