"""The `actions` table: what the agent did (booked, ended, paused, drafted), for the morning
email and `touchbase export`."""
from __future__ import annotations

from datetime import datetime

from agent.storage.store import EMAIL_NAMES, Store, iso, named_in


def log(store: Store, kind: str, email: str, detail: str, when: datetime) -> None:
    """Record something the agent did at `when`."""
    store.table("actions").insert({"at": iso(when), "kind": kind, "email": email, "detail": detail})


def since(store: Store, moment: datetime) -> list[dict]:
    """What the agent did since `moment`, oldest first."""
    return list(store.table("actions").rows_where("at >= ?", [iso(moment)], order_by="at, id"))


def forget(store: Store, address: str) -> int:
    """Delete every action with `address` or naming it in its detail; returns how many went."""
    conn = store.conn
    gone = conn.execute(f"DELETE FROM actions WHERE {EMAIL_NAMES}", (named_in(address),)).rowcount
    return gone + conn.execute("DELETE FROM actions WHERE instr(lower(detail), ?) > 0",
                               (address,)).rowcount


def export(store: Store) -> list[dict]:
    """Every action, oldest first, for `touchbase export`."""
    return list(store.table("actions").rows_where(order_by="at"))
