"""Notes the user keeps about a colleague, found again before the next conversation."""
from __future__ import annotations

from datetime import datetime

from agent.addresses import normalise_email
from agent.errors import UserError
from agent.store import Store, iso


def add_note(store: Store, email: str, text: str, now: datetime) -> None:
    """Keep `text` about `email`."""
    if not text.strip():
        raise UserError("the note is empty")
    store.db["notes"].insert({"email": normalise_email(email), "created": iso(now), "text": text.strip()})


def notes_of(store: Store, email: str) -> list[dict]:
    """All notes about `email`, newest first."""
    return list(store.db["notes"].rows_where("email = ?", [normalise_email(email)],
                                             order_by="created desc, id desc"))


def last_note(store: Store, email: str) -> str | None:
    """The newest note about `email`, or None."""
    notes = notes_of(store, email)
    return notes[0]["text"] if notes else None
