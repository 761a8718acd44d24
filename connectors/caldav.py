"""CalDAV calendars (Nextcloud, Radicale, Fastmail, iCloud...) through the caldav library.

Reads with a sync-collection REPORT (RFC 6578): the first sync lists every object, later ones
only what changed since the stored sync token; an expired token means a full resync. Each
calendar object (href) is one resource. Writes are the agent's own series only, stored under a
deterministic UID, so a retry finds the object instead of creating a second one.

Each request has an overall deadline (`DEADLINE`, 120 s) besides the per-read timeout, and a
stop request (SIGTERM in `touchbase run`) ends the wait for an answer at once (agent.time_limits).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from agent import time_limits
from agent.configuration.options import ENV_NAME, HTTP_URL, PATH, Option, keyed
from agent.errors import AuthError, SourceError
from agent.model import Changes, OwnEvent, SeriesSpec
from agent.safe_text import address_label, server_reply, without_addresses
from connectors.base import Connector, Interval
from connectors.secrets import password_origin, read_password

if TYPE_CHECKING:  # the caldav library and icalendar (through connectors.ical) are imported on
    from connectors.ical.objects import Reading  # first use: reading a config loads neither

log = logging.getLogger(__name__)

_MARGIN = timedelta(days=1)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEADLINE = 120.0
"""Seconds one request (connecting, sending, the whole answer) may take ([[sources]]
deadline_seconds)."""


class _TooSlow(Exception):
    """A request's overall deadline passed."""


def _client_class(deadline: float) -> type:
    """caldav's DAVClient with each request bounded by `deadline` seconds and ended by a stop
    request (made on first use: caldav is imported only when a caldav source is read)."""
    from caldav.davclient import DAVClient

    class BoundedClient(DAVClient):
        def request(self, *args: Any, **kwargs: Any) -> Any:
            try:
                with time_limits.interruptible(), time_limits.time_limit(deadline, _TooSlow):
                    return super().request(*args, **kwargs)
            except _TooSlow:
                raise TimeoutError(f"no complete answer within {deadline:g} s") from None

    return BoundedClient


class _TokenExpired(Exception):
    """The server no longer knows a stored sync token."""


