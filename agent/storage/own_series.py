"""The `own_series` table: every series the agent itself planned or wrote, of two kinds.

`touchbase`: a recurring meeting with one colleague (`email`), counted against `max_active`.
`reconnect_block`: the user's weekly Reconnect hour, with nobody invited (`email` is empty).

Both follow one state machine, the transitions on `OwnSeries`:

    proposed --booking()--> pending --written()--> active --ended()--> ended
        (a proposal is withdrawn     |                    --deleted()--> deleted
         by `remove`)                 +--deleted()--> deleted

`proposed` waits for `touchbase approve` (touchbases only); `pending` is recorded just before the
write, so a crash leaves it behind and the next run reconciles it by the backend's tag lookup;
`active` is in the calendar; `ended` the agent ended it; `deleted` the user removed it (never
written again). Every read and write of the table goes through this module.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from agent.storage.store import EMAIL_NAMES, Store, iso, named_in, parse_iso

TOUCHBASE, RECONNECT_BLOCK = "touchbase", "reconnect_block"
PROPOSED, PENDING, ACTIVE, ENDED, DELETED = "proposed", "pending", "active", "ended", "deleted"
BOOKED = (PENDING, ACTIVE)
"""In the calendar, or being written there."""
LIVE = (PROPOSED, PENDING, ACTIVE)
"""Takes a place: proposed or booked."""

_TIMES = ("created_at", "ended_at", "start")


@dataclass
class OwnSeries:
    """One series the agent planned or wrote (one row of `own_series`)."""

    series_id: str
    email: str
    state: str
    created_at: datetime
    target: str = ""
    event_id: str = ""
    ended_at: datetime | None = None
    declines: int = 0
    start: datetime | None = None
    rrule: str = ""
    title: str = ""
    kind: str = TOUCHBASE

    def booking(self) -> None:
        """About to be written: recorded before the write, so a crash is found again."""
        self.state = PENDING

    def written(self, event_id: str = "") -> None:
        """In the calendar (after the write, or found there after an interrupted run)."""
        self.state, self.event_id = ACTIVE, event_id or self.event_id

    def ended(self, now: datetime) -> None:
        """The agent ended its series."""
        self.state, self.ended_at = ENDED, now

    def deleted(self, now: datetime) -> None:
        """The user removed (or ended) the series in the calendar: never written again."""
        self.state, self.ended_at = DELETED, now

    def as_row(self) -> dict:
        """The row as stored (datetimes as UTC ISO text)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in _TIMES:
            row[key] = iso(row[key]) if row[key] else None
        return row


_COLUMNS = tuple(f.name for f in fields(OwnSeries))


def from_row(row: dict) -> OwnSeries:
    """The record of a stored row: times parsed, empty texts and counts filled in."""
    values = dict(row)
    for key in _TIMES:
        values[key] = parse_iso(values[key]) if values[key] else None
    for key in ("target", "event_id", "rrule", "title"):
        values[key] = values[key] or ""
    values["declines"] = values["declines"] or 0
    return OwnSeries(**values)


def rows(store: Store, kind: str = TOUCHBASE) -> list[dict]:
    """The stored rows of `kind`, oldest first, as the table holds them (for export)."""
    cursor = store.conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM own_series WHERE kind = ? ORDER BY created_at, series_id",
        (kind,))
    return [dict(zip(_COLUMNS, values, strict=True)) for values in cursor]


def load(store: Store, kind: str = TOUCHBASE) -> list[OwnSeries]:
    """Every series of `kind`, oldest first."""
    return [from_row(row) for row in rows(store, kind)]


def of_person(store: Store, email: str) -> list[OwnSeries]:
    """The touchbases with one colleague, oldest first."""
    return [series for series in load(store) if series.email == email]


def booked_emails(store: Store) -> set[str]:
    """Colleagues with a touchbase in the calendar (active, or being written)."""
    return {series.email for series in load(store) if series.state in BOOKED}


def save(store: Store, series: OwnSeries) -> None:
    """Insert or replace `series`."""
    row = series.as_row()
    store.conn.execute(
        f"INSERT OR REPLACE INTO own_series ({', '.join(_COLUMNS)}) "
        f"VALUES ({', '.join('?' for _ in _COLUMNS)})", [row[c] for c in _COLUMNS])


def remove(store: Store, series_id: str) -> None:
    """Forget a row that never became a series (a withdrawn proposal, a write that never happened)."""
    store.conn.execute("DELETE FROM own_series WHERE series_id = ?", (series_id,))


def forget_person(store: Store, address: str) -> int:
    """Delete every touchbase with `address` (`forget`); returns how many rows went."""
    return store.conn.execute(f"DELETE FROM own_series WHERE kind = ? AND {EMAIL_NAMES}",
                              (TOUCHBASE, named_in(address))).rowcount
