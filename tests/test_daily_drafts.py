"""Fewer drafts, and drafts safe to send (issue 14)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.digest.morning import build_digest
from agent.followups import DRAFT_PROMPTS, run_followups
from agent.landscape.reconnect import run_reconnect_drafts
from agent.notes import add_note
from agent.ratings import rate
from connectors.ical.read import TAG_PROPERTY
from tests.mail_helpers import ALICE, BOB, MONDAY, drafts, meeting, opened, setup_calendar

WEEKLY = "RRULE:FREQ=WEEKLY;COUNT=12"
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _after_each(first: datetime, weeks: int) -> list[datetime]:
    """45 minutes after each weekly start, in Berlin wall time (the series crosses the DST end)."""
    local = first.astimezone(BERLIN).replace(tzinfo=None)
    return [(local + timedelta(weeks=i, minutes=45)).replace(tzinfo=BERLIN) for i in range(weeks)]


def test_a_weekly_one_on_one_yields_at_most_one_draft_per_28_days(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("weekly-bob", "20261005", "1100", "1130", summary="Bob / me",
                                           people=((BOB, "Bob Baker"),), extra=WEEKLY))
    written: list[datetime] = []
    with opened(cfg) as (config, store):
        for moment in _after_each(at("2026-10-05T11:00:00+02:00"), 12):
            if run_followups(config, store, moment):
                written.append(moment)
        rows = list(store.db["followups"].rows_where(order_by="meeting_start"))
    assert len(drafts(config)) == len(rows) == len(written) == 3  # weeks 0, 4 and 8
    starts = [datetime.fromisoformat(r["meeting_start"]) for r in rows]
    assert all(b - a >= timedelta(days=28) for a, b in zip(starts, starts[1:], strict=False))


def test_the_spacing_is_configurable_and_zero_drafts_after_every_meeting(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("weekly-bob", "20261005", "1100", "1130",
                                           people=((BOB, "Bob Baker"),), extra=WEEKLY),
                         extra="[followups]\nmin_days_between = 0\n")
    with opened(cfg) as (config, store):
        count = sum(bool(run_followups(config, store, m))
                    for m in _after_each(at("2026-10-05T11:00:00+02:00"), 4))
    assert count == 4


def test_the_first_meeting_of_a_new_series_gets_a_draft_even_soon_after_another(tmp_path):
    cfg = setup_calendar(
        tmp_path,
        meeting("one-off", "20261005", "1000", "1030", summary="Kickoff"),
        meeting("new-series", "20261007", "1000", "1030", summary="Alice weekly", extra=WEEKLY),
        meeting("another-one-off", "20261009", "1500", "1530", summary="Quick sync"))
    with opened(cfg) as (config, store):
        kickoff = run_followups(config, store, at("2026-10-05T10:45:00+02:00"))
        first = run_followups(config, store, at("2026-10-07T10:45:00+02:00"))
        quick = run_followups(config, store, at("2026-10-09T15:45:00+02:00"))
        second = run_followups(config, store, at("2026-10-14T10:45:00+02:00"))
    assert len(kickoff) == 1 and len(first) == 1  # the first of a new series: always
    assert quick == [] and second == []  # within 28 days of the last draft to Alice


def test_no_draft_contains_a_note_and_the_morning_email_shows_it_beside_the_draft(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("today-alice", "20261005", "1000", "1030",
                                           summary="Roadmap chat"))
    private = ["Wants to move to the platform team", "Her manager is leaving",
               "Training for a marathon", "Recognition in public", "Last-minute changes"]
    with opened(cfg) as (config, store):
        add_note(store, ALICE, private[0], at(MONDAY))
        add_note(store, BOB, private[2], at(MONDAY))
        add_note(store, ALICE, private[1], at("2026-10-05T09:30:00+02:00"))
        rate(store, BOB, at(MONDAY), role="sponsor", motivators=private[3], demotivators=private[4])
        assert run_followups(config, store, at("2026-10-05T10:45:00+02:00"))
        assert run_reconnect_drafts(config, store, at("2026-10-09T09:00:00+02:00"))  # a Friday
        written = drafts(config)
        morning = build_digest(config, store, at("2026-10-06T08:00:00+02:00")).text
        friday = build_digest(config, store, at("2026-10-09T09:30:00+02:00")).text
    assert len(written) >= 2
    for message in written:
        body = message.get_content()
        assert not any(text in body for text in private), body
        assert "For you only" not in body
    waiting = morning.split("Follow-up drafts waiting", 1)[1].split("\n\n", 1)[0]
    assert f"your last note about Alice Archer (not in the draft): {private[1]}" in waiting
    assert all(prompt in waiting for prompt in DRAFT_PROMPTS)
    assert f"what motivates them: {private[3]}" in friday


def test_a_touchbase_that_took_place_always_gets_a_draft(tmp_path):
    touchbase = meeting("tb-alice", "20261014", "0900", "0930", summary="Touchbase: Alice Archer",
                        extra=f"{TAG_PROPERTY}:tb-alice\nRRULE:FREQ=MONTHLY;COUNT=3")
    cfg = setup_calendar(tmp_path, meeting("chat", "20261012", "1000", "1030", summary="Chat"),
                         touchbase)
    with opened(cfg) as (config, store):
        assert len(run_followups(config, store, at("2026-10-12T10:45:00+02:00"))) == 1
        assert len(run_followups(config, store, at("2026-10-14T09:45:00+02:00"))) == 1
        assert len(run_followups(config, store, at("2026-11-14T09:45:00+01:00"))) == 1
