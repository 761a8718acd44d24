"""The data behind the Microsoft Graph emulator: one user's primary calendar and mailbox.

Events are kept as Graph JSON (single instances and series masters). A calendarView expands
series masters into occurrences (type `occurrence`, with `seriesMasterId`) and applies
exceptions (modified occurrences become type `exception`; deleted ones disappear), following
the documented event resource. Expansion of patternedRecurrence goes through dateutil's rrule.
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil import rrule

WINDOWS_ZONES = {
    "W. Europe Standard Time": "Europe/Berlin", "Pacific Standard Time": "America/Los_Angeles",
    "Eastern Standard Time": "America/New_York", "GMT Standard Time": "Europe/London",
}
_DAYS = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
         "saturday": "SA", "sunday": "SU"}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def zone_of(name: str) -> ZoneInfo | timezone:
    """The zone of a Graph timeZone name (UTC, IANA, or a few Windows names)."""
    if not name or name.upper() in ("UTC", "ETC/UTC", "ETC/GMT"):
        return UTC
    return ZoneInfo(WINDOWS_ZONES.get(name, name))


def parse_dtz(value: dict) -> datetime:
    """An aware datetime from a dateTimeTimeZone."""
    text = value["dateTime"].rstrip("Z")
    if "." in text:
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=zone_of(value.get("timeZone", "UTC")))


def dtz(moment: datetime, zone_name: str = "UTC") -> dict:
    """A dateTimeTimeZone in the named zone, with Graph's seven fractional digits."""
    local = moment.astimezone(zone_of(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def att(email: str, response: str = "accepted", kind: str = "required", name: str = "") -> dict:
    """An attendee as Graph writes it (kind: required, optional or resource)."""
    return {"type": kind, "status": {"response": response, "time": "2026-01-01T00:00:00Z"},
            "emailAddress": {"name": name or email.split("@")[0].title(), "address": email}}


def to_rrule(recurrence: dict) -> str:
    """The RRULE text of a patternedRecurrence."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    parts = [f"INTERVAL={int(pattern.get('interval', 1))}"]
    days = ",".join(_DAYS[d.lower()] for d in pattern.get("daysOfWeek") or [])
    if kind == "daily":
        parts.insert(0, "FREQ=DAILY")
    elif kind == "weekly":
        parts += ["FREQ=WEEKLY", f"BYDAY={days}",
                  f"WKST={_DAYS[(pattern.get('firstDayOfWeek') or 'sunday').lower()]}"]
    elif kind == "absoluteMonthly":
        parts += ["FREQ=MONTHLY", f"BYMONTHDAY={pattern['dayOfMonth']}"]
    elif kind == "relativeMonthly":
        parts += ["FREQ=MONTHLY", f"BYDAY={days}", f"BYSETPOS={_INDEX[pattern.get('index', 'first')]}"]
    elif kind == "absoluteYearly":
        parts += ["FREQ=YEARLY", f"BYMONTH={pattern['month']}", f"BYMONTHDAY={pattern['dayOfMonth']}"]
    elif kind == "relativeYearly":
        parts += ["FREQ=YEARLY", f"BYMONTH={pattern['month']}", f"BYDAY={days}",
                  f"BYSETPOS={_INDEX[pattern.get('index', 'first')]}"]
    else:
        raise ValueError(f"unknown recurrence pattern type {kind!r}")
    if rng["type"] == "numbered":
        parts.append(f"COUNT={int(rng['numberOfOccurrences'])}")
    elif rng["type"] == "endDate":
        parts.append(f"UNTIL={rng['endDate'].replace('-', '')}T235959")
    return ";".join(p for p in parts if not p.endswith("="))


class Mailbox:
    """One user's calendar events, drafts and sent mail, safe to use from several threads."""

    def __init__(self, user: str, name: str = "Me Myself") -> None:
        self.user = user
        self.name = name
        self.lock = threading.RLock()
        self.events: dict[str, dict] = {}  # id -> single instance or series master
        self.exceptions: dict[str, dict[str, dict | None]] = {}  # master -> original start -> override
        self.revisions: dict[str, int] = {}
        self.messages: dict[str, dict] = {}
        self.sent: list[dict] = []
        self.free_busy: dict[str, list[tuple[datetime, datetime, str]]] = {}
        self.working_hours: dict[str, dict] = {}  # address -> getSchedule workingHours
        self.patched: list[str] = []
        self.deleted: list[str] = []
        self._counter = 0

    def new_id(self, prefix: str = "AAMkAGI2") -> str:
        """A fresh opaque id."""
        self._counter += 1
        return f"{prefix}{hashlib.sha1(f'{prefix}{self._counter}'.encode()).hexdigest()[:24]}"

    # --- test set-up -------------------------------------------------------------------------

    def add_event(self, subject: str, start: datetime, end: datetime, *, attendees: list[dict] = (),
                  organizer: str | None = None, response: str | None = None,
                  recurrence: dict | None = None, tz: str = "Europe/Berlin", all_day: bool = False,
                  cancelled: bool = False, show_as: str = "busy", transaction_id: str | None = None,
                  properties: list[dict] | None = None) -> str:
        """Put an event on the calendar as if someone (the user by default) had created it."""
        organizer = organizer or self.user
        is_organizer = organizer.lower() == self.user.lower()
        event = {
            "subject": subject, "body": {"contentType": "text", "content": ""},
            "start": dtz(start, tz), "end": dtz(end, tz), "isAllDay": all_day,
            "isCancelled": cancelled, "showAs": show_as, "attendees": list(attendees),
            "organizer": {"emailAddress": {"name": organizer.split("@")[0].title(), "address": organizer}},
            "isOrganizer": is_organizer,
            "responseStatus": {"response": response or ("organizer" if is_organizer else "accepted"),
                               "time": "2026-01-01T00:00:00Z"},
            "recurrence": recurrence,
        }
        if transaction_id:
            event["transactionId"] = transaction_id
        if properties:
            event["singleValueExtendedProperties"] = properties
        return self.insert(event)

    def insert(self, event: dict) -> str:
        """Store a new event (single instance, or series master when it has a recurrence)."""
        with self.lock:
            event = copy.deepcopy(event)
            event["id"] = self.new_id()
            event["type"] = "seriesMaster" if event.get("recurrence") else "singleInstance"
            event.setdefault("iCalUId", "040000008200E00074C5B7101A82E008" + event["id"][-16:])
            event.setdefault("isCancelled", False)
            event.setdefault("showAs", "busy")
            self.events[event["id"]] = event
            self.touch(event["id"])
            return event["id"]

    def touch(self, event_id: str) -> None:
        """Note that an event changed (for delta rounds)."""
        self.revisions[event_id] = self.revisions.get(event_id, 0) + 1

    def update_event(self, event_id: str, **changes: object) -> None:
        """Change a single instance or a whole series."""
        with self.lock:
            self.events[event_id].update(copy.deepcopy(changes))
            self.touch(event_id)

    def delete_event(self, event_id: str) -> None:
        """Remove an event (a whole series with its exceptions)."""
        with self.lock:
            self.events.pop(event_id)
            self.exceptions.pop(event_id, None)
            self.touch(event_id)

    def modify_occurrence(self, master_id: str, original_start: datetime, **changes: object) -> None:
        """Turn one occurrence into an exception (moved, cancelled, other attendees...)."""
        with self.lock:
            key = _utc_key(original_start)
            self.exceptions.setdefault(master_id, {}).setdefault(key, {}).update(copy.deepcopy(changes))
            self.touch(master_id)

    def delete_occurrence(self, master_id: str, original_start: datetime) -> None:
        """Remove one occurrence of a series."""
        with self.lock:
            self.exceptions.setdefault(master_id, {})[_utc_key(original_start)] = None
            self.touch(master_id)

    # --- views -------------------------------------------------------------------------------

    def view(self, start: datetime, end: datetime) -> dict[str, dict]:
        """The calendarView instances overlapping [start, end), by id, in UTC."""
        with self.lock:
            result: dict[str, dict] = {}
            for event in self.events.values():
                for instance in self.instances(event, start, end):
                    result[instance["id"]] = instance
            return dict(sorted(result.items(), key=lambda kv: kv[1]["start"]["dateTime"]))

    def instances(self, event: dict, start: datetime, end: datetime) -> list[dict]:
        """The instances of one stored event overlapping [start, end)."""
        if event["type"] == "singleInstance":
            instance = _instance(event, {}, "singleInstance", event["id"])
            return [instance] if _overlaps(instance, start, end) else []
        first = parse_dtz(event["start"])
        length = parse_dtz(event["end"]) - first
        zone = zone_of(event["start"].get("timeZone", "UTC"))
        local_first = first.astimezone(zone).replace(tzinfo=None)
        range_start = date.fromisoformat(event["recurrence"]["range"]["startDate"])
        dtstart = datetime.combine(max(range_start, local_first.date()), local_first.time())
        rule = rrule.rrulestr(to_rrule(event["recurrence"]), dtstart=dtstart)
        low = (start - length - timedelta(days=2)).astimezone(zone).replace(tzinfo=None)
        high = (end + timedelta(days=2)).astimezone(zone).replace(tzinfo=None)
        overrides = self.exceptions.get(event["id"], {})
        result = []
        for local in rule.between(low, high, inc=True):
            original = local.replace(tzinfo=zone)
            key = _utc_key(original)
            if key in overrides and overrides[key] is None:
                continue
            occurrence = dict(event, start=dtz(original, "UTC"), end=dtz(original + length, "UTC"))
            override = overrides.get(key) or {}
            kind = "exception" if override else "occurrence"
            instance = _instance(occurrence, override, kind, f"{event['id']}_OCC{key}")
            instance["seriesMasterId"] = event["id"]
            instance["originalStart"] = original.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if _overlaps(instance, start, end):
                result.append(instance)
        return result

    def find_instance(self, instance_id: str) -> dict | None:
        """An occurrence or exception by id (searched over a wide span)."""
        master_id = instance_id.split("_OCC", 1)[0]
        event = self.events.get(master_id)
        if event is None or "_OCC" not in instance_id:
            return None
        wide = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        return next((i for i in self.instances(event, *wide) if i["id"] == instance_id), None)

    def busy_items(self, address: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
        """(start, end, status) of what blocks `address` in [start, end)."""
        if address.lower() == self.user.lower():
            items = []
            for instance in self.view(start, end).values():
                if instance.get("isCancelled") or instance.get("showAs") == "free":
                    continue
                if instance.get("responseStatus", {}).get("response") == "declined":
                    continue
                items.append((parse_dtz(instance["start"]), parse_dtz(instance["end"]),
                              instance.get("showAs", "busy")))
            return items
        return [item for item in self.free_busy.get(address.lower(), []) if item[0] < end and item[1] > start]


def version(instance: dict) -> str:
    """A hash of an instance's JSON: changes when anything about it changes."""
    return hashlib.sha1(json.dumps(instance, sort_keys=True).encode()).hexdigest()


def _instance(event: dict, override: dict, kind: str, instance_id: str) -> dict:
    instance = {k: copy.deepcopy(v) for k, v in event.items() if k != "recurrence"}
    instance.update(copy.deepcopy(override))
    instance["id"] = instance_id
    instance["type"] = kind
    instance["recurrence"] = None
    instance.setdefault("seriesMasterId", None)
    for key in ("start", "end"):
        instance[key] = dtz(parse_dtz(instance[key]), "UTC")
    if instance.get("isAllDay"):
        for key in ("start", "end"):
            day = parse_dtz(event[key]).astimezone(zone_of(event[key]["timeZone"])).date()
            instance[key] = {"dateTime": datetime.combine(day, time(0)).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
                             "timeZone": "UTC"}
    return instance


def _overlaps(instance: dict, start: datetime, end: datetime) -> bool:
    return parse_dtz(instance["start"]) < end and parse_dtz(instance["end"]) > start


def _utc_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