class CalDavConnector(Connector):
    """One CalDAV account; `calendars` picks calendars by display name (empty: all)."""

    type_name = "caldav"
    help = "a CalDAV server (Nextcloud, Radicale, iCloud...)"
    config_options = keyed(
        url=Option("", "the server's address", rule=HTTP_URL, example="https://cloud.example/remote.php/dav"),
        username=Option("", "login name", example="me"),
        password_env=Option("TOUCHBASE_CALDAV_PASSWORD", "environment variable holding the password",
                            rule=ENV_NAME, optional=True),
        password_file=Option("", "or a file holding it", rule=PATH),
        calendars=Option([], "calendar names to read; [] = all", example=["Work"]),
        deadline_seconds=Option(120, "give up on one request to the server after this long", minimum=1,
                                maximum=3600, commented=True),
    )

    def __init__(self, source: Any, context: Any) -> None:
        super().__init__(source, context)
        self._client: Any = None
        self._calendars: list[Any] | None = None

    # --- connection --------------------------------------------------------------------------

    def _password_origin(self) -> str:
        """Where the password comes from, for a hint (never the password)."""
        return password_origin(self.source.options)

    def _password(self) -> str:
        return read_password(self.name, self.source.options)

    def _connect(self) -> list[Any]:
        if self._calendars is not None:
            return self._calendars
        from caldav.lib import error

        url = self.source.options.get("url") or ""
        if not url:
            raise SourceError(self.name, "no url configured")
        host = urlparse(url).hostname or ""
        deadline = self.source.options.get("deadline_seconds") or DEADLINE
        self._client = _client_class(float(deadline))(
            url=url, username=self.source.options.get("username") or None,
            password=self._password() or None, timeout=60, enable_rfc6764=False,
            require_tls=host not in _LOOPBACK,
        )
        try:
            found = self._client.principal().calendars()
        except error.AuthorizationError as exc:
            raise AuthError(self.name, f"the server refused the login ({exc.reason})",
                            fix=f"check username and {self._password_origin()}") from None
        except (error.DAVError, OSError) as exc:
            raise SourceError(self.name, f"cannot reach {address_label(url)}: "
                                         f"{_said(exc)}") from None
        wanted = list(self.source.options.get("calendars") or [])
        self._calendars = [c for c in found if not wanted or _display_name(c) in wanted]
        missing = sorted(set(wanted) - {_display_name(c) for c in self._calendars})
        if missing:
            raise SourceError(self.name, f"no calendar named {', '.join(missing)} on the server")
        return self._calendars

    def close(self) -> None:
        """Close the HTTP session."""
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing must never fail a sync
                pass

    # --- reading -----------------------------------------------------------------------------

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """Changed and removed objects per calendar since the stored sync tokens.

        When any calendar's token has expired, the whole source is read again in full. Objects
        are read as .ics files are (`connectors.ical.objects`); the events skipped in objects
        that did not change since are still reported (kept in the state).
        """
        from caldav.lib import error

        window = [self.context.window_start.isoformat(), self.context.window_end.isoformat()]
        known = state.get("window") == window
        tokens = state.get("tokens", {}) if known else {}
        try:
            try:
                changes = self._read_all(tokens)
            except _TokenExpired:
                changes = self._read_all({})
        except error.DAVError as exc:
            raise SourceError(self.name, f"sync failed: {_said(exc)}") from None
        except OSError as exc:
            raise SourceError(self.name, f"network error: {_said(exc)}") from None
        skipped = _still_skipped(state.get("skipped", {}) if known else {}, changes, self._skipped)
        changes.skipped = [line for lines in skipped.values() for line in lines]
        return changes, {"window": window, "tokens": self._new_tokens, "skipped": skipped}

    def _read_all(self, tokens: dict[str, str]) -> Changes:
        changes = Changes(full=not tokens)
        self._new_tokens: dict[str, str] = {}
        self._skipped: dict[str, list[str]] = {}
        for calendar in self._connect():
            key = str(calendar.url)
            collection = self._collection(calendar, tokens.get(key))
            deleted = {str(u) for u in getattr(collection, "deleted_urls", set())}
            for obj in collection:
                href = str(obj.url)
                if href in deleted or obj.data is None:
                    changes.removed.append(href)
                else:
                    self._add_object(href, obj.data, changes)
            self._new_tokens[key] = str(collection.sync_token)
        return changes

    @staticmethod
    def _collection(calendar: Any, token: str | None) -> Any:
        from caldav.lib import error

        if not token:
            return calendar.get_objects_by_sync_token(load_objects=True)
        try:
            return calendar.get_objects_by_sync_token(token, load_objects=True, disable_fallback=True)
        except error.DAVError:
            raise _TokenExpired() from None

    def _add_object(self, href: str, data: str, changes: Changes) -> None:
        reading = self._read_object(href, data, self.context.window_start, self.context.window_end)
        lines = [f"{self.name}: {line}" for line in reading.skipped]
        if lines:
            self._skipped[href] = lines
        items = reading.all()
        for occ in items:
            occ.resource = href
        changes.upserts[href] = items

    def _read_object(self, href: str, data: str, start: datetime, end: datetime) -> Reading:
        """One object read as an .ics file is; one that is no calendar at all is skipped."""
        from connectors.ical.objects import NotACalendar, Reading, read_calendar

        try:
            reading = read_calendar(href, data, start, end, self.context.timezone)
        except NotACalendar as exc:
            return Reading(skipped=[f"skipped {_object_name(href)}: {exc}"])
        for note in reading.notes:
            log.info("%s: %s: %s", self.name, _object_name(href), note)
        return reading

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """The user's busy time in the chosen calendars (timed, not cancelled, not declined);
        CalDAV shows nobody else's. Objects are read as in a sync; a bad event is left out."""
        from caldav.lib import error

        from connectors.ical import read as ical

        result: list[Interval] = []
        try:
            for calendar in self._connect():
                # The server picks the objects (a day wider: it may place floating times in
                # another zone); the library must not parse them (post_filter=False): its
                # strict parse fails on what the lenient reader reads.
                for obj in calendar.search(event=True, start=start - _MARGIN, end=end + _MARGIN,
                                           post_filter=False):
                    reading = self._read_object(str(obj.url), obj.data or "", start, end)
                    result.extend(ical.user_busy(reading.all(), start, end, self.context.user_emails))
        except error.DAVError as exc:
            raise SourceError(self.name, f"reading busy times failed: {_said(exc)}") from None
        except OSError as exc:
            raise SourceError(self.name, f"network error: {_said(exc)}") from None
        return sorted(result)

    # --- writing (the agent's own series only) -----------------------------------------------

    def _target(self) -> Any:
        calendars = self._connect()
        if not calendars:
            raise SourceError(self.name, "the account has no calendar to write to")
        return calendars[0]

    def find_own_events(self) -> list[OwnEvent]:
        """The agent's series, found by the X- tag property in the calendars' objects."""
        from connectors.ical.read import TAG_PROPERTY

        own: list[OwnEvent] = []
        for calendar in self._connect():
            for obj in calendar.get_objects_by_sync_token(load_objects=True):
                if obj.data and TAG_PROPERTY in obj.data:
                    own.extend(_own_events(str(obj.url), obj.data))
        return own

    def create_series(self, spec: SeriesSpec) -> str:
        """PUT the series under its deterministic UID; an existing one is returned as is."""
        from caldav.lib import error

        from connectors.ical.write import series_calendar, series_uid

        calendar = self._target()
        uid = series_uid(spec)
        existing = self._object_by_uid(calendar, uid)
        if existing is not None:
            return str(existing.url)
        try:
            saved = calendar.save_event(series_calendar(spec, self.context.now).decode("utf-8"),
                                        no_overwrite=True)
        except error.ConsistencyError:
            existing = self._object_by_uid(calendar, uid)
            if existing is None:
                raise SourceError(self.name, f"cannot create series {uid}") from None
            return str(existing.url)
        except error.DAVError as exc:
            raise SourceError(self.name, f"creating the touchbase failed: {_said(exc)}") from None
        return str(saved.url)

    def end_series(self, event_id: str, until: datetime) -> None:
        """Set UNTIL on the agent's own series stored at `event_id` (an href)."""
        import icalendar

        from connectors.ical import read as ical
        from connectors.ical.write import end_rrule, restamp

        calendar = self._target()
        obj = calendar.event_by_url(event_id)
        obj.load()
        parsed = icalendar.Calendar.from_ical(obj.data)
        events = [e for e in parsed.walk("VEVENT") if e.get(ical.TAG_PROPERTY)]
        if not events:
            raise SourceError(self.name, f"{event_id} was not created by touchbase; left untouched")
        for event in events:
            start, _ = ical.as_aware(event.decoded("DTSTART"), ZoneInfo(self.context.timezone))
            if event.get("RECURRENCE-ID") is None and until <= start:  # not started: cancel it
                event.pop("STATUS", None)  # (an UNTIL before DTSTART is refused by servers)
                event.add("STATUS", "CANCELLED")
            else:
                end_rrule(event, until)
            restamp(event, self.context.now)
        obj.data = parsed.to_ical().decode("utf-8")
        obj.save()

    def move_instance(self, series_id: str, original_start: datetime, new_start: datetime) -> None:
        """Move one instance with a RECURRENCE-ID override in the series' object (`series_id`
        is its href); a retry finds the override in place and writes nothing."""
        self._override(series_id, original_start, new_start)

    def cancel_instance(self, series_id: str, original_start: datetime) -> None:
        """Cancel one instance with a cancelled RECURRENCE-ID override."""
        self._override(series_id, original_start, None)

    def _override(self, href: str, original_start: datetime, new_start: datetime | None) -> None:
        import icalendar
        from caldav.lib import error

        from connectors.ical import read as ical
        from connectors.ical.write import put_override

        try:
            obj = self._target().event_by_url(href)
            obj.load()
            parsed = icalendar.Calendar.from_ical(obj.data)
            masters = [e for e in parsed.walk("VEVENT") if isinstance(e, icalendar.Event)
                       and e.get(ical.TAG_PROPERTY) and e.get("RECURRENCE-ID") is None]
            if not masters:
                raise SourceError(self.name, f"{href} was not created by touchbase; left untouched")
            if put_override(parsed.subcomponents, masters[0], original_start, new_start, self.context.now):
                obj.data = parsed.to_ical().decode("utf-8")
                obj.save()
        except error.DAVError as exc:
            raise SourceError(self.name, "changing one touchbase instance failed: "
                                         f"{_said(exc)}") from None

    @staticmethod
    def _object_by_uid(calendar: Any, uid: str) -> Any:
        from caldav.lib import error

        try:
            return calendar.event_by_uid(uid)
        except error.NotFoundError:
            return None


