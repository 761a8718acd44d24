"""The Friday reconnect: the list in the morning email only on the reconnect day, and one draft
per person per week written by the follow-ups job into the drafts folder, never sent."""
from __future__ import annotations

from datetime import datetime, timedelta

from agent.daemon.jobs import run_job, run_once
from agent.digest.morning import build_digest
from agent.landscape.reconnect import WEEKLY_LIMIT, draft_key, iso_week, run_reconnect_drafts
from agent.mail import KEY_HEADER
from agent.notes import add_note
from agent.ratings import pause, rate
from tests.helpers import USER, Ev, calendar, run_cli, write_config
from tests.mail_helpers import drafts, opened, outbox_mail, parts

THURSDAY = "2026-11-05T09:00:00+01:00"
FRIDAY = "2026-11-06T09:00:00+01:00"
NEXT_FRIDAY = "2026-11-13T09:00:00+01:00"
ALICE, BOB, CAROL, DAVE = ("alice@acme.example", "bob@acme.example", "carol@acme.example",
                           "dave@acme.example")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def one_on_one(uid: str, who: str, name: str, day: datetime) -> Ev:
    return Ev(uid=uid, start=day.strftime("%Y%m%dT100000"), end=day.strftime("%Y%m%dT103000"),
              attendees=(f";CN={name};PARTSTAT=ACCEPTED:mailto:{who}",
                         f";PARTSTAT=ACCEPTED:mailto:{USER}"))


def met(who: str, name: str, *days_before_thursday: int) -> list[Ev]:
    base = at(THURSDAY)
    return [one_on_one(f"{who}-{d}", who, name, base - timedelta(days=d)) for d in days_before_thursday]


def setup(tmp_path, *events: Ev, extra: str = ""):
    """Alice overdue, Bob due, Carol on track, Dave overdue but with a meeting booked."""
    base = [*met(ALICE, "Alice Archer", 100, 110, 120), *met(BOB, "Bob Baker", 35, 42, 49),
            *met(CAROL, "Carol Chen", 3, 10, 17), *met(DAVE, "Dave Dunn", 100, 110, 120),
            one_on_one("dave-next", DAVE, "Dave Dunn", at(THURSDAY) + timedelta(days=20))]
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(*base, *events), encoding="utf-8")
    config_path = write_config(tmp_path, [ics], extra=extra)
    result = run_cli(config_path, "sync", now=THURSDAY)
    assert result.exit_code == 0, result.output
    return config_path


def friday_lines(text: str) -> list[str] | None:
    if "Friday reconnect list\n" not in text:
        return None
    body = text.split("Friday reconnect list\n", 1)[1].split("\n\n", 1)[0]
    return body.splitlines()[1:]


def test_the_friday_section_only_on_the_reconnect_day(tmp_path):
    cfg = setup(tmp_path)
    friday = run_cli(cfg, "digest", "--preview", now=FRIDAY)
    thursday = run_cli(cfg, "digest", "--preview", now=THURSDAY)
    assert friday.exit_code == 0 and thursday.exit_code == 0
    lines = friday_lines(friday.output)
    assert [line for line in lines if line.startswith("- ")] == [
        "- [OVERDUE] Alice Archer", "- [DUE] Bob Baker"]  # Dave has a meeting booked, Carol is on track
    assert "2 reconnect notes" in friday.output.splitlines()[0]
    assert friday_lines(thursday.output) is None
    # The day is read in the user's zone: Thursday 23:30 UTC is already Friday in Berlin.
    late = run_cli(cfg, "digest", "--preview", now="2026-11-05T23:30:00+00:00")
    assert friday_lines(late.output) is not None


def test_the_reconnect_day_is_configurable(tmp_path):
    cfg = setup(tmp_path, extra='[landscape]\nreconnect_day = "TH"\n')
    assert friday_lines(run_cli(cfg, "digest", "--preview", now=THURSDAY).output) is not None
    assert friday_lines(run_cli(cfg, "digest", "--preview", now=FRIDAY).output) is None


def test_friday_drafts_are_written_once_per_person_per_week(tmp_path):
    cfg = setup(tmp_path, extra='[touchbase]\nmode = "off"\n')
    with opened(cfg) as (config, store):
        add_note(store, ALICE, "Training for a marathon", at(THURSDAY))
        assert run_job(config, store, "reconnect-drafts", at(THURSDAY)).detail == "0 reconnect drafts"
        assert drafts(config) == []
        first = run_job(config, store, "reconnect-drafts", at(FRIDAY))
        assert first.ok and first.detail == ("2 reconnect drafts; saved to the local outbox, not in "
                                             "your mail account: set [followups] transport to a google or "
                                             "outlook source to put drafts there")
        again = run_job(config, store, "reconnect-drafts", at(FRIDAY) + timedelta(hours=6))
        assert again.detail == "0 reconnect drafts"
    with opened(cfg) as (config, store):  # a restart the same week writes nothing more
        assert run_reconnect_drafts(config, store, at("2026-11-06T17:00:00+01:00")) == []
        written = drafts(config)
        rows = list(store.db["followups"].rows_where("kind = 'reconnect'", order_by="key"))
    assert sorted(str(m[KEY_HEADER]) for m in written) == [
        f"reconnect|{ALICE}|2026-W45", f"reconnect|{BOB}|2026-W45"]
    assert [r["key"] for r in rows] == [draft_key(ALICE, "2026-W45"), draft_key(BOB, "2026-W45")]
    assert outbox_mail(config) == []  # drafts are never sent

    alice = next(m for m in written if ALICE in str(m["To"]))
    assert str(alice["To"]) == f"Alice Archer <{ALICE}>"
    assert alice["Subject"] == "Catching up"
    body = alice.get_content()
    assert body.startswith("Hi Alice,\n\nit has been a while since we last talked (July 2026)")
    assert "Would you be up for half an hour" in body
    assert "Training for a marathon" not in body and "For you only" not in body  # private: never in a draft

    with opened(cfg) as (config, store):
        assert len(run_reconnect_drafts(config, store, at(NEXT_FRIDAY))) == 2  # a new week
        assert len(drafts(config)) == 4


