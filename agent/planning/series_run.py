"""One run over the agent's own touchbase series: the state its steps share.

A planner run is three steps, each a small object handed the same `RunState`: the read-back
(`agent.planning.series_readback.ReadBack`), healing (`agent.planning.healing.Healer`) and
booking (`agent.planning.booking.Booking`, with `agent.planning.cadence_change` for a changed
cadence). None of them inherits from another; what they share is here, explicitly: the rows,
the open connectors, the report, the recorded moves, the slots taken in this run, and recording
in the store unless the run only shows what it would do.
"""
from __future__ import annotations

import contextlib
from datetime import datetime

from agent.configuration.loader import Config, SourceConfig
from agent.inference import MeetingRules
from agent.planning import slots
from agent.planning import touchbases as tb
from agent.planning.provenance import Provenance
from agent.planning.readback import occurrences_by_series
from agent.planning.recurrence import cadence_for, cadence_of
from agent.planning.report import PlannerReport
from agent.planning.targets import OpenConnector, WriteTargets, configured_source, where_written
from agent.sources import open_connector
from agent.storage import instance_moves as moves
from agent.storage import people_records
from agent.storage.installation_key import installation_key
from agent.storage.store import Store
from connectors.base import Connector


def describe_touchbase(config: Config, row: tb.Touchbase) -> str:
    """For example "monthly on the 2nd Tuesday, 10:00-10:30 Europe/Berlin, starting 2026-12-08"."""
    if row.start is None:
        return row.state
    return slots.describe_series(row.start, config.touchbase.duration_minutes, config.zone, row.rrule)


class RunState:
    """The shared state of one run; `open_connector` opens a source's connector (tests pass a
    crashing one)."""

    def __init__(self, config: Config, store: Store, now: datetime, apply: bool = True,
                 open_connector: OpenConnector = open_connector) -> None:
        self.config, self.store, self.now, self.apply = config, store, now, apply
        self.targets = WriteTargets(config, store, now, open_connector)
        self.rules = MeetingRules(config)
        self.report = PlannerReport(mode=config.touchbase.mode, apply=apply)
        self.rows = tb.load(store)
        self.people = people_records.all_records(store)
        self.moves = moves.load(store)
        self.provenance = Provenance(self.rules, config.zone, self.moves)
        """Which events are the agent's own (what a stranger cannot forge)."""
        self.taken: list[slots.Interval] = []
        """Slots booked, planned or healed into in this run."""
        self.recadenced: list[str] = []
        """Colleagues whose series ended for a new cadence (booked again on the new rule)."""
        self._load: slots.DayLoad | None = None
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """The installation's key for new series ids (read, or created, on first need)."""
        if self._key is None:
            self._key = installation_key(self.config.data_dir)
        return self._key

    def finish(self) -> None:
        """Close connectors; re-read the local calendar file when this run wrote it."""
        self.targets.close()

    def fail(self, error: Exception) -> None:
        """Report a backend's failure (the run goes on; the entry point raises at the end)."""
        self.report.errors.append(str(error))

    # --- the rows ------------------------------------------------------------------------------

    def booked(self) -> list[tb.Touchbase]:
        """The rows in a calendar or being written there."""
        return [row for row in self.rows if row.state in tb.BOOKED]

    def live_count(self) -> int:
        """Rows that take a place under `max_active` (proposed or booked)."""
        return sum(1 for row in self.rows if row.state in tb.LIVE)

    def cadence_days(self, email: str) -> int:
        """The colleague's cadence: rated (`rate --cadence`), else `[touchbase] cadence_days`."""
        return (self.people.get(email) or {}).get("cadence_days") or self.config.touchbase.cadence_days

    def cadence_changed(self, row: tb.Touchbase) -> bool:
        """True when the series' rule no longer fits the colleague's cadence."""
        return cadence_of(row.rrule) != cadence_for(self.cadence_days(row.email))

    def day_load(self) -> slots.DayLoad:
        """Touchbases per day: the synced occurrences of every live series, and this run's."""
        if self._load is None:
            live = self.booked()
            ids = [key for row in live for key in (row.series_id, row.event_id) if key]
            synced = (occurrences_by_series(self.store.tagged_occurrences(ids), live, self.provenance)
                      if ids else {})
            starts = {occ.start for items in synced.values() for occ in items if not occ.cancelled}
            self._load = slots.DayLoad(self.config.zone, self.config.touchbase.max_per_day, starts)
        return self._load

    # --- where series are written --------------------------------------------------------------

    def source_named(self, name: str) -> SourceConfig | None:
        """The configured source called `name` (the local calendar file included), or None."""
        return configured_source(self.config, name)

    def connector(self, source: SourceConfig) -> Connector:
        """The open connector of `source` (opened on first use, closed by `finish`)."""
        return self.targets.get(source)

    def target_connector(self, row: tb.Touchbase) -> Connector | None:
        """The connector of the calendar `row` was written to, or None when no longer configured."""
        source = self.source_named(row.target)
        return self.connector(source) if source is not None else None

    # --- words ---------------------------------------------------------------------------------

    def name(self, email: str) -> str:
        """The colleague's name as the store knows it ("" when unknown)."""
        row = self.people.get(email) or {}
        return row.get("name") or ""

    def describe(self, row: tb.Touchbase) -> str:
        """When the series meets, in words."""
        return describe_touchbase(self.config, row)

    def booked_detail(self, row: tb.Touchbase, connector: Connector) -> str:
        """When the series meets and where it is written."""
        return f"{self.describe(row)} {where_written(self.config, connector.name)}"

    # --- recording (nothing at all without apply) ----------------------------------------------

    def recording(self) -> contextlib.AbstractContextManager:
        """One transaction for a row change and its log line (nothing at all without apply)."""
        return self.store.atomic() if self.apply else contextlib.nullcontext()

    def save(self, row: tb.Touchbase) -> None:
        """Store `row` as it is now."""
        if self.apply:
            tb.save(self.store, row)

    def forget(self, row: tb.Touchbase) -> None:
        """Drop a row that never became a series."""
        self.rows.remove(row)
        if self.apply:
            tb.remove(self.store, row.series_id)

    def log(self, kind: str, email: str, detail: str) -> None:
        """Log an action for the morning email."""
        if self.apply:
            self.store.log_action(kind, email, detail, self.now)
