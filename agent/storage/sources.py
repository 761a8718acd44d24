"""The `sources` table: each source's sync state (its token) and health (last success,
last error, whether it needs re-authorising, how many occurrences and skipped items, whether its
latest answer was held as a sudden loss)."""
from __future__ import annotations

import json
from datetime import datetime

from agent.storage import occurrences
from agent.storage.store import Store, address_digest, iso, scrub_text


def state(store: Store, name: str) -> dict:
    """The connector state saved after the last successful sync of `name`."""
    row = store.conn.execute("SELECT state FROM sources WHERE name = ?", (name,)).fetchone()
    return json.loads(row[0]) if row else {}


def record_sync(store: Store, name: str, type_name: str, saved: dict, when: datetime,
                skipped: int | None) -> None:
    """Remember a successful sync of `name` (`skipped` None: keep the last count)."""
    row = {
        "name": name, "type": type_name, "state": scrub_text(json.dumps(saved), store.forgotten),
        "last_success": iso(when), "needs_reauth": None,
        "occurrences": occurrences.count(store, name), "suspect": None, "suspect_since": None,
    }
    if skipped is not None:
        row["skipped"] = skipped
    _upsert(store, row)


def record_error(store: Store, name: str, type_name: str, message: str, when: datetime,
                 needs_reauth: str | None = None) -> None:
    """Remember a failed sync of `name` (shown by status and the morning email)."""
    store.table("sources").upsert({
        "name": name, "type": type_name, "last_error": message,
        "last_error_at": iso(when), "needs_reauth": needs_reauth,
    }, pk="name")


def hold(store: Store, name: str, type_name: str, reason: str, when: datetime) -> None:
    """Remember that the latest answer of `name` was held, not believed (a sudden loss):
    `reason` says what it showed; the time of the first held answer in a row is kept."""
    store.conn.execute(
        "INSERT INTO sources (name, type, suspect, suspect_since) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET type = excluded.type, suspect = excluded.suspect, "
        "suspect_since = coalesce(suspect_since, excluded.suspect_since)",
        (name, type_name, reason, iso(when)))


def suspect(store: Store, name: str) -> str | None:
    """Why the latest answer of `name` was held (a sudden loss), or None when it was not."""
    row = store.conn.execute("SELECT suspect FROM sources WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def suspects(store: Store) -> list[str]:
    """The names of the sources whose latest answer was held as a sudden loss."""
    return [row[0] for row in store.conn.execute(
        "SELECT name FROM sources WHERE suspect IS NOT NULL ORDER BY name")]


def health(store: Store) -> list[dict]:
    """Every source's health row, by name."""
    return store.dict_rows("SELECT * FROM sources ORDER BY name")


def drop(store: Store, name: str) -> None:
    """Drop a source's occurrences and state (its token expired for good, or it was removed)."""
    with store.atomic():
        occurrences.drop_source(store, name)
        store.conn.execute("DELETE FROM sources WHERE name = ?", (name,))


def forget(store: Store, address: str) -> None:
    """Replace `address` in every source's saved state by a neutral token."""
    digests = {address_digest(address)}
    for name, saved in store.conn.execute("SELECT name, state FROM sources").fetchall():
        store.conn.execute("UPDATE sources SET state = ? WHERE name = ?",
                           (scrub_text(saved, digests), name))


def _upsert(store: Store, row: dict) -> None:
    """Insert or update a `sources` row by name, setting only the given columns (like
    sqlite-utils' upsert, without importing it on the sync path)."""
    columns = list(row)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "name")
    store.conn.execute(
        f"INSERT INTO sources ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT(name) DO UPDATE SET {updates}", [row[c] for c in columns])
