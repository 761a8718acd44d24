"""Calendar v3 endpoints of the Google emulator (a mixin of GoogleEmulator): events.list with
snapshots, short pages and sync tokens, events.insert / get / patch / instances, freeBusy.query."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.google_calendar import (
    EVENT_ID,
    ApiError,
    FakeCalendar,
    copy_of,
    matches,
    merge,
    minimal,
    parse_rfc3339,
    stamp,
)

SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.events",
                                   "calendar.events.readonly")}
WRITE_SCOPES = {SCOPE + s for s in ("calendar", "calendar.events")}
FREEBUSY_SCOPES = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.freebusy")}
NOT_WITH_SYNC_TOKEN = ("timeMin", "timeMax", "q", "iCalUID", "orderBy", "privateExtendedProperty",
                       "sharedExtendedProperty", "updatedMin")


class CalendarApiMixin:
    """Calendar request handlers; GoogleEmulator supplies the state they use."""

    owner: str
    seq: int
    calendars: dict[str, FakeCalendar]
    tokens: dict[str, dict]
    pages: dict[str, dict]
    page_plan: list[int]
    deleted_series_style: str
    visible_busy: dict[str, list[tuple[datetime, datetime]]]
    modified: list[tuple[str, str]]

    # --- Calendar -------------------------------------------------------------------------

    def api_events_list(self, scopes, query, body, calendar_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        size = min(int(_one(query, "maxResults", "250")), 2500)
        page_token = _one(query, "pageToken")
        if page_token:
            snapshot = self.pages.get(page_token)
            if snapshot is None or snapshot["calendar"] != cal.calendar_id:
                raise ApiError(400, "invalid", "Invalid page token value.")
        else:
            snapshot = self._snapshot(cal, query)
        return 200, self._page(snapshot, size)

    def _snapshot(self, cal: FakeCalendar, query: dict) -> dict:
        single = _one(query, "singleEvents") == "true"
        show_deleted = _one(query, "showDeleted") == "true"
        sync = _one(query, "syncToken")
        if sync:
            bad = [name for name in NOT_WITH_SYNC_TOKEN if name in query]
            if bad:
                raise ApiError(400, "invalid", f"Sync token cannot be used with {', '.join(bad)}.")
            remembered = self.tokens.get(sync)
            if remembered is None or remembered["calendar"] != cal.calendar_id:
                raise ApiError(400, "invalid", "Invalid sync token value.")
            if remembered["expired"]:
                raise ApiError(410, "fullSyncRequired",
                               "Sync token is no longer valid, a full sync is required.", "calendar")
            low, high = remembered["low"], remembered["high"]
            items = cal.changes_since(remembered["seq"], low, high, single, self.deleted_series_style)
        else:
            low = parse_rfc3339(_one(query, "timeMin")) if "timeMin" in query else \
                datetime(1970, 1, 1, tzinfo=UTC)
            high = parse_rfc3339(_one(query, "timeMax")) if "timeMax" in query else \
                datetime(2100, 1, 1, tzinfo=UTC)
            if high <= low:
                raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                               "calendar")
            items = [i for i in cal.current(low, high, single, show_deleted) if matches(i, query)]
            if _one(query, "orderBy") == "startTime":
                if not single:
                    raise ApiError(400, "badRequest", "The requested ordering is not available "
                                                      "for the particular query.")
                items.sort(key=lambda i: (cal.span(i)[0] if i.get("start") else low, i["id"]))
            elif single:
                items.sort(key=lambda i: (cal.span(i)[0] if i.get("start") else low, i["id"]))
        return {"calendar": cal.calendar_id, "items": items, "offset": 0, "seq": self.seq,
                "low": low, "high": high, "single": single}

    def _page(self, snapshot: dict, size: int) -> dict:
        planned = self.page_plan.pop(0) if self.page_plan else None
        if planned is not None:
            size = min(size, planned)
        start = snapshot["offset"]
        chunk = snapshot["items"][start:start + size]
        answer: dict[str, Any] = {"kind": "calendar#events", "summary": snapshot["calendar"],
                                  "timeZone": self.zone.key, "items": [copy_of(i) for i in chunk]}
        rest = start + len(chunk)
        if rest < len(snapshot["items"]) or planned == 0:
            token = "page-" + secrets.token_hex(6)
            self.pages[token] = dict(snapshot, offset=rest)
            answer["nextPageToken"] = token
        else:
            token = "sync-" + secrets.token_hex(6)
            self.tokens[token] = {"calendar": snapshot["calendar"], "seq": snapshot["seq"],
                                  "low": snapshot["low"], "high": snapshot["high"],
                                  "expired": False}
            answer["nextSyncToken"] = token
        return answer

    def api_events_insert(self, scopes, query, body, calendar_id):
        self._need(scopes, WRITE_SCOPES)
        cal = self._existing(calendar_id)
        event = copy_of(body or {})
        if "id" in event:
            if not EVENT_ID.match(event["id"]):
                raise ApiError(400, "invalid", "Invalid resource id value.")
            if event["id"] in cal.events:
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
        else:
            event["id"] = f"ev{self._next_id():06d}x"
        _check_times(event)
        event.pop("organizer", None)
        self.modified.append(("events.insert", event["id"]))
        return 200, copy_of(self._store(cal, event))

    def api_events_get(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        event = cal.events.get(event_id) or self._instance_by_id(cal, event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return 200, copy_of(event)

    def api_events_patch(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, WRITE_SCOPES)
        cal = self._existing(calendar_id)
        event = cal.events.get(event_id) or self._instance_by_id(cal, event_id)
        if event is None or event.get("status") == "cancelled":
            raise ApiError(404 if event is None else 410, "notFound" if event is None else "deleted",
                           "Not Found" if event is None else "Resource has been deleted")
        updated = copy_of(event)
        for key, value in (body or {}).items():
            if key == "extendedProperties":
                for kind, props in value.items():
                    updated.setdefault("extendedProperties", {}).setdefault(kind, {}).update(props)
            else:
                updated[key] = value
        _check_times(updated)
        self.modified.append(("events.patch", event_id))
        return 200, copy_of(self._store(cal, updated))

    def api_events_instances(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        master = cal.events.get(event_id)
        if master is None or not master.get("recurrence"):
            raise ApiError(404, "notFound", "Not Found")
        low = parse_rfc3339(_one(query, "timeMin")) if "timeMin" in query else self._wide()[0]
        high = parse_rfc3339(_one(query, "timeMax")) if "timeMax" in query else \
            datetime.now(UTC) + timedelta(days=730)
        show_deleted = _one(query, "showDeleted") == "true"
        if "originalStart" in query:
            items = self._instance_at(cal, master, parse_rfc3339(_one(query, "originalStart")),
                                      show_deleted)
        else:
            items = cal.instances_of(master, low, high, show_deleted)
        snapshot = {"calendar": cal.calendar_id, "items": items, "offset": 0, "seq": self.seq,
                    "low": low, "high": high, "single": True}
        answer = self._page(snapshot, min(int(_one(query, "maxResults", "250")), 2500))
        answer.pop("nextSyncToken", None)
        return 200, answer

    def api_freebusy_query(self, scopes, query, body, **_):
        self._need(scopes, FREEBUSY_SCOPES)
        body = body or {}
        low, high = parse_rfc3339(body.get("timeMin", "")), parse_rfc3339(body.get("timeMax", ""))
        answer: dict[str, Any] = {"kind": "calendar#freeBusy", "timeMin": stamp(low),
                                  "timeMax": stamp(high), "calendars": {}}
        for item in body.get("items") or []:
            key = item.get("id", "")
            own = self.owner if key == "primary" else key
            if own in self.calendars:
                blocks = self.calendars[own].busy(low, high)
            elif key.lower() in self.visible_busy:
                blocks = merge([(max(s, low), min(e, high)) for s, e in self.visible_busy[key.lower()]
                                if e > low and s < high])
            else:
                answer["calendars"][key] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                            "busy": []}
                continue
            answer["calendars"][key] = {"busy": [{"start": stamp(s), "end": stamp(e)}
                                                 for s, e in blocks]}
        return 200, answer

    @staticmethod
    def _instance_at(cal: FakeCalendar, master: dict, original: datetime,
                     show_deleted: bool) -> list[dict]:
        """events.instances with originalStart: the one instance that started there, wherever
        it was moved (a cancelled one only with showDeleted)."""
        for inst in cal.expand(master, original - timedelta(days=1), original + timedelta(days=1)):
            if inst.start == original:
                item = cal.instance_resource(master, inst)
                if item.get("status") == "cancelled":
                    return [minimal(item)] if show_deleted else []
                return [item]
        return []

    @staticmethod
    def _instance_by_id(cal: FakeCalendar, instance_id: str) -> dict | None:
        """An instance of a recurring event by its id `<master>_<original start>` (documented
        form), generated from the master when it has no exception yet."""
        master_id, _, suffix = instance_id.rpartition("_")
        master = cal.events.get(master_id)
        if not master or not master.get("recurrence") or master.get("status") == "cancelled":
            return None
        try:
            moment = datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        for inst in cal.expand(master, moment - timedelta(days=1), moment + timedelta(days=1)):
            if inst.event_id == instance_id:
                return copy_of(cal.instance_resource(master, inst))
        return None

    def _existing(self, calendar_id: str) -> FakeCalendar:
        key = self.owner if calendar_id == "primary" else calendar_id
        if key not in self.calendars:
            raise ApiError(404, "notFound", "Not Found")
        return self.calendars[key]


def _check_times(event: dict) -> None:
    if event.get("status") == "cancelled":
        return
    for key in ("start", "end"):
        if not isinstance(event.get(key), dict) or not (event[key].get("dateTime")
                                                        or event[key].get("date")):
            raise ApiError(400, "required", f"Missing {key} time.")
    if event.get("recurrence") and event["start"].get("dateTime") and not event["start"].get("timeZone"):
        raise ApiError(400, "invalid", "Missing time zone definition for start time.")


def _one(query: dict, name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


