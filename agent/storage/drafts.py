"""The `followups` table: every draft the agent wrote (follow-ups after meetings, weekly
reconnect notes), so none is written twice."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import EMAIL_NAMES, Store, iso, named_in, parse_iso


def record(store: Store, key: str, emails: str, when: datetime, meeting_start: datetime | None,
           title: str, location: str, kind: str) -> None:
    """Remember the draft `key` to `emails` (comma-separated), stored through `location`.
    A key already recorded raises sqlite3.IntegrityError."""
    store.table("followups").insert({
        "key": key, "email": emails, "created_at": iso(when),
        "meeting_start": iso(meeting_start) if meeting_start else None, "title": title,
        "location": location, "kind": kind,
    })


def exists(store: Store, key: str) -> bool:
    """True when the draft `key` was written."""
    return bool(store.table("followups").count_where("key = ?", [key]))


def exists_for_meeting(store: Store, meeting_start: str, emails: str) -> bool:
    """True when a draft to exactly `emails` was written for a meeting starting at
    `meeting_start` (ISO text)."""
    return bool(store.table("followups").count_where("meeting_start = ? AND email = ?",
                                                     [meeting_start, emails]))


def last_meeting_to(store: Store, email: str, kind: str) -> datetime | None:
    """The start of the latest meeting a draft of `kind` to `email` was written for."""
    row = store.conn.execute(
        "SELECT max(meeting_start) FROM followups WHERE kind = ? "
        "AND instr(',' || email || ',', ?) > 0", (kind, named_in(email))).fetchone()
    return parse_iso(row[0]) if row and row[0] else None


def written_since(store: Store, since: datetime, kind: str) -> list[dict]:
    """The drafts of `kind` written since `since`, oldest first."""
    return list(store.table("followups").rows_where(
        "created_at >= ? AND kind = ?", [iso(since), kind], order_by="created_at, key"))


def locations_by_email(store: Store, kind: str, key_suffix: str) -> dict[str, str]:
    """Address -> where the draft is, for the drafts of `kind` whose key is
    "<kind>|...<key_suffix>"."""
    rows = store.conn.execute("SELECT email, location FROM followups WHERE kind = ? AND key LIKE ?",
                              (kind, f"{kind}|%{key_suffix}"))
    return {email: location for email, location in rows}


def outside(store: Store, address: str, besides: str) -> list[tuple[str, int]]:
    """(location, how many) of the drafts to `address` stored anywhere but `besides`, by location."""
    return store.conn.execute(
        f"SELECT location, count(*) FROM followups WHERE {EMAIL_NAMES} "
        "AND location NOT IN (?, '') GROUP BY location ORDER BY location",
        (named_in(address), besides)).fetchall()


def forget(store: Store, address: str) -> int:
    """Delete the record of every draft to `address`; returns how many went."""
    return store.conn.execute(f"DELETE FROM followups WHERE {EMAIL_NAMES}", (named_in(address),)).rowcount


def export(store: Store) -> list[dict]:
    """Every draft recorded, for `touchbase export`."""
    return list(store.table("followups").rows)
