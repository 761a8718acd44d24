"""Follow-up drafts: one per small meeting with a tracked colleague, after it ends, never sent."""
from __future__ import annotations

import mailbox
from datetime import datetime

from agent.configuration.loader import SourceConfig
from agent.followups import run_followups
from agent.mail import flush_outgoing, pending
from agent.notes import add_note
from tests.helpers import calendar, write_config
from tests.mail_helpers import (
    ALICE,
    BOB,
    CAROL,
    MONDAY,
    drafts,
    meeting,
    opened,
    outbox_mail,
    resync,
    setup_calendar,
    tracked_events,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_one_draft_after_the_meeting_ends_and_never_again(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("today-alice", "20261005", "1000", "1030",
                                           summary="Roadmap chat"))
    with opened(cfg) as (config, store):
        add_note(store, ALICE, "Wants to move to the platform team", at(MONDAY))
        assert run_followups(config, store, at("2026-10-05T10:15:00+02:00")) == []  # still on
        lines = run_followups(config, store, at("2026-10-05T10:45:00+02:00"))
        rows = list(store.db["followups"].rows)
    assert len(lines) == 1
    assert "Alice Archer <alice@acme.example>" in lines[0] and "'Roadmap chat'" in lines[0]
    assert [r["key"] for r in rows] == ["work|today-alice|2026-10-05T10:00:00+02:00"]

    (draft,) = drafts(config)
    assert draft["To"] == "Alice Archer <alice@acme.example>"
    assert draft["From"] == "me@acme.example"
    assert draft["Subject"] == "Thanks: Roadmap chat"
    body = draft.get_content()
    assert body.startswith("Hi Alice,\n")
    assert 'thanks for taking the time for "Roadmap chat" today' in body
    assert "[One line on what you took away from it" in body
    assert "anything I can help with" in body
    assert "Wants to move to the platform team" not in body  # a note is private: never in a draft
    assert outbox_mail(config) == []  # a draft is never sent

    folder = mailbox.Maildir(str(config.outbox_path / "Drafts"), create=False)
    (stored,) = folder.values()
    assert stored.get_subdir() == "cur" and "D" in stored.get_flags()

    with opened(cfg) as (config, store):  # a restart: the same occurrence never gets another
        assert run_followups(config, store, at("2026-10-05T12:00:00+02:00")) == []
        assert run_followups(config, store, at("2026-10-06T09:00:00+02:00")) == []
    assert len(drafts(config)) == 1


def test_a_first_run_only_drafts_for_the_last_24_hours(tmp_path):
    cfg = setup_calendar(
        tmp_path,
        meeting("sat-alice", "20261003", "1000", "1030", summary="Saturday walk"),
        meeting("sun-alice", "20261004", "1600", "1630", summary="Sunday call"),
    )
    with opened(cfg) as (config, store):
        lines = run_followups(config, store, at(MONDAY))
    assert len(lines) == 1 and "'Sunday call'" in lines[0]
    assert [d["Subject"] for d in drafts(config)] == ["Thanks: Sunday call"]
    assert "yesterday" in drafts(config)[0].get_content()


def test_the_lookback_is_configurable(tmp_path):
    cfg = setup_calendar(
        tmp_path, meeting("sat-alice", "20261003", "1000", "1030", summary="Saturday walk"),
        extra="[followups]\nlookback_hours = 72\n")
    with opened(cfg) as (config, store):
        assert len(run_followups(config, store, at(MONDAY))) == 2
    assert sorted(d["Subject"] for d in drafts(config)) == ["Thanks: 1:1", "Thanks: Saturday walk"]


def test_only_small_meetings_and_only_tracked_colleagues(tmp_path):
    big = meeting("big", "20261005", "1000", "1100", summary="Four others", people=(
        (ALICE, "Alice Archer"), (BOB, "Bob Baker"), (CAROL, "Carol Chen"),
        ("dave@acme.example", "Dave Diaz")))
    stranger = meeting("stranger", "20261005", "1100", "1130", summary="Intro",
                       people=(("erin@acme.example", "Erin Evans"),))
    cancelled = meeting("cancelled", "20261005", "1130", "1200", summary="Called off",
                        extra="STATUS:CANCELLED")
    cfg = setup_calendar(tmp_path, big, stranger, cancelled)
    with opened(cfg) as (config, store):
        assert run_followups(config, store, at("2026-10-05T13:00:00+02:00")) == []
    assert drafts(config) == []


def test_a_larger_limit_drafts_one_mail_to_the_tracked_people(tmp_path):
    group = meeting("group", "20261005", "1000", "1100", summary="Planning", people=(
        (ALICE, "Alice Archer"), (BOB, "Bob Baker"), (CAROL, "Carol Chen"),
        ("dave@acme.example", "Dave Diaz")))
    cfg = setup_calendar(tmp_path, group, extra="[followups]\nmax_attendees = 4\n")
    with opened(cfg) as (config, store):
        lines = run_followups(config, store, at("2026-10-05T13:00:00+02:00"))
    assert len(lines) == 1
    (draft,) = drafts(config)
    assert draft["To"].addresses and {a.addr_spec for a in draft["To"].addresses} == {ALICE, BOB, CAROL}
    assert draft.get_content().startswith("Hi Alice, Bob and Carol,\n")


def test_disabled_followups_write_nothing(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("today", "20261005", "0700", "0730"),
                         extra="[followups]\nenabled = false\n")
    with opened(cfg) as (config, store):
        assert run_followups(config, store, at(MONDAY)) == []
    assert drafts(config) == []


def test_the_same_meeting_in_two_calendars_gets_one_draft(tmp_path):
    shared = meeting("shared", "20261005", "0700", "0730", summary="Breakfast")
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    first.write_text(calendar(*tracked_events(), shared), encoding="utf-8")
    second.write_text(calendar(shared), encoding="utf-8")
    cfg = write_config(tmp_path, [first, second])
    resync(cfg, MONDAY)
    with opened(cfg) as (config, store):
        assert len(run_followups(config, store, at(MONDAY))) == 1
    assert len(drafts(config)) == 1


def test_drafts_go_to_a_mail_account_and_wait_there_when_it_fails(tmp_path):
    cfg = setup_calendar(tmp_path, meeting("today", "20261005", "0700", "0730", summary="Coffee"))
    account = tmp_path / "account"
    with opened(cfg) as (config, store):
        source = SourceConfig("mailbox", "tests.fakes.mail_account:FolderMailAccount",
                              {"path": str(account), "fail": "HTTP 503 from the drafts API"})
        config.sources.append(source)
        config.followups.transport = "mailbox"
        lines = run_followups(config, store, at(MONDAY))
        assert len(lines) == 1 and "mailbox drafts" in lines[0]
        (queued,) = pending(store)
        assert "HTTP 503 from the drafts API" in queued["last_error"]
        assert not account.exists()

        source.options["fail"] = ""
        assert run_followups(config, store, at("2026-10-05T09:15:00+02:00")) == []  # no second draft
        assert flush_outgoing(config, store, at("2026-10-05T09:30:00+02:00")) == 1
        assert pending(store) == []
    assert [p.name for p in (account / "drafts").iterdir()] == ["001.eml"]
    assert not (account / "sent").exists()  # drafts are never sent
    assert drafts(config) == []
