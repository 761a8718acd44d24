"""The `mail_contacts` and `mail_sync` tables: two-way mail as contact, and each mail source's
sync state and health.

A row is one counted message toward one colleague: message key, thread key, the colleague's
address, direction (`out`: the user wrote to them; `in`: they wrote to the user), instant, folder,
source. Nothing else of a message is ever kept: no subject, body, snippet or attachment name.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from agent.storage.store import Store, address_digest, iso, parse_iso


@dataclass(frozen=True)
class MailContact:
    """One counted message toward one colleague."""

    key: str
    thread: str
    email: str
    direction: str  # "out" (user -> colleague) | "in" (colleague -> user)
    at: datetime
    folder: str = ""


def put(store: Store, source: str, contacts: Iterable[MailContact]) -> int:
    """Store counted messages (a message seen again replaces its row; forgotten people are
    left out); one transaction. Returns how many rows were written."""
    rows = [(c.key, c.thread, c.email, c.direction, iso(c.at), c.folder, source)
            for c in contacts if address_digest(c.email) not in store.forgotten]
    if not rows:
        return 0
    with store.atomic():
        store.conn.executemany(
            "INSERT OR REPLACE INTO mail_contacts (key, thread, email, direction, at, folder, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def up_to(store: Store, until: datetime) -> list[MailContact]:
    """Every counted message up to `until`, oldest first."""
    rows = store.conn.execute(
        "SELECT key, thread, email, direction, at, folder FROM mail_contacts WHERE at <= ? "
        "ORDER BY at, key", (iso(until),))
    return [MailContact(k, t, e, d, parse_iso(a), f) for k, t, e, d, a, f in rows]


def addresses(store: Store) -> set[str]:
    """Every colleague address a counted message names."""
    return {row[0] for row in store.conn.execute("SELECT DISTINCT email FROM mail_contacts")}


def forget(store: Store, address: str) -> int:
    """Delete every counted message toward `address`; returns how many rows went."""
    return store.conn.execute("DELETE FROM mail_contacts WHERE email = ?", (address,)).rowcount


def state(store: Store, source: str) -> dict:
    """The reader state saved after the last successful mail sync of `source`."""
    row = store.conn.execute("SELECT state FROM mail_sync WHERE source = ?", (source,)).fetchone()
    return json.loads(row[0]) if row else {}


def record_sync(store: Store, source: str, type_name: str, saved: dict, when: datetime) -> None:
    """Remember a successful mail sync of `source` and its new state."""
    count = store.conn.execute("SELECT count(*) FROM mail_contacts WHERE source = ?",
                               (source,)).fetchone()[0]
    store.conn.execute(  # one statement: atomic without a transaction of its own
        "INSERT INTO mail_sync (source, type, state, last_success, messages, needs_reauth) "
        "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT(source) DO UPDATE SET type = excluded.type, "
        "state = excluded.state, last_success = excluded.last_success, "
        "messages = excluded.messages, needs_reauth = NULL",
        (source, type_name, json.dumps(saved), iso(when), count))


def record_error(store: Store, source: str, type_name: str, message: str, when: datetime,
                 needs_reauth: str | None = None) -> None:
    """Remember a failed mail sync of `source` (shown by status)."""
    store.conn.execute(
        "INSERT INTO mail_sync (source, type, last_error, last_error_at, needs_reauth) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET last_error = excluded.last_error, "
        "last_error_at = excluded.last_error_at, needs_reauth = excluded.needs_reauth",
        (source, type_name, message, iso(when), needs_reauth))


def health(store: Store) -> list[dict]:
    """Each mail source: last success, counted messages, last error, re-authorisation needed."""
    rows = store.conn.execute(
        "SELECT source, type, last_success, messages, last_error, last_error_at, needs_reauth "
        "FROM mail_sync ORDER BY source")
    names = ("source", "type", "last_success", "messages", "last_error", "last_error_at",
             "needs_reauth")
    return [dict(zip(names, row, strict=True)) for row in rows]
