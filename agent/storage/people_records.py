"""The `people` table: the user's own record of each colleague (ratings, role, cadence,
motivators), pauses and let-go. Every read and write of that table goes through here."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import EMAIL_NAMES, Store, iso, named_in


def save_rating(store: Store, email: str, fields: dict, when: datetime) -> dict:
    """Set the given rating fields of `email` (rated at `when`); returns the whole record."""
    store.table("people").upsert({**fields, "email": email, "rated_at": iso(when)}, pk="email")
    return dict(store.table("people").get(email))


def pause(store: Store, email: str, until: datetime, reason: str) -> None:
    """Leave `email` alone until `until`, for `reason`."""
    store.table("people").upsert({"email": email, "paused_until": iso(until),
                                  "paused_reason": reason}, pk="email")


def resume(store: Store, email: str) -> None:
    """End the pause of `email` and take back a let-go."""
    store.table("people").upsert({"email": email, "paused_until": None, "paused_reason": "",
                                  "let_go_at": None}, pk="email")


def let_go(store: Store, email: str, when: datetime) -> None:
    """Mark `email` let go at `when`."""
    store.table("people").upsert({"email": email, "let_go_at": iso(when)}, pk="email")


def record_of(store: Store, email: str) -> dict | None:
    """The user's record of `email` (column name to value), or None when there is none."""
    return next(iter(store.dict_rows("SELECT * FROM people WHERE email = ?", (email,))), None)


def all_records(store: Store) -> dict[str, dict]:
    """Every colleague's record, by address (plain sqlite3: `people` and `person` read them on
    start-up, sqlite-utils would cost its import)."""
    return {row["email"]: row for row in store.dict_rows("SELECT * FROM people")}


def is_known(store: Store, email: str) -> bool:
    """True when `email` has a record (rated, paused or let go before)."""
    return store.conn.execute("SELECT 1 FROM people WHERE email = ?", (email,)).fetchone() is not None


def motives(store: Store, email: str) -> tuple[str, str]:
    """What motivates and what demotivates `email`, as the user wrote it ("" when not written)."""
    row = store.conn.execute(
        "SELECT motivators, demotivators FROM people WHERE email = ?", (email,)).fetchone()
    return (row[0] or "", row[1] or "") if row else ("", "")


def forget(store: Store, address: str) -> int:
    """Delete the record of `address`; returns how many rows went."""
    return store.conn.execute(f"DELETE FROM people WHERE {EMAIL_NAMES}", (named_in(address),)).rowcount


def export(store: Store) -> list[dict]:
    """Every record, for `touchbase export`."""
    return list(store.table("people").rows)
