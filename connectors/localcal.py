"""The local calendar file: where touchbases go when the write target only reads (ics).

A valid iCalendar file in the data folder that the user can import into or subscribe to from any
calendar application. Every event the agent writes (built by connectors/ical/write.py, like the
CalDAV connector's) has a deterministic UID (`<series id>@touchbase.local`),
the X-TOUCHBASE-AGENT tag, a VTIMEZONE for its zone and a relative-monthly RRULE; writing the
same series again rewrites it in place, so a retry never duplicates it. Events in the file without
the tag are never changed. Reading (sync) is the ICS connector's; a missing file is an empty calendar.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from agent.addresses import parse_calendar_address
from agent.errors import SourceError
from agent.model import Occurrence, OwnEvent, SeriesSpec
from connectors.base import Interval
from connectors.ical import read as ical
from connectors.ical.objects import NotACalendar, read_calendar
from connectors.ical.write import end_rrule, put_override, restamp, series_event, series_uid
from connectors.ics.connector import IcsConnector

try:  # POSIX: serialise writers (the daemon and an `approve` at the same time)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # the module is absent there; callers check for None

PRODID = "-//touchbase//touchbase-agent local calendar//EN"
CALENDAR_NAME = "Touchbases"
TZ_YEARS = 12
"""VTIMEZONE transitions are written from the first series' year this many years ahead
(calendar applications map the IANA TZID themselves; the rules are there for those that do not)."""
EMPTY = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nEND:VCALENDAR\r\n".encode()


class LocalCalendar(IcsConnector):
    """The agent's own calendar file in the data folder (read like an .ics source, and written)."""

    type_name = "local"
    read_only = False

    _cache: tuple[tuple, icalendar.Calendar] | None = None  # (file signature, parsed) for reads
    _reading: tuple[tuple, datetime, datetime, list[Occurrence]] | None = None  # for busy()

    @property
    def path(self) -> Path:
        """The calendar file."""
        return self.paths[0]

    def _read(self, path: Path) -> bytes:
        if not path.exists():
            return EMPTY
        return super()._read(path)

    # --- reading back --------------------------------------------------------------------------

    def find_own_events(self) -> list[OwnEvent]:
        """Every series in the file that carries the agent's tag."""
        zone = ZoneInfo(self.context.timezone)
        result = []
        for event in _masters(self._load_cached()):
            tag = str(event.get(ical.TAG_PROPERTY, ""))
            if not tag:
                continue
            start, _ = ical.as_aware(event.decoded("DTSTART"), zone)
            result.append(OwnEvent(event_id=str(event["UID"]), tag=tag, series_id=tag,
                                   title=str(event.get("SUMMARY", "")), start=start,
                                   ended=_ended(event), organizer=ical.address_of(event.get("ORGANIZER")),
                                   rrule=ical.rule_text(event)))
        return result

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """The user's busy time in the file (touchbases written but perhaps not yet synced):
        timed, not cancelled, not declined, as for every source (`ical.user_busy`); read as a
        sync reads the file (`connectors.ical.objects`: a bad event is left out, not the file)."""
        return ical.user_busy(self._read_span(start, end), start, end, self.context.user_emails)

    def _read_span(self, start: datetime, end: datetime) -> list[Occurrence]:
        """The file's occurrences over the sync window and [start, end); read again only when
        the file changed or the span grew (healing asks for many short spans)."""
        low = min(start, self.context.window_start)
        high = max(end, self.context.window_end)
        signature = self._signature()
        cached = self._reading
        if cached is not None and cached[0] == signature and cached[1] <= low and cached[2] >= high:
            return cached[3]
        try:
            reading = read_calendar(str(self.path), self._read(self.path), low, high,
                                    self.context.timezone, whole=True)
        except NotACalendar as exc:
            raise SourceError(self.name, f"{self.path}: not a valid calendar file ({exc})") from None
        occurrences = reading.all()
        self._reading = (signature, low, high, occurrences)
        return occurrences

    # --- writing -------------------------------------------------------------------------------

    def create_series(self, spec: SeriesSpec) -> str:
        """Write `spec` under its deterministic UID; an existing copy is rewritten, not duplicated."""
        uid = series_uid(spec)
        with self._locked():
            calendar = self._load()
            old = _find(calendar, uid)
            if old is not None and not old.get(ical.TAG_PROPERTY):
                raise SourceError(self.name, f"{self.path}: event {uid} was not written by touchbase")
            sequence = int(old.get("SEQUENCE", 0)) if old is not None else 0
            if old is not None and old.to_ical() == build_event(spec, sequence, _stamp_of(old)).to_ical():
                return uid
            event = build_event(spec, sequence, self.context.now)
            if old is not None:
                event = build_event(spec, sequence + 1, self.context.now)
                calendar.subcomponents.remove(old)
            calendar.add_component(event)
            self._save(calendar)
        return uid

    def end_series(self, event_id: str, until: datetime) -> None:
        """Let the agent's series stop after `until` (cancel it if it had not started)."""
        with self._locked():
            calendar = self._load()
            event = _find(calendar, event_id)
            if event is None or not event.get(ical.TAG_PROPERTY) or _ended(event):
                return
            start, _ = ical.as_aware(event.decoded("DTSTART"), ZoneInfo(self.context.timezone))
            if until <= start:
                event.pop("STATUS", None)
                event.add("STATUS", "CANCELLED")
            else:
                end_rrule(event, until.replace(microsecond=0))
            sequence = int(event.pop("SEQUENCE", 0)) + 1
            event.add("SEQUENCE", sequence)
            restamp(event, self.context.now)
            self._save(calendar)

    def move_instance(self, series_id: str, original_start: datetime, new_start: datetime) -> None:
        """Move one instance with a RECURRENCE-ID override (replaced, never duplicated)."""
        self._override(series_id, original_start, new_start)

    def cancel_instance(self, series_id: str, original_start: datetime) -> None:
        """Cancel one instance with a cancelled RECURRENCE-ID override."""
        self._override(series_id, original_start, None)

    def _override(self, series_id: str, original_start: datetime, new_start: datetime | None) -> None:
        with self._locked():
            calendar = self._load()
            master = _find(calendar, series_id)
            if master is None:
                raise SourceError(self.name, f"{self.path}: no series {series_id}")
            if not master.get(ical.TAG_PROPERTY):
                raise SourceError(self.name, f"{self.path}: event {series_id} was not written by touchbase")
            if put_override(calendar.subcomponents, master, original_start, new_start, self.context.now):
                self._save(calendar)

    def forget_attendee(self, address: str) -> int:
        """Remove the agent's own ended series (and their overrides) that have `address` as an
        attendee (`forget`); returns how many series went. Events not written by touchbase stay."""
        with self._locked():
            calendar = self._load()
            uids = {str(event["UID"]) for event in _masters(calendar)
                    if event.get(ical.TAG_PROPERTY) and _ended(event) and _invites(event, address)}
            if not uids:
                return 0
            calendar.subcomponents = [c for c in calendar.subcomponents
                                      if not (c.name == "VEVENT" and str(c.get("UID")) in uids)]
            self._save(calendar)
        return len(uids)

    # --- the file ------------------------------------------------------------------------------

    def _load_cached(self) -> icalendar.Calendar:
        """The parsed file for reading; parsed again only when the file changed on disk."""
        signature = self._signature()
        if self._cache is None or self._cache[0] != signature:
            self._cache = (signature, self._load())
        return self._cache[1]

    def _signature(self) -> tuple:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return ()
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    def _load(self) -> icalendar.Calendar:
        """The parsed file, read afresh (writers call this under the lock)."""
        data = self._read(self.path)
        try:
            return icalendar.Calendar.from_ical(data)
        except (ValueError, IndexError) as exc:
            raise SourceError(self.name, f"{self.path}: not a valid calendar file ({exc})") from None

    def _save(self, calendar: icalendar.Calendar) -> None:
        _set_header(calendar)
        _refresh_timezones(calendar)
        data = calendar.to_ical()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".touchbase-", suffix=".ics", dir=self.path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise SourceError(self.name, f"{self.path}: cannot write: {exc.strerror}") from None
        self._cache = (self._signature(), calendar)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / (self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def build_event(spec: SeriesSpec, sequence: int, now: datetime | None = None) -> icalendar.Event:
    """The VEVENT of a touchbase series, with its revision number and a category, stamped `now`."""
    event = series_event(spec, now)
    event.add("SEQUENCE", sequence)
    event.add("CATEGORIES", ["Touchbase"])
    return event


def _stamp_of(event: icalendar.Component) -> datetime | None:
    """The DTSTAMP an event carries (to compare a rewrite without it)."""
    return event.decoded("DTSTAMP") if event.get("DTSTAMP") is not None else None


def _masters(calendar: icalendar.Calendar) -> Iterator[icalendar.Component]:
    for event in calendar.walk("VEVENT"):
        if event.get("RECURRENCE-ID") is None and event.get("UID"):
            yield event


def _find(calendar: icalendar.Calendar, uid: str) -> icalendar.Component | None:
    for event in _masters(calendar):
        if str(event["UID"]) == uid:
            return event
    return None


def _invites(event: icalendar.Component, address: str) -> bool:
    raw = event.get("ATTENDEE") or []
    values = raw if isinstance(raw, list) else [raw]
    return any(parse_calendar_address(value) == address for value in values)


def _ended(event: icalendar.Component) -> bool:
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return True
    rule = event.get("RRULE")
    return rule is not None and ("UNTIL" in rule or "COUNT" in rule)


def _set_header(calendar: icalendar.Calendar) -> None:
    for key, value in (("PRODID", PRODID), ("VERSION", "2.0"), ("CALSCALE", "GREGORIAN"),
                       ("X-WR-CALNAME", CALENDAR_NAME)):
        if key not in calendar:
            calendar.add(key, value)


def _refresh_timezones(calendar: icalendar.Calendar) -> None:
    """Regenerate the VTIMEZONEs of known zones so they cover every event in the file."""
    calendar.subcomponents = [
        c for c in calendar.subcomponents
        if not (c.name == "VTIMEZONE" and _known_zone(str(c.get("TZID", ""))))
    ]
    years = [event.decoded("DTSTART").year for event in _masters(calendar) if event.get("DTSTART")]
    first = min(years, default=_utc_now().year)
    calendar.add_missing_timezones(first_date=date(first, 1, 1),
                                   last_date=date(max(max(years, default=first), first) + TZ_YEARS, 1, 1))


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
