"""SIGTERM and SIGINT stop `run --once` and the daemon cleanly from their first instant: the write
in progress finishes, nothing is left half-written, and the exit status says what happened
(`run --once`: 0 when every job ran, else 143 / 130; the daemon: 0)."""
from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from agent.configuration.loader import load_config
from tests.fakes.calendar_server import CalendarServer
from tests.helpers import calendar, run_cli, write_config
from tests.mail_helpers import MONDAY, setup_calendar, tracked_events

SEED = 11


def handles_stop_signals(pid: int) -> bool:
    """True once the process has a handler for both SIGTERM and SIGINT (SigCgt in /proc): the
    two are installed one after the other, and a test may send either."""
    wanted = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16) & wanted == wanted
    except FileNotFoundError:
        pass
    return False


def start(config: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "agent", "--config", str(config), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not handles_stop_signals(process.pid):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.001)
    return process


def integrity(config: Path) -> str:
    path = load_config(config).store_path
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def maildir_leftovers(config: Path) -> list[Path]:
    """Half-delivered Maildir files (tmp/) anywhere under the outbox."""
    return [p for p in load_config(config).outbox_path.rglob("tmp/*") if p.is_file()]


def test_sigterm_at_any_moment_of_run_once_leaves_nothing_half_written(tmp_path):
    timing = setup_calendar(tmp_path / "timing")
    began = time.monotonic()
    assert start(timing, "--now", MONDAY, "run", "--once").wait(60) == 0
    duration = time.monotonic() - began
    rng = random.Random(SEED)
    for trial in range(8):
        config = setup_calendar(tmp_path / f"trial{trial}")
        process = start(config, "--now", MONDAY, "run", "--once")
        time.sleep(duration * (trial + rng.random()) / 8)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode in (0, 143), (trial, out, err)
        assert "Traceback" not in err
        if process.returncode == 143:
            assert "touchbase: stopped by SIGTERM before " in err
        assert integrity(config) == "ok"
        assert maildir_leftovers(config) == []
        finish = run_cli(config, "run", "--once", now=MONDAY)  # the next run does the rest
        assert finish.exit_code == 0, finish.output
        digests = list((load_config(config).outbox_path / "new").iterdir())
        assert len(digests) == 1  # the morning email once: neither lost nor doubled
    # Whether a random moment lands mid-run depends on the machine's speed; the stop that
    # surely lands mid-run is the next test's.


def test_sigterm_while_the_sync_job_waits_ends_the_wait_and_runs_no_further_job(tmp_path):
    server = CalendarServer(stall_seconds=1.0).start()  # the sync job waits on this address
    try:
        server.publish("/cal.ics", calendar(*tracked_events()))
        config = write_config(tmp_path, [], extra=f'[[sources]]\nname = "work"\ntype = "ics"\n'
                                                  f'url = "{server.url}/cal.ics"\n')
        process = start(config, "--now", MONDAY, "run", "--once")
        deadline = time.monotonic() + 30
        while not server.arrived:  # the sync job is under way
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.001)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 143, err
        assert "Traceback" not in err
        assert "sync: not finished: stopped by SIGTERM while waiting on the network" in err
        stopped_before = err.split("touchbase: stopped by SIGTERM before ", 1)[1]
        assert stopped_before.startswith("sync, ") and "digest" in stopped_before
        assert integrity(config) == "ok" and maildir_leftovers(config) == []
        server.stall_seconds = 0.0
        finish = run_cli(config, "run", "--once", now=MONDAY)  # the next run does the rest
        assert finish.exit_code == 0, finish.output
        assert len(list((load_config(config).outbox_path / "new").iterdir())) == 1
    finally:
        server.stop()


def test_sigterm_while_run_once_starts_stops_before_any_job(tmp_path):
    config = setup_calendar(tmp_path)
    process = start(config, "--now", MONDAY, "run", "--once")
    process.send_signal(signal.SIGTERM)  # the handler is in place: config not read yet
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert ("stopped by SIGTERM before sync, heal, followups, reconnect-hour, planner, reconnect-drafts, "
            "mail, digest") in err
    assert integrity(config) == "ok"


def test_sigint_stops_run_once_with_130(tmp_path):
    config = setup_calendar(tmp_path)
    process = start(config, "--now", MONDAY, "run", "--once")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err


def test_the_daemon_stops_cleanly_in_its_first_instant(tmp_path):
    config = setup_calendar(tmp_path)
    process = start(config, "run")
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert integrity(config) == "ok"
