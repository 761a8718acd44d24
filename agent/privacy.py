"""Forgetting a person, and exporting the user's own data."""
from __future__ import annotations

import json
from datetime import datetime

from agent.addresses import normalise_email
from agent.colleague_figures import people_rows
from agent.configuration.loader import Config, SourceConfig
from agent.errors import TouchbaseError
from agent.planning import touchbases as tb
from agent.planning.readback import own_by_series
from agent.planning.targets import source_named, where_written
from agent.sources import open_connector
from agent.storage import own_series
from agent.storage.store import Store, address_digest, iso, scrub_text

_TABLES_BY_EMAIL = ("people", "notes", "interactions", "followups", "actions")


def end_live_series(config: Config, store: Store, email: str, now: datetime,
                    ended: set[str] | None = None) -> list[str]:
    """End the agent's own live touchbase series with `email` (before `forget` erases them).

    Each series is ended after `now` through its write target's connector, found by the agent's
    tag as the planner does after declines. Returns one line per series: ended, or could not be
    ended (the target cannot be reached) and where it still is. Never raises for a backend.
    `ended`, when given, receives the ids of the series no longer live in their calendar.
    """
    address = normalise_email(email)
    rows = [row for row in tb.of_person(store, address) if row.state in tb.BOOKED]
    lines = []
    for target in sorted({row.target for row in rows}):
        group = [row for row in rows if row.target == target]
        where = where_written(config, target, hint=False)
        try:
            lines += _end_in(config, source_named(config, target), group, where, now, ended)
        except Exception as exc:  # noqa: BLE001 - forgetting goes on; the user is told where it is
            reason = str(exc) if isinstance(exc, TouchbaseError) else f"{type(exc).__name__}: {exc}"
            lines += [f"Could not end the touchbase series {_what(config, row)} {where} ({reason}); "
                      "it is still there: delete it yourself." for row in group]
    return lines


def _end_in(config: Config, source: SourceConfig, rows: list[tb.Touchbase], where: str,
            now: datetime, ended: set[str] | None = None) -> list[str]:
    connector = open_connector(config, source, now)
    try:
        own = own_by_series(connector.find_own_events())
        lines = []
        for row in rows:
            event = own.get(row.series_id)
            if event is not None and not event.ended:  # else never written, deleted or ended
                connector.end_series(event.event_id or row.event_id, now)
                lines.append(f"Ended the touchbase series {_what(config, row)} {where}.")
            if ended is not None:
                ended.add(row.series_id)
        return lines
    finally:
        connector.close()


def _what(config: Config, row: tb.Touchbase) -> str:
    from agent.planning.series_run import describe_touchbase

    return f"{row.title or row.series_id!r} ({describe_touchbase(config, row)})"


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
        counts["touchbases"] = own_series.forget_person(store, address)
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
    return {
        "exported_at": now.isoformat(),
        "user": config.user.email,
        "people": list(store.table("people").rows),
        "notes": list(store.table("notes").rows_where(order_by="created")),
        "interactions": list(store.table("interactions").rows_where(order_by="at")),
        "touchbases": own_series.rows(store, own_series.TOUCHBASE),
        "own_blocks": own_series.rows(store, own_series.RECONNECT_BLOCK),
        "followups": list(store.table("followups").rows),
        "actions": list(store.table("actions").rows_where(order_by="at")),
        "colleagues": people_rows(config, store, now),
    }


def forget_beyond_the_store(config: Config, store: Store, email: str, now: datetime) -> list[str]:
    """Before `forget`: erase the person's copies in the agent's own files, and name the copies
    it cannot reach. Run after `end_live_series` (so their series have ended).

    Removes their drafts and mail from the local outbox and the agent's ended series with them
    from the local calendar file; lists drafts, mail and series in a provider's account (Gmail,
    Outlook, a CalDAV server), which only the user can delete there. One line each.
    """
    address = normalise_email(email)
    lines = _outbox_forgotten(config, address) + _local_calendar_forgotten(config, address, now)
    return lines + unreachable_copies(config, store, address)


def _outbox_forgotten(config: Config, address: str) -> list[str]:
    from agent.mail import drafts_folder, outbox, remove_mail_to

    if not config.outbox_path.exists():
        return []
    try:
        drafts = remove_mail_to(drafts_folder(config), address)
        mail = remove_mail_to(outbox(config), address)
    except (TouchbaseError, OSError) as exc:
        return [f"Could not clean the outbox {config.outbox_path} ({exc}); "
                "delete their drafts there yourself."]
    if not drafts + mail:
        return []
    return [f"Removed {drafts} draft(s) and {mail} mail(s) to {address} from the outbox "
            f"{config.outbox_path}."]


def _local_calendar_forgotten(config: Config, address: str, now: datetime) -> list[str]:
    from agent.sources import local_source

    path = config.local_calendar_path
    if not path.exists():
        return []
    connector = open_connector(config, local_source(config), now)
    forget_attendee = getattr(connector, "forget_attendee", None)  # the local calendar's own
    try:
        removed = int(forget_attendee(address)) if forget_attendee else 0
    except (TouchbaseError, OSError) as exc:
        return [f"Could not clean the local calendar file {path} ({exc}); their ended touchbase "
                "series are still in it."]
    finally:
        connector.close()
    return [f"Removed {removed} ended touchbase series with {address} from {path}."] if removed else []


def unreachable_copies(config: Config, store: Store, address: str) -> list[str]:
    """Copies about `address` in providers' accounts, which the agent cannot (or may not) erase."""
    from agent.mail import OUTBOX, SMTP
    from agent.sources import LOCAL_SOURCE

    needle = f",{address},"
    lines = []
    drafts = store.db.conn.execute(
        "SELECT location, count(*) FROM followups WHERE instr(',' || lower(email) || ',', ?) > 0 "
        "AND location NOT IN (?, '') GROUP BY location ORDER BY location", (needle, OUTBOX)).fetchall()
    lines += [f"Cannot reach {n} draft(s) to {address} in {where} drafts: delete them there yourself."
              for where, n in drafts]
    sent = store.db.conn.execute(
        "SELECT transport, count(*) FROM outgoing WHERE sent_at IS NOT NULL AND transport != ? "
        "AND instr(lower(CAST(raw AS TEXT)), ?) > 0 GROUP BY transport ORDER BY transport",
        (OUTBOX, address)).fetchall()
    lines += [f"Cannot reach {n} mail(s) naming {address} already handed to {where}"
              f"{' (in the recipients mailboxes)' if where == SMTP else ' (in that mailbox)'}: "
              "delete them there yourself." for where, n in sent]
    targets = sorted({row.target for row in tb.of_person(store, address)
                      if row.target and row.target != LOCAL_SOURCE})
    lines += [f"Cannot reach the ended touchbase series with {address} in "
              f"{where_written(config, target, hint=False)}: delete them there yourself."
              for target in targets]
    return lines
