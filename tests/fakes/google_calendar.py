"""The stateful model behind the Google Calendar v3 emulator (tests/fakes/google_api.py).

It follows the documented semantics of events.list / insert / get / patch / instances and
freeBusy.query: recurring events expanded into instances (ids `<master>_<UTC start>`) for
singleEvents=true, exceptions and cancelled instances applied, timeMin bounding an event's end
and timeMax its start, cancelled events returned only on incremental sync or with showDeleted,
409 on a duplicate id (deleted ids included), private/shared extended property filters.

Each change gets a sequence number; a sync token remembers the sequence number and the window
of the full sync that issued it, and an incremental list returns what changed after it. For a
changed recurring event the incremental list returns all its instances in that window, plus
the instances that disappeared (as cancelled). A deleted recurring event is reported as its
series id with status cancelled (`deleted_series_style = "master"`, the leanest form) or, with
"instances", each of its instances as cancelled.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
SLACK = timedelta(days=2)


class ApiError(Exception):
    """An error answered with Google's JSON error format."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain
        self.headers = headers or {}

    def body(self, style: str = "errors") -> dict:
        """The JSON body: the classic `errors` list, or (style "details") ErrorInfo details."""
        error: dict[str, Any] = {"code": self.status, "message": self.message}
        if style == "details":
            error["status"] = {429: "RESOURCE_EXHAUSTED", 403: "PERMISSION_DENIED"}.get(
                self.status, "UNKNOWN")
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": re.sub(r"(?<!^)(?=[A-Z])", "_", self.reason).upper(),
                                 "domain": "googleapis.com"}]
        else:
            error["errors"] = [{"domain": self.domain, "reason": self.reason,
                                "message": self.message}]
        return {"error": error}


