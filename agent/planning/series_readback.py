"""The read-back step of a run: what each write target holds of the agent's own touchbases.

Per write target holding live series: the backend's own events found by the agent's tag, and the
synced occurrences of each series. A `pending` row (recorded just before a write) found there
becomes `active` (the run that wrote it was interrupted); one not found is dropped and planned
again under the same deterministic id. An active series that is gone was deleted by the user and
is never re-created. Declines are counted (docs/touchbases.md); at `decline_limit` the agent ends
its own series and pauses the colleague. A let-go colleague's series is ended.
"""
from __future__ import annotations

from datetime import timedelta

from agent.errors import SourceError
from agent.model import Occurrence, OwnEvent
from agent.planning import readback
from agent.planning import touchbases as tb
from agent.planning.cadence_change import record_new_cadence
from agent.planning.readback import calendar_says, count_declines, occurrences_by_series, own_by_series
from agent.planning.series_run import RunState
from agent.storage import instance_moves as moves
from agent.storage import people_records
from connectors.base import Connector


class ReadBack:
    """Reconciles the run's rows with the calendars they were written to."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def __call__(self) -> None:
        """Reconcile pending and active rows with what each write target holds."""
        run = self.run
        live = run.booked()
        if not live:
            return
        ids = [key for row in live for key in (row.series_id, row.event_id) if key]
        synced = occurrences_by_series(run.store.tagged_occurrences(ids), live, run.provenance)
        for target in sorted({row.target for row in live}):
            group = [row for row in live if row.target == target]
            source = run.source_named(target)
            if source is None:
                run.report.notes.append(f"{len(group)} touchbase(s) live in {target!r}, which is "
                                        "no longer configured: left as they are")
                continue
            try:
                connector = run.connector(source)
                own = own_by_series(connector.find_own_events(), run.provenance)
                for row in group:
                    self._reconcile(row, own.get(row.series_id), connector, synced.get(row.series_id, []))
            except SourceError as exc:
                run.fail(exc)

    def _reconcile(self, row: tb.Touchbase, own: OwnEvent | None, connector: Connector,
                   synced: list[Occurrence]) -> None:
        run, name = self.run, self.run.name(row.email)
        said = calendar_says(row, own)
        if said == readback.WRITTEN:
            self._recovered(row, own, connector)
        elif said == readback.UNWRITTEN:
            run.forget(row)
            run.report.add("retried", row.email, name)
        elif said == readback.GONE:
            self._mark_deleted(row, name, "the series is no longer in the calendar")
        else:
            assert own is not None
            self._count_declines(row, name, synced)
            self._follow(row, name, own, connector, ended_there=said == readback.ENDED_THERE)

    def _follow(self, row: tb.Touchbase, name: str, own: OwnEvent, connector: Connector,
                ended_there: bool) -> None:
        """An active series: ended at the decline limit or after a let-go; noticed when ended."""
        run = self.run
        if row.declines >= run.config.touchbase.decline_limit:
            self._end(row, name, connector, own, paused=True)
        elif run.people.get(row.email, {}).get("let_go_at"):
            self._end(row, name, connector, own, paused=False)
        elif ended_there and run.cadence_changed(row):
            record_new_cadence(run, row)
        elif ended_there:
            self._mark_deleted(row, name, "the series was ended in the calendar")

    def _recovered(self, row: tb.Touchbase, own: OwnEvent | None, connector: Connector) -> None:
        run = self.run
        assert own is not None
        row.written(own.event_id)
        detail = run.booked_detail(row, connector)
        with run.recording():
            run.save(row)
            run.log("touchbase-created", row.email, detail)
        run.report.add("recovered", row.email, run.name(row.email), detail)

    def _count_declines(self, row: tb.Touchbase, name: str, synced: list[Occurrence]) -> None:
        run = self.run
        count, starts = count_declines(synced, row.email, run.rules, run.now,
                                       moves.moved_starts(run.moves, row.series_id))
        if count <= row.declines:
            return
        row.declines = count
        when = starts[-1].astimezone(run.config.zone)
        detail = (f"{count} of {run.config.touchbase.decline_limit} declined "
                  f"(latest: {when:%Y-%m-%d %H:%M})")
        with run.recording():
            run.save(row)
            run.log("touchbase-declined", row.email, detail)
        run.report.add("declined", row.email, name, detail)

    def _end(self, row: tb.Touchbase, name: str, connector: Connector, own: OwnEvent,
             paused: bool) -> None:
        run = self.run
        if run.apply and not own.ended:
            connector.end_series(own.event_id or row.event_id, run.now)
            run.targets.wrote(connector.name)
        row.ended(run.now)
        reason = (f"after {row.declines} declines" if paused else "you let this relationship go")
        with run.recording():
            run.save(row)
            run.log("touchbase-ended", row.email, reason)
            run.report.add("ended", row.email, name, reason)
            if paused:
                self._pause(row, name)

    def _pause(self, row: tb.Touchbase, name: str) -> None:
        run = self.run
        until = run.now + timedelta(days=run.config.landscape.pause_days)
        reason = f"declined the touchbase {row.declines} times"
        if run.apply:
            people_records.pause(run.store, row.email, until, reason)
        detail = f"left alone until {until.astimezone(run.config.zone):%Y-%m-%d} ({reason})"
        run.log("touchbase-paused", row.email, detail)
        run.report.add("paused", row.email, name, detail)

    def _mark_deleted(self, row: tb.Touchbase, name: str, why: str) -> None:
        run = self.run
        row.deleted(run.now)
        with run.recording():
            run.save(row)
            run.log("touchbase-deleted-by-user", row.email, why)
        run.report.add("deleted", row.email, name, why)
