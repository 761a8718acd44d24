"""The `instance_moves` table: single instances of touchbase series the agent moved or cancelled;
and the `busy_checks` table: the day each series' colleague was last asked whether they are busy.

A move is recorded `pending` (with the slot it goes to) before the calendar is written, and `done`
after; a run that finds a pending move writes the same slot again (the connectors' instance
writes are idempotent), so a crash never moves an instance twice nor adds a second override.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.storage.store import Store, iso, parse_iso

PENDING, DONE, LEFT = "pending", "done", "left"
"""`left`: the instance was changed outside the agent (moved or removed by you); never healed."""


@dataclass
class Move:
    """One healed instance: where it started originally, where it is now (None: cancelled)."""

    series_id: str
    email: str
    original_start: datetime
    new_start: datetime | None
    state: str
    reason: str
    at: datetime
    moves: int = 1

    @property
    def key(self) -> str:
        """The deterministic key: series id and original start."""
        return move_key(self.series_id, self.original_start)


def move_key(series_id: str, original_start: datetime) -> str:
    """The key of the instance of `series_id` that started at `original_start`."""
    return f"{series_id}|{iso(original_start)}"


def load(store: Store) -> dict[str, Move]:
    """Every recorded move, by key."""
    result = {}
    for row in store.conn.execute(
            "SELECT series_id, email, original_start, new_start, state, reason, at, moves "
            "FROM instance_moves"):
        move = Move(row[0], row[1], parse_iso(row[2]), parse_iso(row[3]) if row[3] else None,
                    row[4], row[5], parse_iso(row[6]), row[7])
        result[move.key] = move
    return result


def save(store: Store, move: Move) -> None:
    """Insert or replace `move`."""
    store.conn.execute(
        "INSERT OR REPLACE INTO instance_moves (key, series_id, email, original_start, new_start, "
        "state, reason, at, moves) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (move.key, move.series_id, move.email, iso(move.original_start),
         iso(move.new_start) if move.new_start else None, move.state, move.reason, iso(move.at),
         move.moves))


def moved_starts(moves: dict[str, Move], series_id: str) -> set[datetime]:
    """Where the agent moved instances of `series_id` to."""
    return {m.new_start for m in moves.values() if m.series_id == series_id and m.new_start}


def remove(store: Store, key: str) -> None:
    """Forget a pending move whose series is no longer live (nothing left to finish)."""
    store.conn.execute("DELETE FROM instance_moves WHERE key = ?", (key,))


def forget(store: Store, address: str) -> int:
    """Erase the moves of instances booked with `address` (`touchbase forget`); returns how many."""
    return store.conn.execute("DELETE FROM instance_moves WHERE lower(email) = ?",
                              (address.lower(),)).rowcount


def busy_checked(store: Store) -> dict[str, str]:
    """Series id -> the day (ISO date, user's zone) its colleague's busy time was last asked."""
    return dict(store.conn.execute("SELECT series_id, day FROM busy_checks").fetchall())


def record_busy_check(store: Store, series_id: str, day: str) -> None:
    """Remember that the colleague of `series_id` was asked on `day` (asked once a day)."""
    store.conn.execute("INSERT OR REPLACE INTO busy_checks (series_id, day) VALUES (?, ?)", (series_id, day))