def stamp(moment: datetime) -> str:
    """RFC 3339 UTC text with milliseconds, as Google writes `updated`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 query value (offset mandatory)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "badRequest", f"Bad Request: {text}") from None
    if value.tzinfo is None:
        raise ApiError(400, "badRequest", "Bad Request: time zone offset is mandatory")
    return value


@dataclass
class Instance:
    """One expanded occurrence of a recurring event."""

    event_id: str
    original: dict
    start: datetime
    end: datetime


@dataclass
class FakeCalendar:
    """One calendar: stored events (masters, single events, exceptions by instance id)."""

    calendar_id: str
    zone: ZoneInfo
    events: dict[str, dict] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    history: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)

    # --- time ---------------------------------------------------------------------------

    def moment(self, value: dict) -> datetime:
        """A start/end object as an aware datetime (a date is midnight in the calendar zone)."""
        if value.get("dateTime"):
            result = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
            if result.tzinfo is None:
                result = result.replace(tzinfo=ZoneInfo(value.get("timeZone") or self.zone.key))
            return result
        return datetime.combine(date.fromisoformat(value["date"]), time(0), self.zone)

    def span(self, event: dict) -> tuple[datetime, datetime]:
        """Start and end of a single event or instance."""
        start = self.moment(event["start"])
        end = self.moment(event["end"]) if event.get("end") else start
        return start, end

    # --- recurrence ---------------------------------------------------------------------

    def expand(self, master: dict, low: datetime, high: datetime) -> list[Instance]:
        """Instances of `master` whose original start lies in [low - slack, high + slack]."""
        start_value, end_value = master["start"], master["end"]
        all_day = "date" in start_value and "dateTime" not in start_value
        if all_day:
            first = datetime.combine(date.fromisoformat(start_value["date"]), time(0))
            length = date.fromisoformat(end_value["date"]) - date.fromisoformat(start_value["date"])
            lo, hi = (low - SLACK).replace(tzinfo=None), (high + SLACK).replace(tzinfo=None)
        else:
            zone = ZoneInfo(start_value.get("timeZone") or self.zone.key)
            first = self.moment(start_value).astimezone(zone)
            length = self.moment(end_value) - self.moment(start_value)
            lo, hi = low - SLACK, high + SLACK
        lines = [line for line in master.get("recurrence") or [] if ":" in line]
        if all_day:
            lines = [re.sub(r"(UNTIL=\d{8})T\d{6}Z?", r"\1", line) for line in lines]
        rules = rrulestr("\n".join(lines), dtstart=first, forceset=True,
                         tzids=lambda name: ZoneInfo(name))
        result = []
        for when in rules.between(lo, hi, inc=True):
            if all_day:
                original = {"date": when.date().isoformat()}
                suffix = when.strftime("%Y%m%d")
                begin = datetime.combine(when.date(), time(0), self.zone)
                result.append(Instance(f"{master['id']}_{suffix}", original, begin,
                                       begin + length))
            else:
                original = {"dateTime": when.isoformat(), "timeZone": start_value.get("timeZone")}
                suffix = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
                result.append(Instance(f"{master['id']}_{suffix}", original, when, when + length))
        return result

    def instance_resource(self, master: dict, inst: Instance) -> dict:
        """The resource of one instance: the exception when there is one, else generated."""
        override = self.events.get(inst.event_id)
        if override is not None:
            return override
        item = copy.deepcopy(master)
        item.pop("recurrence", None)
        item["id"] = inst.event_id
        item["recurringEventId"] = master["id"]
        item["originalStartTime"] = inst.original
        if "date" in inst.original:
            item["start"] = {"date": inst.start.date().isoformat()}
            item["end"] = {"date": inst.end.date().isoformat()}
        else:
            zone_name = master["start"].get("timeZone")
            item["start"] = {"dateTime": inst.start.isoformat(), "timeZone": zone_name}
            item["end"] = {"dateTime": inst.end.isoformat(), "timeZone": zone_name}
        return item

    def instances_of(self, master: dict, low: datetime, high: datetime,
                     show_deleted: bool) -> list[dict]:
        """The instances of `master` overlapping [low, high), exceptions applied."""
        items = []
        for inst in self.expand(master, low, high):
            item = self.instance_resource(master, inst)
            if item.get("status") == "cancelled":
                if show_deleted:
                    items.append(minimal(item))
                continue
            start, end = self.span(item)
            if end > low and start < high:
                items.append(item)
        return items

    def version_at(self, event_id: str, seq: int) -> dict | None:
        """The stored version of `event_id` as it was at sequence number `seq`."""
        best = None
        for number, version in self.history.get(event_id, []):
            if number <= seq:
                best = version
        return best

    # --- listing ------------------------------------------------------------------------

    def current(self, low: datetime, high: datetime, single: bool,
                show_deleted: bool) -> list[dict]:
        """A full listing (no sync token) over [low, high)."""
        items: list[dict] = []
        for event in self.events.values():
            if event.get("recurringEventId"):
                if not single and (show_deleted or event.get("status") != "cancelled"):
                    master = self.events.get(event["recurringEventId"])
                    if master and master.get("status") != "cancelled":
                        items.append(event if event.get("status") != "cancelled"
                                     else minimal(event))
                continue
            if event.get("status") == "cancelled":
                if show_deleted:
                    items.append(minimal(event))
                continue
            if event.get("recurrence"):
                instances = self.instances_of(event, low, high, show_deleted)
                if single:
                    items.extend(instances)
                elif instances:
                    items.append(event)
                continue
            start, end = self.span(event)
            if end > low and start < high:
                items.append(event)
        return items

    def changes_since(self, seq: int, low: datetime, high: datetime, single: bool,
                      deleted_series_style: str) -> list[dict]:
        """An incremental listing: everything changed after `seq` (cancelled included)."""
        out: list[tuple[int, dict]] = []
        expanded: set[str] = set()
        for event_id, number in self.changed.items():
            if number <= seq:
                continue
            event = self.events[event_id]
            if event.get("recurringEventId"):
                continue
            old = self.version_at(event_id, seq)
            if event.get("status") == "cancelled":
                out.append((number, minimal(event)))
                if single and deleted_series_style == "instances" and old and old.get("recurrence"):
                    for inst in self.expand(old, low, high):
                        out.append((number, minimal(self.instance_resource(old, inst))
                                    | {"status": "cancelled"}))
                continue
            if single and event.get("recurrence"):
                expanded.add(event_id)
                now_items = self.instances_of(event, low, high, show_deleted=True)
                out.extend((number, item) for item in now_items)
                present = {item["id"] for item in now_items}
                if old and old.get("recurrence") and old.get("status") != "cancelled":
                    for inst in self.expand(old, low, high):
                        if inst.event_id not in present:
                            out.append((number, {"kind": "calendar#event", "id": inst.event_id,
                                                 "status": "cancelled",
                                                 "recurringEventId": event_id,
                                                 "originalStartTime": inst.original}))
                continue
            out.append((number, event))
        for event_id, number in self.changed.items():
            event = self.events[event_id]
            if number <= seq or not event.get("recurringEventId"):
                continue
            if event["recurringEventId"] in expanded:
                continue
            out.append((number, minimal(event) if event.get("status") == "cancelled" else event))
        out.sort(key=lambda pair: pair[0])
        return [item for _, item in out]

    def busy(self, low: datetime, high: datetime) -> list[tuple[datetime, datetime]]:
        """Busy blocks of this calendar: opaque, not cancelled, not declined by its owner."""
        blocks = []
        for item in self.current(low, high, single=True, show_deleted=False):
            if item.get("transparency") == "transparent":
                continue
            own = [a for a in item.get("attendees") or [] if a.get("self")]
            if own and own[0].get("responseStatus") == "declined":
                continue
            start, end = self.span(item)
            blocks.append((max(start, low), min(end, high)))
        return merge(blocks)


def minimal(event: dict) -> dict:
    """A cancelled event as incremental sync returns it: id, status and the instance fields."""
    keep = ("kind", "etag", "id", "status", "updated", "recurringEventId", "originalStartTime")
    result = {k: event[k] for k in keep if k in event}
    result["status"] = "cancelled"
    return result


def merge(blocks: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping intervals merged, in order."""
    result: list[tuple[datetime, datetime]] = []
    for start, end in sorted(blocks):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def matches(event: dict, filters: dict) -> bool:
    """The list filters: privateExtendedProperty, sharedExtendedProperty, q, iCalUID, eventTypes."""
    props = event.get("extendedProperties") or {}
    for kind in ("private", "shared"):
        for constraint in filters.get(f"{kind}ExtendedProperty", []):
            name, _, value = constraint.partition("=")
            if (props.get(kind) or {}).get(name) != value:
                return False
    query = (filters.get("q") or [""])[0].lower()
    if query and query not in (event.get("summary", "") + " " + event.get("description", "")).lower():
        return False
    uid = (filters.get("iCalUID") or [""])[0]
    if uid and event.get("iCalUID") != uid:
        return False
    types = filters.get("eventTypes") or []
    return not types or event.get("eventType", "default") in types


def copy_of(value: Any) -> Any:
    """A deep copy of JSON-like data."""
    return json.loads(json.dumps(value))
