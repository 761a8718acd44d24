"""The morning email goes out exactly once through Gmail and Outlook, even when the process is
killed (SIGKILL) in the instant after the provider accepted it and before the store heard back:
the next run finds the mail in the account's sent mail by its Message-ID instead of sending it
again."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from agent.configuration.loader import load_config
from agent.storage.store import Store
from tests.fakes.google_setup import google_config
from tests.fakes.graph_fixtures import outlook_config, sign_in
from tests.helpers import run_cli

NOW = "2026-10-14T12:00:00+02:00"  # a Wednesday after 08:00: the morning email is due


def run_killed_on_accept(config: Path, arm: Callable[[Callable[..., None]], None]) -> None:
    """`run --once` in a subprocess that the emulator kills (SIGKILL) the moment it accepts a mail."""
    process: list[subprocess.Popen] = []
    arm(lambda *_: os.kill(process[0].pid, signal.SIGKILL))
    process.append(subprocess.Popen(
        [sys.executable, "-m", "agent", "--config", str(config), "--now", NOW, "run", "--once"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    out, err = process[0].communicate(timeout=120)
    assert process[0].returncode == -signal.SIGKILL, (out, err)


def queued_mail(config: Path) -> list[dict]:
    store = Store(load_config(config).store_path)
    try:
        return [{k: v for k, v in row.items() if k != "raw"} for row in store.db["outgoing"].rows]
    finally:
        store.close()


def test_a_kill_right_after_gmail_accepts_the_morning_email_sends_no_second_one(tmp_path, google):
    config = google_config(tmp_path, google, extra='[digest]\ntransport = "gwork"\nto = "me@acme.example"\n')
    run_killed_on_accept(config, lambda hook: setattr(google, "after_send", hook))
    google.after_send = None
    assert len(google.sent) == 1
    [row] = queued_mail(config)
    assert row["sent_at"] is None and row["attempts"] == 1  # the store never heard back

    for _ in range(2):
        assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    assert len(google.sent) == 1  # found in sent mail, not sent again
    [row] = queued_mail(config)
    assert row["sent_at"] and row["last_error"] is None
    status = run_cli(config, "status", now=NOW).output
    assert "morning email: last sent for 2026-10-14" in status  # the queued day settled as sent
    lookups = [q for method, q in google.queries if method == "messages.list"]
    message_id = google.sent[0]["parsed"]["Message-ID"].strip("<>")
    assert lookups and lookups[0]["q"] == [f"rfc822msgid:{message_id}"]


def test_a_kill_right_after_graph_accepts_the_morning_email_sends_no_second_one(tmp_path, graph):
    config = outlook_config(tmp_path, graph, extra='[digest]\ntransport = "office"\nto = "me@acme.example"\n')
    assert "Mail.ReadBasic" in sign_in(config)
    run_killed_on_accept(config, lambda hook: setattr(graph.routes, "after_send", hook))
    graph.routes.after_send = None
    assert len(graph.mailbox.sent) == 1
    assert queued_mail(config)[0]["sent_at"] is None

    for _ in range(2):
        assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    assert len(graph.mailbox.sent) == 1
    assert queued_mail(config)[0]["sent_at"]
    [lookup] = graph.graph_requests("GET /v1.0/me/mailFolders/sentitems/messages")
    message_id = graph.mailbox.sent[0]["internetMessageId"]
    assert lookup.query["$filter"] == f"internetMessageId eq '{message_id}'"


def test_a_mail_the_provider_never_took_is_sent_after_the_lookup(tmp_path, google):
    config = google_config(tmp_path, google, extra='[digest]\ntransport = "gwork"\nto = "me@acme.example"\n')
    google.inject(0, method="messages.send")  # the connection cut before it was carried out
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 1
    assert google.sent == []
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    assert len(google.sent) == 1
    assert [m for m, _ in google.log if m in ("messages.list", "messages.send")][-2:] == [
        "messages.list", "messages.send"]


def test_a_gmail_sign_in_without_the_read_permission_sends_again_with_a_warning(tmp_path, google, caplog):
    from tests.fakes.google_accounts import SCOPE

    scopes = [SCOPE + "calendar.events", SCOPE + "calendar.freebusy", SCOPE + "gmail.compose"]
    config = google_config(tmp_path, google, scopes=scopes,
                           extra='[digest]\ntransport = "gwork"\nto = "me@acme.example"\n')
    google.inject(0, method="messages.send", after=True)  # carried out, the answer lost
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 1
    caplog.set_level(logging.WARNING, logger="agent.mail")
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    assert len(google.sent) == 2  # the one duplicate the docs warn of; never a third
    assert "gwork cannot look up sent mail" in caplog.text
    assert "messages.list" not in [m for m, _ in google.log]  # no call it may not make
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    assert len(google.sent) == 2
