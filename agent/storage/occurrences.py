"""The `occurrences` table: every calendar event the sources returned, one row per
occurrence, scrubbed of forgotten people on the way in."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from agent.model import LOCAL_SOURCE, Attendee, Changes, Occurrence
from agent.safe_text import printable
from agent.storage.store import Store, address_digest, iso, parse_iso, scrub_text

_COLUMNS = ("resource, key, title, start, \"end\", all_day, cancelled, organizer, organizer_name, "
            "attendees, series_id, tag, calendar, user_response, source, transparent, zone")


def apply_changes(store: Store, source: str, changes: Changes) -> None:
    """Apply one sync batch of `source` in a single transaction."""
    conn, forgotten = store.conn, store.forgotten
    with store.atomic():
        if changes.full:
            conn.execute("DELETE FROM occurrences WHERE source = ?", (source,))
        else:
            gone = [scrub_text(r, forgotten) for r in [*changes.removed, *changes.upserts]]
            conn.executemany("DELETE FROM occurrences WHERE source = ? AND resource = ?",
                             ((source, r) for r in gone))
        rows = (
            _occurrence_row(source, _scrub(occ, forgotten) if forgotten else occ)
            for items in changes.upserts.values() for occ in items
        )
        conn.executemany(
            "INSERT OR REPLACE INTO occurrences (source, resource, key, title, start, \"end\", "
            "all_day, cancelled, organizer, organizer_name, attendees, series_id, tag, "
            "calendar, user_response, transparent, zone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


def between(store: Store, start: datetime | None = None, end: datetime | None = None,
            source: str | None = None, untagged: bool = False) -> Iterator[Occurrence]:
    """Stored occurrences starting in [start, end) (of one source when given; only those
    without the agent's tag when `untagged`), in start order."""
    clauses, params = ["(tag IS NULL OR tag = '')"] if untagged else [], []
    if start is not None:
        clauses.append("start >= ?")
        params.append(iso(start))
    if end is not None:
        clauses.append("start < ?")
        params.append(iso(end))
    if source is not None:
        clauses.append("source = ?")
        params.append(source)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    cursor = store.conn.execute(f"SELECT {_COLUMNS} FROM occurrences {where} ORDER BY start", params)
    lists: dict[str, tuple[Attendee, ...]] = {}
    for row in cursor:
        yield _row_occurrence(row, lists)


def tagged(store: Store, uids: Iterable[str] = (), start: datetime | None = None,
           end: datetime | None = None) -> Iterator[Occurrence]:
    """Occurrences carrying the agent's tag, or belonging to one of the series `uids`
    (starting in [start, end) when given)."""
    uids = list(uids)
    marks = ",".join("?" * len(uids))
    extra = f" OR series_id IN ({marks}) OR resource IN ({marks})" if uids else ""
    span, bounds = "", []
    if start is not None and end is not None:
        span, bounds = " AND start >= ? AND start < ?", [iso(start), iso(end)]
    cursor = store.conn.execute(
        f"SELECT {_COLUMNS} FROM occurrences WHERE (tag != ''{extra}){span} ORDER BY start",
        uids + uids + bounds)
    lists: dict[str, tuple[Attendee, ...]] = {}
    for row in cursor:
        yield _row_occurrence(row, lists)


def organiser_zone(store: Store, email: str) -> str:
    """The zone most of the timed events `email` organised were written in ("" if unknown)."""
    row = store.conn.execute(
        "SELECT zone FROM occurrences WHERE organizer = ? AND zone != '' AND all_day = 0 "
        "GROUP BY zone ORDER BY count(*) DESC, max(start) DESC LIMIT 1", (email,)).fetchone()
    return str(row[0]) if row else ""


def count(store: Store, source: str | None = None) -> int:
    """How many occurrences are stored (for one source or all)."""
    if source is None:
        return store.conn.execute("SELECT count(*) FROM occurrences").fetchone()[0]
    return store.conn.execute(
        "SELECT count(*) FROM occurrences WHERE source = ?", (source,)).fetchone()[0]


def live_count(store: Store, source: str, start: datetime, end: datetime,
               resources: Iterable[str] | None = None) -> int:
    """How many occurrences of `source` that are not cancelled start in [start, end) (only
    those of `resources` when given): what a sudden loss is measured by."""
    query = ("SELECT count(*) FROM occurrences WHERE source = ? AND cancelled = 0 "
             "AND start >= ? AND start < ?")
    params: list[str] = [source, iso(start), iso(end)]
    if resources is None:
        return store.conn.execute(query, params).fetchone()[0]
    names, total = sorted(set(resources)), 0
    for at in range(0, len(names), 500):
        chunk = names[at:at + 500]
        total += store.conn.execute(f"{query} AND resource IN ({','.join('?' * len(chunk))})",
                                    params + chunk).fetchone()[0]
    return total


def series_held_before(store: Store, series_id: str, start: datetime) -> bool:
    """True when a not cancelled occurrence of the series `series_id` starts before `start`."""
    row = store.conn.execute(
        "SELECT 1 FROM occurrences WHERE series_id = ? AND start < ? AND cancelled = 0 LIMIT 1",
        (series_id, iso(start))).fetchone()
    return row is not None


def drop_source(store: Store, source: str) -> None:
    """Delete every occurrence of `source`."""
    store.conn.execute("DELETE FROM occurrences WHERE source = ?", (source,))


def forget(store: Store, address: str) -> int:
    """Take `address` out of every occurrence: out of the attendees and the organiser, and its
    mentions in ids and titles replaced by a neutral token. Returns how many were rewritten."""
    conn, digests = store.conn, {address_digest(address)}
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
    return len(rows)


def _scrub(occ: Occurrence, forgotten: set[str]) -> Occurrence:
    """`occ` without the attendees, organiser and ids mentioning a forgotten address."""
    occ.attendees = tuple(a for a in occ.attendees if address_digest(a.email) not in forgotten)
    if address_digest(occ.organizer) in forgotten:
        occ.organizer, occ.organizer_name = "", ""
    for name in ("resource", "key", "series_id", "title"):
        setattr(occ, name, scrub_text(getattr(occ, name), forgotten))
    return occ


def _occurrence_row(source: str, occ: Occurrence) -> tuple:
    """The row of an occurrence; names and titles from calendar data without control characters
    (an ESC sequence in a title must not reach a terminal, a line break not a header)."""
    attendees = json.dumps([
        [a.email, _clean(a.name), a.response, a.kind, int(a.optional)] for a in occ.attendees
    ])
    return (source, occ.resource, occ.key, _clean(occ.title), iso(occ.start), iso(occ.end),
            int(occ.all_day), int(occ.cancelled), occ.organizer, _clean(occ.organizer_name),
            attendees,
            occ.series_id, occ.tag, occ.calendar, occ.user_response, int(occ.transparent), occ.zone)


def _clean(value: object) -> object:
    """Text without control characters; anything else as it is (SQLite judges it)."""
    return printable(value) if isinstance(value, str) else value


def _attendees(text: str) -> tuple[Attendee, ...]:
    return tuple(Attendee(email=a[0], name=a[1], response=a[2], kind=a[3], optional=bool(a[4]))
                 for a in json.loads(text))


def _row_occurrence(row: Iterable, lists: dict[str, tuple[Attendee, ...]]) -> Occurrence:
    """The Occurrence of a row; `lists`: the attendee lists one query read so far, by their
    stored text (the instances of a series share theirs, and Attendee is frozen)."""
    (resource, key, title, start, end, all_day, cancelled, organizer, organizer_name,
     attendees, series_id, tag, calendar, user_response, source, transparent, zone) = row
    people = lists.get(attendees)
    if people is None:
        people = lists[attendees] = _attendees(attendees)
    return Occurrence(
        resource=resource, key=key, title=title, start=parse_iso(start), end=parse_iso(end),
        all_day=bool(all_day), cancelled=bool(cancelled), organizer=organizer,
        organizer_name=organizer_name, attendees=people, series_id=series_id, tag=tag,
        calendar=calendar, user_response=user_response, source=source,
        transparent=bool(transparent), zone=zone,
    )


def first_start_from(store: Store, moment: datetime) -> str | None:
    """The earliest stored occurrence start at or after `moment` (as stored), or None."""
    row = store.conn.execute("SELECT min(start) FROM occurrences WHERE start >= ?",
                             (iso(moment),)).fetchone()
    return row[0] if row else None



def first_copies_naming(store: Store, start: datetime, end: datetime,
                        needles: list[str]) -> Iterator[Occurrence]:
    """The occurrences starting in [start, end) that are the first copy of their key outside
    the agent's local calendar (as a reader of `between` that skips a key seen before and the
    local source would take them) and whose attendees or organiser name one of `needles`
    (lower-cased text, matched as a substring: a superset of the rows that can count for them).
    Only those rows are decoded; they come in no particular order."""
    seen: set[str] = set()
    chosen: list[int] = []
    for rowid, key, source, text in store.conn.execute(
            "SELECT rowid, key, source, lower(attendees || ' ' || organizer) FROM occurrences "
            "WHERE start >= ? AND start < ? ORDER BY start", (iso(start), iso(end))):
        if key in seen or source == LOCAL_SOURCE:
            continue
        seen.add(key)
        if any(needle in text for needle in needles):
            chosen.append(rowid)
    lists: dict[str, tuple[Attendee, ...]] = {}
    for at in range(0, len(chosen), 500):
        part = chosen[at:at + 500]
        marks = ",".join("?" * len(part))
        for row in store.conn.execute(f"SELECT {_COLUMNS} FROM occurrences WHERE rowid IN ({marks})", part):
            yield _row_occurrence(row, lists)
