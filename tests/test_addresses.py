"""Hostile calendar data: one parser turns a calendar address into exactly one addr-spec or drops
it (named); recipient headers come from Address objects, so neither a comma in an ATTENDEE nor a
display name built to fold badly can choose who a draft goes to; control characters never reach
the terminal or a header; one bad draft does not stop the others."""
from __future__ import annotations

import logging
from datetime import datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest

from agent.addresses import parse_calendar_address, recipients
from agent.followups import run_followups
from agent.mail import parse_raw
from connectors.google.mapping import to_occurrence as google_occurrence
from connectors.outlook.mapping import to_occurrence as outlook_occurrence
from tests.helpers import Ev, run_cli
from tests.mail_helpers import ALICE, BOB, MONDAY, drafts, meeting, opened, setup_calendar

EVIL_LIST = "mailto:evil@evil.example,victor@acme.example"
FOLDING = "Victor Vandenberghe-Oosterhuis of Platform Engineering <evil@evil.example>: hi"
ENCODED_BREAK = "=?utf-8?q?a=0Ab?="
ESC = "\x1b]0;pwned\x07\x1b[31m"
BERLIN = ZoneInfo("Europe/Berlin")
AFTER = "2026-10-05T10:45:00+02:00"


@pytest.mark.parametrize("value, expected", [
    ("mailto:Bob@Acme.Example", "bob@acme.example"),
    ("bob@acme.example", "bob@acme.example"),
    ("MAILTO:o'neil@acme.example", "o'neil@acme.example"),
    (EVIL_LIST, None),
    ("mailto:evil@evil.example%2Cvictor@acme.example", None),
    ("Victor <victor@acme.example>", None),
    ("<victor@acme.example>", None),
    ("victor @acme.example", None),
    ("victor@acme.example?cc=evil@evil.example", None),
    ('"a,b"@acme.example', None),
    ("a@b@acme.example", None),
    ("victor@acme.example\r\nBcc: evil@evil.example", None),
    ("urn:uuid:4f2a", None),
    ("mailto:", None),
    ("", None),
    # Google exports local parts with stray dots: nothing unsafe in them, so they are addresses.
    ("mailto:Laszlo.@Acme.example", "laszlo.@acme.example"),
    ("la..szlo@acme.example", "la..szlo@acme.example"),
    (".laszlo@acme.example", ".laszlo@acme.example"),
    ("..@acme.example", None),
    ("laszlo.@acme..example", None),
    ("laszlo.@acme.example.", None),
    ("laszlo.,victor@acme.example", None),
    ('laszlo."@acme.example', None),
    ("laszlo.@evil.example@acme.example", None),
])
def test_one_parser_gives_exactly_one_address_or_none(value, expected):
    assert parse_calendar_address(value) == expected


def test_a_folded_display_name_never_changes_the_recipient():
    for name in (FOLDING, "Zoë Ünïcode " * 6 + "<evil@evil.example>, z", ENCODED_BREAK, ESC + "Ann"):
        from email.message import EmailMessage

        message = EmailMessage(policy=policy.default)
        message["To"] = recipients([(name, "victor@acme.example")])
        message.set_content("x")
        back = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
        assert [a.addr_spec for a in back["To"].addresses] == ["victor@acme.example"], name
        assert "\x1b" not in str(back["To"])


def past_meetings(people: tuple[tuple[str, str], ...], prefix: str) -> list[Ev]:
    return [meeting(f"{prefix}-{i}", day, "1500", "1530", people=people)
            for i, day in enumerate(("20260803", "20260831", "20260921"))]


def test_an_attendee_list_in_one_value_is_dropped_and_named(tmp_path, caplog):
    evil = Ev(uid="evil-today", start="20261005T100000", end="20261005T103000",
              summary="Sync", attendees=(f";CN=Victor;PARTSTAT=ACCEPTED:{EVIL_LIST}",))
    history = [Ev(uid=f"evil-{i}", start=f"2026090{i + 1}T100000", end=f"2026090{i + 1}T103000",
                  attendees=(f";CN=Victor;PARTSTAT=ACCEPTED:{EVIL_LIST}",)) for i in range(3)]
    caplog.set_level(logging.WARNING, logger="agent.addresses")
    config = setup_calendar(tmp_path, evil, *history)  # syncs
    assert ("event 'Sync' (evil-today): dropped attendee "
            "'mailto:evil@evil.example,victor@acme.example': not one email address") in caplog.text
    people = run_cli(config, "people", "--json", now=MONDAY).output
    assert "evil@evil.example" not in people and "victor@acme.example" not in people
    with opened(config) as (cfg, store):
        run_followups(cfg, store, datetime.fromisoformat(AFTER))
        for draft in drafts(cfg):
            assert "evil" not in str(draft["To"]) and "victor" not in str(draft["To"])