def _still_skipped(before: dict[str, list[str]], changes: Changes,
                   now: dict[str, list[str]]) -> dict[str, list[str]]:
    """The skipped lines per object after `changes`: those of the objects read now (`now`), and
    those of the objects neither read nor removed since (a full read starts afresh)."""
    seen = set(changes.upserts) | set(changes.removed)
    kept = {} if changes.full else {href: lines for href, lines in before.items() if href not in seen}
    return {**kept, **now}


def _object_name(href: str) -> str:
    """How an object is named in a line: its name in the calendar, not the server's address."""
    return urlparse(href).path.rstrip("/").rpartition("/")[2] or "an object"


def _display_name(calendar: Any) -> str:
    try:
        return str(calendar.get_display_name() or calendar.name or "")
    except Exception:  # noqa: BLE001 - a missing display name is just empty
        return str(getattr(calendar, "name", "") or "")


def _own_events(href: str, data: str) -> list[OwnEvent]:
    import icalendar

    from connectors.ical import read as ical

    parsed = icalendar.Calendar.from_ical(data)
    result = []
    for event in parsed.walk("VEVENT"):
        tag = str(event.get(ical.TAG_PROPERTY, ""))
        if not tag or event.get("RECURRENCE-ID") is not None:
            continue
        rule = event.get("RRULE")
        result.append(OwnEvent(
            event_id=href, tag=tag, series_id=str(event.get("UID", "")).split("@")[0],
            title=str(event.get("SUMMARY", "")), start=event.decoded("DTSTART"),
            ended=bool(rule and rule.get("UNTIL")) or str(event.get("STATUS", "")).upper() == "CANCELLED",
            organizer=ical.address_of(event.get("ORGANIZER")),
            rrule=ical.rule_text(event),
        ))
    return result


def _said(exc: Exception) -> str:
    """What the CalDAV library or server said, as one line without addresses or credentials."""
    return server_reply(without_addresses(str(exc)), limit=200)
