"""Mail signal at scale: the first read and a no-change sync of a 50,000-message IMAP mailbox.

Starts a real Dovecot on loopback (tests/fakes/imap_server.py; Debian `dovecot-imapd` must be
installed), writes N messages straight into the user's Maildir (half received in INBOX, half
sent in the \\Sent folder, in two-way threads with 200 colleagues, a tenth of them list mail),
then times `sync` of an imap source twice through the agent's own sync (store included) and
prints: messages, counted rows, seconds, messages a second, and what Dovecot logged as fetched
(header fetches of the no-change sync must be 0, body fetches always 0).

    python bench/mail_scale.py [N]        # default 50000
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.configuration.loader import load_config  # noqa: E402
from agent.configuration.schema import SourceConfig  # noqa: E402
from agent.mail_signal import mail_figures  # noqa: E402
from agent.storage.store import Store  # noqa: E402
from agent.sync import sync_source  # noqa: E402
from connectors.mail.imap_names import encode_name  # noqa: E402
from tests.fakes.imap_server import PASSWORD, SENT_NAME, Dovecot  # noqa: E402
from tests.fakes.smtp_server import make_tls_files  # noqa: E402

ME = "me@acme.example"
NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)
COLLEAGUES = 200


def message(n: int) -> tuple[bool, bytes]:
    """Message n: (sent by the user?, raw bytes). Pairs n, n+1 form one two-way thread."""
    peer = f"c{(n // 2) % COLLEAGUES}@acme.example"
    when = NOW - timedelta(minutes=7 * n)
    sent = n % 2 == 1
    root = f"t{n // 2}@acme.example"
    lines = [f"From: {ME if sent else peer}", f"To: {peer if sent else ME}",
             f"Date: {format_datetime(when)}", f"Message-ID: <m{n}@acme.example>"]
    if sent:
        lines += [f"References: <{root}>", f"In-Reply-To: <{root}>"]
    else:
        lines[3] = f"Message-ID: <{root}>"
    if n % 10 == 0 and not sent:
        lines.append("List-Id: <all.acme.example>")
    lines += [f"Subject: bench subject {n}", "", f"bench body {n}", ""]
    return sent, "\r\n".join(lines).encode()


def fill(home: Path, count: int, owner: tuple[int, int]) -> None:
    """Write `count` messages into the Maildir under `home` (INBOX and the \\Sent folder)."""
    inbox = home / "Maildir"
    sent = inbox / f".{encode_name(SENT_NAME)}"
    for folder in (inbox, sent):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    for n in range(count):
        is_sent, raw = message(n)
        target = (sent if is_sent else inbox) / "cur" / f"{1700000000 + n}.M{n}P1.bench:2,S"
        target.write_bytes(raw)
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(home):
            for name in [root, *(os.path.join(root, d) for d in dirs),
                         *(os.path.join(root, f) for f in files)]:
                os.chown(name, *owner)


def timed_sync(config_path: Path, source: SourceConfig) -> tuple[float, int | None]:
    config = load_config(config_path)
    store = Store(config.store_path)
    try:
        started = time.perf_counter()
        result = sync_source(config, store, source, NOW)
        assert result.ok, result.error
        return time.perf_counter() - started, result.mail_messages
    finally:
        store.close()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    work = Path(tempfile.mkdtemp(prefix="touchbase-mail-bench-"))
    server = Dovecot(make_tls_files(work / "tls")).start()
    try:
        user = server.add_user()
        fill(server.folder / "mail" / user, count, server._mail_ids())
        os.environ["BENCH_IMAP_PASSWORD"] = PASSWORD
        config_path = work / "config.toml"
        config_path.write_text(f'[user]\nemail = "{ME}"\ntimezone = "Europe/Berlin"\n'
                               f'[colleagues]\ninternal_domains = ["acme.example"]\n'
                               f'[store]\npath = "{work / "data" / "touchbase.db"}"\n')
        source = SourceConfig(name="mailbox", type="imap", options={
            "host": "127.0.0.1", "port": server.port, "username": user,
            "password_env": "BENCH_IMAP_PASSWORD", "tls": "none"})
        first, rows = timed_sync(config_path, source)
        again, _ = timed_sync(config_path, source)
        counts = server.wait_for_logouts(user, 2)
        store = Store(load_config(config_path).store_path)
        threads = sum(f.email_threads for f in mail_figures(load_config(config_path), store, NOW).values())
        store.close()
        print(f"messages in the mailbox:       {count}")
        print(f"first read:                    {first:.1f} s ({count / first:.0f} messages/s), "
              f"{rows} counted rows, {threads} two-way threads in the window")
        print(f"no-change sync:                {again:.3f} s")
        print(f"Dovecot fetches (hdr, body):   first {counts[-2]}, no-change {counts[-1]} "
              "(goal: no-change (0, 0); body always 0)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
