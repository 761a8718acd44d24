"""Incremental reading of Google calendars with events.list, singleEvents=true and sync tokens.

The first sync of a calendar pages with maxResults=2500 over the window until nextSyncToken
(on the last page only); later syncs send only the sync token (never timeMin/timeMax/q with
it). A page may come back short or empty while a nextPageToken remains: paging goes on until
the token is gone. A 410 drops that calendar's events and syncs it in full again.

The state keeps, per calendar, the sync token, the window the full sync covered and the ids of
the stored events grouped by series, so that a deleted series (Google may report only the
series id as cancelled) removes every instance, and a calendar synced in full again drops
exactly its own events.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent.errors import SourceError
from agent.model import Changes
from connectors.google.http import Caller, list_request, rfc3339
from connectors.google.mapping import is_meeting_type, to_occurrence

STATE_VERSION = 1
PAGE_SIZE = 2500  # the largest page events.list serves
AHEAD_MARGIN = timedelta(days=60)  # read past the window's end so it can move before a resync
MAX_PAGES = 10_000  # a server that never stops paging is an error, not a hang


class SyncTokenGone(Exception):
    """The server answered 410: the sync token is no longer valid."""


@dataclass
class CalendarRead:
    """What one calendar's sync read."""

    items: list[dict] = field(default_factory=list)
    token: str = ""
    full: bool = False
    window: list[str] = field(default_factory=list)


