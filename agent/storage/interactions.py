"""The `interactions` table: contact the user logged outside the calendar (`touchbase log`)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from agent.model import Interaction
from agent.storage.store import EMAIL_NAMES, Store, iso, named_in, parse_iso

_COLUMNS = "SELECT id, email, at, kind, note FROM interactions"


def add(store: Store, item: Interaction, when: datetime) -> Interaction:
    """Record `item` (its id is ignored), logged at `when`; returns it with its new id."""
    cursor = store.conn.execute(
        "INSERT INTO interactions (email, at, kind, note, created) VALUES (?, ?, ?, ?, ?)",
        (item.email, iso(item.at), item.kind, item.note, iso(when)))
    return Interaction(int(cursor.lastrowid or 0), item.email, item.at, item.kind, item.note)


def with_person(store: Store, email: str, since: datetime | None = None,
                until: datetime | None = None) -> list[Interaction]:
    """Logged interactions with `email`, newest first, within [since, until] when given."""
    sql, args = _bounded(f"{_COLUMNS} WHERE email = ?", [email], since, until)
    rows = store.conn.execute(sql + " ORDER BY at DESC, id DESC", args)
    return [_interaction(row) for row in rows]


def up_to(store: Store, until: datetime | None = None) -> list[Interaction]:
    """Every logged interaction up to `until`, oldest first."""
    sql, args = _bounded(f"{_COLUMNS} WHERE 1", [], None, until)
    return [_interaction(row) for row in store.conn.execute(sql + " ORDER BY at, id", args)]


def forget(store: Store, address: str) -> int:
    """Delete every interaction logged with `address`; returns how many went."""
    return store.conn.execute(
        f"DELETE FROM interactions WHERE {EMAIL_NAMES}", (named_in(address),)).rowcount


def export(store: Store) -> list[dict]:
    """Every logged interaction, oldest first, for `touchbase export`."""
    return list(store.table("interactions").rows_where(order_by="at"))


def _bounded(sql: str, args: list, since: datetime | None,
             until: datetime | None) -> tuple[str, list]:
    if since is not None:
        sql, args = sql + " AND at >= ?", [*args, iso(since)]
    if until is not None:
        sql, args = sql + " AND at <= ?", [*args, iso(until)]
    return sql, args


def _interaction(row: Iterable) -> Interaction:
    ident, email, at, kind, note = row
    return Interaction(int(ident), email, parse_iso(at), kind, note)
