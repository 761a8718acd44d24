"""The `figures_cache` table: the per-colleague meeting figures as last computed, and the
version of the stored occurrences they were computed from.

The version lives in the one-row table `occurrences_version`, which triggers on `occurrences`
raise on every insert, update and delete, whoever writes: figures computed from an older
version are never read. Every read and write of both tables goes through here.
"""
from __future__ import annotations

from agent.storage.store import Store


def version(store: Store) -> int | None:
    """How many times the stored occurrences changed (any write); None when it cannot be read
    (then no figures are kept or read)."""
    row = store.conn.execute("SELECT version FROM occurrences_version").fetchone()
    return row[0] if row and isinstance(row[0], int) else None


def load(store: Store, fingerprint: str) -> tuple[str, str] | None:
    """(bounds, payload) of the figures computed with `fingerprint` from the current
    occurrences, or None when there are none."""
    current = version(store)
    if current is None:
        return None
    row = store.conn.execute(
        "SELECT bounds, payload FROM figures_cache WHERE fingerprint = ? AND version = ?",
        (fingerprint, current)).fetchone()
    return (row[0], row[1]) if row and isinstance(row[0], str) and isinstance(row[1], str) else None


def save(store: Store, fingerprint: str, bounds: str, payload: str) -> None:
    """Keep the figures computed with `fingerprint` from the current occurrences (the only
    ones kept)."""
    current = version(store)
    store.conn.execute("DELETE FROM figures_cache")  # cut short here: no figures, read again
    if current is None:
        return
    store.conn.execute(
        "INSERT INTO figures_cache (fingerprint, version, bounds, payload) VALUES (?, ?, ?, ?)",
        (fingerprint, current, bounds, payload))

