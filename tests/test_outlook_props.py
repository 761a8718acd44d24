"""A property-based state machine over the Outlook connector and the Graph emulator.

Random interleavings of calendar changes by others, touchbase writes (with lost answers and 429s),
attempts to end series (the agent's own and foreign ones) and syncs. Invariants: each touchbase
exists once; nothing the agent did not create is ever patched or deleted; after a sync the store
holds exactly the calendarView the server has.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from agent.configuration.loader import load_config
from agent.errors import SourceError
from agent.storage.store import Store
from agent.sync import sync_source
from connectors.outlook.graph import RetryPolicy
from tests.fakes.graph_fixtures import at, connector, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.test_outlook_write import spec

COLLEAGUES = ["bob@acme.example", "cid@acme.example", "dee@acme.example"]
DAYS = st.integers(min_value=1, max_value=28)


def test_outlook_state_machine(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    cfg = load_config(config)

    class OutlookMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            graph.reset_data()
            self.store = Store(cfg.store_path)
            self.store.forget_source("office")
            self.conn = connector(config, policy=RetryPolicy(sleep=lambda s: None))
            self.foreign: list[str] = []
            self.own: dict[str, str] = {}

        @rule(day=DAYS, who=st.sampled_from(COLLEAGUES), weekly=st.booleans())
        def someone_adds_a_meeting(self, day, who, weekly):
            start = at(f"2026-09-{day:02d} 10:00")
            recurrence = ({"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                           "range": {"type": "noEnd", "startDate": start.date().isoformat()}} if weekly else None)
            self.foreign.append(graph.mailbox.add_event("Sync", start, start + timedelta(minutes=30),
                                                        attendees=[att(who)], recurrence=recurrence))

        @rule(data=st.data())
        def someone_deletes_a_meeting(self, data):
            alive = [e for e in self.foreign if e in graph.mailbox.events]
            if alive:
                graph.mailbox.delete_event(data.draw(st.sampled_from(alive)))

        @rule(who=st.sampled_from(COLLEAGUES), fault=st.sampled_from(["none", "lost", "429"]))
        def write_touchbase(self, who, fault):
            if fault == "lost":
                graph.drop("POST /v1.0/me/events", when="after")
            elif fault == "429":
                graph.inject(429, "POST /v1.0/me/events", retry_after="1")
            try:
                self.own[who] = self.conn.create_series(spec(who))
            except SourceError:
                self.own[who] = self.conn.create_series(spec(who))  # the retry of the next cycle

        @rule(data=st.data())
        def end_a_series(self, data):
            candidates = list(self.own.values()) + self.foreign
            if not candidates:
                return
            target = data.draw(st.sampled_from(candidates))
            try:
                self.conn.end_series(target, at("2027-03-01 00:00"))
            except SourceError as exc:
                assert target in self.foreign and "did not create" in str(exc)

        @rule()
        def sync(self):
            before = {o.resource for o in self.store.occurrences(source="office")}
            result = sync_source(cfg, self.store, cfg.source("office"), at("2026-10-14 12:00"))
            assert result.ok, result.error
            if result.held:  # a sudden loss is held, then believed on a second answer in a row
                assert {o.resource for o in self.store.occurrences(source="office")} == before
                result = sync_source(cfg, self.store, cfg.source("office"), at("2026-10-14 12:00"))
                assert result.ok and not result.held and result.confirmed, result
            stored = {o.resource for o in self.store.occurrences(source="office")}
            state = self.store.source_state("office")
            start, end = (datetime.fromisoformat(w) for w in state["window"])
            assert stored == set(graph.mailbox.view(start, end))

        @invariant()
        def one_event_per_touchbase_and_nothing_foreign_touched(self):
            tagged = [e for e in graph.mailbox.events.values() if e.get("singleValueExtendedProperties")]
            assert len(tagged) == len(self.own) == graph.routes.creates
            own_ids = set(self.own.values())
            assert set(graph.mailbox.patched) <= own_ids
            assert set(graph.mailbox.deleted) <= own_ids

        def teardown(self):
            self.conn.close()
            self.store.close()

    run_state_machine_as_test(OutlookMachine, settings=settings(
        max_examples=12, stateful_step_count=10, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
