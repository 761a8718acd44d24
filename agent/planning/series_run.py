"""One run over the agent's own touchbase series: the read-back half of the planner.

`SeriesRun` holds what every planner run shares (the rows, the open connectors, recording in
the store unless it only shows what it would do) and reads the agent's own series back, per write
target holding live series: the backend's own events found by the agent's tag, and the synced
occurrences of each series. A `pending` row (recorded just before a write) found there becomes
`active` (the run that wrote it was interrupted); one not found is dropped and planned again under
the same deterministic id. An active series that is gone was deleted by the user and is never
re-created. Declines are counted (docs/touchbases.md); at `decline_limit` the agent ends its own
series and pauses the colleague. A let-go colleague's series is ended.
"""
from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from agent.configuration.loader import Config, SourceConfig
from agent.errors import SourceError
from agent.inference import MeetingRules
from agent.model import Occurrence, OwnEvent
from agent.planning import slots
from agent.planning import touchbases as tb
from agent.planning.readback import count_declines, occurrences_by_series, own_by_series
from agent.planning.recurrence import cadence_for, cadence_of
from agent.planning.report import PlannerReport
from agent.planning.targets import OpenConnector, WriteTargets, configured_source, where_written
from agent.sources import open_connector
from agent.storage import instance_moves as moves
from agent.storage.store import Store, iso
from connectors.base import Connector


def describe_touchbase(config: Config, row: tb.Touchbase) -> str:
    """For example "every second Tuesday 10:00-10:30, starting 2026-12-08"."""
    if row.start is None:
        return row.state
    return slots.describe_series(row.start, config.touchbase.duration_minutes, config.zone, row.rrule)


