"""The morning email: its sections, HTML escaping, exactly once a day across restarts, catch-up."""
from __future__ import annotations

import re
from datetime import datetime

from agent.configuration.loader import SourceConfig
from agent.digest.morning import build_digest, send_digest_if_due
from agent.followups import run_followups
from agent.notes import add_note
from agent.planning import touchbases as tb
from tests.helpers import flat, run_cli
from tests.mail_helpers import (
    ALICE,
    BOB,
    CAROL,
    MONDAY,
    meeting,
    opened,
    outbox_mail,
    parts,
    setup_calendar,
)

FRIDAY = "2026-10-09T09:00:00+02:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def section(text: str, title: str) -> str:
    """The body of one section of the text part."""
    match = re.search(rf"^{re.escape(title)}\n-+\n(.*?)(?=\n\n\S[^\n]*\n-+\n|\n\n-- \n)", text, re.S | re.M)
    assert match, f"no section {title!r} in:\n{text}"
    return match.group(1)


def test_todays_meetings_show_last_met_last_note_and_open_followups(tmp_path):
    cfg = setup_calendar(
        tmp_path,
        meeting("early-carol-breakfast-040D9E2B@calendar.acme.example", "20261005", "0700", "0730", summary="Breakfast",
                people=((CAROL, "Carol Chen"),)),
        meeting("later-carol", "20261005", "1500", "1530", summary="Roadmap",
                people=((CAROL, "Carol Chen"),)),
        meeting("stranger", "20261005", "1600", "1630", summary="Intro",
                people=(("erin@acme.example", "Erin Evans"),)),
    )
    with opened(cfg) as (config, store):
        add_note(store, CAROL, "Asked about the hiring plan", at("2026-10-02T15:00:00+02:00"))
        add_note(store, CAROL, "Back from leave next week", at("2026-10-03T10:00:00+02:00"))
        assert len(run_followups(config, store, at(MONDAY))) == 1  # the breakfast
        digest = build_digest(config, store, at(MONDAY))
    today = section(digest.text, "Today's meetings")
    assert "- 07:00-07:30 Breakfast (Carol Chen)" in today
    assert "- 15:00-15:30 Roadmap (Carol Chen)" in today
    assert "Carol Chen: last met Mon 5 Oct (today)" in today
    assert "last note: Back from leave next week" in today
    assert "open follow-up: Breakfast of Mon 5 Oct" in today
    assert "Erin" not in digest.text  # not a tracked colleague
    drafts = section(digest.text, "Follow-up drafts waiting")
    assert "- Breakfast (Carol Chen), Mon 5 Oct" in drafts
    assert "2 meetings today" in digest.subject and "1 draft waiting" in digest.subject