class CalendarSync:
    """Reads the configured calendars of one source into a Changes batch."""

    def __init__(self, events: Any, caller: Caller, calendars: list[str], zone: ZoneInfo,
                 window: tuple[datetime, datetime], user_emails: list[str],
                 warn: Callable[[str], None],
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.progress = progress
        self.events = events  # the googleapiclient `events()` resource
        self.caller = caller
        self.calendars = calendars
        self.zone = zone
        self.window_start, self.window_end = window
        self.user_emails = {e.lower() for e in user_emails}
        self.warn = warn
        self._warned_self = False

    def fetch(self, state: dict) -> tuple[Changes, dict]:
        """Read every calendar (incrementally where its token allows) into one batch."""
        old = state.get("calendars", {}) if state.get("version") == STATE_VERSION else {}
        reads = {cal: self._read_calendar(cal, old.get(cal)) for cal in self.calendars}
        changes = Changes(full=all(r.full for r in reads.values()))
        new_state: dict = {"version": STATE_VERSION, "calendars": {}}
        indexes = {cal: _Index.load(old.get(cal)) for cal in self.calendars}
        for cal, read in reads.items():
            if read.full:
                dropped = indexes[cal].all_ids()
                indexes[cal] = _Index()
                changes.removed.extend(dropped)
            self._apply(cal, read.items, indexes[cal], changes)
        self._keep_shared(indexes, changes)
        for cal, read in reads.items():
            window = read.window or (old.get(cal) or {}).get("window", [])
            new_state["calendars"][cal] = {"token": read.token, "window": window,
                                           "members": indexes[cal].members}
        return changes, new_state

    # --- reading --------------------------------------------------------------------------

    def _read_calendar(self, cal: str, cal_state: dict | None) -> CalendarRead:
        if cal_state and cal_state.get("token") and self._covered(cal_state.get("window")):
            try:
                items, token = list_pages(self.events, self.caller, cal,
                                          {"syncToken": cal_state["token"]}, self.progress)
                return CalendarRead(items=items, token=token)
            except SyncTokenGone:
                self.warn(f"{self.caller.source}: the sync token of calendar {cal} expired; "
                          "reading it in full again")
        return self._full_read(cal)

    def _full_read(self, cal: str) -> CalendarRead:
        end = self.window_end + AHEAD_MARGIN
        params = {"timeMin": rfc3339(self.window_start), "timeMax": rfc3339(end)}
        items, token = list_pages(self.events, self.caller, cal, params, self.progress)
        return CalendarRead(items=items, token=token, full=True,
                            window=[self.window_start.isoformat(), end.isoformat()])

    def _covered(self, window: list[str] | None) -> bool:
        if not window or len(window) != 2:
            return False
        start, end = (datetime.fromisoformat(w) for w in window)
        return start <= self.window_start and end >= self.window_end

    # --- applying ---------------------------------------------------------------------------

    def _apply(self, cal: str, items: list[dict], index: _Index, changes: Changes) -> None:
        for item in items:
            event_id = item.get("id")
            if not event_id:
                continue
            if item.get("status") == "cancelled" or not is_meeting_type(item):
                self._remove(cal, index, event_id, changes)
                continue
            try:
                occ = to_occurrence(item, cal, self.zone)
            except (ValueError, KeyError, TypeError) as exc:
                changes.skipped.append(f"{self.caller.source}: skipped event "
                                       f"{item.get('summary', '')!r} ({event_id}): {exc}")
                self._remove(cal, index, event_id, changes)
                continue
            if occ.end <= self.window_start or occ.start >= self.window_end + AHEAD_MARGIN:
                self._remove(cal, index, event_id, changes)
                continue
            self._check_self(item)
            index.add(event_id, occ.series_id)
            changes.upserts[event_id] = [occ]

    @staticmethod
    def _remove(cal: str, index: _Index, event_id: str, changes: Changes) -> None:
        for gone in index.remove(event_id):
            changes.removed.append(gone)
            upsert = changes.upserts.get(gone)
            if upsert and upsert[0].calendar == cal:  # another calendar's copy stays
                del changes.upserts[gone]

    def _keep_shared(self, indexes: dict[str, _Index], changes: Changes) -> None:
        """An event removed from one calendar but still on another stays stored."""
        kept = set()
        for index in indexes.values():
            kept |= index.ids()
        changes.removed = sorted({r for r in changes.removed
                                  if r not in kept and r not in changes.upserts})

    def _check_self(self, item: dict) -> None:
        if self._warned_self or not self.user_emails:
            return
        for attendee in item.get("attendees") or []:
            email = (attendee.get("email") or "").lower()
            if attendee.get("self") and email and email not in self.user_emails:
                self._warned_self = True
                self.warn(f"{self.caller.source}: Google calls {email} 'you' but it is not in "
                          "[user] email or aliases; add it to [user] aliases")
                return


class _Index:
    """The stored event ids of one calendar, grouped by series ("" for single events)."""

    def __init__(self, members: dict[str, list[str]] | None = None) -> None:
        self.members: dict[str, list[str]] = members or {}
        self._series_of = {i: s for s, ids in self.members.items() for i in ids}

    @classmethod
    def load(cls, cal_state: dict | None) -> _Index:
        members = (cal_state or {}).get("members") or {}
        return cls({k: list(v) for k, v in members.items() if isinstance(v, list)})

    def ids(self) -> set[str]:
        return set(self._series_of)

    def all_ids(self) -> list[str]:
        return sorted(self._series_of)

    def add(self, event_id: str, series: str) -> None:
        current = self._series_of.get(event_id)
        if current == series:
            return
        if current is not None:
            self._drop(event_id)
        self.members.setdefault(series, []).append(event_id)
        self._series_of[event_id] = series

    def remove(self, event_id: str) -> list[str]:
        """Forget `event_id`, and every instance when it is a series; returns what went."""
        gone = [event_id]
        if event_id in self._series_of:
            self._drop(event_id)
        for instance in list(self.members.get(event_id, [])):
            self._drop(instance)
            gone.append(instance)
        return gone

    def _drop(self, event_id: str) -> None:
        series = self._series_of.pop(event_id)
        ids = self.members.get(series, [])
        if event_id in ids:
            ids.remove(event_id)
        if not ids:
            self.members.pop(series, None)


def list_pages(events: Any, caller: Caller, calendar_id: str, params: dict,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[dict], str]:
    """Every page of one events.list query; returns the items and the nextSyncToken.

    `progress(done, total)` hears of each page (the total grows while pages remain).
    """
    from googleapiclient.errors import HttpError

    items: list[dict] = []
    page_token = None
    for _ in range(MAX_PAGES):
        query = dict(params, calendarId=calendar_id, singleEvents=True, maxResults=PAGE_SIZE)
        if page_token:
            query["pageToken"] = page_token
        try:
            page = caller.run(list_request(events, query),
                              f"reading calendar {calendar_id}", passthrough=(410,))
        except HttpError:
            raise SyncTokenGone() from None
        items.extend(page.get("items") or [])
        page_token = page.get("nextPageToken")
        if progress is not None:
            progress(len(items), len(items) + (PAGE_SIZE if page_token else 0))
        if not page_token:
            token = page.get("nextSyncToken", "")
            if not token:
                raise SourceError(caller.source, f"calendar {calendar_id}: the last page "
                                                 "carried no nextSyncToken")
            return items, token
    raise SourceError(caller.source, f"calendar {calendar_id}: more than {MAX_PAGES} pages")
