"""Overall deadlines and prompt stops on calendar addresses: a real HTTP server on 127.0.0.1 that
drips its answer one byte at a time or asks to wait with Retry-After, and the daemon stopped by
SIGTERM while it waits on it."""
from __future__ import annotations

import signal
import socketserver
import threading
import time
from pathlib import Path

import pytest

from agent.errors import SourceError, Unreachable
from connectors.ics.http import FetchPolicy, fetch
from tests.fakes.calendar_server import CalendarServer
from tests.helpers import run_cli, write_config
from tests.test_ics_url import NOW, one_meeting
from tests.test_stopping import start


def address_config(folder: Path, server: CalendarServer, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder, [], extra=f'[[sources]]\nname = "work"\ntype = "ics"\n'
                                          f'url = "{server.url}/cal.ics"\n{extra}\n')


def wait_for_request(server: CalendarServer, status: int) -> None:
    """Until the server has answered (or begun to answer) a request with `status`."""
    limit = time.monotonic() + 30
    while status not in server.statuses():
        assert time.monotonic() < limit, server.statuses()
        time.sleep(0.05)


def test_a_server_that_drips_its_answer_is_cut_at_the_deadline(server):
    server.publish("/cal.ics", one_meeting())
    server.drip_seconds = 0.2  # every byte in time, the whole calendar in about a minute
    began = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        fetch(f"{server.url}/cal.ics", None, FetchPolicy(deadline=1.5, timeout=30), "work")
    assert time.monotonic() - began < 10  # the drip alone would take a minute
    assert str(caught.value) == (f"work: {server.url}: no complete answer within 1.5 s (the server "
                                 "is too slow); will try again next sync")


