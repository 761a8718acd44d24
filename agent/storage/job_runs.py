"""The `jobs` table: how each daemon job went last (success, error, failures in a row)."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import Store, iso


def record(store: Store, name: str, ok: bool, message: str, when: datetime) -> None:
    """Remember how job `name` went at `when` (a success resets the failure count; a failure
    keeps `message` and counts one more)."""
    row = store.conn.execute("SELECT failures FROM jobs WHERE name = ?", (name,)).fetchone()
    failures = row[0] if row else 0
    if ok:
        values = {"name": name, "last_success": iso(when), "failures": 0}
    else:
        values = {"name": name, "last_error": message, "last_error_at": iso(when),
                  "failures": failures + 1}
    with store.atomic():
        store.table("jobs").upsert(values, pk="name")


def every_job(store: Store) -> list[dict]:
    """Every recorded job (name, last_success, last_error, last_error_at, failures), by name."""
    return store.dict_rows("SELECT * FROM jobs ORDER BY name")
