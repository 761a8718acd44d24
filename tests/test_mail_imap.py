"""The IMAP mail reader against a real Dovecot: folders by special use, header-only fetches,
UIDVALIDITY / UIDNEXT bookkeeping, TLS rules, hostile headers."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent.errors import AuthError, ConfigError
from connectors.mail.imap import ImapMailbox
from tests.fakes.imap_server import SENT_NAME, Dovecot
from tests.mail_signal_helpers import ME, NOW, Collected, Mail, imap_source, mail_context


def read(dovecot: Dovecot, user: str, tmp_path: Path, state: dict | None = None,
         **options: object) -> tuple[Collected, dict]:
    sink = Collected()
    port = int(options.pop("port", dovecot.port))  # type: ignore[call-overload]
    mailbox = ImapMailbox(imap_source(port, user, **options), mail_context(tmp_path))
    return sink, mailbox.fetch_mail(state or {}, sink)


def test_reads_inbox_and_the_special_use_sent_folder_whatever_its_name(dovecot, imap_user, tmp_path):
    first = Mail("x@acme.example", [ME])
    answer = first.reply(ME, ["x@acme.example"], NOW - timedelta(days=1))
    dovecot.append(imap_user, first.raw())
    dovecot.append(imap_user, answer.raw(), "Sent")
    sink, state = read(dovecot, imap_user, tmp_path)
    found = sink.by_key()
    assert set(found) == {first.message_id, answer.message_id}
    assert found[answer.message_id].folder == SENT_NAME
    assert found[answer.message_id].sender == ME
    assert found[answer.message_id].recipients == ("x@acme.example",)
    assert found[first.message_id].thread == found[answer.message_id].thread == f"imap:{first.message_id}"
    assert set(state["folders"]) == {"INBOX", "Envoy&AOk-s"}


def test_no_change_sync_fetches_nothing_and_bodies_are_never_fetched(dovecot, imap_user, tmp_path):
    for _ in range(3):
        dovecot.append(imap_user, Mail("x@acme.example", [ME]).raw())
    _, state = read(dovecot, imap_user, tmp_path)
    sink, again = read(dovecot, imap_user, tmp_path, state)
    assert list(sink) == [] and sink.batches == 0 and again == state
    counts = dovecot.wait_for_logouts(imap_user, 5)  # 3 appends + 2 reads
    assert counts[-2] == (3, 0)  # first read: three header fetches, no body
    assert counts[-1] == (0, 0)  # unchanged: no FETCH at all
    assert all(body == 0 for _, body in counts)


def test_only_new_messages_are_fetched_and_nothing_is_marked_seen(dovecot, imap_user, tmp_path):
    dovecot.append(imap_user, Mail("x@acme.example", [ME]).raw())
    _, state = read(dovecot, imap_user, tmp_path)
    newer = Mail("y@acme.example", [ME])
    dovecot.append(imap_user, newer.raw())
    sink, _ = read(dovecot, imap_user, tmp_path, state)
    assert [m.key for m in sink] == [newer.message_id]
    assert dovecot.wait_for_logouts(imap_user, 4)[-1] == (1, 0)
    client = dovecot.client(imap_user)
    client.select("INBOX", readonly=True)
    assert client.search(None, "UNSEEN")[1][0].split() == [b"1", b"2"]
    client.logout()


def test_a_new_uidvalidity_means_that_folder_is_read_again(dovecot, imap_user, tmp_path):
    from connectors.mail.imap_names import encode_name, quoted

    sent = Mail(ME, ["x@acme.example"])
    dovecot.append(imap_user, sent.raw(), "Sent")
    dovecot.append(imap_user, Mail("x@acme.example", [ME]).raw())
    _, state = read(dovecot, imap_user, tmp_path)
    client = dovecot.client(imap_user)
    wire = quoted(encode_name(SENT_NAME))
    assert client.delete(wire)[0] == "OK" and client.create(wire)[0] == "OK"
    client.logout()
    again = Mail(ME, ["z@acme.example"])
    dovecot.append(imap_user, again.raw(), "Sent")
    sink, new_state = read(dovecot, imap_user, tmp_path, state)
    assert [m.key for m in sink] == [again.message_id]  # INBOX unchanged: not read again
    assert new_state["folders"]["Envoy&AOk-s"]["uidvalidity"] != \
        state["folders"]["Envoy&AOk-s"]["uidvalidity"]


def test_configured_folders_replace_the_default(dovecot, imap_user, tmp_path):
    dovecot.append(imap_user, Mail("x@acme.example", [ME]).raw())
    only_sent = Mail(ME, ["x@acme.example"])
    dovecot.append(imap_user, only_sent.raw(), "Sent")
    sink, state = read(dovecot, imap_user, tmp_path, folders=[SENT_NAME])
    assert [m.key for m in sink] == [only_sent.message_id]


def test_hostile_headers(dovecot, imap_user, tmp_path):
    crowd = [f"p{i}@acme.example" for i in range(10_000)]
    folded = (b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?=\r\n <X@Acme.Example>\r\n"
              b"To: \"Me, Myself\"\r\n\t<me@acme.example>,\r\n =?utf-8?b?w4TDpA==?= <y@acme.example>\r\n"
              b"Message-ID: <folded@acme.example>\r\nSubject: =?utf-8?q?ZEBRA?=\r\n\r\nbody\r\n")
    undated = Mail("x@acme.example", [ME], when=None)
    dovecot.append(imap_user, folded)
    dovecot.append(imap_user, Mail("x@acme.example", crowd).raw())
    dovecot.append(imap_user, undated.raw(), when=NOW - timedelta(days=3))
    sink, _ = read(dovecot, imap_user, tmp_path)
    found = sink.by_key()
    assert found["folded@acme.example"].sender == "x@acme.example"
    assert found["folded@acme.example"].recipients == (ME, "y@acme.example")
    assert any(len(m.recipients) == 10_000 for m in sink)
    assert found[undated.message_id].instant == NOW - timedelta(days=3)  # INTERNALDATE


def test_list_and_machine_mail_is_marked_bulk(dovecot, imap_user, tmp_path):
    marked = {"List-Id": "<team.acme.example>", "List-Unsubscribe": "<mailto:u@acme.example>",
              "Precedence": "bulk", "Auto-Submitted": "auto-replied"}
    mails = {name: Mail("x@acme.example", [ME], extra={name: value}) for name, value in marked.items()}
    plain = Mail("x@acme.example", [ME], extra={"Auto-Submitted": "no", "Precedence": "first-class"})
    for mail in [*mails.values(), plain]:
        dovecot.append(imap_user, mail.raw())
    found = read(dovecot, imap_user, tmp_path)[0].by_key()
    assert all(found[m.message_id].bulk for m in mails.values())
    assert not found[plain.message_id].bulk


def test_tls_none_only_on_loopback(tmp_path):
    source = imap_source(143, "me")
    source.options["host"] = "mail.acme.example"
    with pytest.raises(ConfigError, match="only allowed for 127.0.0.1"):
        ImapMailbox(source, mail_context(tmp_path))


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_with_a_trusted_certificate(dovecot, imap_user, tmp_path, tls, smtp_tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_tls.ca))
    dovecot.append(imap_user, Mail("x@acme.example", [ME]).raw())
    port = dovecot.ssl_port if tls == "ssl" else dovecot.port
    sink, _ = read(dovecot, imap_user, tmp_path, port=port, tls=tls)
    assert len(sink) == 1


def test_a_refused_login_is_an_auth_error(dovecot, imap_user, tmp_path, monkeypatch):
    monkeypatch.setenv("TOUCHBASE_IMAP_PASSWORD", "wrong")
    with pytest.raises(AuthError, match="refused the login"):
        read(dovecot, imap_user, tmp_path)


def test_a_long_first_read_reports_progress_batch_by_batch(dovecot, imap_user, tmp_path):
    dovecot.fill(imap_user, [("INBOX", Mail("x@acme.example", [ME]).raw()) for _ in range(600)])
    seen: list[tuple[int, int]] = []
    context = mail_context(tmp_path)
    context.progress = lambda done, total: seen.append((done, total))
    sink = Collected()
    ImapMailbox(imap_source(dovecot.port, imap_user), context).fetch_mail({}, sink)
    assert seen == [(500, 600), (600, 600)] and len(sink) == 600 and sink.batches == 2