def test_notes_go_to_those_the_planner_did_not_book_and_the_email_says_where(tmp_path):
    cfg = setup(tmp_path, extra="[touchbase]\nmax_active = 1\n")
    with opened(cfg) as (config, store):
        rate(store, BOB, at(THURSDAY), role="sponsor")
        results = run_once(config, store, at(FRIDAY))
        assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
        (mail,) = outbox_mail(config)
        text, _ = parts(mail)
        (bob,) = drafts(config)
    assert "Booked a touchbase with Alice Archer" in text
    lines = friday_lines(text)
    # Alice's touchbase (in the local calendar file here) is booked: the agent's own series counts
    # as booked whatever the target (issue 20), so she needs no note; Bob, not booked, gets one
    assert [line for line in lines if line.startswith("- ")] == ["- [DUE] Bob Baker"]
    assert "    update note drafted in the outbox's Drafts folder" in lines
    assert str(bob["To"]) == f"Bob Baker <{BOB}>"
    assert bob["Subject"] == "A quick update from my side"  # a sponsor: an update note
    assert "I would value your opinion on it" in bob.get_content()


def test_a_note_already_drafted_stays_listed_when_a_touchbase_is_booked_later(tmp_path):
    cfg = setup(tmp_path, extra='[touchbase]\nmode = "propose"\n')
    with opened(cfg) as (config, store):
        assert len(run_reconnect_drafts(config, store, at(FRIDAY))) == 2
    assert run_cli(cfg, "approve", ALICE, now=FRIDAY).exit_code == 0
    with opened(cfg) as (config, store):
        lines = friday_lines(build_digest(config, store, at("2026-11-06T09:30:00+01:00")).text)
    # the approved touchbase makes Alice booked (issue 20); her draft stays listed
    assert [line for line in lines if line.startswith("- ")] == ["- [DUE] Bob Baker", "- [BOOKED] Alice Archer"]
    assert lines.count("    reconnect note drafted in the outbox's Drafts folder") == 2


def test_without_touchbases_the_friday_list_is_the_drifting_with_nothing_booked(tmp_path):
    cfg = setup(tmp_path, extra='[touchbase]\nmode = "off"\n')
    with opened(cfg) as (config, store):
        run_once(config, store, at(FRIDAY))
        (mail,) = outbox_mail(config)
    lines = friday_lines(parts(mail)[0])
    assert [line for line in lines if line.startswith("- ")] == [
        "- [OVERDUE] Alice Archer", "- [DUE] Bob Baker"]
    assert lines.count("    reconnect note drafted in the outbox's Drafts folder") == 2


def test_friday_list_leaves_out_paused_and_let_go_colleagues(tmp_path):
    cfg = setup(tmp_path)
    with opened(cfg) as (config, store):
        pause(store, ALICE, at("2026-11-10T00:00:00+01:00"), "declined twice")
    assert run_cli(cfg, "let-go", BOB, now=THURSDAY).exit_code == 0
    with opened(cfg) as (config, store):
        assert run_reconnect_drafts(config, store, at(FRIDAY)) == []
        assert friday_lines(build_digest(config, store, at(FRIDAY)).text) is None
        # The pause is over a week later: Alice is back, Bob stays let go.
        assert [line.split(" in ")[0] for line in run_reconnect_drafts(config, store, at(NEXT_FRIDAY))] == [
            f"reconnect note draft to Alice Archer <{ALICE}>"]
        lines = friday_lines(build_digest(config, store, at(NEXT_FRIDAY)).text)
    assert [line for line in lines if line.startswith("- ")] == ["- [OVERDUE] Alice Archer"]


def test_no_drafts_when_drafts_are_off(tmp_path):
    cfg = setup(tmp_path, extra="[followups]\nenabled = false\n")
    with opened(cfg) as (config, store):
        assert run_reconnect_drafts(config, store, at(FRIDAY)) == []
        assert friday_lines(build_digest(config, store, at(FRIDAY)).text) is not None  # the list stays


def test_the_list_and_the_drafts_are_capped(tmp_path):
    many = [e for i in range(WEEKLY_LIMIT + 3)
            for e in met(f"p{i:02d}@acme.example", f"Person {i:02d}", 100 + i, 110 + i, 120 + i)]
    cfg = setup(tmp_path, *many)
    with opened(cfg) as (config, store):
        assert len(run_reconnect_drafts(config, store, at(FRIDAY))) == WEEKLY_LIMIT
        text = build_digest(config, store, at(FRIDAY)).text
    lines = friday_lines(text)
    assert len([line for line in lines if line.startswith("- ")]) == WEEKLY_LIMIT
    assert "...and 5 more" in text  # 13 + Alice + Bob listed: 15, 10 shown


def test_iso_week_is_the_users_week(tmp_path):
    cfg = setup(tmp_path)
    with opened(cfg) as (config, _):
        assert iso_week(config, at("2026-11-08T23:30:00+00:00")) == "2026-W46"  # Monday in Berlin
        assert iso_week(config, at(FRIDAY)) == "2026-W45"
