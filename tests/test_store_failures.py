"""Failures are facts: out of space, a read-only folder, a locked store and a damaged store are
told apart, each in one line, never a traceback; an intact store is never called damaged."""
from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.storage.failures import StoreDamaged, StoreLocked, store_error
from agent.storage.store import Store
from tests.helpers import Ev, calendar, run_cli, write_config
from tests.mail_helpers import MONDAY, setup_calendar

ROOT = os.geteuid() == 0


def big_calendar(path: Path, count: int) -> None:
    events = [Ev(uid=f"e{i}", start=f"2026{1 + i % 9:02d}{1 + i % 27:02d}T{8 + i % 9:02d}0000",
                 end=f"2026{1 + i % 9:02d}{1 + i % 27:02d}T{8 + i % 9:02d}3000",
                 summary=f"Meeting number {i} " + "x" * 200,
                 attendees=(f";CN=Person {i};PARTSTAT=ACCEPTED:mailto:p{i % 50}@acme.example",))
              for i in range(count)]
    path.write_text(calendar(*events), encoding="utf-8")


def cli(config: Path, *args: str, fsize: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run([sys.executable, "-m", "agent", "--config", str(config), "--now", MONDAY,
                           *args], capture_output=True, text=True, preexec_fn=limit, timeout=120)


def quick_check(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA quick_check").fetchone()[0]


def test_a_full_disk_is_one_line_and_the_store_stays_intact(tmp_path):
    ics = tmp_path / "cal.ics"
    big_calendar(ics, 10)
    config = write_config(tmp_path, [ics])
    assert cli(config, "sync").returncode == 0
    store_path = load_config(config).store_path
    big_calendar(ics, 3000)  # the next sync needs far more room than the limit leaves
    limit = store_path.stat().st_size + 8192
    result = cli(config, "sync", fsize=limit)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert any("no space left on the disk for the store" in line for line in lines), lines
    assert "damaged" not in result.stderr  # an intact store is never called damaged
    assert quick_check(store_path) == "ok"
    assert cli(config, "people").returncode == 0  # intact: every command still works


def test_run_once_on_a_full_disk_reports_failing_jobs_not_a_traceback(tmp_path):
    ics = tmp_path / "cal.ics"
    big_calendar(ics, 10)
    config = write_config(tmp_path, [ics])
    assert cli(config, "sync").returncode == 0
    big_calendar(ics, 3000)
    limit = load_config(config).store_path.stat().st_size + 8192
    result = cli(config, "run", "--once", fsize=limit)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "sync: FAILED: " in result.stderr and "no space left" in result.stderr


def test_a_store_that_cannot_be_created_in_a_read_only_place_is_told_as_such(tmp_path):
    if ROOT:
        where = Path("/sys/fs/touchbase-test/touchbase.db")  # not writable even for root
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        where = folder / "data" / "touchbase.db"
    config = write_config(tmp_path, [])
    config.write_text(config.read_text().replace(str(tmp_path / "data" / "touchbase.db"), str(where)))
    result = run_cli(config, "people", now=MONDAY)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "the store cannot be written" in result.output and "damaged" not in result.output


@pytest.mark.skipif(ROOT, reason="root writes into a chmod 0500 folder: this sub-case needs a user")
def test_an_intact_store_in_a_read_only_folder_is_not_called_damaged(tmp_path):
    config = setup_calendar(tmp_path)
    folder = load_config(config).store_path.parent
    for name in os.listdir(folder):
        (folder / name).chmod(0o400)
    folder.chmod(0o500)
    try:
        result = run_cli(config, "sync", now=MONDAY)
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 1 and "damaged" not in result.output
    assert "read-only" in result.output


def test_a_locked_store_is_told_apart(tmp_path):
    path = tmp_path / "touchbase.db"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = Store(path, timeout=0.1)  # WAL: opening and reading go on
        with pytest.raises(sqlite3.OperationalError) as raised:
            store.conn.execute("INSERT INTO notes (email, created, text) VALUES ('a', 'b', 'c')")
        store.close()
        fact = store_error(path, raised.value)  # what the command line and the jobs report
        assert isinstance(fact, StoreLocked) and "locked by another process" in str(fact)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_damaged_store_is_called_damaged_only_when_sqlite_says_so(tmp_path):
    config = setup_calendar(tmp_path)
    path = load_config(config).store_path
    Store(path).close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # wreck every page after the schema's
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    for name in ("-wal", "-shm"):
        path.with_name(path.name + name).unlink(missing_ok=True)
    result = run_cli(config, "people", now=MONDAY)
    assert result.exit_code == 1
    assert "not a touchbase store or the file is damaged (SQLite's integrity check fails)" in result.output
    assert result.output.count("\n") == 1

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreDamaged):
        Store(garbage)
