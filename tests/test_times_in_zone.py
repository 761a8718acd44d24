"""Every time shown or exported is in the user's zone: ISO 8601 with the zone's offset in JSON
(people, person, plan, status, notes, export), the zone's wall clock in text."""
from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import run_cli
from tests.planning_helpers import NOW, drifting, past_meetings, setup

BERLIN = ZoneInfo("Europe/Berlin")
KEN, ERIN = "ken@acme.example", "erin@acme.example"
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")
LATER = "2026-11-30T09:30:00+01:00"


@pytest.fixture
def acted(tmp_path):
    """A store with ratings, a note, logged contact, a let-go, a booked touchbase and a morning
    email, all as of Monday 30 November 2026 in Berlin (UTC+01:00)."""
    config_path = setup(tmp_path, [*drifting(KEN), *past_meetings(ERIN, [5, 40, 80])])
    for args in (("rate", KEN, "--vital", "5"), ("note", KEN, "Moving to Lisbon"),
                 ("log", ERIN, "--kind", "call", "--when", "2026-11-27T15:30"),
                 ("run", "--once"), ("let-go", ERIN)):
        result = run_cli(config_path, *args, now=NOW)
        assert result.exit_code == 0, (args, result.output)
    return config_path


def in_berlin(text: str) -> bool:
    """True when `text` is written with Berlin's offset at that instant (+01:00 or +02:00)."""
    moment = datetime.fromisoformat(text)
    return not text.endswith("Z") and moment.utcoffset() == moment.astimezone(BERLIN).utcoffset()


def instants(value: object) -> list[str]:
    """Every ISO 8601 instant in a JSON value."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in instants(item)]
    if isinstance(value, list):
        return [text for item in value for text in instants(item)]
    return INSTANT.findall(value) if isinstance(value, str) else []


@pytest.mark.parametrize("command", [
    ("people", "--json"), ("person", KEN, "--json"), ("person", ERIN, "--json"), ("plan", "--json"),
    ("status", "--json"), ("notes", KEN, "--json"), ("export",),
])
def test_every_instant_in_json_carries_the_users_offset(acted, command):
    result = run_cli(acted, *command, now=LATER)
    assert result.exit_code == 0, result.output
    found = instants(json.loads(result.output))
    assert found or command[0] == "plan", f"{command}: no instant at all"
    assert [t for t in found if not in_berlin(t)] == [], command


def test_export_writes_rated_at_in_the_users_zone(acted):
    data = json.loads(run_cli(acted, "export", now=LATER).output)
    (ken,) = [row for row in data["people"] if row["email"] == KEN]
    assert ken["rated_at"] == "2026-11-30T08:00:00+01:00"  # stored in UTC: 07:00+00:00
    assert data["exported_at"] == LATER
    (erin,) = [row for row in data["people"] if row["email"] == ERIN]
    assert erin["let_go_at"] == "2026-11-30T08:00:00+01:00"
    (call,) = data["interactions"]
    assert call["at"] == "2026-11-27T15:30:00+01:00"


@pytest.mark.parametrize("command", [
    ("people",), ("person", KEN), ("person", ERIN), ("plan",), ("status",), ("notes", KEN),
])
def test_text_shows_no_utc_time(acted, command):
    result = run_cli(acted, *command, now=LATER)
    assert result.exit_code == 0, result.output
    assert "+00:00" not in result.output and " UTC" not in result.output
    assert all(in_berlin(t) for t in INSTANT.findall(result.output))


def test_text_shows_the_users_wall_clock(acted):
    assert "2026-11-27 15:30" in run_cli(acted, "person", ERIN, now=LATER).output  # the logged call
    status = run_cli(acted, "status", now=LATER).output
    assert "source work: last sync 2026-11-30 08:00" in status  # stored as 07:00 UTC
