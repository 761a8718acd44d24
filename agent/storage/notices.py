"""The `notices` table: what a source told the user once per store (a token cache kept as a
plain file for want of an OS keyring), shown again only by `touchbase status`."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import Store, iso


def settle(store: Store, source: str, current: list[str], when: datetime) -> list[str]:
    """Keep `current` as `source`'s notices (a notice no longer true is dropped); the ones not
    told before, to tell now."""
    known = set(of_source(store, source))
    for text in known - set(current):
        store.conn.execute("DELETE FROM notices WHERE source = ? AND text = ?", (source, text))
    for text in dict.fromkeys(current):
        if text not in known:
            store.conn.execute("INSERT INTO notices (source, text, shown_at) VALUES (?, ?, ?)",
                               (source, text, iso(when)))
    return [text for text in dict.fromkeys(current) if text not in known]


def of_source(store: Store, source: str) -> list[str]:
    """The notices `source` has told, oldest first."""
    return [text for (text,) in store.conn.execute(
        "SELECT text FROM notices WHERE source = ? ORDER BY shown_at, text", (source,))]
