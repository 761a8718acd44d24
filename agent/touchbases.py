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

from agent.store import Store, iso, parse_iso

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
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("created_at", "ended_at", "start"):
            row[key] = iso(row[key]) if row[key] else None
        return row


def series_id_for(email: str, number: int) -> str:
    """The deterministic id of the `number`th series with `email` (also the iCalendar UID stem)."""
    digest = hashlib.sha1(f"{email}#{number}".encode("utf-8")).hexdigest()
    return f"tb-{digest[:24]}"


def load(store: Store) -> list[Touchbase]:
    """Every touchbase row, oldest first."""
    result = []
    for row in store.db["touchbases"].rows_where(order_by="created_at, series_id"):
        result.append(Touchbase(
            series_id=row["series_id"], email=row["email"], state=row["state"],
            created_at=parse_iso(row["created_at"]), target=row["target"] or "",
            event_id=row["event_id"] or "",
            ended_at=parse_iso(row["ended_at"]) if row["ended_at"] else None,
            declines=row["declines"] or 0,
            start=parse_iso(row["start"]) if row["start"] else None,
            rrule=row["rrule"] or "", title=row["title"] or "",
        ))
    return result


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
    store.db["touchbases"].upsert(row.as_row(), pk="series_id")


def remove(store: Store, series_id: str) -> None:
    """Forget a row that never became a series (a withdrawn proposal, a write that never happened)."""
    store.db.conn.execute("DELETE FROM touchbases WHERE series_id = ?", (series_id,))
