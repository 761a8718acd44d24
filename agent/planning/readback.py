"""Reading the agent's own touchbases back: what the backend still holds, and declines.

Declines are counted per occurrence from every synced copy of a series (the write target, or the
user's own calendar after an import), matched by the agent's tag, by UID or by the backend's
series id, and believed only as `agent.planning.provenance` says (organised by the user; outside
the write target, the series as stored). What counts toward `decline_limit` is documented in
docs/touchbases.md: declines of the series and of instances the agent already moved (single
declines are healed instead).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime

from agent.inference import MeetingRules
from agent.model import Occurrence, OwnEvent
from agent.planning.provenance import Provenance
from agent.storage.own_series import PENDING, OwnSeries

WRITTEN, UNWRITTEN, GONE, ENDED_THERE, RUNNING = "written", "unwritten", "gone", "ended-there", "running"


def own_by_series(events: Iterable[OwnEvent], provenance: Provenance) -> dict[str, OwnEvent]:
    """The backend's own events keyed by series id (the tag when the backend keeps no id);
    an event another organiser sent with the agent's tag is not among them."""
    result: dict[str, OwnEvent] = {}
    for event in events:
        key = event.series_id or event.tag
        if key and provenance.own_event(event) and (key not in result or result[key].ended and not event.ended):
            result[key] = event
    return result


def calendar_says(row: OwnSeries, own: OwnEvent | None) -> str:
    """What the write target says about a booked series (`own`: the agent's event found there).

    A pending row: `written` (found: the run that wrote it was interrupted) or `unwritten` (the
    write never happened). An active one: `gone` (the user deleted it), `ended-there` (ended in
    the calendar) or `running`. The same for every kind of the agent's own series.
    """
    if row.state == PENDING:
        return WRITTEN if own is not None else UNWRITTEN
    if own is None:
        return GONE
    return ENDED_THERE if own.ended else RUNNING


def series_keys(row: OwnSeries) -> set[str]:
    """The ids under which occurrences of `row`'s series may be stored."""
    keys = {row.series_id}
    if row.event_id:
        keys.add(row.event_id)
    return keys


def occurrences_by_series(occurrences: Iterable[Occurrence], rows: list[OwnSeries],
                          provenance: Provenance) -> dict[str, list[Occurrence]]:
    """Synced occurrences grouped under the series id of the row they belong to: only the
    copies `provenance` believes (a stranger's event carrying the series' UID or tag is left out)."""
    lookup: dict[str, OwnSeries] = {}
    for row in rows:
        for key in series_keys(row):
            lookup[key] = row
    grouped: dict[str, list[Occurrence]] = defaultdict(list)
    for occ in occurrences:
        match = _row_of(occ, lookup)
        if match is not None and provenance.believes(occ, match):
            grouped[match.series_id].append(occ)
    return grouped


def _row_of(occ: Occurrence, lookup: dict[str, OwnSeries]) -> OwnSeries | None:
    """The row whose ids `occ` carries (tag, series id, resource, or their UID stems)."""
    for key in (occ.tag, occ.series_id, occ.resource, _uid_stem(occ.series_id), _uid_stem(occ.resource)):
        if key and key in lookup:
            return lookup[key]
    return None


def count_declines(occurrences: Iterable[Occurrence], colleague: str, rules: MeetingRules,
                   now: datetime, moved: Collection[datetime] = ()) -> tuple[int, list[datetime]]:
    """Declines that count toward `decline_limit`: the distinct declined occurrences that
    started, plus the next one if declined, among those that are not healed single declines.

    A declined occurrence counts when it is a moved one (`moved`: the new starts of instances
    the agent moved), or when every later synced occurrence is declined too (the colleague
    declined the series). Returns the count and the starts of the declined occurrences it counted.
    """
    declined = declined_starts(occurrences, colleague, rules)
    counting = {start for start, no in declined.items() if no and counts_as_series(declined, start)}
    counting |= {start for start in moved if declined.get(start)}
    counted = [start for start in counting if start <= now]
    upcoming = sorted(start for start in declined if start > now)
    if upcoming and upcoming[0] in counting:
        counted.append(upcoming[0])
    return len(counted), sorted(counted)


def declined_starts(occurrences: Iterable[Occurrence], colleague: str,
                    rules: MeetingRules) -> dict[datetime, bool]:
    """Start -> whether the colleague declined it, over the series' synced occurrences
    (cancelled ones left out; one decline in any synced copy is enough)."""
    declined: dict[datetime, bool] = {}
    for occ in occurrences:
        if occ.cancelled:
            continue
        said_no = _declined_by(occ, colleague, rules)
        declined[occ.start] = declined.get(occ.start, False) or said_no
    return declined


def counts_as_series(declined: dict[datetime, bool], start: datetime) -> bool:
    """True when the occurrence at `start` and every later one are declined (a series decline)."""
    return all(no for when, no in declined.items() if when >= start)


def _declined_by(occ: Occurrence, colleague: str, rules: MeetingRules) -> bool:
    return any(rules.normalise(a.email) == colleague and a.response == "declined"
               for a in occ.attendees)


def _uid_stem(uid: str) -> str:
    return uid.split("@", 1)[0] if "@" in uid else ""
