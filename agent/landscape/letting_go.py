"""Letting a relationship go at once, and resuming it: what `let-go` and `resume` change."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agent.configuration.loader import Config
from agent.planning import touchbases as tb
from agent.privacy import end_live_series
from agent.ratings import let_go, resume
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
