"""A property-based state machine over sync / plan / crash / decline / delete / move / time.

Whatever the sequence: the local file stays valid with unique UIDs, every series in it carries
the tag, no colleague ever has two live series, capacity holds, a series the user deleted is
never followed by a new one, no instance ever has two overrides and every override is the
agent's, and after a planner run the store agrees with the file (every recorded move is done and
is in the file exactly where it was recorded).
"""
from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from agent.configuration.loader import load_config
from agent.planning import touchbases as tb
from agent.planning.planner import Planner, run_planner
from agent.storage import instance_moves as moves
from agent.storage.store import Store, parse_iso
from agent.sync import sync_all
from connectors.ical.read import TAG_PROPERTY
from connectors.localcal import LocalCalendar
from tests.helpers import calendar, write_config
from tests.planning_helpers import (
    NOW_DT,
    drifting,
    imported_copy,
    local_calendar,
    one_on_one,
    series_in_file,
    write_calendar,
)
from tests.test_planner_readback import Crash, CrashAfterEnd, CrashAfterWrite, CrashBeforeWrite, opener

PEOPLE = [f"c{i}@acme.example" for i in range(4)]


class CrashAfterMove(LocalCalendar):
    """Moves one instance in the file, then the process dies before the move is recorded."""

    def move_instance(self, series_id, original_start, new_start):  # noqa: ANN001
        super().move_instance(series_id, original_start, new_start)
        raise Crash


class CrashBeforeMove(LocalCalendar):
    """The process dies after the pending move is recorded, before the file is written."""

    def move_instance(self, series_id, original_start, new_start):  # noqa: ANN001
        raise Crash
MAX_ACTIVE = 3


