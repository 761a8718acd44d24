"""Files that hold relationship data or secrets are 0600 in 0700 folders whatever the umask;
a token file found readable by others is tightened with a warning; writing an export where
nothing fits is one line."""
from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.storage.store import Store
from tests.fakes.google_setup import google_config
from tests.helpers import run_cli
from tests.mail_helpers import MONDAY, setup_calendar

AFTER = "2026-10-05T10:45:00+02:00"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a typical shell (022): files 0644 unless the agent sees to it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_the_agent_writes_is_private_whatever_the_umask(tmp_path, loose_umask):
    config = setup_calendar(tmp_path)
    assert run_cli(config, "run", "--once", now=AFTER).exit_code == 0
    export = tmp_path / "out" / "export.json"
    export.parent.mkdir()
    assert run_cli(config, "export", "-o", str(export), now=AFTER).exit_code == 0
    html = tmp_path / "out" / "map.html"
    assert run_cli(config, "map", "--html", str(html), now=AFTER).exit_code == 0
    cfg = load_config(config)
    store = cfg.store_path
    files = [store, export, html, cfg.local_calendar_path]
    files += [p for p in cfg.outbox_path.rglob("*") if p.is_file()]
    assert any("new" in p.parts for p in files)  # the morning email is in the outbox
    for path in files:
        assert path.exists() and mode(path) == 0o600, (path, oct(mode(path)))
    for folder in [store.parent, cfg.outbox_path, *[p for p in cfg.outbox_path.rglob("*") if p.is_dir()]]:
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))
    assert json.loads(export.read_text())["user"] == "me@acme.example"


def test_a_new_store_and_its_wal_and_shm_are_private_outside_the_command_line(tmp_path, loose_umask):
    path = tmp_path / "fresh" / "touchbase.db"
    store = Store(path)  # no CLI, no umask of ours: the store sees to it itself
    try:
        store.log_action("test", "", "a write", datetime.now(UTC))
        wal, shm = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
        assert wal.exists() and shm.exists()
        assert [mode(p) for p in (path, wal, shm)] == [0o600] * 3
        assert mode(path.parent) == 0o700
    finally:
        store.close()


def test_a_store_found_readable_by_others_is_tightened(tmp_path, caplog):
    config = setup_calendar(tmp_path)
    path = load_config(config).store_path
    path.chmod(0o644)
    caplog.set_level(logging.WARNING)
    Store(path).close()
    assert mode(path) == 0o600
    assert f"the store {path} was readable by others (mode 644); tightened to 600" in caplog.text


def test_a_token_file_left_0644_is_tightened_with_a_warning(tmp_path, google, caplog):
    config = google_config(tmp_path, google)
    token = tmp_path / "data" / "tokens" / "gwork.json"
    token.chmod(0o644)
    caplog.set_level(logging.WARNING)
    assert run_cli(config, "sync", now=MONDAY).exit_code == 0
    assert mode(token) == 0o600
    assert f"the token file {token} was readable by others (mode 644)" in caplog.text


def test_an_export_to_a_full_device_is_one_line(tmp_path):
    config = setup_calendar(tmp_path)
    result = run_cli(config, "export", "-o", "/dev/full", now=MONDAY)
    assert result.exit_code == 1
    assert result.output == "touchbase: error: cannot write the export /dev/full: no space left on the disk\n"
    assert Path("/dev/full").exists() and not Path("/dev/full").is_file()
