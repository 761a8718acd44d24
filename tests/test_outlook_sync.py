"""Reading an Outlook calendar through the Graph emulator: delta rounds, removals, resyncs."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest

from agent.configuration.loader import load_config
from agent.storage.store import Store
from tests.contract import COLLEAGUE, Backend, ConnectorContract
from tests.contract import NOW as CONTRACT_NOW
from tests.fakes.graph_fixtures import NOW, at, connector, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import people_json, run_cli

WEEKLY_TUESDAY = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"],
                              "firstDayOfWeek": "monday"},
                  "range": {"type": "noEnd", "startDate": "2026-06-02"}}


def _signed_in(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    return config


def _store(config):
    return Store(load_config(config).store_path)


def test_first_sync_costs_the_pages_then_no_change_costs_one_request(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    graph.routes.max_page_size = 7
    master = graph.mailbox.add_event("Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"),
                                     attendees=[att("bob@acme.example")], recurrence=WEEKLY_TUESDAY)
    occurrences = len(graph.mailbox.instances(graph.mailbox.events[master], at("2025-10-14 12:00"),
                                              at("2027-02-11 12:00")))
    graph.reset_log()
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    pages = graph.graph_requests()
    assert len(pages) == math.ceil(occurrences / 7)
    assert all(r.path == "/v1.0/me/calendarView/delta" for r in pages)
    assert _store(config).occurrence_count("office") == occurrences

    graph.reset_log()
    result = run_cli(config, "sync", now=NOW)
    assert "office: unchanged" in result.output
    assert [r.path for r in graph.graph_requests()] == ["/v1.0/me/calendarView/delta"]
    assert "$deltatoken" in graph.graph_requests()[0].query


def test_changes_exceptions_and_removals_are_applied(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    mb = graph.mailbox
    series = mb.add_event("Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"),
                          attendees=[att("bob@acme.example")], recurrence=WEEKLY_TUESDAY)
    single = mb.add_event("1:1 Ann", at("2026-10-05 10:00"), at("2026-10-05 10:30"),
                          attendees=[att("ann@acme.example")])
    before = people_json(config, NOW)
    assert before["bob@acme.example"]["meetings"] == 20
    assert before["ann@acme.example"]["meetings"] == 1

    mb.delete_occurrence(series, at("2026-10-13 09:00"))
    mb.modify_occurrence(series, at("2026-10-06 09:00"), isCancelled=True)
    mb.modify_occurrence(series, at("2026-09-29 09:00"),
                         attendees=[att("bob@acme.example", "declined"), att("cid@acme.example")])
    mb.delete_event(single)
    mb.add_event("1:1 Dee", at("2026-10-07 15:00"), at("2026-10-07 15:30"),
                 attendees=[att("dee@acme.example")])
    after = people_json(config, NOW)
    assert after["bob@acme.example"]["meetings"] == 17
    assert after["bob@acme.example"]["last_met"] == "2026-09-22T09:00:00+02:00"
    assert after["cid@acme.example"]["meetings"] == 1
    assert after["dee@acme.example"]["meetings"] == 1
    assert "ann@acme.example" not in after
    stored = {o.resource for o in _store(config).occurrences(source="office")}
    assert stored == set(mb.view(at("2025-10-14 12:00"), at("2027-02-11 12:00")))


def test_expired_delta_token_means_a_full_resync(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    graph.mailbox.add_event("1:1 Ann", at("2026-10-05 10:00"), at("2026-10-05 10:30"),
                            attendees=[att("ann@acme.example")])
    people_json(config, NOW)
    graph.routes.expire_delta_tokens()
    graph.mailbox.add_event("1:1 Bob", at("2026-10-06 10:00"), at("2026-10-06 10:30"),
                            attendees=[att("bob@acme.example")])
    graph.reset_log()
    people = people_json(config, NOW)
    statuses = [r.status for r in graph.graph_requests()]
    assert statuses == [410, 200]
    assert "$deltatoken" not in graph.graph_requests()[1].query
    assert set(people) == {"ann@acme.example", "bob@acme.example"}
    assert _store(config).occurrence_count("office") == 2


def test_replayed_changes_are_harmless(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    mb = graph.mailbox
    series = mb.add_event("Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"),
                          attendees=[att("bob@acme.example")], recurrence=WEEKLY_TUESDAY)
    people_json(config, NOW)
    graph.routes.replay = True
    mb.delete_occurrence(series, at("2026-10-13 09:00"))
    first = people_json(config, NOW)
    mb.add_event("1:1 Ann", at("2026-10-05 10:00"), at("2026-10-05 10:30"), attendees=[att("ann@acme.example")])
    second = people_json(config, NOW)  # replays the removal before the new change
    third = people_json(config, NOW)  # replays the addition
    assert first["bob@acme.example"]["meetings"] == second["bob@acme.example"]["meetings"] == 19
    assert second == third
    assert _store(config).occurrence_count("office") == len(mb.view(at("2025-10-14 12:00"), at("2027-02-11 12:00")))


def test_items_outside_the_window_are_ignored(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    mb = graph.mailbox
    series = mb.add_event("Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"),
                          attendees=[att("bob@acme.example")], recurrence=WEEKLY_TUESDAY)
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    window_end = max(o.start for o in _store(config).occurrences(source="office"))
    graph.routes.leak_outside = True
    mb.update_event(series, subject="Weekly (renamed)")
    far = mb.add_event("Far future", at("2028-01-10 09:00"), at("2028-01-10 10:00"),
                       attendees=[att("zed@acme.example")])
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    stored = list(_store(config).occurrences(source="office"))
    assert max(o.start for o in stored) == window_end
    assert all(o.title == "Weekly (renamed)" for o in stored)
    assert far not in {o.resource for o in stored}


def test_mapping_of_attendees_rooms_declines_and_own_response(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    mb = graph.mailbox
    mb.add_event("Design review", at("2026-10-05 10:00"), at("2026-10-05 11:00"),
                 organizer="olga@acme.example", response="tentativelyAccepted",
                 attendees=[att("me@acme.example", "none"), att("pat@acme.example", "declined", "optional"),
                            att("room-7@acme.example", "accepted", "resource", "Room 7")])
    mb.add_event("Offsite", at("2026-10-08 00:00"), at("2026-10-09 00:00"), all_day=True)
    mb.add_event("Cancelled", at("2026-10-09 10:00"), at("2026-10-09 10:30"), cancelled=True,
                 organizer="olga@acme.example", attendees=[att("me@acme.example")])
    conn = connector(config)
    changes, state = conn.fetch_changes({})
    conn.close()
    assert changes.full and state["delta_link"]
    by_title = {items[0].title: items[0] for items in changes.upserts.values()}
    review = by_title["Design review"]
    assert review.organizer == "olga@acme.example" and review.user_response == "tentative"
    assert review.series_id == "" and review.resource == review.key
    people = {a.email: a for a in review.attendees}
    assert people["me@acme.example"].response == "tentative"
    assert people["pat@acme.example"].response == "declined" and people["pat@acme.example"].optional
    assert people["room-7@acme.example"].kind == "resource"
    assert by_title["Offsite"].all_day
    assert by_title["Cancelled"].cancelled
    assert review.start == at("2026-10-05 10:00") and review.end - review.start == timedelta(hours=1)


def test_the_same_delta_round_serves_for_weeks_then_the_window_moves_on(tmp_path, graph):
    config = _signed_in(tmp_path, graph)
    graph.mailbox.add_event("Weekly", at("2026-06-02 09:00"), at("2026-06-02 09:30"),
                            attendees=[att("bob@acme.example")], recurrence=WEEKLY_TUESDAY)
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    graph.reset_log()
    assert run_cli(config, "sync", now="2026-11-04T12:00:00+01:00").exit_code == 0  # 3 weeks on
    assert "$deltatoken" in graph.graph_requests()[0].query
    graph.reset_log()
    later = "2026-12-01T12:00:00+01:00"  # past the slack: a new round over the new window
    people = people_json(config, later)
    first = graph.graph_requests()[0].query
    assert "$deltatoken" not in first and first["startDateTime"].startswith("2025-12-01")
    assert people["bob@acme.example"]["last_met"] == "2026-12-01T09:00:00+01:00"
    assert people["bob@acme.example"]["next_meeting"] == "2026-12-08T09:00:00+01:00"


# --- the connector contract (tests/contract.py) -----------------------------------------------


class GraphBackend(Backend):
    """The signed-in user's Outlook calendar in the Graph emulator, changed as in Outlook itself."""

    def __init__(self, folder, fake) -> None:
        self.fake = fake
        self.config = _signed_in(folder, fake)

    def connector(self):
        return connector(self.config, now=CONTRACT_NOW.isoformat())

    def put(self, title, start, minutes=30):
        return self.fake.mailbox.add_event(title, start, start + timedelta(minutes=minutes), tz="UTC",
                                           attendees=[att(COLLEAGUE)])

    def change(self, resource, title):
        self.fake.mailbox.update_event(resource, subject=title)

    def remove(self, resource):
        self.fake.mailbox.delete_event(resource)

    def stale(self, state):
        """Graph answers 410 to every delta link issued so far."""
        self.fake.routes.expire_delta_tokens()
        return state


class TestOutlookContract(ConnectorContract):
    """Outlook through Microsoft Graph against the emulator."""

    @pytest.fixture
    def backend(self, tmp_path, graph):
        return GraphBackend(tmp_path, graph)