class PlannerMachine(RuleBasedStateMachine):
    """The user's world: a calendar, the local file, colleagues who decline, a user who deletes."""

    @initialize()
    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tb-props-"))
        write_calendar(self.dir / "work.ics", [e for who in PEOPLE for e in drifting(who)])
        write_calendar(self.dir / "replies.ics", [])
        path = write_config(self.dir, [self.dir / "work.ics", self.dir / "replies.ics"],
                            extra=f"[touchbase]\nmax_active = {MAX_ACTIVE}\nmax_new_per_day = 2\n")
        self.config = load_config(path)
        self.store = Store(self.config.store_path)
        self.now = NOW_DT
        self.declined: dict[str, set[datetime]] = {}  # UID -> declined occurrence starts
        self.kept_after_delete: dict[str, set[str]] = {}  # colleague -> UIDs allowed after a delete
        self.clashes: list = []  # foreign meetings the user accepted over touchbase instances
        sync_all(self.config, self.store, self.now)

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- rules ---------------------------------------------------------------------------------

    @rule()
    def sync(self) -> None:
        sync_all(self.config, self.store, self.now)

    @rule()
    def plan(self) -> None:
        """What the daemon does: sync, then the planner."""
        sync_all(self.config, self.store, self.now)
        report = run_planner(self.config, self.store, self.now)
        assert report.errors == []
        self._store_agrees_with_file()

    @rule()
    def plan_dry(self) -> None:
        before = self._snapshot()
        Planner(self.config, self.store, self.now, apply=False).run()
        assert self._snapshot() == before

    @rule(kind=st.sampled_from([CrashAfterWrite, CrashBeforeWrite, CrashAfterEnd]))
    def crash(self, kind: type) -> None:
        try:
            Planner(self.config, self.store, self.now, open_connector=opener(kind)).run()
        except Crash:
            pass

    @rule(index=st.integers(0, 10), which=st.sampled_from(["started", "next", "both"]))
    def decline(self, index: int, which: str) -> None:
        """The colleague declines the latest started occurrence, the next one, or both."""
        live = self._live_events()
        if not live:
            return
        who, event = live[index % len(live)]
        uid = str(event["UID"])
        starts = [e.decoded("DTSTART") for e in recurring_ical_events.of(local_calendar(self.config)).between(
            self.now - timedelta(days=40), self.now + timedelta(days=40)) if str(e["UID"]) == uid]
        started = [s for s in starts if s <= self.now][-1:]
        upcoming = [s for s in starts if s > self.now][:1]
        picked = {"started": started, "next": upcoming, "both": started + upcoming}[which]
        if picked:
            self.declined.setdefault(uid, set()).update(picked)
            self._write_replies()
            self.plan()

    @rule(index=st.integers(0, 10))
    def delete(self, index: int) -> None:
        live = self._live_events()
        if not live:
            return
        who, event = live[index % len(live)]
        uid = str(event["UID"])
        cal = local_calendar(self.config)
        cal.subcomponents = [c for c in cal.subcomponents if str(c.get("UID", "")) != uid]
        self.config.local_calendar_path.write_bytes(cal.to_ical())
        self.declined.pop(uid, None)
        self._write_replies()
        remaining = {str(e["UID"]) for e in series_in_file(self.config).get(who, [])}
        known = {row.event_id for row in tb.load(self.store) if row.state == tb.ACTIVE}
        if uid in known:  # a write the agent never recorded (a crash) cannot be told from none
            self.kept_after_delete[who] = self.kept_after_delete.get(who, remaining) & remaining

    @rule(index=st.integers(0, 10), crash=st.sampled_from([None, CrashAfterMove, CrashBeforeMove]))
    def move(self, index: int, crash: type | None) -> None:
        """A foreign meeting lands on a live series' next instance; the planner (perhaps crashing
        in the middle of the move) heals it."""
        live = self._live_events()
        if not live:
            return
        who, event = live[index % len(live)]
        uid = str(event["UID"])
        upcoming = [e.decoded("DTSTART") for e in recurring_ical_events.of(local_calendar(self.config)).between(
            self.now + timedelta(hours=3), self.now + timedelta(days=14)) if str(e["UID"]) == uid]
        if not upcoming:
            return
        start = upcoming[0].replace(tzinfo=None)
        self.clashes.append(one_on_one(f"clash-{len(self.clashes)}", "zed@acme.example", start, minutes=60))
        write_calendar(self.dir / "work.ics", [e for who in PEOPLE for e in drifting(who)] + self.clashes)
        sync_all(self.config, self.store, self.now)
        if crash is not None:
            try:
                Planner(self.config, self.store, self.now, open_connector=opener(crash)).run()
            except Crash:
                pass
        self.plan()

    @rule(days=st.integers(5, 40))
    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def file_is_valid_and_never_duplicates(self) -> None:
        if not hasattr(self, "config") or not self.config.local_calendar_path.exists():
            return
        cal = local_calendar(self.config)
        masters = [e for e in cal.walk("VEVENT") if e.get("RECURRENCE-ID") is None]
        uids = [str(e["UID"]) for e in masters]
        assert len(uids) == len(set(uids))
        assert all(e.get(TAG_PROPERTY) for e in masters)
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
        live = self._live_events(cal)
        assert len(live) <= MAX_ACTIVE
        assert len({who for who, _ in live}) == len(live)
        overrides = [(str(e["UID"]), e.decoded("RECURRENCE-ID")) for e in cal.walk("VEVENT")
                     if e.get("RECURRENCE-ID") is not None and str(e["UID"]) in uids]
        assert len(overrides) == len(set(overrides))  # never a second override of one instance
        assert all(e.get(TAG_PROPERTY) for e in cal.walk("VEVENT") if e.get("RECURRENCE-ID") is not None)
        series = series_in_file(self.config, cal)
        for who, allowed in self.kept_after_delete.items():
            assert {str(e["UID"]) for e in series.get(who, [])} <= allowed

    # --- helpers -------------------------------------------------------------------------------

    def _live_events(self, parsed: icalendar.Calendar | None = None) -> list:
        live = []
        for who, events in sorted(series_in_file(self.config, parsed).items()):
            for event in events:
                if "UNTIL" not in event["RRULE"] and str(event.get("STATUS", "")) != "CANCELLED":
                    live.append((who, event))
        return live

    def _write_replies(self) -> None:
        copies = []
        for who, events in series_in_file(self.config).items():
            for event in events:
                starts = self.declined.get(str(event["UID"]))
                if starts:
                    copies.append(imported_copy(event, who, sorted(starts)))
        (self.dir / "replies.ics").write_text(calendar(*copies))

    def _store_agrees_with_file(self) -> None:
        in_file = {str(e["UID"]): (who, e) for who, events in series_in_file(self.config).items()
                   for e in events}
        limit = self.config.touchbase.decline_limit
        for row in tb.load(self.store):
            assert row.state != tb.PENDING
            if row.state == tb.ACTIVE:
                who, event = in_file[row.event_id]
                assert who == row.email and "UNTIL" not in event["RRULE"]
            if row.declines >= limit:
                assert row.state in (tb.ENDED, tb.DELETED)
            if row.state == tb.ENDED and row.declines >= limit:
                person = self.store.db["people"].get(row.email)
                assert parse_iso(person["paused_until"]) > row.ended_at
        if not self.config.local_calendar_path.exists():
            return
        cal = local_calendar(self.config)
        placed = {(str(e["UID"]).split("@")[0], e.decoded("RECURRENCE-ID")): e for e in cal.walk("VEVENT")
                  if e.get("RECURRENCE-ID") is not None}
        for move in moves.load(self.store).values():
            assert move.state != moves.PENDING  # an interrupted move is finished by the next run
            override = placed.get((move.series_id, move.original_start))
            if override is not None and move.new_start is not None and move.state == moves.DONE:
                assert override.decoded("DTSTART") == move.new_start  # the recorded slot, once

    def _snapshot(self) -> tuple:
        dump = "\n".join(sqlite3.connect(self.config.store_path).iterdump())
        path = self.config.local_calendar_path
        return dump, path.read_bytes() if path.exists() else None


PlannerMachine.TestCase.settings = settings(
    max_examples=15, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPlannerMachine = PlannerMachine.TestCase
