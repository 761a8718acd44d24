"""An IMAP server that accepts a connection and then says nothing: one command may take at most
the source's `deadline_seconds`, and SIGTERM ends the daemon's wait on it at once."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli, write_config
from tests.test_deadlines import STOP_BOUND, stopped_within
from tests.test_mail_cli import NOW_TEXT, imap_entry
from tests.test_stopping import start


class SilentServer:
    """Accepts connections on 127.0.0.1 and never sends a byte (not even the IMAP greeting)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def config_for(tmp_path: Path, silent: SilentServer, extra: str = "") -> Path:
    return write_config(tmp_path, [], extra=imap_entry(silent.port, "me") + extra)


def test_a_silent_imap_server_is_cut_at_the_deadline(tmp_path, silent, monkeypatch):
    monkeypatch.setenv("TOUCHBASE_IMAP_PASSWORD", "secret")
    config = config_for(tmp_path, silent, "deadline_seconds = 1\n")
    began = time.monotonic()
    result = run_cli(config, "sync", now=NOW_TEXT)
    assert time.monotonic() - began < 10  # the socket timeout alone is a minute
    assert result.exit_code == 1
    assert "mailbox: FAILED: 127.0.0.1: connecting: no complete answer within 1 s" in result.output


def test_sigterm_ends_the_daemon_waiting_on_a_silent_imap_server(tmp_path, silent, monkeypatch):
    monkeypatch.setenv("TOUCHBASE_IMAP_PASSWORD", "secret")  # the daemon inherits it
    config = config_for(tmp_path, silent)
    process = start(config, "run")
    limit = time.monotonic() + 30
    while not silent.accepted:  # the daemon is waiting for the greeting
        assert process.poll() is None and time.monotonic() < limit
        time.sleep(0.05)
    time.sleep(0.3)
    took, err = stopped_within(process)
    assert process.returncode == 0 and took < STOP_BOUND, (took, err)
    assert "Traceback" not in err
