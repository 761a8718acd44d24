"""Two-way mail moves what contact moves: status, strength and the planner's choice, never the
meeting counts (the morning email's line: tests/test_mail_rules.py)."""
from __future__ import annotations

import json
from datetime import timedelta

from agent.configuration.loader import load_config
from agent.inference import MeetingRules
from agent.mail_signal import store_messages
from agent.model import MailMessage
from agent.storage.store import Store
from tests.helpers import USER, run_cli
from tests.planning_helpers import NOW, NOW_DT, drifting, setup

ALICE = "alice@acme.example"


def exchange(config_path, who: str, days_ago: float) -> None:
    config = load_config(config_path)
    store = Store(config.store_path)
    try:
        when = NOW_DT - timedelta(days=days_ago)
        store_messages(store, "mail", [
            MailMessage(f"a-{days_ago}@acme.example", "test:t", USER, (who,), when - timedelta(hours=2)),
            MailMessage(f"b-{days_ago}@acme.example", "test:t", who, (USER,), when),
        ], MeetingRules(config))
    finally:
        store.close()


def test_recent_two_way_mail_keeps_the_planner_from_booking_and_moves_strength(tmp_path):
    config_path = setup(tmp_path, drifting(ALICE))
    assert run_cli(config_path, "rate", ALICE, "--vital", "5", now=NOW).exit_code == 0
    before = json.loads(run_cli(config_path, "person", ALICE, "--json", now=NOW).output)
    plan = json.loads(run_cli(config_path, "plan", "--json", now=NOW).output)
    assert [a["email"] for a in plan["actions"]] == [ALICE]  # overdue: a touchbase is due
    exchange(config_path, ALICE, 3)
    after = json.loads(run_cli(config_path, "person", ALICE, "--json", now=NOW).output)
    assert (before["status"], after["status"]) == ("overdue", "on track")
    assert after["strength"] > before["strength"]
    assert after["meetings"] == before["meetings"] == 3 and after["email_threads"] == 1
    plan = json.loads(run_cli(config_path, "plan", "--json", now=NOW).output)
    assert plan["actions"] == []  # in touch by mail: nothing to book
