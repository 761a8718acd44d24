"""The touchbase planner: reads the agent's own series back, then books or proposes new ones.

One run (daily from the daemon; `touchbase plan` shows the same without changing anything):

1. Read back (`agent.planning.series_run.SeriesRun`): interrupted writes, series the user deleted, declines
   (at `decline_limit` the agent ends its own series and pauses the colleague), let-go colleagues.
2. Heal (`agent.planning.healing.Healer`): the next instances moved off conflicts and single
   declines, or cancelled; a series whose cadence changed is ended and booked on the new rule.
3. Plan: tracked, drifting colleagues with no upcoming small recurring meeting, not paused or let
   go, and without a touchbase, in priority order; at most `max_active` live series and
   `max_new_per_day` new ones a day. Each gets the earliest free slot in working hours; mode
   `auto` writes the series, `propose` records a proposal for `touchbase approve`, `off` neither.
"""
from __future__ import annotations

from datetime import datetime

from agent.addresses import normalise_email
from agent.configuration.loader import Config, SourceConfig, write_target
from agent.errors import AlreadyExists, AuthError, ConfigError, NotFound, SourceError, UserError
from agent.inference import MeetingRules
from agent.model import SeriesSpec
from agent.planning import slots
from agent.planning import touchbases as tb
from agent.planning.healing import Healer
from agent.planning.hours import colleague_hours
from agent.planning.prompts import description_for, title_for
from agent.planning.readback import count_declines, occurrences_by_series
from agent.planning.recurrence import cadence_for, cadence_of
from agent.planning.report import PlannerReport
from agent.planning.series_run import SeriesRun, describe_touchbase
from agent.planning.targets import OpenConnector
from agent.relationships import Relationship, relationship_of, relationships
from agent.sources import local_source, open_connector
from agent.storage import instance_moves as moves
from agent.storage.store import Store
from connectors import connector_class
from connectors.base import Connector

__all__ = ["PlannerReport", "Planner", "OpenConnector", "run_planner", "read_back_series",
           "heal_after_sync", "approve",
           "target_source", "describe_touchbase"]

TARGET_DOWN_AFTER = 2
"""Failed bookings in one run after which the write target itself is taken to be failing."""


def target_source(config: Config) -> SourceConfig:
    """Where new touchbases go: `write_to` (or the first source), or the local calendar file
    when that source only reads."""
    name = write_target(config)
    if not name:
        return local_source(config)
    source = config.source(name)
    if connector_class(source.type).read_only:
        return local_source(config)
    return source


def run_planner(config: Config, store: Store, now: datetime, apply: bool = True) -> PlannerReport:
    """Read back the agent's series, then book (auto) or propose new touchbases.

    `apply=False` changes nothing (neither the store nor any calendar) and reports what a run
    would do. A backend that fails is reported in `errors` and raised as a SourceError at the end
    (after everything else was done and recorded), so the daemon shows the job as failing.
    """
    report = Planner(config, store, now, apply).run()
    if report.errors and apply:
        raise SourceError("planner", "; ".join(report.errors))
    return report


def read_back_series(config: Config, store: Store, now: datetime) -> PlannerReport:
    """Only the read-back half of a run: interrupted writes, deletions, declines (ending and
    pausing at the limit). Books nothing; cheap enough to run after a sync."""
    planner = SeriesRun(config, store, now)
    try:
        planner.read_back()
    finally:
        planner.finish()
    if planner.report.errors:
        raise SourceError("planner", "; ".join(planner.report.errors))
    return planner.report


def heal_after_sync(config: Config, store: Store, now: datetime,
                    open_connector: OpenConnector = open_connector) -> PlannerReport | None:
    """Heal after a sync: the store alone tells whether an instance is in trouble (no request
    to any backend when none is); only then are the write targets opened. None: nothing to do."""
    healer = Healer(config, store, now, open_connector=open_connector)
    if not healer.needs_healing():
        return None
    try:
        healer.heal(ask_backend=False)
    finally:
        healer.finish()
    if healer.report.errors:
        raise SourceError("planner", "; ".join(healer.report.errors))
    return healer.report


