"""The local Maildir outbox: the morning email read back with the email library; the queue
keeps mail the outbox cannot take yet, and a delivery repeated after a crash is not doubled."""
from __future__ import annotations

import mailbox
from datetime import datetime

from agent.digest.morning import send_digest_if_due
from agent.mail import enqueue, flush_outgoing, new_message, pending
from tests.mail_helpers import MONDAY, opened, outbox_mail, parts, setup_calendar


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_morning_email_lands_in_the_outbox_as_text_and_html(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        line = send_digest_if_due(config, store, at(MONDAY))
    assert line == ("morning email of 2026-10-05 for me@acme.example saved to the local outbox, not sent: "
                    f"set [digest] transport to send it ({config.outbox_path})")
    (mail,) = outbox_mail(config)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["From"] == "me@acme.example" and mail["To"] == "me@acme.example"
    assert mail["Subject"].startswith("touchbase Mon 5 Oct: ")
    assert mail["Date"].datetime == at(MONDAY)
    assert mail["Message-ID"]
    text, html = parts(mail)
    assert "Who to reconnect with" in text and "Agent health" in text
    assert "<h2" in html and "Who to reconnect with" in html
    folder = mailbox.Maildir(str(config.outbox_path), create=False)
    assert [m.get_subdir() for m in folder.values()] == ["new"]  # unread, for the mail client


def test_mail_waits_in_the_queue_while_the_outbox_cannot_be_written(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    cfg = setup_calendar(tmp_path, extra=f'[outbox]\npath = "{blocker}"\n')
    with opened(cfg) as (config, store):
        line = send_digest_if_due(config, store, at(MONDAY))
        assert line.startswith("morning email of 2026-10-05 queued for outbox, not delivered yet: outbox:")
        (queued,) = pending(store)
        assert queued["attempts"] == 1 and queued["last_error"]
        assert send_digest_if_due(config, store, at("2026-10-05T10:00:00+02:00")) is None

        blocker.unlink()
        assert flush_outgoing(config, store, at("2026-10-05T10:15:00+02:00")) == 1
        assert pending(store) == []
        assert flush_outgoing(config, store, at("2026-10-05T10:30:00+02:00")) == 0
    (mail,) = outbox_mail(config)
    assert mail["Subject"].startswith("touchbase Mon 5 Oct")


def test_a_delivery_repeated_after_a_crash_is_not_doubled(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        message = new_message(config, to=[("", "me@acme.example")], subject="Hello",
                              text="body", kind="digest", when=at(MONDAY))
        mail_id = enqueue(store, message, "digest", "outbox", at(MONDAY))
        assert flush_outgoing(config, store, at(MONDAY)) == 1
        # The crash: the mail reached the Maildir, the store never heard back.
        store.db.conn.execute("UPDATE outgoing SET sent_at = NULL WHERE id = ?", (mail_id,))
        assert flush_outgoing(config, store, at(MONDAY)) == 1
    assert [m["Subject"] for m in outbox_mail(config)] == ["Hello"]


def test_user_data_cannot_add_mail_headers(tmp_path):
    cfg = setup_calendar(tmp_path)
    with opened(cfg) as (config, store):
        message = new_message(config, to=[("Eve\r\nBcc: x@evil.example", "eve@acme.example")],
                              subject="Hi\nBcc: y@evil.example", text="body", kind="digest")
        enqueue(store, message, "digest", "outbox", at(MONDAY))
        flush_outgoing(config, store, at(MONDAY))
    (mail,) = outbox_mail(config)
    assert mail["Bcc"] is None
    assert [a.addr_spec for a in mail["To"].addresses] == ["eve@acme.example"]
