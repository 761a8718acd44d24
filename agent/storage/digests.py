"""The `digests` table: which day's morning email was sent, queued or skipped."""
from __future__ import annotations

from datetime import date, datetime

from agent.storage.store import Store, iso


def of_day(store: Store, day: date) -> dict | None:
    """The record of `day` (sent, queued or skipped), or None."""
    rows = list(store.table("digests").rows_where("day = ?", [day.isoformat()]))
    return rows[0] if rows else None


def claim(store: Store, day: date, when: datetime, transport: str, status: str,
          exclusive: bool = True) -> None:
    """Record `day`'s email as `status` at `when`. An `exclusive` claim of a day already
    recorded raises sqlite3.IntegrityError; otherwise the earlier record stays."""
    verb = "INSERT" if exclusive else "INSERT OR IGNORE"
    store.conn.execute(f"{verb} INTO digests (day, sent_at, transport, status) VALUES (?, ?, ?, ?)",
                       (day.isoformat(), iso(when), transport, status))


def mark_sent(store: Store, day: str, sent_at: str) -> int:
    """A queued `day` (ISO date) reads sent at `sent_at`; returns 1 when it changed, else 0."""
    return store.conn.execute(
        "UPDATE digests SET status = 'sent', sent_at = ? WHERE day = ? AND status = 'queued'",
        (sent_at, day)).rowcount


def queued_days(store: Store) -> list[str]:
    """The days (ISO dates) whose email is recorded queued."""
    return [day for (day,) in store.conn.execute("SELECT day FROM digests WHERE status = 'queued'")]


def last_sent_before(store: Store, day: date) -> str | None:
    """When the last email (sent or queued) of a day before `day` was recorded, or None."""
    row = store.conn.execute("SELECT max(sent_at) FROM digests WHERE day < ? AND status != 'skipped'",
                             (day.isoformat(),)).fetchone()
    return row[0] if row else None


def latest(store: Store) -> dict | None:
    """The record of the latest day (day, status, sent_at, transport), or None."""
    row = store.conn.execute(
        "SELECT day, status, sent_at, transport FROM digests ORDER BY day DESC LIMIT 1").fetchone()
    return dict(zip(("day", "status", "sent_at", "transport"), row, strict=True)) if row else None