def test_reconnect_list_in_priority_order_with_colours(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        digest = build_digest(config, store, at(MONDAY))
    reconnect = section(digest.text, "Who to reconnect with")
    lines = [line for line in reconnect.splitlines() if line.startswith("- ")]
    assert lines == ["- [OVERDUE] Alice Archer <alice@acme.example>",
                     "- [DUE] Bob Baker <bob@acme.example>"]
    assert "last met Wed 1 Jul (96 days ago); aim: every 30 days" in reconnect
    assert "Carol" not in reconnect  # on track
    html = digest.html
    assert html.index("Alice Archer") < html.index("Bob Baker")
    assert re.search(r"background:#c0392b;\">overdue</span> Alice Archer", html)
    assert re.search(r"background:#b9770e;\">due</span> Bob Baker", html)
    assert "2 to reconnect with" in digest.subject
    assert "Friday reconnect list" not in digest.text  # Mondays have none


def test_the_friday_reconnect_list(tmp_path):
    cfg = setup_calendar(tmp_path, now=FRIDAY)
    with opened(cfg) as (config, store):
        add_note(store, ALICE, "Training for a marathon", at(MONDAY))
        digest = build_digest(config, store, at(FRIDAY))
    friday = section(digest.text, "Friday reconnect list")
    assert "- [OVERDUE] Alice Archer" in friday and "last note: Training for a marathon" in friday
    assert "- [DUE] Bob Baker" in friday
    assert "Carol" not in friday


def test_touchbase_actions_since_the_last_morning_email(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        for email, state, start in ((ALICE, tb.ACTIVE, at("2026-10-13T10:00:00+02:00")), (BOB, tb.PROPOSED, None)):
            tb.save(store, tb.Touchbase(series_id=f"tb-{email}", email=email, state=state, start=start,
                                        created_at=at("2026-10-05T07:30:00+02:00"),
                                        rrule="FREQ=MONTHLY;BYDAY=2TU", title="Touchbase"))
        store.log_action("touchbase-created", CAROL, "an old one", at("2026-10-01T07:30:00+02:00"))
        store.log_action("touchbase-created", ALICE, "second Tuesday 10:00", at("2026-10-05T07:30:00+02:00"))
        store.log_action("touchbase-proposed", BOB, "first Thursday 14:00", at("2026-10-05T07:30:00+02:00"))
        store.log_action("touchbase-declined", CAROL, "declined 1 of 2", at("2026-10-05T07:31:00+02:00"))
        store.log_action("touchbase-paused", "dave@acme.example", "left alone for 90 days",
                         at("2026-10-05T07:32:00+02:00"))
        store.db["digests"].insert({"day": "2026-10-02", "sent_at": "2026-10-02T06:00:00+00:00",
                                    "transport": "outbox", "status": "sent"})
        digest = build_digest(config, store, at(MONDAY))
    body = section(digest.text, "Touchbases")
    assert body.splitlines() == [
        "Approve a proposal with: touchbase approve EMAIL",
        "- Booked a touchbase with Alice Archer",
        "    second Tuesday 10:00",
        "    next meeting Tue 13 Oct 10:00",
        "- Proposed a touchbase with Bob Baker",
        "    first Thursday 14:00",
        "- [PROBLEM] Declined a touchbase: Carol Chen",
        "    declined 1 of 2",
        "- [PROBLEM] Paused (declined repeatedly; left alone for now): dave@acme.example",
        "    left alone for 90 days",
    ]
    assert "an old one" not in digest.text


def test_agent_health_shows_sync_times_reauth_and_failing_jobs(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        store.record_source_error("google", "google", "google: the token was revoked",
                                  at("2026-10-05T08:00:00+02:00"), needs_reauth="touchbase auth google")
        store.db["jobs"].insert({"name": "planner", "last_success": "2026-10-03T05:30:00+00:00",
                                 "last_error": "work: cannot write the calendar",
                                 "last_error_at": "2026-10-05T05:30:00+00:00", "failures": 2})
        digest = build_digest(config, store, at(MONDAY))
    health = section(digest.text, "Agent health")
    assert "- work: last synced Mon 5 Oct 09:00" in health
    assert "- [PROBLEM] google: last synced never" in health
    assert "needs re-authorising: touchbase auth google" in health
    assert "- [PROBLEM] job planner failing (2 times)" in health
    assert "work: cannot write the calendar" in health
    assert "2 problems" in digest.subject


def test_user_data_is_escaped_in_html(tmp_path):
    evil = "<script>alert(1)</script>"
    cfg = setup_calendar(
        tmp_path,
        meeting("evil", "20261005", "1500", "1530", summary=f"Plan {evil}",
                people=((CAROL, f'"Carol {evil}"'),)),
    )
    with opened(cfg) as (config, store):
        add_note(store, CAROL, f"note {evil} & <b>bold</b>", at(MONDAY))
        assert send_digest_if_due(config, store, at(MONDAY))
    (mail,) = outbox_mail(config)
    text, html = parts(mail)
    assert "<script>" not in html and "<b>bold" not in html
    assert "Plan &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Carol &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "note &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert f"Plan {evil}" in text  # the text part shows it as written


def test_exactly_once_a_day_across_restarts(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        assert send_digest_if_due(config, store, at("2026-10-05T07:59:00+02:00")) is None
        assert send_digest_if_due(config, store, at("2026-10-05T08:00:00+02:00")).startswith(
            "morning email of 2026-10-05 for me@acme.example saved to the local outbox")
        assert send_digest_if_due(config, store, at("2026-10-05T08:15:00+02:00")) is None
    for moment in ("2026-10-05T08:16:00+02:00", "2026-10-05T18:00:00+02:00"):
        with opened(cfg) as (config, store):  # each a restart of the agent
            assert send_digest_if_due(config, store, at(moment)) is None
    assert len(outbox_mail(config)) == 1
    with opened(cfg) as (config, store):
        assert send_digest_if_due(config, store, at("2026-10-06T07:00:00+02:00")) is None
        assert send_digest_if_due(config, store, at("2026-10-06T08:01:00+02:00"))
        assert send_digest_if_due(config, store, at("2026-10-10T09:00:00+02:00")) is None  # Saturday
        days = [r["day"] for r in store.db["digests"].rows_where(order_by="day")]
    assert days == ["2026-10-05", "2026-10-06"]
    assert len(outbox_mail(config)) == 2


def test_catch_up_after_sleep_and_on_the_very_first_run(tmp_path):
    cfg = setup_calendar(tmp_path, extra='[digest]\ntime = "08:30"\ndays = ["MO", "WE"]\n')
    with opened(cfg) as (config, store):  # the very first run, long after the time
        line = send_digest_if_due(config, store, at("2026-10-05T16:45:00+02:00"))
        assert line and line.startswith("morning email of 2026-10-05 for me@acme.example saved to the local outbox")
        # The machine sleeps through Wednesday 08:30 and wakes at 13:10: sent once, then not.
        assert send_digest_if_due(config, store, at("2026-10-07T13:10:00+02:00"))
        assert send_digest_if_due(config, store, at("2026-10-07T13:25:00+02:00")) is None
        # Tuesday is not a configured day: nothing to catch up on.
        assert send_digest_if_due(config, store, at("2026-10-06T12:00:00+02:00")) is None
    subjects = [m["Subject"] for m in outbox_mail(config)]
    assert sorted(s[:20] for s in subjects) == ["touchbase Mon 5 Oct:", "touchbase Wed 7 Oct:"]


def test_days_and_time_are_read_in_the_users_zone(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):  # 06:30 UTC is 08:30 in Berlin
        assert send_digest_if_due(config, store, at("2026-10-05T06:30:00+00:00"))
        assert store.db["digests"].get("2026-10-05")["status"] == "sent"


def test_skip_when_empty(tmp_path):
    quiet = setup_calendar(tmp_path / "quiet", with_tracked=False,
                           extra="[digest]\nskip_when_empty = true\n")
    with opened(quiet) as (config, store):
        assert build_digest(config, store, at(MONDAY)).empty
        assert send_digest_if_due(config, store, at(MONDAY)) is None
        assert store.db["digests"].get("2026-10-05")["status"] == "skipped"
        assert send_digest_if_due(config, store, at("2026-10-05T10:00:00+02:00")) is None
    assert outbox_mail(config) == []

    busy = setup_calendar(tmp_path / "busy", extra="[digest]\nskip_when_empty = true\n")
    with opened(busy) as (config, store):
        assert not build_digest(config, store, at(MONDAY)).empty
        assert send_digest_if_due(config, store, at(MONDAY))
    assert len(outbox_mail(config)) == 1


def test_the_digest_can_go_through_a_mail_account_source(tmp_path):
    cfg = setup_calendar(tmp_path)
    account = tmp_path / "account"
    with opened(cfg) as (config, store):
        config.sources.append(SourceConfig("mailbox", "tests.fakes.mail_account:FolderMailAccount",
                                           {"path": str(account), "fail": ""}))
        config.digest.transport = "mailbox"
        assert send_digest_if_due(config, store, at(MONDAY)).endswith("sent via mailbox to me@acme.example")
    assert [p.name for p in (account / "sent").iterdir()] == ["001.eml"]
    assert outbox_mail(config) == []


def test_cli_preview_and_send(tmp_path):
    cfg = setup_calendar(tmp_path)
    preview = run_cli(cfg, "digest", "--preview", now=MONDAY)
    assert preview.exit_code == 0, preview.output
    assert preview.output.startswith("Subject: touchbase Mon 5 Oct: ")
    assert "Who to reconnect with" in preview.output
    html = run_cli(cfg, "digest", "--preview", "--html", now=MONDAY)
    assert html.exit_code == 0 and html.output.startswith("<!DOCTYPE html>")
    with opened(cfg) as (config, _):
        assert outbox_mail(config) == []  # a preview sends nothing

    sent = run_cli(cfg, "digest", "--send", now="2026-10-05T07:00:00+02:00")
    assert sent.exit_code == 0, sent.output
    assert sent.output == ("morning email of 2026-10-05 for me@acme.example saved to the local outbox, not "
                           f"sent: set [digest] transport to send it ({tmp_path / 'data' / 'outbox'})\n")
    with opened(cfg) as (config, store):  # sent by hand on a configured day: it was today's
        assert send_digest_if_due(config, store, at(MONDAY)) is None
    assert len(outbox_mail(config)) == 1
    status = run_cli(cfg, "status", now=MONDAY)
    assert ("morning email: last for 2026-10-05 (at 2026-10-05 07:00) saved to the local outbox, "
            "not sent: set [digest] transport to send it") in flat(status.output)


def test_send_a_second_time_on_a_day_sends_nothing_unless_again(tmp_path):
    cfg = setup_calendar(tmp_path)
    first = run_cli(cfg, "digest", "--send", now="2026-10-05T08:00:00+02:00")
    assert first.exit_code == 0, first.output
    second = run_cli(cfg, "digest", "--send", now="2026-10-05T10:30:00+02:00")
    assert second.exit_code == 2
    assert second.output == ("touchbase: error: the morning email was already sent today at 08:00; "
                             "--again to send another\n")
    with opened(cfg) as (config, _):
        assert len(outbox_mail(config)) == 1
    again = run_cli(cfg, "digest", "--send", "--again", now="2026-10-05T10:31:00+02:00")
    assert again.exit_code == 0, again.output
    with opened(cfg) as (config, _):
        assert len(outbox_mail(config)) == 2
    saturday = run_cli(cfg, "digest", "--send", now="2026-10-10T09:00:00+02:00")  # not a configured day
    assert saturday.exit_code == 0, saturday.output
    assert run_cli(cfg, "digest", "--send", now="2026-10-10T09:05:00+02:00").exit_code == 2
    assert run_cli(cfg, "digest", "--again", now="2026-10-10T09:05:00+02:00").exit_code == 2
