"""The `notes` table: the private notes the user keeps about colleagues."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import EMAIL_NAMES, Store, iso, named_in


def add(store: Store, email: str, text: str, when: datetime) -> int:
    """Keep `text` about `email`, written at `when`; returns the note's id."""
    cursor = store.conn.execute("INSERT INTO notes (email, created, text) VALUES (?, ?, ?)",
                                (email, iso(when), text))
    return int(cursor.lastrowid or 0)


def about(store: Store, email: str) -> list[dict]:
    """Every note about `email`, newest first."""
    return store.dict_rows("SELECT * FROM notes WHERE email = ? ORDER BY created DESC, id DESC", (email,))


def newest_by_email(store: Store) -> dict[str, str]:
    """The text of the newest note about each colleague, in one query."""
    rows = store.conn.execute("SELECT email, text FROM notes ORDER BY created, id")
    return {email: text for email, text in rows}


def by_id(store: Store, note_id: int) -> dict | None:
    """The note with this id, or None."""
    return next(iter(store.table("notes").rows_where("id = ?", [note_id])), None)


def rewrite(store: Store, note_id: int, text: str) -> None:
    """Replace the text of note `note_id` (its date stays)."""
    store.conn.execute("UPDATE notes SET text = ? WHERE id = ?", (text, note_id))


def delete(store: Store, note_id: int) -> None:
    """Remove note `note_id`."""
    store.conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))


def forget(store: Store, address: str) -> int:
    """Delete every note about `address`; returns how many went."""
    return store.conn.execute(f"DELETE FROM notes WHERE {EMAIL_NAMES}", (named_in(address),)).rowcount


def export(store: Store) -> list[dict]:
    """Every note, oldest first, for `touchbase export`."""
    return list(store.table("notes").rows_where(order_by="created"))
