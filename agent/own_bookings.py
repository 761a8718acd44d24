"""The agent's own booked touchbases as upcoming meetings, read from its own records.

A series the agent wrote is booked the moment it is written, before any sync reads it back (and
one in the local calendar file, which invites nobody, never counts as a meeting with anyone). So
the occurrences of every booked touchbase (pending or active) are computed from its stored row:
the first start and the RRULE text, expanded by dateutil in the user's zone as the planner does
(never by hand), with the instances the agent moved at their new time and the ones it cancelled
(or that were changed outside it) left out. Status, next meeting, today's meetings and the map
read them, so what the agent booked in a run shows as booked in the same run's morning email.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.configuration.loader import Config
from agent.planning.recurrence import schedule_phrase
from agent.storage import instance_moves, own_series
from agent.storage.store import Store

HORIZON_DAYS = 400
"""How far ahead the next occurrence of a series is looked for (a quarterly rule fits)."""


@dataclass(frozen=True)
class BookedInstance:
    """One upcoming instance of a touchbase the agent booked."""

    email: str
    series_id: str
    title: str
    start: datetime
    end: datetime


def booked_series(store: Store) -> list[own_series.OwnSeries]:
    """The touchbases in a calendar or being written there, with a first start."""
    return [row for row in own_series.load(store)
            if row.state in own_series.BOOKED and row.start is not None and row.email]


def booked_between(config: Config, store: Store, start: datetime, end: datetime) -> list[BookedInstance]:
    """Every instance of a booked touchbase starting in [start, end), in start order."""
    moves = instance_moves.load(store)
    minutes = timedelta(minutes=config.touchbase.duration_minutes)
    result = []
    for row in booked_series(store):
        for moment in _starts(row, config.zone, moves, start, end):
            result.append(BookedInstance(row.email, row.series_id, row.title, moment, moment + minutes))
    return sorted(result, key=lambda item: (item.start, item.email))


def booked_schedules(config: Config, store: Store) -> dict[str, str]:
    """Colleague -> the schedule phrase of their booked touchbase ("monthly on the 2nd
    Wednesday, 09:00-09:30 Europe/Berlin"), for the map."""
    minutes = config.touchbase.duration_minutes
    return {row.email: schedule_phrase(row.rrule, row.start, minutes, config.zone)
            for row in booked_series(store) if row.start is not None}


def next_booked(config: Config, store: Store, now: datetime) -> dict[str, datetime]:
    """Colleague -> the start of the next instance of their booked touchbase after `now`."""
    result: dict[str, datetime] = {}
    for item in booked_between(config, store, now, now + timedelta(days=HORIZON_DAYS)):
        result.setdefault(item.email, item.start)
    return result


def _starts(row: own_series.OwnSeries, zone: ZoneInfo, moves: dict[str, instance_moves.Move],
            start: datetime, end: datetime) -> Iterator[datetime]:
    """The starts in [start, end) of `row`'s series, moves applied."""
    for original in _rule_starts(row, zone, end):
        move = moves.get(instance_moves.move_key(row.series_id, original))
        moment = original if move is None else move.new_start
        if move is not None and move.state == instance_moves.LEFT:
            moment = None  # changed outside the agent: the synced calendar says where it is
        if moment is not None and start <= moment < end:
            yield moment


def _rule_starts(row: own_series.OwnSeries, zone: ZoneInfo, end: datetime) -> Iterator[datetime]:
    """The series' original starts before `end` (plus a week, for instances moved into range)."""
    assert row.start is not None
    first = row.start.astimezone(zone)
    if not row.rrule:
        yield first
        return
    limit = end + timedelta(days=7)
    from dateutil.rrule import rrulestr  # only when a series is booked: `people` starts without it

    for moment in rrulestr(row.rrule, dtstart=first.replace(tzinfo=None)):
        aware = moment.replace(tzinfo=zone)
        if aware >= limit:
            return
        yield aware
