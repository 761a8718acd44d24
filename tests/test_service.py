"""The systemd user unit: rendering, quoting, install-service, and `systemd-analyze verify`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.daemon.service import quote, render_unit, template_text, unit_for, writable_paths
from tests.helpers import flat, run_cli, write_config

REPO = Path(__file__).resolve().parent.parent


def directives(text: str) -> dict[str, list[str]]:
    """Key -> values of every `Key=value` line of a unit."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    ics = tmp_path / "cal.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    return write_config(tmp_path, [ics], extra=f'[outbox]\npath = "{tmp_path / "mail"}"\n')


def test_repository_template_is_the_packaged_one():
    assert (REPO / "systemd" / "touchbase.service").read_text() == template_text()


def test_unit_is_hardened_notify_service_with_writable_data_and_config(config_file, tmp_path):
    config = load_config(config_file)
    unit = directives(unit_for(config, config_file))
    assert unit["Type"] == ["notify"] and unit["Restart"] == ["on-failure"]
    assert unit["WatchdogSec"] and unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"] and unit["PrivateTmp"] == ["yes"]
    assert unit["WantedBy"] == ["default.target"]
    [exec_start] = unit["ExecStart"]
    program, *args = exec_start.split(" ")
    assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert args[-3:] == ["--config", str(config_file), "run"]
    # config dir and data dir are both tmp_path here: one path covers them; the outbox is inside
    assert unit["ReadWritePaths"] == [f"-{tmp_path}"]


def test_separate_folders_are_each_writable(tmp_path):
    (tmp_path / "conf").mkdir()
    config_file = write_config(tmp_path / "conf", [tmp_path / "cal.ics"])
    config = load_config(config_file)
    config.store.path = str(tmp_path / "data" / "touchbase.db")
    config.outbox.path = str(tmp_path / "mail")
    assert writable_paths(config, config_file) == [tmp_path / "data", tmp_path / "conf", tmp_path / "mail"]
    config.outbox.path = ""
    assert writable_paths(config, None)[0] == tmp_path / "data"


def test_paths_are_quoted_and_specifiers_escaped():
    assert quote("/home/me/touchbase") == "/home/me/touchbase"
    assert quote("/home/me/My Files/config.toml") == '"/home/me/My Files/config.toml"'
    assert quote("/srv/100%/a$b", in_exec=True) == '"/srv/100%%/a$$b"'
    assert quote("/srv/a$b") == '"/srv/a$b"'
    text = render_unit(["/usr/bin/touchbase", "run"], [Path("/a b")], template="X=@EXEC_START@\n@READ_WRITE_PATHS@\n")
    assert text == 'X=/usr/bin/touchbase run\nReadWritePaths="-/a b"\n'


def test_install_service_writes_unit_and_prints_enable_line(config_file, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run_cli(config_file, "install-service")
    assert result.exit_code == 0, result.output
    unit = tmp_path / "xdg" / "systemd" / "user" / "touchbase.service"
    assert f"Wrote {unit}" in result.output
    assert "systemctl --user enable --now touchbase.service" in result.output
    assert unit.read_text() == unit_for(load_config(config_file), config_file)
    assert (tmp_path / "data").is_dir() and (tmp_path / "mail").is_dir(), "ReadWritePaths exist"
    printed = run_cli(config_file, "install-service", "--print")
    assert printed.output == unit.read_text()
    assert f"service: installed at {unit}" in flat(run_cli(config_file, "status").output)


def test_install_service_without_config_says_how_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = run_cli(tmp_path / "nope.toml", "install-service")
    assert result.exit_code == 2
    assert "no config file here; run `touchbase init`" in result.output
    assert not (tmp_path / "xdg" / "systemd").exists()


def test_python_dash_m_agent_is_the_cli():
    result = subprocess.run([sys.executable, "-m", "agent", "install-service", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "systemd user unit" in result.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(config_file, tmp_path):
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    unit = unit_dir / "touchbase.service"
    unit.write_text(unit_for(load_config(config_file), config_file))
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), SYSTEMD_LOG_LEVEL="warning")
    result = subprocess.run(["systemd-analyze", "--user", "verify", str(unit)],
                            capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0 and "Failed to initialize manager" in result.stderr:
        pytest.skip(f"systemd-analyze cannot run a user manager here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if str(unit) in line or "touchbase.service" in line]
    assert problems == [], "systemd-analyze warned about the unit"
