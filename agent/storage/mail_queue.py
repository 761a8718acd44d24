"""The `outgoing` table: every mail the agent writes waits here until its transport takes it."""
from __future__ import annotations

from datetime import datetime

from agent.errors import StoreError
from agent.storage.store import Store, iso

_NAMES = "instr(lower(CAST(raw AS TEXT)), ?) > 0"
"""The SQL condition: the raw mail names the lower-cased address given as the parameter."""


def add(store: Store, raw: bytes, kind: str, transport: str, when: datetime) -> int:
    """Queue the mail `raw` of `kind` for `transport`; returns its id."""
    table = store.table("outgoing")
    table.insert({"created_at": iso(when), "kind": kind, "transport": transport, "raw": raw,
                  "attempts": 0})
    if table.last_pk is None:
        raise StoreError("the outgoing mail queue did not return the id of the queued mail")
    return int(table.last_pk)


def pending(store: Store) -> list[dict]:
    """Queued mail not yet delivered, oldest first (with its raw bytes)."""
    return store.dict_rows("SELECT * FROM outgoing WHERE sent_at IS NULL ORDER BY id")


def count_attempt(store: Store, mail_id: int) -> None:
    """One more delivery attempt of mail `mail_id` (committed before the mail leaves)."""
    store.conn.execute("UPDATE outgoing SET attempts = attempts + 1 WHERE id = ?", (mail_id,))


def mark_sent(store: Store, mail_id: int, when: datetime) -> None:
    """Mail `mail_id` was accepted by its transport at `when`."""
    store.conn.execute("UPDATE outgoing SET sent_at = ?, last_error = NULL WHERE id = ?",
                       (iso(when), mail_id))


def mark_error(store: Store, mail_id: int, error: str) -> None:
    """Mail `mail_id` could not be delivered: `error` says why."""
    store.conn.execute("UPDATE outgoing SET last_error = ? WHERE id = ?", (error, mail_id))


def stuck(store: Store, kinds: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """Per transport whose queued mail (of `kinds`, or any) failed: (transport, how many, the
    newest error), by transport."""
    where = "sent_at IS NULL AND last_error IS NOT NULL"
    if kinds:
        where += f" AND kind IN ({', '.join('?' for _ in kinds)})"
    rows = store.conn.execute(
        f"SELECT transport, count(*), max(id) FROM outgoing WHERE {where} "
        "GROUP BY transport ORDER BY transport", kinds).fetchall()
    return [(transport, count, store.table("outgoing").get(last_id)["last_error"])
            for transport, count, last_id in rows]


def status(store: Store, mail_id: int) -> dict:
    """The queue row of one mail (sent_at, attempts, last_error), without its raw bytes."""
    row = dict(store.table("outgoing").get(mail_id))
    row.pop("raw", None)
    return row


def of_kind(store: Store, kind: str) -> list[tuple[str | None, bytes]]:
    """(sent_at, raw) of every queued or sent mail of `kind`, newest first."""
    return store.conn.execute(
        "SELECT sent_at, raw FROM outgoing WHERE kind = ? ORDER BY id DESC", (kind,)).fetchall()


def delivered_naming(store: Store, address: str, besides: str) -> list[tuple[str, int]]:
    """(transport, how many) of the mail naming `address` already handed to a transport other
    than `besides`, by transport."""
    return store.conn.execute(
        f"SELECT transport, count(*) FROM outgoing WHERE sent_at IS NOT NULL AND transport != ? "
        f"AND {_NAMES} GROUP BY transport ORDER BY transport", (besides, address)).fetchall()


def forget(store: Store, address: str) -> int:
    """Delete every queued or sent mail naming `address`; returns how many went."""
    return store.conn.execute(f"DELETE FROM outgoing WHERE {_NAMES}", (address,)).rowcount
