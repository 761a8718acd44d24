"""The daemon: sd_notify READY/WATCHDOG/STOPPING, clean exit on SIGTERM/SIGINT, the lock,
failing jobs recorded and retried while the loop keeps running."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.daemon.jobs import JOBS, job_health
from agent.daemon.lock import StoreLock, holder_pid
from agent.daemon.loop import MAX_SLEEP_SECONDS, Daemon
from agent.daemon.sdnotify import Notifier
from agent.storage.store import Store
from tests.helpers import Ev, calendar, run_cli, write_config

ALICE = ";PARTSTAT=ACCEPTED:mailto:alice@acme.example"


def small_calendar(path: Path) -> None:
    path.write_text(calendar(
        Ev(uid="m1", start="20260601T100000", end="20260601T103000", attendees=(ALICE,)),
        Ev(uid="m2", start="20260615T100000", end="20260615T103000", attendees=(ALICE,)),
    ))


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    ics = tmp_path / "cal.ics"
    small_calendar(ics)
    return write_config(tmp_path, [ics])


class NotifySocket:
    """A unix datagram socket standing in for systemd's $NOTIFY_SOCKET."""

    def __init__(self, address: str) -> None:
        self.env_value = address
        bind_to = "\0" + address[1:] if address.startswith("@") else address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(bind_to)
        self.sock.settimeout(30)
        self.seen: list[str] = []

    def wait_for(self, line: str) -> list[str]:
        """Receive datagrams until one holds `line`; returns everything received so far."""
        while not any(line in message.splitlines() for message in self.seen):
            self.seen.append(self.sock.recv(4096).decode())
        return self.seen

    def close(self) -> None:
        self.sock.close()


def start_daemon(config: Path, notify: NotifySocket | None, **env: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    if notify:
        environ["NOTIFY_SOCKET"] = notify.env_value
    environ.update(env)
    return subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "run"],
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen, signum: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def test_ready_watchdog_then_sigterm_exits_zero(config_path, tmp_path):
    notify = NotifySocket(str(tmp_path / "notify.sock"))
    proc = start_daemon(config_path, notify, WATCHDOG_USEC="2000000")
    try:
        notify.wait_for("READY=1")
        notify.wait_for("WATCHDOG=1")
        notify.wait_for("STATUS=running sync")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "STOPPING=1" in notify.wait_for("STOPPING=1")[-1]
    assert "stopping after the current job" in err
    notify.close()


def test_abstract_socket_and_sigint(config_path):
    notify = NotifySocket(f"@touchbase-test-{uuid.uuid4().hex}")
    proc = start_daemon(config_path, notify)
    try:
        notify.wait_for("READY=1")
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    notify.wait_for("STOPPING=1")
    assert not any("WATCHDOG=1" in m for m in notify.seen), "no watchdog was asked for"
    notify.close()


def test_second_daemon_exits_with_clear_message(config_path, tmp_path):
    notify = NotifySocket(str(tmp_path / "notify.sock"))
    first = start_daemon(config_path, notify)
    try:
        notify.wait_for("READY=1")
        second = subprocess.run([sys.executable, "-m", "agent", "--config", str(config_path), "run"],
                                capture_output=True, text=True, timeout=60)
        store = tmp_path / "data" / "touchbase.db"
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"touchbase: error: another touchbase daemon is already running on {store} (pid {first.pid})")
        assert holder_pid(store) == first.pid
        status = run_cli(config_path, "status")
        assert f"daemon: running (pid {first.pid})" in status.output
    finally:
        code, err = stop(first)
    assert code == 0, err
    assert holder_pid(tmp_path / "data" / "touchbase.db") is None
    assert "daemon: not running" in run_cli(config_path, "status").output


def test_lock_in_process(tmp_path):
    store_path = tmp_path / "data" / "touchbase.db"
    with StoreLock(store_path):
        from agent.errors import LockHeld

        with pytest.raises(LockHeld, match=rf"already running on {store_path} \(pid {os.getpid()}\)"):
            StoreLock(store_path).acquire()
    with StoreLock(store_path):
        pass


def test_run_once_refuses_while_a_daemon_holds_the_store(config_path, tmp_path):
    with StoreLock(tmp_path / "data" / "touchbase.db"):
        result = run_cli(config_path, "run", "--once")
    assert result.exit_code == 1
    assert "another touchbase daemon is already running on" in result.output


def test_daemon_refuses_now(config_path):
    result = run_cli(config_path, "run", now="2026-07-01T09:00:00+02:00")
    assert result.exit_code == 2
    assert "--now only applies to `run --once`" in result.output


@pytest.fixture
def daemon_parts(tmp_path):
    ics = tmp_path / "cal.ics"
    config = load_config(write_config(tmp_path, [ics]))
    store = Store(config.store_path)
    yield config, store, ics
    store.close()


