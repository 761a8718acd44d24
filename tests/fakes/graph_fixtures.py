"""Builders for the Outlook tests: configs, a signed-in source, a connector.

The `graph` fixture (a running emulator) is in tests/conftest.py.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.configuration.loader import load_config
from agent.sources import make_context
from connectors.outlook.connector import OutlookConnector
from connectors.outlook.graph import RetryPolicy
from tests.fakes.graph_api import GraphFake
from tests.helpers import USER, run_cli, write_config

BERLIN = ZoneInfo("Europe/Berlin")
NOW = "2026-10-14T12:00:00+02:00"


def at(text: str) -> datetime:
    """A Berlin wall-clock time, e.g. at("2026-10-05 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def outlook_source(fake: GraphFake, name: str = "office", extra: str = "") -> str:
    """The TOML of an outlook source pointed at the emulator."""
    return (f'[[sources]]\nname = "{name}"\ntype = "outlook"\nclient_id = "{fake.client_id}"\n'
            f'authority = "{fake.authority}"\ngraph_endpoint = "{fake.graph_endpoint}"\n{extra}\n')


def outlook_config(tmp_path: Path, fake: GraphFake, extra: str = "", ics: list[Path] | None = None,
                   name: str = "office") -> Path:
    """A config whose sources are the emulator (and optionally .ics files)."""
    return write_config(tmp_path, ics_paths=ics, extra=outlook_source(fake, name) + extra)


def sign_in(config: Path, source: str = "office") -> str:
    """`touchbase auth outlook --source SOURCE` against the emulator's identity endpoints."""
    result = run_cli(config, "auth", "outlook", "--source", source, "--device-code", now=NOW)
    assert result.exit_code == 0, result.output
    return result.output


def connector(config: Path, now: str = NOW, source: str = "office",
              policy: RetryPolicy | None = None) -> OutlookConnector:
    """An OutlookConnector for `source` as the agent would open it."""
    cfg = load_config(config)
    context = make_context(cfg, datetime.fromisoformat(now))
    return OutlookConnector(cfg.source(source), context, policy=policy)


__all__ = ["BERLIN", "NOW", "USER", "at", "connector", "outlook_config", "outlook_source",
           "sign_in"]
