"""The contract every connector meets, as one test class each connector's tests subclass.

`ConnectorContract` is not collected itself (its name does not start with Test). A subclass
named `Test...Contract` provides the `backend` fixture: a `Backend` that opens the connector as
the agent does and changes the calendar behind its back the way a user or another client would
(put, change, remove an event) or makes its sync state stale. The same tests then run against
every backend: ics files, the local calendar file, CalDAV (Radicale), Google and Outlook (the
emulators in tests/fakes/). The design follows vdirsyncer's StorageTests: one base class,
per-backend set-up, capability flags for what a backend cannot do (`writable`).
"""
from __future__ import annotations

import contextlib
import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import icalendar
import pytest

from agent.errors import NotFound, ReadOnlySource, SourceError
from agent.model import Changes, Occurrence, SeriesSpec
from agent.planning.recurrence import schedule_phrase
from connectors.base import Connector

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=BERLIN)
"""The agent's clock in every contract test (the sync window runs well past February 2027)."""
USER = "me@acme.example"
COLLEAGUE = "alice@acme.example"
MINUTES = 30
TITLE = "Touchbase: Alice"


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    """A moment in November 2026 (UTC): every backend is given aware times."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def spec(series_id: str = "tb-alice-1", title: str = TITLE) -> SeriesSpec:
    """A monthly touchbase on the second Tuesday from 10 November 2026, 10:00 Berlin."""
    return SeriesSpec(series_id=series_id, colleague=COLLEAGUE, colleague_name="Alice",
                      organizer=USER, title=title, description="How are you?",
                      start=datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN), duration_minutes=MINUTES,
                      timezone="Europe/Berlin", weekday="TU", week_index=2, tag=series_id)


CADENCES = [  # (frequency, interval, weekday, week_index, first day in November 2026, the phrase)
    ("weekly", 1, "TU", 1, 3, "weekly on Tuesday, 10:00-10:30 Europe/Berlin"),
    ("weekly", 2, "TU", 1, 3, "every 2 weeks on Tuesday, 10:00-10:30 Europe/Berlin"),
    ("monthly", 1, "WE", 2, 11, "monthly on the 2nd Wednesday, 10:00-10:30 Europe/Berlin"),
    ("monthly", 2, "WE", 2, 11, "every 2 months on the 2nd Wednesday, 10:00-10:30 Europe/Berlin"),
    ("monthly", 3, "WE", 2, 11, "quarterly on the 2nd Wednesday, 10:00-10:30 Europe/Berlin"),
    ("monthly", 1, "FR", -1, 27, "monthly on the last Friday, 10:00-10:30 Europe/Berlin"),
]


def cadence_spec(frequency: str, interval: int, weekday: str, week_index: int, day: int) -> SeriesSpec:
    """A touchbase on one cadence, first on `day` November 2026, 10:00 Berlin."""
    series_id = f"tb-cadence-{frequency}-{interval}-{week_index}{weekday}".lower()
    return SeriesSpec(series_id=series_id, colleague=COLLEAGUE, colleague_name="Alice",
                      organizer=USER, title=TITLE, description="How are you?",
                      start=datetime(2026, 11, day, 10, 0, tzinfo=BERLIN), duration_minutes=MINUTES,
                      timezone="Europe/Berlin", weekday=weekday, week_index=week_index, tag=series_id,
                      frequency=frequency, interval=interval)


class Backend(ABC):
    """One calendar backend as a contract test drives it."""

    @abstractmethod
    def connector(self) -> Connector:
        """A new connector on the calendar, opened as the agent opens it at `NOW`."""

    @abstractmethod
    def put(self, title: str, start: datetime, minutes: int = MINUTES) -> str:
        """Add a meeting of the user with the colleague (not the agent's); returns the resource
        the connector reports it under (and, for writable backends, its event id)."""

    @abstractmethod
    def change(self, resource: str, title: str) -> None:
        """Retitle the event `put` returned `resource` for."""

    @abstractmethod
    def remove(self, resource: str) -> None:
        """Delete the event `put` returned `resource` for."""

    @abstractmethod
    def stale(self, state: dict) -> dict:
        """A state as after the backend forgot the sync token in `state`."""


class CalendarFileBackend(Backend):
    """An iCalendar file edited as another application would (the ics and local connectors)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.numbers = itertools.count(1)

    def put(self, title: str, start: datetime, minutes: int = MINUTES) -> str:
        uid = f"contract-{next(self.numbers)}@example.org"
        with self._editing() as calendar:
            calendar.add_component(meeting_vevent(uid, title, start, minutes))
        return uid

    def change(self, resource: str, title: str) -> None:
        with self._editing() as calendar:
            event = self._event(calendar, resource)
            event.pop("SUMMARY")
            event.add("SUMMARY", title)
            sequence = int(event.pop("SEQUENCE", 0))
            event.add("SEQUENCE", sequence + 1)

    def remove(self, resource: str) -> None:
        with self._editing() as calendar:
            calendar.subcomponents.remove(self._event(calendar, resource))

    def stale(self, state: dict) -> dict:
        """The state of a sync long ago: the window it covered has moved on since."""
        year = timedelta(days=400)
        window = [(datetime.fromisoformat(w) - year).isoformat() for w in state["window"]]
        return {**state, "window": window}

    @staticmethod
    def _event(calendar: icalendar.Calendar, uid: str) -> icalendar.Event:
        return next(e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid)

    @contextlib.contextmanager
    def _editing(self) -> Iterator[icalendar.Calendar]:
        if self.path.exists():
            calendar = icalendar.Calendar.from_ical(self.path.read_bytes())
        else:
            calendar = icalendar.Calendar()
            calendar.add("VERSION", "2.0")
            calendar.add("PRODID", "-//touchbase tests//contract//EN")
        yield calendar
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(calendar.to_ical())


def meeting_vevent(uid: str, title: str, start: datetime, minutes: int = MINUTES) -> icalendar.Event:
    """A meeting the user organised with the colleague, who accepted (iCalendar)."""
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime(2026, 10, 1, tzinfo=UTC))
    event.add("SUMMARY", title)
    event.add("DTSTART", start)
    event.add("DTEND", start + timedelta(minutes=minutes))
    event.add("ORGANIZER", f"mailto:{USER}")
    event.add("ATTENDEE", f"mailto:{USER}", parameters={"PARTSTAT": "ACCEPTED"})
    event.add("ATTENDEE", f"mailto:{COLLEAGUE}", parameters={"PARTSTAT": "ACCEPTED"})
    return event