def test_a_sync_against_a_dripping_server_ends_at_the_configured_deadline(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    server.drip_seconds = 0.2
    config = address_config(tmp_path, server, "deadline_seconds = 2")
    began = time.monotonic()
    result = run_cli(config, "sync", now=NOW)
    assert time.monotonic() - began < 8
    assert result.exit_code == 1
    assert result.output.strip() == (f"work: FAILED: {server.url}: no complete answer within 2 s "
                                     "(the server is too slow); will try again next sync")


def test_the_deadline_option_is_bounded(tmp_path, server):
    config = address_config(tmp_path, server, "deadline_seconds = 0")
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 2 and "deadline_seconds must be between 1 and 3600, got 0" in result.output


def test_a_retry_after_longer_than_the_time_left_is_not_slept(server):
    server.publish("/cal.ics", one_meeting())
    waits: list[float] = []
    server.scripted = [(429, {"Retry-After": "59"})]
    with pytest.raises(SourceError) as caught:
        fetch(f"{server.url}/cal.ics", None, FetchPolicy(deadline=10, max_wait=60, sleep=waits.append),
              "work")
    assert waits == [] and server.statuses() == [429]
    assert str(caught.value) == (f"work: {server.url}: HTTP 429; the server asks to wait 59 s, so it is "
                                 "tried again next sync")
    server.scripted = [(429, {"Retry-After": "5"})]  # fits the time left: waited, then read
    assert fetch(f"{server.url}/cal.ics", None, FetchPolicy(deadline=10, sleep=waits.append), "work").body
    assert waits == [5.0]


def test_a_gzip_body_of_several_members_is_decoded_whole(server):
    body = one_meeting().encode()
    server.publish("/cal.ics", body)
    server.gzip, server.gzip_members = True, 3
    assert fetch(f"{server.url}/cal.ics", None, FetchPolicy(), "work").body == body


STOP_BOUND = 15.0
"""A stop is meant to take under 5 s (bench/stop_latency.py measures it); the tests allow more on
a busy machine and still fail when a wait is not ended (then it takes the whole Retry-After of
59 s, or the whole drip)."""


def stopped_within(process, seconds: float = STOP_BOUND, signum: int = signal.SIGTERM) -> tuple[float, str]:
    began = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    return time.monotonic() - began, err


@pytest.mark.parametrize(("wait", "signum"), [("drip", signal.SIGTERM), ("retry_after", signal.SIGTERM),
                                             ("drip", signal.SIGINT)])
def test_sigterm_ends_the_daemon_waiting_on_a_slow_address_within_5_seconds(tmp_path, server, wait, signum):
    server.publish("/cal.ics", one_meeting())
    if wait == "drip":
        server.drip_seconds = 5.0
    else:
        server.scripted = [(429, {"Retry-After": "59"})]
    config = address_config(tmp_path, server)
    process = start(config, "run")
    wait_for_request(server, 200 if wait == "drip" else 429)
    time.sleep(0.5)  # well inside the wait
    took, err = stopped_within(process, signum=signum)
    assert process.returncode == 0, err
    assert took < STOP_BOUND, took
    assert "Traceback" not in err
    assert f"received {signal.Signals(signum).name}" in err


def test_sigterm_ends_run_once_waiting_on_a_slow_address_and_says_what_is_left(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    server.drip_seconds = 5.0
    config = address_config(tmp_path, server)
    process = start(config, "--now", NOW, "run", "--once")
    wait_for_request(server, 200)
    took, err = stopped_within(process)
    assert took < STOP_BOUND and process.returncode == 143, err
    assert "sync: not finished: stopped by SIGTERM while waiting on the network" in err
    assert "touchbase: stopped by SIGTERM before sync, heal, followups" in err
    assert "Traceback" not in err


def wait_until(check, what: str) -> None:
    limit = time.monotonic() + 30
    while not check():
        assert time.monotonic() < limit, what
        time.sleep(0.05)


def test_sigterm_ends_the_daemon_in_a_google_retry_after_wait(tmp_path, google):
    from tests.fakes.google_setup import google_config

    config = google_config(tmp_path, google)
    google.inject(429, reason="rateLimitExceeded", retry_after="59", method="events.list", times=50)
    process = start(config, "run")
    wait_until(lambda: google.counts["events.list"] >= 1, "the daemon never asked Google")
    time.sleep(0.5)  # in the Retry-After wait
    took, err = stopped_within(process)
    assert process.returncode == 0 and took < STOP_BOUND, (took, err)
    assert "Traceback" not in err and google.counts["events.list"] == 1  # not asked again


def test_sigterm_ends_the_daemon_in_a_graph_retry_after_wait(tmp_path, graph):
    from tests.fakes.graph_fixtures import outlook_config, sign_in

    config = outlook_config(tmp_path, graph)
    sign_in(config)
    graph.inject(429, match="GET /v1.0/", count=50, retry_after="59")
    process = start(config, "run")
    wait_until(lambda: any(r.status == 429 for r in graph.graph_requests()), "the daemon never asked Graph")
    time.sleep(0.5)
    took, err = stopped_within(process)
    assert process.returncode == 0 and took < STOP_BOUND, (took, err)
    assert "Traceback" not in err and len(graph.graph_requests()) == 1


class DrippingServer:
    """A TCP server on 127.0.0.1 that answers any HTTP request with its headers at once and then
    one byte of the body every `pause` seconds (a CalDAV server stuck mid-answer)."""

    def __init__(self, pause: float) -> None:
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while self.rfile.readline().strip():
                    pass
                self.wfile.write(b"HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\n"
                                 b"Content-Length: 4096\r\n\r\n")
                try:
                    for _ in range(4096):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(owner.pause)
                except OSError:
                    pass

        self.pause = pause
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/dav/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_caldav_server_that_drips_its_answer_is_cut_at_the_deadline(tmp_path, monkeypatch):
    dripping = DrippingServer(pause=0.2)
    monkeypatch.setenv("DAV_PASSWORD", "pw")
    try:
        config = write_config(tmp_path, [], extra=f'[[sources]]\nname = "dav"\ntype = "caldav"\n'
                                                  f'url = "{dripping.url}"\nusername = "me"\n'
                                                  'password_env = "DAV_PASSWORD"\ndeadline_seconds = 2\n')
        began = time.monotonic()
        result = run_cli(config, "sync", now=NOW)
        assert time.monotonic() - began < 8
    finally:
        dripping.stop()
    assert result.exit_code == 1
    assert "dav: FAILED: " in result.output and "no complete answer within 2 s" in result.output
    assert len(result.output.strip().splitlines()) == 1
