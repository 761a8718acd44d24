"""`touchbase init` never destroys a config: it writes a temporary file beside it and renames it
over, keeps the old one as config.toml.bak (0600) with --force, and refuses an answer that is not
UTF-8 text or holds control characters before anything is written (the command runs in a
subprocess, so its argv and stdin are bytes as a terminal gives them)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from tests.helpers import Ev, calendar, run_cli

pytestmark = pytest.mark.usefixtures("private_home")  # init writes under HOME / XDG

OLD = "# my hand-edited config\n[user]\nemail = \"old@acme.example\"\n"


@pytest.fixture
def ics(tmp_path: Path) -> Path:
    path = tmp_path / "cal.ics"
    path.write_text(calendar(Ev("a", "20261005T100000", "20261005T103000",
                                attendees=(";PARTSTAT=ACCEPTED:mailto:ann@acme.example",))))
    return path


def init_process(target: Path, *args: bytes, stdin: bytes = b"") -> subprocess.CompletedProcess:
    command = [sys.executable.encode(), b"-m", b"agent", b"--config", bytes(target), b"init", *args]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.run(command, input=stdin, capture_output=True, env=env, timeout=60)


def left_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_init_force_leaves_the_old_config_intact(tmp_path, ics):
    target = tmp_path / "config.toml"
    target.write_text(OLD)
    bad_answers = [
        (b"--email", b"me\xff@acme.example", b"--email: not valid UTF-8 text; nothing was written"),
        (b"--email", b"me@acme.example\x1b[2J", b"--email: holds control characters; nothing was written"),
        (b"--calendar", bytes(ics) + b"\xfe", b"--calendar: not valid UTF-8 text; nothing was written"),
        (b"--calendar", bytes(tmp_path / "missing.ics"), b"missing.ics: no such file"),
    ]
    for flag, value, said in bad_answers:
        args = [b"--force", b"--timezone", b"UTC", b"--email", b"me@acme.example", b"--calendar", bytes(ics)]
        args[args.index(flag) + 1] = value
        done = init_process(target, *args)
        assert done.returncode == 2, done.stderr
        assert said in done.stderr and b"Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert target.read_text() == OLD
        assert left_in(tmp_path) == ["cal.ics", "config.toml"]  # no temp file, no backup


def test_an_answer_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path, ics):
    target = tmp_path / "config.toml"
    target.write_text(OLD)
    done = init_process(target, b"--force", b"--calendar", bytes(ics), b"--timezone", b"UTC",
                        stdin=b"\xff\xfeme@acme.example\n")
    assert done.returncode != 0 and b"Traceback" not in done.stderr
    assert b"not valid UTF-8 text; nothing was written" in done.stdout + done.stderr
    assert target.read_text() == OLD and target.stat().st_size > 0


def test_init_force_keeps_the_old_config_as_a_private_backup(tmp_path, ics):
    target = tmp_path / "config.toml"
    target.write_text(OLD)
    os.chmod(target, 0o644)
    result = run_cli(target, "init", "--force", "--email", "me@acme.example", "--calendar", str(ics),
                     "--timezone", "UTC")
    assert result.exit_code == 0, result.output
    backup = tmp_path / "config.toml.bak"
    assert backup.read_text() == OLD and backup.stat().st_mode & 0o777 == 0o600
    assert target.stat().st_mode & 0o777 == 0o600 and load_config(target).user.email == "me@acme.example"
    assert left_in(tmp_path) == ["cal.ics", "config.toml", "config.toml.bak"]


def test_an_empty_config_left_behind_does_not_block_init(tmp_path, ics):
    target = tmp_path / "config.toml"
    target.write_bytes(b"")
    result = run_cli(target, "init", "--email", "me@acme.example", "--calendar", str(ics), "--timezone", "UTC")
    assert result.exit_code == 0, result.output
    assert load_config(target).user.email == "me@acme.example"
    assert not (tmp_path / "config.toml.bak").exists()  # nothing worth keeping
