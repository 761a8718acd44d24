"""Notes the user keeps about a colleague, found again before the next conversation.

Notes are private: they appear in `person`, `notes` and the morning email (which goes to the
user only), never in a draft or anything else that could be sent to someone."""
from __future__ import annotations

from datetime import datetime

from agent.addresses import normalise_email
from agent.errors import UserError
from agent.storage import notes as kept
from agent.storage.store import Store


def add_note(store: Store, email: str, text: str, now: datetime) -> int:
    """Keep `text` about `email`; returns the note's id."""
    if not text.strip():
        raise UserError("the note is empty")
    return kept.add(store, normalise_email(email), text.strip(), now)


def notes_of(store: Store, email: str) -> list[dict]:
    """All notes about `email`, newest first."""
    return kept.about(store, normalise_email(email))


def last_note(store: Store, email: str) -> str | None:
    """The newest note about `email`, or None."""
    notes = notes_of(store, email)
    return notes[0]["text"] if notes else None


def note_by_id(store: Store, note_id: int) -> dict:
    """The note with this id; an unknown id is a usage error (exit 2)."""
    row = kept.by_id(store, note_id)
    if row is None:
        raise UserError(f"no note with id {note_id} (`touchbase notes EMAIL` lists them)")
    return row


def edit_note(store: Store, note_id: int, text: str) -> dict:
    """Replace the text of note `note_id` (its date stays); returns the note as it is now."""
    if not text.strip():
        raise UserError("the note is empty (to remove it: touchbase note --delete ID)")
    note_by_id(store, note_id)
    kept.rewrite(store, note_id, text.strip())
    return note_by_id(store, note_id)


def delete_note(store: Store, note_id: int) -> dict:
    """Remove note `note_id`; returns the note that was removed."""
    row = note_by_id(store, note_id)
    kept.delete(store, note_id)
    return row
