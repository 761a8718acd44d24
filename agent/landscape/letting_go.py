"""Letting a relationship go at once, and resuming it: what `let-go` and `resume` change."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent.addresses import normalise_email
from agent.configuration.loader import Config, SourceConfig
from agent.errors import TouchbaseError
from agent.planning import touchbases as tb
from agent.planning.provenance import Provenance
from agent.planning.readback import own_by_series
from agent.planning.targets import source_named, where_written
from agent.ratings import let_go, resume
from agent.sources import open_connector
from agent.storage import people_records
from agent.storage.store import Store, parse_iso

LET_GO_REASON = "you let this relationship go"
FORGET_ADVICE = "delete it yourself."
RETRY_NOTE = "the agent ends it on its next run, or delete it yourself."


@dataclass
class LetGoResult:
    """What `let-go` did: one line per series or proposal, and whether a series is still live."""

    lines: list[str] = field(default_factory=list)
    still_live: int = 0


def let_go_now(config: Config, store: Store, email: str, now: datetime) -> LetGoResult:
    """Mark `email` let go and end the agent's live series with them through the write target
    at once (as `forget` does); withdraw a waiting proposal.

    A series that could not be ended stays recorded as live (`still_live`): the planner ends it
    on a later run.
    """
    let_go(store, email, now)
    ended: set[str] = set()
    result = LetGoResult([line.replace(FORGET_ADVICE, RETRY_NOTE)
                          for line in end_live_series(config, store, email, now, ended)])
    targets = set()
    for row in tb.of_person(store, email):
        if row.state in tb.BOOKED and row.series_id in ended:
            row.state, row.ended_at = tb.ENDED, now
            tb.save(store, row)
            store.log_action("touchbase-ended", email, LET_GO_REASON, now)
            targets.add(row.target)
        elif row.state in tb.BOOKED:
            result.still_live += 1
        elif row.state == tb.PROPOSED:
            tb.remove(store, row.series_id)
            result.lines.append(f"Withdrew the proposed touchbase with {email}.")
    _resync(config, store, targets, now)
    return result


def end_live_series(config: Config, store: Store, email: str, now: datetime,
                    ended: set[str] | None = None) -> list[str]:
    """End the agent's own live touchbase series with `email` (before `forget` erases them).

    Each series is ended after `now` through its write target's connector, found by the agent's
    tag as the planner does after declines. Returns one line per series: ended, or could not be
    ended (the target cannot be reached) and where it still is. Never raises for a backend.
    `ended`, when given, receives the ids of the series no longer live in their calendar.
    """
    address = normalise_email(email)
    rows = [row for row in tb.of_person(store, address) if row.state in tb.BOOKED]
    lines = []
    for target in sorted({row.target for row in rows}):
        group = [row for row in rows if row.target == target]
        where = where_written(config, target, hint=False)
        try:
            lines += _end_in(config, source_named(config, target), group, where, now, ended)
        except Exception as exc:  # noqa: BLE001 - forgetting goes on; the user is told where it is
            reason = str(exc) if isinstance(exc, TouchbaseError) else f"{type(exc).__name__}: {exc}"
            lines += [f"Could not end the touchbase series {_what(config, row)} {where} ({reason}); "
                      "it is still there: delete it yourself." for row in group]
    return lines


def _end_in(config: Config, source: SourceConfig, rows: list[tb.Touchbase], where: str,
            now: datetime, ended: set[str] | None = None) -> list[str]:
    connector = open_connector(config, source, now)
    try:
        own = own_by_series(connector.find_own_events(), Provenance.of(config))
        lines = []
        for row in rows:
            event = own.get(row.series_id)
            if event is not None and not event.ended:  # else never written, deleted or ended
                connector.end_series(event.event_id or row.event_id, now)
                lines.append(f"Ended the touchbase series {_what(config, row)} {where}.")
            if ended is not None:
                ended.add(row.series_id)
        return lines
    finally:
        connector.close()


def _what(config: Config, row: tb.Touchbase) -> str:
    from agent.planning.series_run import describe_touchbase

    return f"{row.title or row.series_id!r} ({describe_touchbase(config, row)})"


def _resync(config: Config, store: Store, targets: set[str], now: datetime) -> None:
    """Read the calendars just written again, so the ended occurrences leave the store now."""
    from agent.planning.targets import configured_source
    from agent.sync import sync_source

    for target in sorted(targets):
        source = configured_source(config, target)
        if source is not None:
            sync_source(config, store, source, now)


def resume_now(store: Store, email: str, now: datetime) -> str:
    """End a pause or take back a let-go; says what changed, or that there was nothing to do."""
    row = people_records.record_of(store, email) or {}
    paused_text, let_go_text = row.get("paused_until"), row.get("let_go_at")
    paused_until = parse_iso(paused_text) if paused_text else None
    if not let_go_text and (paused_until is None or paused_until <= now):
        return f"Nothing to resume: {email} is neither paused nor let go."
    resume(store, email)
    if let_go_text:
        return (f"{email} is tracked again (let go on {parse_iso(let_go_text):%Y-%m-%d}): "
                "touchbases and reminders resume.")
    return f"Ended the pause of {email} (it ran until {paused_until:%Y-%m-%d}): touchbases resume."
