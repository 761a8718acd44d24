"""The booking step of a run: new touchbases for drifting colleagues, within the limits.

Tracked, drifting colleagues with no upcoming small recurring meeting, not paused or let go, and
without a touchbase, in priority order; at most `max_active` live series and `max_new_per_day`
new ones a day. Each gets the earliest free slot in working hours; mode `auto` writes the series,
`propose` records a proposal for `touchbase approve`, `off` neither.
"""
from __future__ import annotations

from datetime import datetime

from agent.errors import AlreadyExists, AuthError, ConfigError, NotFound, SourceError, UserError
from agent.model import SeriesSpec
from agent.planning import slots
from agent.planning import touchbases as tb
from agent.planning.hours import colleague_hours
from agent.planning.prompts import description_for, title_for
from agent.planning.recurrence import cadence_for, cadence_of
from agent.planning.series_run import RunState
from agent.planning.targets import target_source
from agent.relationships import Relationship, relationship_of, relationships
from agent.storage import sources as stored_sources
from connectors.base import Connector

TARGET_DOWN_AFTER = 2
"""Failed bookings in one run after which the write target itself is taken to be failing."""
NO_SLOT = "no free slot in working hours in the next 4 weeks"


class Booking:
    """Books (auto) or proposes touchbases; one `connector.busy()` call per colleague."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self._user_busy: list[slots.Interval] | None = None
        self._user_busy_end = run.now

    # --- planning ----------------------------------------------------------------------------

    def plan(self) -> None:
        """Withdraw stale proposals, then book or propose for candidates within the limits."""
        run = self.run
        if not run.config.user.email:
            raise ConfigError(f"{run.config.path or 'config'}: [user] email is not set; "
                              "touchbases need an organiser")
        if held := stored_sources.suspects(run.store):  # a sudden loss is not a reason to book
            run.report.notes.append(f"No new touchbase while {', '.join(held)} "
                                    f"{'is' if len(held) == 1 else 'are'} held after a sudden loss "
                                    "(see `touchbase status`)")
            return
        if run.apply and self._no_room():
            return
        rels = relationships(run.config, run.store, run.now)
        grouped = tb.by_email(run.rows)
        candidates = [r for r in rels if self._eligible(r, grouped.get(r.email, []))]
        wanted = {r.email for r in candidates}
        for row in [r for r in run.rows if r.state == tb.PROPOSED and r.email not in wanted]:
            run.forget(row)
            run.report.add("withdrawn", row.email, run.name(row.email), "no longer drifting")
        self._book_candidates(candidates)

    def _book_candidates(self, candidates: list[Relationship]) -> None:
        """Book or propose in priority order until the limits or the write target stop it."""
        run, limits = self.run, self.run.config.touchbase
        live, today = run.live_count(), self._created_today()
        waiting, failures = 0, 0
        for rel in candidates:
            proposal = self.proposal(rel.email)
            if proposal is not None and limits.mode == "propose":
                continue
            if proposal is None and (live >= limits.max_active or today >= limits.max_new_per_day):
                waiting += 1
                continue
            try:
                done = self.book(rel, proposal) if limits.mode == "auto" else self.propose(rel)
            except SourceError as exc:  # this booking is retried on the next run
                run.fail(exc)
                failures += 1
                if isinstance(exc, AuthError) or failures >= TARGET_DOWN_AFTER:
                    return  # the target itself fails: the others wait for the next run too
                continue  # one bad booking does not stop the others
            if done and proposal is None:
                live, today = live + 1, today + 1
        self._note_waiting(waiting, live, today)

    def _no_room(self) -> bool:
        """True (with a note) when nothing can be booked or withdrawn: ranking is then skipped."""
        run = self.run
        if any(row.state == tb.PROPOSED for row in run.rows):
            return False
        limits, live = run.config.touchbase, run.live_count()
        if live >= limits.max_active:
            run.report.notes.append(f"No new touchbase: {live} of max_active = "
                                    f"{limits.max_active} touchbases in use")
            return True
        if self._created_today() >= limits.max_new_per_day:
            run.report.notes.append(f"No new touchbase: max_new_per_day = "
                                    f"{limits.max_new_per_day} reached today")
            return True
        return False

    def _eligible(self, rel: Relationship, rows: list[tb.Touchbase]) -> bool:
        if not rel.drifting or rel.let_go or rel.paused(self.run.now) or rel.stats.upcoming_recurring:
            return False
        return not any(row.state in (tb.PENDING, tb.ACTIVE, tb.DELETED) for row in rows)

    def _note_waiting(self, waiting: int, live: int, today: int) -> None:
        if not waiting:
            return
        limits = self.run.config.touchbase
        why = (f"{live} of max_active = {limits.max_active} touchbases in use"
               if live >= limits.max_active else
               f"max_new_per_day = {limits.max_new_per_day} reached today")
        self.run.report.notes.append(f"{waiting} more drifting colleague(s) wait: {why}")

    def _created_today(self) -> int:
        zone = self.run.config.zone
        today = self.run.now.astimezone(zone).date()
        return sum(1 for row in self.run.rows if row.created_at.astimezone(zone).date() == today)

    def proposal(self, email: str) -> tb.Touchbase | None:
        """The open proposal for `email`, if any."""
        return next((r for r in self.run.rows if r.email == email and r.state == tb.PROPOSED), None)

    # --- one colleague -------------------------------------------------------------------------

    def propose(self, rel: Relationship) -> bool:
        """Record a proposal for `rel` on the earliest free slot; False when there is none."""
        run = self.run
        source = target_source(run.config)
        slot = self._find_slot(run.connector(source), rel.email)
        if slot is None:
            run.report.add("skipped", rel.email, rel.name, NO_SLOT)
            return False
        row = tb.Touchbase(series_id=self._next_series_id(rel.email), email=rel.email,
                           state=tb.PROPOSED, created_at=run.now, target=source.name,
                           start=slot.start, rrule=slot.rrule, title=title_for(rel.name, rel.email))
        run.rows.append(row)
        detail = f"{slot.describe(run.config.zone)}; book it with: touchbase approve {rel.email}"
        with run.recording():
            run.save(row)
            run.log("touchbase-proposed", rel.email, detail)
        run.report.add("proposed", rel.email, rel.name, detail)
        return True

    def book(self, rel: Relationship, proposal: tb.Touchbase | None) -> bool:
        """Write a series for `rel`: a pending row first, then the write, then active."""
        run = self.run
        source = target_source(run.config)
        connector = run.connector(source)
        slot = self._find_slot(connector, rel.email, proposal.start if proposal else None)
        if slot is None:
            run.report.add("skipped", rel.email, rel.name, NO_SLOT)
            return False
        row = proposal or tb.Touchbase(series_id=self._next_series_id(rel.email), email=rel.email,
                                       state=tb.PENDING, created_at=run.now)
        if proposal is None:
            run.rows.append(row)
        row.booking()
        row.target, row.start, row.rrule = source.name, slot.start, slot.rrule
        row.title = title_for(rel.name, rel.email)
        spec = self._spec(rel, row, slot)
        run.save(row)
        event_id = ""
        if run.apply:
            event_id = connector.create_series(spec)
            run.targets.wrote(source.name)
        row.written(event_id)
        detail = run.booked_detail(row, connector)
        with run.recording():
            run.save(row)
            run.log("touchbase-created", rel.email, detail)
        run.report.add("created", rel.email, rel.name, detail)
        return True

    def approve(self, email: str) -> str:
        """Book the proposal for `email`, or a new touchbase when none was proposed."""
        run = self.run
        booked = next((row for row in run.rows if row.email == email and row.state in tb.BOOKED), None)
        if booked is not None:
            raise AlreadyExists(f"{email} already has a touchbase: {run.describe(booked)}")
        proposal = self.proposal(email)
        live = run.live_count()
        if proposal is None and live >= run.config.touchbase.max_active:
            raise UserError(f"no room for another touchbase: {live} of max_active = "
                            f"{run.config.touchbase.max_active} in use")
        rel = relationship_of(run.config, run.store, email, run.now)
        if not self.book(rel, proposal):
            raise NotFound(f"no free slot for a touchbase with {email} in working hours in the next 4 weeks")
        return run.report.actions[-1].line(applied=True)

    # --- helpers -----------------------------------------------------------------------------

    def _find_slot(self, connector: Connector, email: str,
                   proposed: datetime | None = None) -> slots.Slot | None:
        """The proposed slot when it is still ahead and free, else the earliest free one, on
        the rule of the colleague's cadence; `connector.busy()` is called once."""
        run = self.run
        config, cadence = run.config, cadence_for(run.cadence_days(email))
        start, end = slots.busy_range(config, run.now, cadence)
        if self._user_busy is None or self._user_busy_end < end:
            self._user_busy = slots.user_busy(config, run.store, start, end)
            self._user_busy_end = end
        theirs = connector.busy(start, end, [email])
        busy = slots.BusyIndex([*self._user_busy, *run.taken, *theirs, *self._proposed_busy(email)])
        zone, load = config.zone, run.day_load()
        hours = colleague_hours(config, run.store, connector, email)
        slot = (slots.slot_at(proposed, config.touchbase.duration_minutes, zone, cadence)
                if proposed else None)
        if slot is None or slot.start < start or not slots.is_free(slot, zone, busy, load):
            slot = slots.find_slot(config, busy, run.now, cadence, load, hours)
        if slot is not None:
            taken = slots.checked_occurrences(slot, zone)
            run.taken.extend(taken)
            load.add(begin for begin, _ in taken)
        return slot

    def _proposed_busy(self, email: str) -> list[slots.Interval]:
        """The slots proposed to other colleagues: kept free for when they are approved."""
        minutes, zone = self.run.config.touchbase.duration_minutes, self.run.config.zone
        return [interval for row in self.run.rows
                if row.state == tb.PROPOSED and row.email != email and row.start is not None
                for interval in slots.checked_occurrences(
                    slots.slot_at(row.start, minutes, zone, cadence_of(row.rrule)), zone)]

    def _spec(self, rel: Relationship, row: tb.Touchbase, slot: slots.Slot) -> SeriesSpec:
        config = self.run.config
        minutes = config.touchbase.duration_minutes
        return SeriesSpec(
            series_id=row.series_id, colleague=rel.email, colleague_name=rel.name,
            organizer=config.user.email, title=row.title,
            description=description_for(row.series_id, slot.schedule(config.zone)), start=slot.start,
            duration_minutes=minutes, timezone=str(config.zone), weekday=slot.weekday,
            week_index=slot.week_index, tag=row.series_id, frequency=slot.cadence.frequency,
            interval=slot.cadence.interval,
        )

    def _next_series_id(self, email: str) -> str:
        rows = self.run.rows
        taken = {row.series_id for row in rows}
        number = sum(1 for row in rows if row.email == email) + 1
        key = self.run.key
        while tb.series_id_for(key, email, number) in taken:
            number += 1
        return tb.series_id_for(key, email, number)