def new_declines_synced(config: Config, store: Store, now: datetime) -> bool:
    """True when the synced copies of a live touchbase show more declines than recorded.

    Reads only the store, so a sync can check it every time at no cost to the backends; the
    read-back that acts on it (`read_back_series`) then runs only when there is something new.
    """
    live = [row for row in tb.load(store) if row.state in tb.BOOKED]
    if not live:
        return False
    ids = [key for row in live for key in (row.series_id, row.event_id) if key]
    synced = occurrences_by_series(store.tagged_occurrences(ids), live)
    rules, moved = MeetingRules(config), moves.load(store)
    return any(
        count_declines(synced.get(row.series_id, []), row.email, rules, now,
                       moves.moved_starts(moved, row.series_id))[0] > row.declines
        for row in live
    )


def approve(config: Config, store: Store, email: str, now: datetime) -> str:
    """Book the touchbase proposed for `email` (or one for a colleague you name); returns a line."""
    planner = Planner(config, store, now)
    try:
        planner.read_back()
        line = planner.approve(normalise_email(email))
    finally:
        planner.finish()
    if planner.report.errors:
        raise SourceError("planner", "; ".join(planner.report.errors))
    return line


class Planner(Healer):
    """One planner run: read back, heal, then plan."""

    def run(self) -> PlannerReport:
        """Read back, heal the live series' next instances, then plan (unless the mode is off)."""
        try:
            self.read_back()
            self.heal(ask_backend=True)
            if self.config.touchbase.mode != "off":
                self.follow_cadence()
                self.plan()
        finally:
            self.finish()
        return self.report

    # --- a changed cadence ---------------------------------------------------------------------

    def follow_cadence(self) -> None:
        """End each live series whose rule no longer fits the colleague's cadence and book (or
        propose) one on the new rule; its first instance comes after the last held one."""
        for row in [r for r in self.rows if r.state == tb.ACTIVE and r.start is not None]:
            source = self._source_named(row.target)
            if source is None or not self.cadence_changed(row):
                continue
            try:
                self._end_for_cadence(row, source)
            except SourceError as exc:
                self.report.errors.append(str(exc))
        for email in self.recadenced:
            try:
                self._start_for_cadence(email)
            except SourceError as exc:
                self.report.errors.append(str(exc))
                return

    def _end_for_cadence(self, row: tb.Touchbase, source: SourceConfig) -> None:
        connector = self._connector(source)
        if self.apply:
            connector.end_series(row.event_id, self.now)
            self.targets.wrote(connector.name)
        self._finish_recadence(row, self._name(row.email))

    def _start_for_cadence(self, email: str) -> None:
        """Book (auto) or propose the series on the new rule, unless one is live already."""
        if any(row.email == email and row.state in tb.LIVE for row in self.rows):
            return
        rel = relationship_of(self.config, self.store, email, self.now)
        if self.config.touchbase.mode == "auto":
            self._book(rel, None)
        else:
            self._propose(rel)

    # --- planning ----------------------------------------------------------------------------

    def plan(self) -> None:
        """Withdraw stale proposals, then book or propose for candidates within the limits."""
        if not self.config.user.email:
            raise ConfigError(f"{self.config.path or 'config'}: [user] email is not set; "
                              "touchbases need an organiser")
        if self.apply and self._no_room():
            return
        rels = relationships(self.config, self.store, self.now)
        grouped = tb.by_email(self.rows)
        candidates = [r for r in rels if self._eligible(r, grouped.get(r.email, []))]
        wanted = {r.email for r in candidates}
        for row in [r for r in self.rows if r.state == tb.PROPOSED and r.email not in wanted]:
            self._forget(row)
            self.report.add("withdrawn", row.email, self._name(row.email), "no longer drifting")
        live = sum(1 for row in self.rows if row.state in tb.LIVE)
        today = self._created_today()
        waiting, failures = 0, 0
        for rel in candidates:
            proposal = self._proposal(rel.email)
            if proposal is not None and self.config.touchbase.mode == "propose":
                continue
            if proposal is None and (live >= self.config.touchbase.max_active
                                     or today >= self.config.touchbase.max_new_per_day):
                waiting += 1
                continue
            try:
                done = self._book(rel, proposal) if self.config.touchbase.mode == "auto" else self._propose(rel)
            except SourceError as exc:  # this booking is retried on the next run
                self.report.errors.append(str(exc))
                failures += 1
                if isinstance(exc, AuthError) or failures >= TARGET_DOWN_AFTER:
                    return  # the target itself fails: the others wait for the next run too
                continue  # one bad booking does not stop the others
            if done and proposal is None:
                live, today = live + 1, today + 1
        self._note_waiting(waiting, live, today)

    def _no_room(self) -> bool:
        """True (with a note) when nothing can be booked or withdrawn: ranking is then skipped."""
        if any(row.state == tb.PROPOSED for row in self.rows):
            return False
        limits, live = self.config.touchbase, sum(1 for row in self.rows if row.state in tb.LIVE)
        if live >= limits.max_active:
            self.report.notes.append(f"No new touchbase: {live} of max_active = "
                                     f"{limits.max_active} touchbases in use")
            return True
        if self._created_today() >= limits.max_new_per_day:
            self.report.notes.append(f"No new touchbase: max_new_per_day = "
                                     f"{limits.max_new_per_day} reached today")
            return True
        return False

    def _eligible(self, rel: Relationship, rows: list[tb.Touchbase]) -> bool:
        if not rel.drifting or rel.let_go or rel.paused(self.now) or rel.stats.upcoming_recurring:
            return False
        return not any(row.state in (tb.PENDING, tb.ACTIVE, tb.DELETED) for row in rows)

    def _note_waiting(self, waiting: int, live: int, today: int) -> None:
        if not waiting:
            return
        limits = self.config.touchbase
        why = (f"{live} of max_active = {limits.max_active} touchbases in use"
               if live >= limits.max_active else
               f"max_new_per_day = {limits.max_new_per_day} reached today")
        self.report.notes.append(f"{waiting} more drifting colleague(s) wait: {why}")

    def _created_today(self) -> int:
        zone = self.config.zone
        today = self.now.astimezone(zone).date()
        return sum(1 for row in self.rows if row.created_at.astimezone(zone).date() == today)

    def _proposal(self, email: str) -> tb.Touchbase | None:
        return next((r for r in self.rows if r.email == email and r.state == tb.PROPOSED), None)

    def _propose(self, rel: Relationship) -> bool:
        source = target_source(self.config)
        slot = self._find_slot(self._connector(source), rel.email)
        if slot is None:
            self.report.add("skipped", rel.email, rel.name, "no free slot in working hours in the next 4 weeks")
            return False
        row = tb.Touchbase(series_id=self._next_series_id(rel.email), email=rel.email,
                           state=tb.PROPOSED, created_at=self.now, target=source.name,
                           start=slot.start, rrule=slot.rrule,
                           title=title_for(rel.name, rel.email))
        self.rows.append(row)
        detail = f"{slot.describe()}; book it with: touchbase approve {rel.email}"
        with self._recording():
            self._save(row)
            self._log("touchbase-proposed", rel.email, detail)
        self.report.add("proposed", rel.email, rel.name, detail)
        return True

    def _book(self, rel: Relationship, proposal: tb.Touchbase | None) -> bool:
        """Write a series for `rel`: a pending row first, then the write, then active."""
        source = target_source(self.config)
        connector = self._connector(source)
        slot = self._find_slot(connector, rel.email, proposal.start if proposal else None)
        if slot is None:
            self.report.add("skipped", rel.email, rel.name, "no free slot in working hours in the next 4 weeks")
            return False
        row = proposal or tb.Touchbase(series_id=self._next_series_id(rel.email), email=rel.email,
                                       state=tb.PENDING, created_at=self.now)
        if proposal is None:
            self.rows.append(row)
        row.state, row.target, row.start, row.rrule = tb.PENDING, source.name, slot.start, slot.rrule
        row.title = title_for(rel.name, rel.email)
        spec = self._spec(rel, row, slot)
        self._save(row)
        if self.apply:
            row.event_id = connector.create_series(spec)
            self.targets.wrote(source.name)
        row.state = tb.ACTIVE
        detail = self._booked_detail(row, connector)
        with self._recording():
            self._save(row)
            self._log("touchbase-created", rel.email, detail)
        self.report.add("created", rel.email, rel.name, detail)
        return True

    def approve(self, email: str) -> str:
        """Book the proposal for `email`, or a new touchbase when none was proposed."""
        mine = [row for row in self.rows if row.email == email]
        booked = next((row for row in mine if row.state in tb.BOOKED), None)
        if booked is not None:
            raise AlreadyExists(f"{email} already has a touchbase: {self._describe(booked)}")
        proposal = self._proposal(email)
        live = sum(1 for row in self.rows if row.state in tb.LIVE)
        if proposal is None and live >= self.config.touchbase.max_active:
            raise UserError(f"no room for another touchbase: {live} of max_active = "
                            f"{self.config.touchbase.max_active} in use")
        rel = relationship_of(self.config, self.store, email, self.now)
        if not self._book(rel, proposal):
            raise NotFound(f"no free slot for a touchbase with {email} in working hours in the next 4 weeks")
        return self.report.actions[-1].line(applied=True)

    # --- helpers -----------------------------------------------------------------------------

    def _find_slot(self, connector: Connector, email: str,
                   proposed: datetime | None = None) -> slots.Slot | None:
        """The proposed slot when it is still ahead and free, else the earliest free one, on
        the rule of the colleague's cadence; `connector.busy()` is called once."""
        cadence = cadence_for(self._cadence_days(email))
        start, end = slots.busy_range(self.config, self.now, cadence)
        if self._user_busy is None or self._user_busy_end < end:
            self._user_busy = slots.user_busy(self.config, self.store, start, end)
            self._user_busy_end = end
        theirs = connector.busy(start, end, [email])
        busy = slots.BusyIndex([*self._user_busy, *self._taken, *theirs, *self._proposed_busy(email)])
        zone, load = self.config.zone, self._day_load()
        hours = colleague_hours(self.config, self.store, connector, email)
        slot = (slots.slot_at(proposed, self.config.touchbase.duration_minutes, zone, cadence)
                if proposed else None)
        if slot is None or slot.start < start or not slots.is_free(slot, zone, busy, load):
            slot = slots.find_slot(self.config, busy, self.now, cadence, load, hours)
        if slot is not None:
            taken = slots.checked_occurrences(slot, zone)
            self._taken.extend(taken)
            load.add(begin for begin, _ in taken)
        return slot

    def _proposed_busy(self, email: str) -> list[slots.Interval]:
        """The slots proposed to other colleagues: kept free for when they are approved."""
        minutes, zone = self.config.touchbase.duration_minutes, self.config.zone
        return [interval for row in self.rows
                if row.state == tb.PROPOSED and row.email != email and row.start is not None
                for interval in slots.checked_occurrences(
                    slots.slot_at(row.start, minutes, zone, cadence_of(row.rrule)), zone)]

    def _spec(self, rel: Relationship, row: tb.Touchbase, slot: slots.Slot) -> SeriesSpec:
        minutes = self.config.touchbase.duration_minutes
        return SeriesSpec(
            series_id=row.series_id, colleague=rel.email, colleague_name=rel.name,
            organizer=self.config.user.email, title=row.title,
            description=description_for(row.series_id, minutes), start=slot.start,
            duration_minutes=minutes, timezone=str(self.config.zone), weekday=slot.weekday,
            week_index=slot.week_index, tag=row.series_id, frequency=slot.cadence.frequency,
            interval=slot.cadence.interval,
        )

    def _next_series_id(self, email: str) -> str:
        taken = {row.series_id for row in self.rows}
        number = sum(1 for row in self.rows if row.email == email) + 1
        while tb.series_id_for(email, number) in taken:
            number += 1
        return tb.series_id_for(email, number)
