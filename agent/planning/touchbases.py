"""Touchbases: the agent's own series of kind `touchbase`, one colleague each.

They are kept with the Reconnect hour in one table and one state machine
(`agent.storage.own_series`: proposed, pending, active, ended, deleted); this module is the
touchbase side of it: loading and saving touchbases, grouping them by colleague, their ids.
"""
from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict

from agent.storage import own_series
from agent.storage.own_series import ACTIVE, BOOKED, DELETED, ENDED, LIVE, PENDING, PROPOSED, OwnSeries
from agent.storage.store import Store

__all__ = ["ACTIVE", "BOOKED", "DELETED", "ENDED", "LIVE", "PENDING", "PROPOSED", "Touchbase",
           "by_email", "keyed_digest", "load", "of_person", "remove", "save", "series_id_for"]

Touchbase = OwnSeries
"""A touchbase is an own series of kind `touchbase` (the record's default kind)."""


def series_id_for(key: bytes, email: str, number: int) -> str:
    """The id of the `number`th series with `email` (also the iCalendar UID stem): the same on
    every run of this installation, and not predictable without its key
    (`agent.storage.installation_key`). Series recorded before the key keep their ids."""
    return f"tb-{keyed_digest(key, f'{email}#{number}')}"


def keyed_digest(key: bytes, text: str) -> str:
    """24 hex characters of the HMAC-SHA256 of `text` under the installation's key."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def load(store: Store) -> list[Touchbase]:
    """Every touchbase, oldest first."""
    return own_series.load(store, own_series.TOUCHBASE)


def by_email(rows: list[Touchbase]) -> dict[str, list[Touchbase]]:
    """Rows grouped by colleague, each list oldest first."""
    grouped: dict[str, list[Touchbase]] = defaultdict(list)
    for row in rows:
        grouped[row.email].append(row)
    return grouped


def of_person(store: Store, email: str) -> list[Touchbase]:
    """The touchbases with one colleague, oldest first."""
    return own_series.of_person(store, email)


def save(store: Store, row: Touchbase) -> None:
    """Insert or replace `row`."""
    own_series.save(store, row)


def remove(store: Store, series_id: str) -> None:
    """Forget a row that never became a series (a withdrawn proposal, a write that never happened)."""
    own_series.remove(store, series_id)