def test_hostile_display_names_do_not_change_recipients_or_stop_other_drafts(tmp_path):
    today = [
        meeting("fold", "20261005", "1000", "1030", summary="Fold", people=((ALICE, f"\"{FOLDING}\""),)),
        meeting("break", "20261005", "0900", "0930", summary="Break " + ESC,
                people=((BOB, ENCODED_BREAK),)),
    ]
    config = setup_calendar(tmp_path, *today)
    with opened(config) as (cfg, store):
        lines = run_followups(cfg, store, datetime.fromisoformat(AFTER))
    assert len(lines) == 2
    found = {}
    for draft in drafts(cfg):
        raw = draft.as_bytes(policy=policy.SMTP)
        back = parse_raw(raw)
        found[back["Subject"]] = [a.addr_spec for a in back["To"].addresses]
        assert b"\x1b" not in raw and b"\x07" not in raw
    assert found == {"Thanks: Fold": [ALICE], "Thanks: Break ]0;pwned[31m": [BOB]}


def test_control_characters_never_reach_the_terminal(tmp_path):
    hostile = meeting("esc", "20261005", "0800", "0830", summary=f"Plan {ESC}\u202eevil",
                      people=((ALICE, f"Alice {ESC}"),))
    config = setup_calendar(tmp_path, hostile)
    for args in (("sync",), ("digest", "--preview"), ("people",), ("person", ALICE),
                 ("run", "--once")):
        output = run_cli(config, *args, now=AFTER).output
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in output, args


def test_google_and_outlook_mapping_use_the_one_parser():
    google = {"id": "g1", "summary": "x", "start": {"dateTime": "2026-10-05T10:00:00+02:00"},
              "end": {"dateTime": "2026-10-05T10:30:00+02:00"},
              "organizer": {"email": "Me@Acme.Example"},
              "attendees": [{"email": "evil@evil.example,victor@acme.example"},
                            {"email": "Bob@Acme.Example", "displayName": "Bob"}]}
    occ = google_occurrence(google, "primary", BERLIN)
    assert [a.email for a in occ.attendees] == [BOB] and occ.organizer == "me@acme.example"
    graph = {"id": "o1", "subject": "x", "type": "singleInstance",
             "start": {"dateTime": "2026-10-05T08:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2026-10-05T08:30:00", "timeZone": "UTC"},
             "organizer": {"emailAddress": {"address": "<evil@evil.example>"}},
             "attendees": [{"emailAddress": {"address": "victor @acme.example"}},
                           {"emailAddress": {"address": "bob@acme.example", "name": "Bob"}}]}
    occ = outlook_occurrence(graph, BERLIN, ["me@acme.example"])
    assert [a.email for a in occ.attendees] == [BOB] and occ.organizer == ""


def test_a_dotted_local_part_is_quoted_in_headers_and_mailed_to_that_mailbox(tmp_path, smtp_server):
    from agent.mail import enqueue, envelope_to, flush_outgoing, new_message, remove_mail_to
    from tests.helpers import write_config
    from tests.mail_helpers import opened

    with smtp_server("none") as server:
        config_path = write_config(tmp_path, [], extra=(
            '[smtp]\nhost = "127.0.0.1"\n'
            f'port = {server.port}\nsecurity = "none"\nusername = ""\n'))
        with opened(config_path) as (config, store):
            message = new_message(config, to=[("Laszlo Kovacs", "laszlo.@acme.example"),
                                              ("", "la..szlo@acme.example")],
                                  subject="Thanks", text="x", kind="test")
            assert str(message["To"]) == 'Laszlo Kovacs <"laszlo."@acme.example>, "la..szlo"@acme.example'
            enqueue(store, message, "test", "smtp", datetime(2026, 10, 5, tzinfo=BERLIN))
            assert flush_outgoing(config, store, datetime(2026, 10, 5, tzinfo=BERLIN)) == 1
    assert envelope_to(message) == ['"laszlo."@acme.example', '"la..szlo"@acme.example']
    (received,) = server.received  # aiosmtpd gives the mailbox of RCPT TO:<"laszlo."@...> bare
    assert received.rcpt_tos == ["laszlo.@acme.example", "la..szlo@acme.example"]
    back = received.message["To"].addresses
    assert [(a.display_name, a.username, a.domain) for a in back] == [
        ("Laszlo Kovacs", "laszlo.", "acme.example"), ("", "la..szlo", "acme.example")]
    import mailbox
    folder = mailbox.Maildir(tmp_path / "box", create=True)
    folder.add(message.as_bytes())
    assert remove_mail_to(folder, "laszlo.@acme.example") == 1  # `forget` finds it quoted
