"""The `touchbases` table: every series the agent planned, proposed, booked or ended.

States: `proposed` (waiting for `touchbase approve`), `pending` (recorded just before the write; a
crash leaves it behind and the next run reconciles it by the backend's tag lookup), `active`,
`ended` (the agent ended it after declines), `deleted` (the user removed it: never re-created).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from agent.storage.store import Store, iso, parse_iso

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")

PROPOSED, PENDING, ACTIVE, ENDED, DELETED = "proposed", "pending", "active", "ended", "deleted"
BOOKED = (PENDING, ACTIVE)
LIVE = (PROPOSED, PENDING, ACTIVE)


@dataclass
class Touchbase:
    """One row of the `touchbases` table."""

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

    def as_row(self) -> dict:
        """The row as stored (datetimes as UTC ISO text)."""
        return series_row(self)


_TIMES = ("created_at", "ended_at", "start")


def series_row(record: DataclassInstance) -> dict:
    """A series record (Touchbase, or the agent's own block) as its table row."""
    row = {f.name: getattr(record, f.name) for f in fields(record)}
    for key in _TIMES:
        row[key] = iso(row[key]) if row[key] else None
    return row


def series_record(cls: type[Record], row: dict) -> Record:
    """The `cls` record of a stored row: times parsed, empty texts and counts filled in."""
    values = {}
    for f in fields(cls):
        value = row.get(f.name)
        if f.name in _TIMES:
            value = parse_iso(value) if value else None
        elif f.type in ("str", str):
            value = value or ""
        elif f.type in ("int", int):
            value = value or 0
        values[f.name] = value
    return cls(**values)


def series_id_for(email: str, number: int) -> str:
    """The deterministic id of the `number`th series with `email` (also the iCalendar UID stem)."""
    digest = hashlib.sha1(f"{email}#{number}".encode()).hexdigest()
    return f"tb-{digest[:24]}"


def load(store: Store) -> list[Touchbase]:
    """Every touchbase row, oldest first."""
    return [series_record(Touchbase, row)
            for row in store.table("touchbases").rows_where(order_by="created_at, series_id")]


def by_email(rows: list[Touchbase]) -> dict[str, list[Touchbase]]:
    """Rows grouped by colleague, each list oldest first."""
    grouped: dict[str, list[Touchbase]] = defaultdict(list)
    for row in rows:
        grouped[row.email].append(row)
    return grouped


def of_person(store: Store, email: str) -> list[Touchbase]:
    """The rows of one colleague, oldest first."""
    return [row for row in load(store) if row.email == email]


def save(store: Store, row: Touchbase) -> None:
    """Insert or replace `row`."""
    store.table("touchbases").upsert(row.as_row(), pk="series_id")


def remove(store: Store, series_id: str) -> None:
    """Forget a row that never became a series (a withdrawn proposal, a write that never happened)."""
    store.db.conn.execute("DELETE FROM touchbases WHERE series_id = ?", (series_id,))
