"""The agent's planner and follow-ups writing through the Outlook source: each lands exactly once
even when Graph's answer is lost (the agent cannot tell whether the write happened) or throttled."""
from __future__ import annotations

from datetime import datetime

from agent.configuration.loader import load_config
from agent.followups import run_followups
from agent.planning.planner import run_planner
from agent.storage import own_series
from agent.storage.store import Store
from agent.sync import sync_all
from tests.fakes.graph_fixtures import NOW, at, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import run_cli

AGENT = ('[touchbase]\nwrite_to = "office"\nmode = "auto"\n'
         '[followups]\ntransport = "office"\n')


def _calendar(mailbox) -> None:
    for day in ("2026-06-03", "2026-07-01", "2026-08-05"):  # Bob: tracked, drifting
        mailbox.add_event("1:1 Bob", at(f"{day} 10:00"), at(f"{day} 10:30"), attendees=[att("bob@acme.example")])
    for day in ("2026-08-12", "2026-09-16", "2026-10-14"):  # Ann: met this morning
        mailbox.add_event("1:1 Ann", at(f"{day} 09:00"), at(f"{day} 09:30"), attendees=[att("ann@acme.example")])


def _cycle(config) -> list[str]:
    """One pass as the daemon does it: sync, follow-ups, planner; returns the errors."""
    cfg = load_config(config)
    store = Store(cfg.store_path)
    now = datetime.fromisoformat(NOW)
    errors = [r.error for r in sync_all(cfg, store, now) if not r.ok]
    run_followups(cfg, store, now)
    try:
        run_planner(cfg, store, now)
    except Exception as exc:  # noqa: BLE001 - the daemon logs a failing job and goes on
        errors.append(str(exc))
    store.close()
    return errors


def test_touchbase_and_draft_land_once_through_outlook(tmp_path, graph):
    config = outlook_config(tmp_path, graph, extra=AGENT)
    sign_in(config)
    _calendar(graph.mailbox)
    graph.drop("POST /v1.0/me/events", when="after")  # the series is created, the answer lost
    graph.drop("POST /v1.0/me/messages", when="after")  # the draft too
    graph.inject(429, "POST /v1.0/me/calendar/getSchedule", retry_after="1")
    first = _cycle(config)
    assert any("network error" in e for e in first)
    for _ in range(2):
        assert _cycle(config) == []

    own = [e for e in graph.mailbox.events.values() if e.get("singleValueExtendedProperties")]
    assert len(own) == 1 and graph.routes.creates == 1
    assert own[0]["attendees"][0]["emailAddress"]["address"] == "bob@acme.example"
    assert own[0]["recurrence"]["pattern"]["type"] == "relativeMonthly"
    drafts = [m for m in graph.mailbox.messages.values() if m.get("isDraft")]
    assert len(drafts) == 1
    assert drafts[0]["toRecipients"][0]["emailAddress"]["address"] == "ann@acme.example"
    assert graph.mailbox.sent == []
    assert graph.mailbox.patched == [] and graph.mailbox.deleted == []

    store = Store(load_config(config).store_path)
    rows = own_series.rows(store)
    assert [(r["email"], r["state"], r["event_id"]) for r in rows] == [("bob@acme.example", "active", own[0]["id"])]
    assert store.db["followups"].count == 1
    assert run_cli(config, "status", now=NOW).exit_code == 0