def test_failing_job_is_recorded_and_retried_while_daemon_runs(daemon_parts):
    config, store, ics = daemon_parts  # the .ics file does not exist yet: sync fails
    daemon = Daemon(config, store, Notifier({}), max_sleep=0.2)
    seen: list[dict] = []

    def repair(config, store, now, heartbeat):
        sync = next(row for row in job_health(store) if row["name"] == "sync")
        seen.append(sync)
        if sync["failing"]:
            small_calendar(ics)
            return "calendar file written"
        daemon.stop()
        return "sync recovered"

    daemon.add(daemon.scheduler.every(1).seconds, "sync", "repair", functions={"repair": repair})
    try:
        assert daemon.run() == 0
    finally:
        daemon.close()
    # start-up pass failed, the 1 s retry failed again (file written after it), the next one worked
    assert [row["failing"] for row in seen] == [True, False]
    assert seen[0]["failures"] == 2 and "file not found" in seen[0]["last_error"]
    health = {row["name"]: row for row in job_health(store)}
    assert health["sync"]["failures"] == 0 and not health["sync"]["failing"]
    assert health["sync"]["last_success"] >= health["sync"]["last_error_at"]
    assert "followups" in health, "the other jobs kept running after sync failed"
    source = {row["name"]: row for row in store.sources()}["work"]
    assert source["occurrences"] == 2


def test_sigterm_lets_the_current_job_finish(daemon_parts):
    config, store, ics = daemon_parts
    small_calendar(ics)
    daemon = Daemon(config, store, Notifier({}))
    order: list[str] = []

    def interrupted(config, store, now, heartbeat):
        order.append("start")
        os.kill(os.getpid(), signal.SIGTERM)
        with store.atomic():
            store.log_action("test", "", "written after SIGTERM", now)
        order.append("end")
        return ""

    def never(config, store, now, heartbeat):
        order.append("next job ran")
        return ""

    daemon.install_signal_handlers()
    try:
        job = daemon.add(daemon.scheduler.every(1).seconds, "first", "second",
                         functions={"first": interrupted, "second": never})
        job.run()  # as the scheduler would when due
        assert daemon.stopping
        assert daemon.run() == 0  # returns at once: the stop flag is set
    finally:
        daemon.close()
    assert order == ["start", "end"]
    assert [a["detail"] for a in store.db["actions"].rows] == ["written after SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_sleep_is_until_next_job_capped_by_watchdog(daemon_parts):
    config, store, _ = daemon_parts
    daemon = Daemon(config, store, Notifier({}))
    daemon.plan()
    try:
        idle = daemon.scheduler.idle_seconds
        assert 0 < daemon.sleep_seconds() <= min(idle, MAX_SLEEP_SECONDS)
        watched = Daemon(config, store, Notifier({"WATCHDOG_USEC": "10000000"}))
        watched.plan()
        assert 0 < watched.sleep_seconds() <= 5
        watched.close()
    finally:
        daemon.close()
    jobs = {job.job_func.args[0]: job for job in daemon.scheduler.jobs}
    # healing right after each sync; the reconnect hour before the planner, its drafts after
    assert jobs[("sync", "heal", "followups", "mail", "digest")].interval == config.daemon.sync_minutes
    daily = jobs[("reconnect-hour", "planner", "reconnect-drafts")]
    assert {name for names in jobs for name in names} == set(JOBS), "every job is on the schedule"
    # schedule keeps next_run as naive system-local time; in the user's zone it is the configured time
    assert daily.next_run.astimezone(config.zone).strftime("%H:%M") == config.daemon.planner_time
    assert jobs[("digest",)].next_run.astimezone(config.zone).strftime("%H:%M") == config.digest.time


def test_logs_to_journald_without_timestamps_with_priorities(config_path):
    read_end, write_end = os.pipe()
    info = os.fstat(write_end)
    environ = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    environ["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config_path), "run"],
                            env=environ, stderr=write_end, stdout=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end, "r") as stream:
        first = stream.readline()
        proc.send_signal(signal.SIGTERM)
        rest = stream.read()
    assert proc.wait(30) == 0
    assert first.startswith("<6>agent.daemon.loop: touchbase daemon started (pid ")
    assert "<6>agent.daemon.loop: touchbase daemon stopped" in rest


def test_notifier_sends_to_abstract_socket_and_respects_watchdog_pid():
    name = f"touchbase-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
        assert notifier.ready("hello")
        assert sock.recv(100) == b"READY=1\nSTATUS=hello"
        assert notifier.watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"
        assert not notifier.watchdog(), "pings are throttled to a tenth of the interval"
        other = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
        assert other.watchdog_seconds is None and not other.watchdog()
    finally:
        sock.close()
    assert not Notifier({}).ready(), "no socket: nothing is sent, nothing fails"


def test_log_lines_carry_the_users_zone_not_the_machines(config_path, tmp_path):
    notify = NotifySocket(str(tmp_path / "notify.sock"))
    proc = start_daemon(config_path, notify, TZ="UTC")  # the machine says UTC; the config Berlin
    try:
        notify.wait_for("READY=1")
    finally:
        code, err = stop(proc)
    assert code == 0, err
    stamped = [line for line in err.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]
    assert stamped, err
    assert all(re.match(r"\S+\+0[12]:00 ", line) for line in stamped), stamped  # CET or CEST
