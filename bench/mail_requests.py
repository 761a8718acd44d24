"""Mail signal over HTTP: requests per mail sync of Gmail and Outlook, counted by the emulators.

Drives the real connectors (googleapiclient, requests + msal) against tests/fakes/ with N
two-way threads (default 2,000: 4,000 messages, half received and half sent) and prints, for
each, the requests made, the goal, and the ratio:
  - Gmail first read: 1 users.getProfile + ceil(messages / 500) messages.list pages + 1
    threads.get per thread;
  - Gmail with no new mail: exactly 1 users.history.list;
  - Gmail after one new message in a thread: 1 history.list + 1 threads.get;
  - Outlook first read: ceil(messages per folder / 200) delta pages per folder (inbox and
    sentitems; every conversation already goes both ways, so no conversation lookup);
  - Outlook with no new mail: exactly 1 delta request per folder.
The token refresh is not a mail request and is left out.

    python bench/mail_requests.py [--threads N]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.configuration.loader import parse_config  # noqa: E402
from agent.sources import make_context  # noqa: E402
from agent.storage.store import Store  # noqa: E402
from agent.sync import sync_source  # noqa: E402
from connectors.outlook.connector import OutlookConnector  # noqa: E402
from tests.fakes.google_api import GoogleEmulator  # noqa: E402
from tests.fakes.google_setup import write_token  # noqa: E402
from tests.fakes.graph_api import GraphFake  # noqa: E402
from tests.mail_signal_helpers import ME, Mail  # noqa: E402

NOW = datetime(2026, 11, 5, 12, tzinfo=UTC)


def conversation(n: int) -> tuple[Mail, Mail]:
    first = Mail(f"c{n % 50}@acme.example", [ME], when=NOW - timedelta(hours=2 * n + 2))
    return first, first.reply(ME, [first.sender], NOW - timedelta(hours=2 * n + 1))


def config_for(folder: Path, source: dict) -> object:
    return parse_config({"user": {"email": ME, "timezone": "Europe/Berlin"},
                         "colleagues": {"internal_domains": ["acme.example"]},
                         "store": {"path": str(folder / "data" / "touchbase.db")},
                         "sources": [source]})


def gmail(threads: int) -> list[tuple[str, int, int]]:
    folder = Path(tempfile.mkdtemp(prefix="gmail-bench-"))
    google = GoogleEmulator().start()
    try:
        for n in range(threads):
            first, answer = conversation(n)
            made = google.add_mail(first.raw(), ["INBOX"], received=first.when)
            google.add_mail(answer.raw(), ["SENT"], made["threadId"], answer.when)
        config = config_for(folder, {"name": "gmail", "type": "google", "api_endpoint": google.url,
                                     "mail": True})
        write_token(folder / "data" / "tokens" / "gmail.json", google.grant())
        store = Store(config.store_path)

        def run() -> int:
            google.reset_counts()
            result = sync_source(config, store, config.sources[0], NOW)
            assert result.ok, result.error
            return sum(n for method, n in google.counts.items()
                       if not method.startswith(("oauth.", "events.")))

        rows = [(f"Gmail first read ({2 * threads} messages, {threads} threads)", run(),
                 1 + math.ceil(2 * threads / 500) + threads),
                ("Gmail with no new mail", run(), 1)]
        last, _ = conversation(0)
        google.add_mail(last.reply("c0@acme.example", [ME], NOW).raw(), ["INBOX"],
                        next(m["threadId"] for m in google.mail.values()), NOW)
        rows.append(("Gmail after one new message", run(), 2))
        store.close()
        return rows
    finally:
        google.stop()


def outlook(threads: int) -> list[tuple[str, int, int]]:
    folder = Path(tempfile.mkdtemp(prefix="graph-bench-"))
    fake = GraphFake(folder / "tls").start()
    os.environ["REQUESTS_CA_BUNDLE"] = str(fake.tls.ca)
    try:
        for n in range(threads):
            first, answer = conversation(n)
            fake.mail.deliver("inbox", first.sender, [ME], when=first.when, conversation=f"c{n}",
                              message_id=first.message_id)
            fake.mail.deliver("sentitems", ME, [first.sender], when=answer.when, conversation=f"c{n}",
                              message_id=answer.message_id)
        config = config_for(folder, {"name": "office", "type": "outlook", "client_id": fake.client_id,
                                     "authority": fake.authority, "graph_endpoint": fake.graph_endpoint,
                                     "mail": True})
        source = config.sources[0]
        OutlookConnector.authorize(source, make_context(config, NOW), echo=lambda line: None,
                                   roles=["read", "mail"], device_code=True)
        store = Store(config.store_path)

        def run() -> int:
            fake.reset_log()
            result = sync_source(config, store, source, NOW)
            assert result.ok, result.error
            return len([r for r in fake.graph_requests() if "calendarView" not in r.path])

        rows = [(f"Outlook first read ({2 * threads} messages, 2 folders)", run(),
                 2 * math.ceil(threads / 200)),
                ("Outlook with no new mail", run(), 2)]
        store.close()
        return rows
    finally:
        fake.stop()


def main() -> None:
    """Print the table of request counts; exit 1 when a count misses its goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2000, help="two-way threads in the mailbox")
    args = parser.parse_args()
    rows = gmail(args.threads) + outlook(args.threads)
    width = max(len(name) for name, _, _ in rows)
    print(f"{'operation':<{width}}  requests  goal  ratio")
    for name, made, goal in rows:
        print(f"{name:<{width}}  {made:>8}  {goal:>4}  {made / goal:5.2f}")
    if any(made != goal for _, made, goal in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
