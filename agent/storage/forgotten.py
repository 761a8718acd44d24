"""The `forgotten` table: the SHA-256 digests of the addresses `touchbase forget` erased, so
that a later sync strips them again (the address itself is never kept)."""
from __future__ import annotations

import sqlite3
from datetime import datetime

from agent.storage.store import Store, address_digest, iso


def digests(conn: sqlite3.Connection) -> set[str]:
    """Every forgotten address's digest (read once when the store opens)."""
    return {row[0] for row in conn.execute("SELECT digest FROM forgotten")}


def remember(store: Store, address: str, when: datetime) -> None:
    """Keep the digest of `address` (forgotten at `when`), in the table and in `store.forgotten`."""
    digest = address_digest(address)
    store.conn.execute("INSERT OR IGNORE INTO forgotten (digest, at) VALUES (?, ?)", (digest, iso(when)))
    store.forgotten.add(digest)