def meeting_calendar(uid: str, title: str, start: datetime, minutes: int = MINUTES) -> str:
    """A whole VCALENDAR holding `meeting_vevent` (what a CalDAV client PUTs)."""
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//touchbase tests//contract//EN")
    calendar.add_component(meeting_vevent(uid, title, start, minutes))
    return calendar.to_ical().decode("utf-8")


def titles(changes: Changes) -> dict[str, set[str]]:
    """resource -> the titles of its occurrences."""
    return {resource: {occ.title for occ in items} for resource, items in changes.upserts.items()}


def occurrences_titled(changes: Changes, title: str) -> list[Occurrence]:
    """The upserted occurrences with `title`, in start order."""
    return sorted((occ for items in changes.upserts.values() for occ in items if occ.title == title),
                  key=lambda occ: occ.start)


def nothing_new(changes: Changes) -> bool:
    """True when a fetch reports no change (or did not read at all)."""
    return changes.unchanged or (not changes.full and not changes.upserts and not changes.removed)


class ConnectorContract:
    """The tests every connector passes. Subclasses define the `backend` fixture."""

    writable: ClassVar[bool] = True
    """False for a read-only source: writes must raise ReadOnlySource."""

    @pytest.fixture
    def backend(self) -> Backend:
        """Provided by each subclass."""
        raise NotImplementedError

    @pytest.fixture
    def connector(self, backend: Backend) -> Iterator[Connector]:
        """The connector under test, closed afterwards."""
        opened = backend.connector()
        yield opened
        opened.close()

    def _needs_writes(self) -> None:
        if not self.writable:
            pytest.skip("a read-only source: see test_writes_are_refused_only_by_a_read_only_source")

    # --- reading ------------------------------------------------------------------------------

    def test_first_fetch_is_full_and_a_second_without_change_brings_nothing(self, backend, connector):
        one = backend.put("Planning", at(3))
        two = backend.put("Review", at(4))
        changes, state = connector.fetch_changes({})
        assert changes.full
        assert titles(changes) == {one: {"Planning"}, two: {"Review"}}
        (occ,) = changes.upserts[one]
        assert (occ.start, occ.end) == (at(3), at(3) + timedelta(minutes=MINUTES))
        assert COLLEAGUE in {a.email for a in occ.attendees}
        again, state_again = connector.fetch_changes(state)
        assert nothing_new(again), again
        assert nothing_new(connector.fetch_changes(state_again)[0])

    def test_a_change_is_reported_as_an_upsert_of_that_event_only(self, backend, connector):
        one = backend.put("Planning", at(3))
        two = backend.put("Review", at(4))
        _, state = connector.fetch_changes({})
        backend.change(one, "Planning (moved agenda)")
        changes, state = connector.fetch_changes(state)
        assert not changes.full
        assert titles(changes).get(one) == {"Planning (moved agenda)"}
        assert two not in changes.upserts and two not in changes.removed and one not in changes.removed
        assert nothing_new(connector.fetch_changes(state)[0])

    def test_a_removal_is_reported_and_the_rest_is_left_alone(self, backend, connector):
        one = backend.put("Planning", at(3))
        two = backend.put("Review", at(4))
        _, state = connector.fetch_changes({})
        backend.remove(one)
        changes, state = connector.fetch_changes(state)
        assert not changes.full
        assert one in changes.removed or changes.upserts.get(one) == []
        assert two not in changes.upserts and two not in changes.removed
        assert nothing_new(connector.fetch_changes(state)[0])

    def test_a_stale_token_means_a_full_resync(self, backend, connector):
        one = backend.put("Planning", at(3))
        _, state = connector.fetch_changes({})
        two = backend.put("Review", at(4))
        changes, state = connector.fetch_changes(backend.stale(state))
        assert changes.full
        assert titles(changes) == {one: {"Planning"}, two: {"Review"}}
        assert nothing_new(connector.fetch_changes(state)[0])

    # --- busy ---------------------------------------------------------------------------------

    def test_busy_covers_the_users_meetings_in_the_range_only(self, backend, connector):
        backend.put("Planning", at(3))
        backend.put("Later", at(20))
        start, end = at(2, 0), at(5, 0)
        intervals = connector.busy(start, end, [])
        assert any(s <= at(3) and e >= at(3) + timedelta(minutes=MINUTES) for s, e in intervals), intervals
        for s, e in intervals:
            assert s.tzinfo is not None and e.tzinfo is not None
            assert s < e and e > start and s < end, (s, e)
        assert not any(s <= at(20) < e for s, e in intervals)

    def test_the_agents_series_makes_the_user_busy(self, backend, connector):
        self._needs_writes()
        connector.create_series(spec())
        first = spec().start
        intervals = connector.busy(at(9, 0), at(12, 0), [])
        assert any(s <= first and e >= first + timedelta(minutes=MINUTES) for s, e in intervals), intervals

    # --- writing ------------------------------------------------------------------------------

    def test_writes_are_refused_only_by_a_read_only_source(self, backend, connector):
        assert connector.read_only is not self.writable
        if self.writable:
            return  # the tests below write
        foreign = backend.put(TITLE, at(10))
        with pytest.raises(ReadOnlySource):
            connector.create_series(spec())
        with pytest.raises(ReadOnlySource):
            connector.end_series(foreign, at(20))
        with pytest.raises(ReadOnlySource):
            connector.move_instance(foreign, at(10), at(11))
        with pytest.raises(ReadOnlySource):
            connector.cancel_instance(foreign, at(10))
        changes, _ = connector.fetch_changes({})
        assert titles(changes) == {foreign: {TITLE}}

    def test_create_series_is_idempotent_across_a_retry(self, backend, connector):
        self._needs_writes()
        first = connector.create_series(spec())
        assert connector.create_series(spec()) == first
        retry = backend.connector()  # as after a crash: a new process, nothing remembered
        try:
            assert retry.create_series(spec()) == first
            own = retry.find_own_events()
        finally:
            retry.close()
        assert [(e.event_id, e.tag) for e in own] == [(first, "tb-alice-1")]
        occurrences = occurrences_titled(connector.fetch_changes({})[0], TITLE)
        assert [o.start for o in occurrences][:3] == [datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN),
                                                      datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN),
                                                      datetime(2027, 1, 12, 10, 0, tzinfo=BERLIN)]

    def test_find_own_events_finds_only_the_agents_tag_never_a_title(self, backend, connector):
        foreign = backend.put(TITLE, at(10, 9))
        assert connector.find_own_events() == []
        if not self.writable:
            return
        created = connector.create_series(spec())
        other = connector.create_series(spec("tb-bob-1", "Touchbase: Bob"))
        own = sorted((e.tag, e.event_id, e.title, e.ended) for e in connector.find_own_events())
        assert own == sorted([("tb-alice-1", created, TITLE, False),
                              ("tb-bob-1", other, "Touchbase: Bob", False)])
        assert foreign not in {e.event_id for e in connector.find_own_events()}

    @pytest.mark.parametrize(("frequency", "interval", "weekday", "week_index", "day", "phrase"), CADENCES)
    def test_the_schedule_read_back_reads_as_the_one_booked(self, backend, connector, frequency,
                                                            interval, weekday, week_index, day, phrase):
        self._needs_writes()
        written = cadence_spec(frequency, interval, weekday, week_index, day)
        assert schedule_phrase(written.rrule, written.start, MINUTES, BERLIN) == phrase
        connector.create_series(written)
        (own,) = [e for e in connector.find_own_events() if e.tag == written.tag]
        assert own.start is not None and own.rrule, own
        assert schedule_phrase(own.rrule, own.start, MINUTES, BERLIN) == phrase

    def test_end_series_ends_the_agents_series_and_never_a_foreign_event(self, backend, connector):
        self._needs_writes()
        foreign = backend.put("Weekly sync", at(24))
        created = connector.create_series(spec())
        until = datetime(2026, 11, 20, tzinfo=BERLIN)
        connector.end_series(created, until)
        (own,) = connector.find_own_events()
        assert (own.event_id, own.ended) == (created, True)
        connector.end_series(created, until)  # a retry changes nothing
        with contextlib.suppress(SourceError):
            connector.end_series(foreign, until)
        changes, _ = connector.fetch_changes({})
        assert [o.start for o in occurrences_titled(changes, TITLE)] == [spec().start]
        assert titles(changes)[foreign] == {"Weekly sync"}
        assert [(o.start, o.end) for o in changes.upserts[foreign]] == [
            (at(24), at(24) + timedelta(minutes=MINUTES))]

    # --- one instance -------------------------------------------------------------------------

    def test_move_instance_moves_that_instance_once(self, backend, connector):
        self._needs_writes()
        created = connector.create_series(spec())
        december = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)
        moved_to = datetime(2026, 12, 9, 14, 0, tzinfo=BERLIN)
        connector.move_instance(created, december, moved_to)
        connector.move_instance(created, december, moved_to)  # a retry moves nothing twice
        live = [o for o in occurrences_titled(connector.fetch_changes({})[0], TITLE) if not o.cancelled]
        assert [(o.start, o.end - o.start) for o in live][:3] == [
            (spec().start, timedelta(minutes=MINUTES)), (moved_to, timedelta(minutes=MINUTES)),
            (datetime(2027, 1, 12, 10, 0, tzinfo=BERLIN), timedelta(minutes=MINUTES))]
        assert [e.event_id for e in connector.find_own_events()] == [created]

    def test_cancel_instance_cancels_that_instance_only(self, backend, connector):
        self._needs_writes()
        created = connector.create_series(spec())
        december = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN)
        connector.cancel_instance(created, december)
        connector.cancel_instance(created, december)  # a retry is harmless
        live = [o for o in occurrences_titled(connector.fetch_changes({})[0], TITLE) if not o.cancelled]
        assert [o.start for o in live][:2] == [spec().start, datetime(2027, 1, 12, 10, 0, tzinfo=BERLIN)]
        assert [e.event_id for e in connector.find_own_events()] == [created]

    def test_instance_writes_never_touch_a_foreign_event(self, backend, connector):
        self._needs_writes()
        foreign = backend.put("Weekly sync", at(24))
        with contextlib.suppress(SourceError, NotFound):  # refused, or no own series by that id
            connector.move_instance(foreign, at(24), at(25))
        with contextlib.suppress(SourceError, NotFound):
            connector.cancel_instance(foreign, at(24))
        changes, _ = connector.fetch_changes({})
        assert [(o.start, o.cancelled) for o in changes.upserts[foreign]] == [(at(24), False)]
