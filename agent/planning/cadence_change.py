"""A colleague's cadence changed (`rate --cadence`): their series ends and one on the new rule
is booked (auto) or proposed; its first instance comes after the last held one."""
from __future__ import annotations

from agent.configuration.loader import SourceConfig
from agent.errors import SourceError
from agent.planning import touchbases as tb
from agent.planning.booking import Booking
from agent.planning.recurrence import cadence_for
from agent.planning.series_run import RunState
from agent.relationships import relationship_of


def record_new_cadence(run: RunState, row: tb.Touchbase) -> None:
    """Record `row` as ended for a new cadence (also when a run ended it in the calendar and
    was interrupted before recording it); its colleague is booked again on the new rule."""
    reason = f"the cadence changed to {cadence_for(run.cadence_days(row.email)).words()}"
    row.ended(run.now)
    with run.recording():
        run.save(row)
        run.log("touchbase-ended", row.email, reason)
    run.report.add("ended", row.email, run.name(row.email), reason)
    run.recadenced.append(row.email)


class CadenceChange:
    """Ends the series that no longer fit their colleague's cadence, and books the new ones."""

    def __init__(self, run: RunState, booking: Booking) -> None:
        self.run, self.booking = run, booking

    def __call__(self) -> None:
        """End each live series whose rule no longer fits, then book (or propose) the new ones."""
        run = self.run
        for row in [r for r in run.rows if r.state == tb.ACTIVE and r.start is not None]:
            source = run.source_named(row.target)
            if source is None or not run.cadence_changed(row):
                continue
            try:
                self._end(row, source)
            except SourceError as exc:
                run.fail(exc)
        for email in run.recadenced:
            try:
                self._start(email)
            except SourceError as exc:
                run.fail(exc)
                return

    def _end(self, row: tb.Touchbase, source: SourceConfig) -> None:
        run = self.run
        connector = run.connector(source)
        if run.apply:
            connector.end_series(row.event_id, run.now)
            run.targets.wrote(connector.name)
        record_new_cadence(run, row)

    def _start(self, email: str) -> None:
        """Book (auto) or propose the series on the new rule, unless one is live already."""
        run = self.run
        if any(row.email == email and row.state in tb.LIVE for row in run.rows):
            return
        rel = relationship_of(run.config, run.store, email, run.now)
        if run.config.touchbase.mode == "auto":
            self.booking.book(rel, None)
        else:
            self.booking.propose(rel)