class SeriesRun:
    """The shared state of one run; `open_connector` opens a source's connector (tests pass a
    crashing one)."""

    def __init__(self, config: Config, store: Store, now: datetime, apply: bool = True,
                 open_connector: OpenConnector = open_connector) -> None:
        self.config, self.store, self.now, self.apply = config, store, now, apply
        self.targets = WriteTargets(config, store, now, open_connector)
        self.rules = MeetingRules(config)
        self.report = PlannerReport(mode=config.touchbase.mode, apply=apply)
        self.rows = tb.load(store)
        self.people = {row["email"]: row for row in store.table("people").rows}
        self._user_busy: list[slots.Interval] | None = None
        self._user_busy_end = now
        self._taken: list[slots.Interval] = []  # slots booked or planned in this run
        self._load: slots.DayLoad | None = None
        self.recadenced: list[str] = []  # colleagues whose series ended for a new cadence
        self.moves = moves.load(store)

    def finish(self) -> None:
        """Close connectors; re-read the local calendar file when this run wrote it."""
        self.targets.close()

    # --- read back ---------------------------------------------------------------------------

    def read_back(self) -> None:
        """Reconcile pending and active rows with what each write target holds."""
        live = [row for row in self.rows if row.state in tb.BOOKED]
        if not live:
            return
        ids = [key for row in live for key in (row.series_id, row.event_id) if key]
        synced = occurrences_by_series(self.store.tagged_occurrences(ids), live)
        for target in sorted({row.target for row in live}):
            group = [row for row in live if row.target == target]
            source = self._source_named(target)
            if source is None:
                self.report.notes.append(f"{len(group)} touchbase(s) live in {target!r}, which is "
                                         "no longer configured: left as they are")
                continue
            try:
                connector = self._connector(source)
                own = own_by_series(connector.find_own_events())
                for row in group:
                    self._reconcile(row, own.get(row.series_id), connector, synced.get(row.series_id, []))
            except SourceError as exc:
                self.report.errors.append(str(exc))

    def _reconcile(self, row: tb.Touchbase, own: OwnEvent | None, connector: Connector,
                   synced: list[Occurrence]) -> None:
        name = self._name(row.email)
        if row.state == tb.PENDING:
            if own is not None:
                row.state, row.event_id = tb.ACTIVE, own.event_id
                with self._recording():
                    self._save(row)
                    self._log("touchbase-created", row.email, self._booked_detail(row, connector))
                self.report.add("recovered", row.email, name, self._booked_detail(row, connector))
            else:
                self._forget(row)
                self.report.add("retried", row.email, name)
            return
        if own is None:
            self._mark_deleted(row, name, "the series is no longer in the calendar")
            return
        self._count_declines(row, name, synced)
        if row.declines >= self.config.touchbase.decline_limit:
            self._end(row, name, connector, own, paused=True)
        elif self.people.get(row.email, {}).get("let_go_at"):
            self._end(row, name, connector, own, paused=False)
        elif own.ended and self.cadence_changed(row):
            self._finish_recadence(row, name)
        elif own.ended:
            self._mark_deleted(row, name, "the series was ended in the calendar")

    def cadence_changed(self, row: tb.Touchbase) -> bool:
        """True when the series' rule no longer fits the colleague's cadence."""
        return cadence_of(row.rrule) != cadence_for(self._cadence_days(row.email))

    def _cadence_days(self, email: str) -> int:
        """The colleague's cadence: rated (`rate --cadence`), else `[touchbase] cadence_days`."""
        return (self.people.get(email) or {}).get("cadence_days") or self.config.touchbase.cadence_days

    def _finish_recadence(self, row: tb.Touchbase, name: str) -> None:
        """A run ended the series for a new cadence and was interrupted before recording it."""
        reason = f"the cadence changed to {cadence_for(self._cadence_days(row.email)).words()}"
        row.state, row.ended_at = tb.ENDED, self.now
        with self._recording():
            self._save(row)
            self._log("touchbase-ended", row.email, reason)
        self.report.add("ended", row.email, name, reason)
        self.recadenced.append(row.email)

    def _count_declines(self, row: tb.Touchbase, name: str, synced: list[Occurrence]) -> None:
        count, starts = count_declines(synced, row.email, self.rules, self.now,
                                       moves.moved_starts(self.moves, row.series_id))
        if count <= row.declines:
            return
        row.declines = count
        when = starts[-1].astimezone(self.config.zone)
        detail = (f"{count} of {self.config.touchbase.decline_limit} declined "
                  f"(latest: {when:%Y-%m-%d %H:%M})")
        with self._recording():
            self._save(row)
            self._log("touchbase-declined", row.email, detail)
        self.report.add("declined", row.email, name, detail)

    def _end(self, row: tb.Touchbase, name: str, connector: Connector, own: OwnEvent,
             paused: bool) -> None:
        if self.apply and not own.ended:
            connector.end_series(own.event_id or row.event_id, self.now)
            self.targets.wrote(connector.name)
        row.state, row.ended_at = tb.ENDED, self.now
        reason = (f"after {row.declines} declines" if paused else "you let this relationship go")
        with self._recording():
            self._save(row)
            self._log("touchbase-ended", row.email, reason)
            self.report.add("ended", row.email, name, reason)
            if paused:
                self._pause(row, name)

    def _pause(self, row: tb.Touchbase, name: str) -> None:
        until = self.now + timedelta(days=self.config.landscape.pause_days)
        reason = f"declined the touchbase {row.declines} times"
        if self.apply:
            self.store.table("people").upsert({"email": row.email, "paused_until": iso(until),
                                            "paused_reason": reason}, pk="email")
        detail = f"left alone until {until.astimezone(self.config.zone):%Y-%m-%d} ({reason})"
        self._log("touchbase-paused", row.email, detail)
        self.report.add("paused", row.email, name, detail)

    def _mark_deleted(self, row: tb.Touchbase, name: str, why: str) -> None:
        row.state, row.ended_at = tb.DELETED, self.now
        with self._recording():
            self._save(row)
            self._log("touchbase-deleted-by-user", row.email, why)
        self.report.add("deleted", row.email, name, why)

    # --- helpers -----------------------------------------------------------------------------

    def _day_load(self) -> slots.DayLoad:
        """Touchbases per day: the synced occurrences of every live series, and this run's."""
        if self._load is None:
            live = [row for row in self.rows if row.state in tb.BOOKED]
            ids = [key for row in live for key in (row.series_id, row.event_id) if key]
            synced = occurrences_by_series(self.store.tagged_occurrences(ids), live) if ids else {}
            starts = {occ.start for items in synced.values() for occ in items if not occ.cancelled}
            self._load = slots.DayLoad(self.config.zone, self.config.touchbase.max_per_day, starts)
        return self._load

    def _booked_detail(self, row: tb.Touchbase, connector: Connector) -> str:
        return f"{self._describe(row)} {where_written(self.config, connector.name)}"

    def _describe(self, row: tb.Touchbase) -> str:
        return describe_touchbase(self.config, row)

    def _name(self, email: str) -> str:
        row = self.people.get(email) or {}
        return row.get("name") or ""

    def _source_named(self, name: str) -> SourceConfig | None:
        return configured_source(self.config, name)

    def _connector(self, source: SourceConfig) -> Connector:
        return self.targets.get(source)

    def _recording(self) -> contextlib.AbstractContextManager:
        """One transaction for a row change and its log line (nothing at all without apply)."""
        return self.store.atomic() if self.apply else contextlib.nullcontext()

    def _save(self, row: tb.Touchbase) -> None:
        if self.apply:
            tb.save(self.store, row)

    def _forget(self, row: tb.Touchbase) -> None:
        self.rows.remove(row)
        if self.apply:
            tb.remove(self.store, row.series_id)

    def _log(self, kind: str, email: str, detail: str) -> None:
        if self.apply:
            self.store.log_action(kind, email, detail, self.now)
