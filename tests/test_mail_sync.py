"""Mail sources through the agent's sync: a crash in the middle of a first read finishes with
exact figures, and no subject or body text is anywhere in the data folder afterwards."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from agent.configuration.loader import load_config
from agent.configuration.schema import SourceConfig
from agent.mail_signal import mail_figures
from agent.storage.store import Store
from agent.sync import sync_source
from tests.helpers import write_config
from tests.mail_signal_helpers import ME, NOW, Mail

IMAP_TYPE = "imap"


def conversations(count: int) -> tuple[list[Mail], list[tuple[str, bytes]]]:
    """`count` two-way threads with 20 colleagues: a message in, and the user's answer sent."""
    mails, placed = [], []
    for n in range(count):
        first = Mail(f"c{n % 20}@acme.example", [ME], when=NOW - timedelta(hours=n + 2))
        answer = first.reply(ME, [first.sender], NOW - timedelta(hours=n + 1))
        mails += [first, answer]
        placed += [("INBOX", first.raw()), ("Sent", answer.raw())]
    return mails, placed


def imap(port: int, user: str, kind: str = IMAP_TYPE) -> SourceConfig:
    return SourceConfig(name="mailbox", type=kind, options={
        "host": "127.0.0.1", "port": port, "username": user,
        "password_env": "TOUCHBASE_IMAP_PASSWORD", "tls": "none"})


def sync_now(config_path: Path, source: SourceConfig) -> dict:
    config = load_config(config_path)
    store = Store(config.store_path)
    try:
        result = sync_source(config, store, source, NOW)
        assert result.ok, result.error
        return {e: (f.email_threads, f.last_emailed) for e, f in mail_figures(config, store, NOW).items()}
    finally:
        store.close()


def test_a_crash_in_the_middle_of_a_first_read_finishes_with_exact_figures(dovecot, imap_user, tmp_path):
    _, placed = conversations(700)  # 1,400 messages: three batches of INBOX, then Sent
    dovecot.fill(imap_user, placed)
    config_path = write_config(tmp_path)
    script = textwrap.dedent(f"""
        from datetime import datetime
        from agent.configuration.loader import load_config
        from agent.configuration.schema import SourceConfig
        from agent.storage.store import Store
        from agent.sync import sync_source
        config = load_config({str(config_path)!r})
        source = SourceConfig(name="mailbox", type="tests.fakes.crashing_mailbox:CrashingMailbox",
                              options={imap(dovecot.port, imap_user).options!r})
        sync_source(config, Store(config.store_path), source, datetime.fromisoformat({NOW.isoformat()!r}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    store = Store(load_config(config_path).store_path)
    partial = store.conn.execute("SELECT count(*) FROM mail_contacts").fetchone()[0]
    saved = store.conn.execute("SELECT count(*) FROM mail_sync").fetchone()[0]
    store.close()
    assert 0 < partial < 1400 and saved == 0  # a first batch kept, no state saved
    finished = sync_now(config_path, imap(dovecot.port, imap_user))
    (tmp_path / "control").mkdir()
    control = sync_now(write_config(tmp_path / "control"), imap(dovecot.port, imap_user))
    assert finished == control
    assert sum(t for t, _ in finished.values()) == 700 and len(finished) == 20


def test_no_subject_or_body_text_anywhere_in_the_data_folder(dovecot, imap_user, tmp_path, google, graph):
    from tests.fakes.google_setup import write_token
    from tests.fakes.graph_fixtures import outlook_config, sign_in

    mails, placed = conversations(30)
    dovecot.fill(imap_user, placed)
    for mail in mails[:20]:
        google.add_mail(mail.raw(), ["SENT"] if mail.sender == ME else ["INBOX"],
                        thread_id=(mail.references or [mail.message_id])[0].split("@")[0],
                        received=mail.when)
    for mail in mails[20:40]:
        graph.mail.deliver("sentitems" if mail.sender == ME else "inbox", mail.sender, mail.to,
                           when=mail.when, conversation=(mail.references or [mail.message_id])[0],
                           message_id=mail.message_id, subject=mail.subject, body=mail.body)
    config_path = outlook_config(tmp_path, graph, extra="mail = true\n")
    sign_in(config_path)  # with Mail.ReadBasic
    office = load_config(config_path).source("office")
    data = tmp_path / "data"
    write_token(data / "tokens" / "gmail.json", google.grant())
    sync_now(config_path, imap(dovecot.port, imap_user))
    sync_now(config_path, SourceConfig(name="gmail", type="google", options={
        "api_endpoint": google.url, "mail": True, "calendars": ["primary"]}))
    figures = sync_now(config_path, office)
    assert sum(t for t, _ in figures.values()) == 30  # the same threads, from three sources
    assert len(graph.graph_requests("/messages/delta")) == 2
    words = [w for m in mails for w in (m.subject, m.body)]
    found = [(path.name, w) for path in data.rglob("*") if path.is_file()
             for w in words if w.encode() in path.read_bytes()]
    assert found == []
