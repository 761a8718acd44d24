"""The touchbase planner: reads the agent's own series back, then books or proposes new ones.

One run (daily from the daemon; `touchbase plan` shows the same without changing anything) is
three steps, each a collaborator handed the run's one `agent.planning.series_run.RunState`:

1. Read back (`agent.planning.series_readback.ReadBack`): interrupted writes, series the user
   deleted, declines (at `decline_limit` the agent ends its own series and pauses the
   colleague), let-go colleagues.
2. Heal (`agent.planning.healing.Healer`): the next instances moved off conflicts and single
   declines, or cancelled.
3. Book (`agent.planning.booking.Booking`): a series whose cadence changed is ended and booked on
   the new rule (`agent.planning.cadence_change`); then drifting colleagues get a touchbase
   within the limits (auto), a proposal (propose), or nothing (off).
"""
from __future__ import annotations

from datetime import datetime

from agent.addresses import normalise_email
from agent.configuration.loader import Config
from agent.errors import SourceError
from agent.inference import MeetingRules
from agent.planning import touchbases as tb
from agent.planning.booking import Booking
from agent.planning.cadence_change import CadenceChange
from agent.planning.healing import Healer
from agent.planning.provenance import Provenance
from agent.planning.readback import count_declines, occurrences_by_series
from agent.planning.report import PlannerReport
from agent.planning.series_readback import ReadBack
from agent.planning.series_run import RunState, describe_touchbase
from agent.planning.targets import OpenConnector, target_source
from agent.sources import open_connector
from agent.storage import instance_moves as moves
from agent.storage.store import Store

__all__ = ["PlannerReport", "Planner", "OpenConnector", "run_planner", "read_back_series",
           "heal_after_sync", "approve", "new_declines_synced",
           "target_source", "describe_touchbase"]


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
    """Only the read-back step of a run: interrupted writes, deletions, declines (ending and
    pausing at the limit). Books nothing; cheap enough to run after a sync."""
    run = RunState(config, store, now)
    try:
        ReadBack(run)()
    finally:
        run.finish()
    return _raised(run.report)


def heal_after_sync(config: Config, store: Store, now: datetime,
                    open_connector: OpenConnector = open_connector) -> PlannerReport | None:
    """Heal after a sync: the store alone tells whether an instance is in trouble (no request
    to any backend when none is); only then are the write targets opened. None: nothing to do."""
    run = RunState(config, store, now, open_connector=open_connector)
    healer = Healer(run)
    if not healer.needs_healing():
        return None
    try:
        healer.heal(ask_backend=False)
    finally:
        run.finish()
    return _raised(run.report)


def new_declines_synced(config: Config, store: Store, now: datetime) -> bool:
    """True when the synced copies of a live touchbase show more declines than recorded.

    Reads only the store, so a sync can check it every time at no cost to the backends; the
    read-back that acts on it (`read_back_series`) then runs only when there is something new.
    """
    live = [row for row in tb.load(store) if row.state in tb.BOOKED]
    if not live:
        return False
    ids = [key for row in live for key in (row.series_id, row.event_id) if key]
    rules, moved = MeetingRules(config), moves.load(store)
    synced = occurrences_by_series(store.tagged_occurrences(ids), live, Provenance(rules, config.zone, moved))
    return any(
        count_declines(synced.get(row.series_id, []), row.email, rules, now,
                       moves.moved_starts(moved, row.series_id))[0] > row.declines
        for row in live
    )


def approve(config: Config, store: Store, email: str, now: datetime) -> str:
    """Book the touchbase proposed for `email` (or one for a colleague you name); returns a line."""
    run = RunState(config, store, now)
    try:
        ReadBack(run)()
        line = Booking(run).approve(normalise_email(email))
    finally:
        run.finish()
    _raised(run.report)
    return line


def _raised(report: PlannerReport) -> PlannerReport:
    """`report`, or a SourceError naming every backend that failed in the run."""
    if report.errors:
        raise SourceError("planner", "; ".join(report.errors))
    return report


class Planner:
    """One planner run: read back, heal, then plan; each step a collaborator on one `RunState`."""

    def __init__(self, config: Config, store: Store, now: datetime, apply: bool = True,
                 open_connector: OpenConnector = open_connector) -> None:
        self.state = RunState(config, store, now, apply, open_connector)
        self.read_back = ReadBack(self.state)
        self.healer = Healer(self.state)
        self.booking = Booking(self.state)
        self.cadence = CadenceChange(self.state, self.booking)

    @property
    def report(self) -> PlannerReport:
        """What this run did (or would do)."""
        return self.state.report

    def run(self) -> PlannerReport:
        """Read back, heal the live series' next instances, then plan (unless the mode is off)."""
        try:
            self.read_back()
            self.healer.heal(ask_backend=True)
            if self.state.config.touchbase.mode != "off":
                self.cadence()
                self.booking.plan()
        finally:
            self.state.finish()
        return self.state.report
