"""Forgetting a person, and exporting the user's own data."""
from __future__ import annotations

import json
from datetime import datetime

from agent.config import Config
from agent.notes import normalise_email
from agent.people import people_rows
from agent.store import Store, address_digest, iso, scrub_text

_TABLES_BY_EMAIL = ("people", "notes", "touchbases", "followups", "actions")


def forget(store: Store, email: str, now: datetime) -> dict[str, int]:
    """Erase everything about `email`; events keep only what other colleagues need.

    Returns how many rows each table lost or had rewritten. The address is remembered only as
    a SHA-256 digest so that a later sync strips it again.
    """
    address = normalise_email(email)
    counts: dict[str, int] = {}
    with store.atomic():
        conn = store.db.conn
        for table in _TABLES_BY_EMAIL:  # `email` may hold a comma-separated list (group drafts)
            counts[table] = conn.execute(
                f"DELETE FROM {table} WHERE instr(',' || lower(email) || ',', ?) > 0",
                (f",{address},",)).rowcount
        counts["actions"] += conn.execute(
            "DELETE FROM actions WHERE instr(lower(detail), ?) > 0", (address,)).rowcount
        counts["occurrences"] = _scrub_occurrences(store, address)
        counts["outgoing"] = conn.execute(
            "DELETE FROM outgoing WHERE instr(lower(CAST(raw AS TEXT)), ?) > 0", (address,)).rowcount
        conn.execute("INSERT OR IGNORE INTO forgotten (digest, at) VALUES (?, ?)",
                     (address_digest(address), iso(now)))
    store.forgotten.add(address_digest(address))
    return counts


def _scrub_occurrences(store: Store, address: str) -> int:
    conn = store.db.conn
    digests = {address_digest(address)}
    rows = conn.execute(
        "SELECT source, key, resource, series_id, title, organizer, attendees FROM occurrences "
        "WHERE instr(lower(attendees || organizer || key || resource || series_id || title), ?) > 0",
        (address,)).fetchall()
    for source, key, resource, series_id, title, organizer, attendees in rows:
        kept = [a for a in json.loads(attendees) if a[0].lower() != address]
        clear = organizer.lower() == address
        conn.execute(
            "UPDATE occurrences SET attendees = ?, organizer = CASE WHEN ? THEN '' ELSE organizer END, "
            "organizer_name = CASE WHEN ? THEN '' ELSE organizer_name END, key = ?, resource = ?, "
            "series_id = ?, title = ? WHERE source = ? AND key = ?",
            (json.dumps(kept), clear, clear, scrub_text(key, digests), scrub_text(resource, digests),
             scrub_text(series_id, digests), scrub_text(title, digests), source, key))
    for name, state in conn.execute("SELECT name, state FROM sources").fetchall():
        conn.execute("UPDATE sources SET state = ? WHERE name = ?", (scrub_text(state, digests), name))
    return len(rows)


def export(config: Config, store: Store, now: datetime) -> dict:
    """The user's own data as one JSON-ready object."""
    db = store.db
    return {
        "exported_at": now.isoformat(),
        "user": config.user.email,
        "people": list(db["people"].rows),
        "notes": list(db["notes"].rows_where(order_by="created")),
        "touchbases": list(db["touchbases"].rows),
        "followups": list(db["followups"].rows),
        "actions": list(db["actions"].rows_where(order_by="at")),
        "colleagues": people_rows(config, store, now),
    }
