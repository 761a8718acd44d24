"""Microsoft Graph v1.0 routes of the emulator: calendarView delta, events, getSchedule, mail.

Each handler takes the parsed request and returns (status, JSON body or None, extra headers).
Semantics follow Microsoft's documentation: delta rounds page through @odata.nextLink to an
@odata.deltaLink; a deltaLink call returns what changed (removed instances as `@removed`);
an unknown or expired token answers 410 with `syncStateNotFound`; $select, $expand and $filter
are refused on delta; a duplicate transactionId returns the event created before; events and
messages are found by a single-value extended property with `$filter=.../Any(ep: ...)`.
"""
from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.graph_state import Mailbox, dtz, parse_dtz, to_rrule, version, zone_of

Result = tuple[int, Any, dict]
_ANY = re.compile(r"^singleValueExtendedProperties/Any\(ep: ep/id eq '(?P<id>[^']+)' and "
                  r"(?:ep/value (?P<op>eq|ne) '(?P<value>(?:[^']|'')*)'|"
                  r"(?P<fn>contains|startswith)\(ep/value, '(?P<arg>(?:[^']|'')*)'\))\)$", re.I)
_MESSAGE_ID = re.compile(r"^internetMessageId eq '(?P<value>(?:[^']|'')*)'$")
_EXPAND = re.compile(r"^singleValueExtendedProperties\(\$filter=(?P<ids>.+)\)$", re.I)
_CODES = {"free": "0", "workingElsewhere": "0", "tentative": "1", "busy": "2", "oof": "3"}


def error(status: int, code: str, message: str, headers: dict | None = None) -> Result:
    """A Graph error body."""
    return status, {"error": {"code": code, "message": message,
                              "innerError": {"request-id": secrets.token_hex(8)}}}, headers or {}


@dataclass
class DeltaState:
    """What a client knows at the end of a delta round."""

    start: datetime
    end: datetime
    snapshot: dict[str, str]
    revisions: dict[str, int]
    delivered: list[dict] = field(default_factory=list)


@dataclass
class Round:
    """The remaining pages of a delta round and the state it ends in."""

    items: list[dict]
    final: DeltaState
    page_size: int


class GraphRoutes:
    """The Graph endpoints over one Mailbox."""

    def __init__(self, mailbox: Mailbox, base: str) -> None:
        self.mailbox = mailbox
        self.base = base  # e.g. https://127.0.0.1:1234/v1.0
        self.rounds: dict[str, Round] = {}
        self.delta_tokens: dict[str, DeltaState] = {}
        self.max_page_size = 1000
        self.default_page_size = 10
        self.replay = False
        self.leak_outside = False
        self.creates = 0
        self.after_send: Callable[[dict], None] | None = None  # called once a mail is accepted
        self.after_create_event: Callable[[dict], None] | None = None  # once an event is created

    # --- calendarView delta ------------------------------------------------------------------

    def delta(self, query: dict[str, str], prefer: dict[str, str]) -> Result:
        """GET /me/calendarView/delta."""
        if any(k in query for k in ("$select", "$expand", "$filter", "$orderby", "$search")):
            return error(400, "ErrorInvalidUrlQuery", "$select, $expand, $filter, $orderby and "
                                                      "$search are not supported on calendarView delta")
        size = min(int(prefer.get("odata.maxpagesize", self.default_page_size)), self.max_page_size)
        if "$skiptoken" in query:
            current = self.rounds.pop(query["$skiptoken"], None)
            if current is None:
                return error(410, "syncStateNotFound", "The sync state is not found or has expired.",
                             {"Location": f"{self.base}/me/calendarView/delta?$deltatoken="})
            return self._page(current)
        if "$deltatoken" in query:
            known = self.delta_tokens.get(query["$deltatoken"])
            if known is None:
                return error(410, "syncStateNotFound", "The sync state is not found or has expired.",
                             {"Location": f"{self.base}/me/calendarView/delta?$deltatoken="})
            return self._page(self._incremental(known, size))
        lower = {k.lower(): v for k, v in query.items()}
        if "startdatetime" not in lower or "enddatetime" not in lower:
            return error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required")
        start, end = _instant(lower["startdatetime"]), _instant(lower["enddatetime"])
        with self.mailbox.lock:
            view = self.mailbox.view(start, end)
            state = DeltaState(start, end, {i: version(v) for i, v in view.items()},
                               dict(self.mailbox.revisions))
        state.delivered = list(view.values())
        return self._page(Round(list(view.values()), state, size))

    def _incremental(self, known: DeltaState, size: int) -> Round:
        with self.mailbox.lock:
            view = self.mailbox.view(known.start, known.end)
            current = {i: version(v) for i, v in view.items()}
            items = [v for i, v in view.items() if known.snapshot.get(i) != current[i]]
            items += [_removed(i) for i in known.snapshot if i not in current]
            changed = [m for m, rev in self.mailbox.revisions.items() if known.revisions.get(m) != rev]
            in_view = {v.get("seriesMasterId") or v["id"] for v in view.values()}
            items += [_removed(m) for m in changed if m not in in_view]
            if self.leak_outside:
                items += self._just_outside(changed, known.end)
            state = DeltaState(known.start, known.end, current, dict(self.mailbox.revisions), items)
        if self.replay:
            items = copy.deepcopy(known.delivered) + items
        return Round(items, state, size)

    def _just_outside(self, changed: list[str], end: datetime) -> list[dict]:
        result = []
        for master in changed:
            event = self.mailbox.events.get(master)
            if event is not None:
                result += self.mailbox.instances(event, end, end + timedelta(days=14))
        return [r for r in result if parse_dtz(r["start"]) >= end]

    def _page(self, current: Round) -> Result:
        page, rest = current.items[:current.page_size], current.items[current.page_size:]
        body: dict[str, Any] = {"@odata.context": f"{self.base}/$metadata#Collection(event)",
                                "value": [_public(item) for item in page]}
        if rest:
            token = secrets.token_urlsafe(12)
            self.rounds[token] = Round(rest, current.final, current.page_size)
            body["@odata.nextLink"] = f"{self.base}/me/calendarView/delta?$skiptoken={token}"
        else:
            token = secrets.token_urlsafe(12)
            self.delta_tokens[token] = current.final
            body["@odata.deltaLink"] = f"{self.base}/me/calendarView/delta?$deltatoken={token}"
        return 200, body, {}

    def expire_delta_tokens(self) -> None:
        """Every deltaLink and nextLink handed out so far stops working."""
        self.delta_tokens.clear()
        self.rounds.clear()

    # --- events ------------------------------------------------------------------------------

    def list_events(self, query: dict[str, str], prefer: dict[str, str]) -> Result:
        """GET /me/events: series masters and single instances, with $filter/$expand/$select/$top."""
        matcher = _matcher(query.get("$filter"))
        if matcher is None:
            return error(400, "ErrorInvalidUrlQueryFilter", f"unsupported $filter {query['$filter']!r}")
        with self.mailbox.lock:
            found = [e for e in self.mailbox.events.values() if matcher(e)]
        return self._collection(found, query, prefer, "me/events")

    def get_event(self, event_id: str, query: dict[str, str]) -> Result:
        """GET /me/events/{id} (a master, single instance, occurrence or exception)."""
        with self.mailbox.lock:
            event = self.mailbox.events.get(event_id) or self.mailbox.find_instance(event_id)
            if event is None:
                return _not_found()
            return 200, _shape(event, query), {}

    def create_event(self, body: dict) -> Result:
        """POST /me/events: a duplicate transactionId returns the event created before."""
        problem = _invalid_event(body)
        if problem:
            return error(400, "ErrorInvalidRequest", problem)
        with self.mailbox.lock:
            tid = body.get("transactionId")
            for event in self.mailbox.events.values():
                if tid and event.get("transactionId") == tid:
                    return 201, _public(event), {}
            event = copy.deepcopy(body)
            event.update(isOrganizer=True, isCancelled=False,
                         organizer={"emailAddress": {"name": self.mailbox.name, "address": self.mailbox.user}},
                         responseStatus={"response": "organizer", "time": "0001-01-01T00:00:00Z"})
            for attendee in event.get("attendees") or []:
                attendee.setdefault("type", "required")
                attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}
            event_id = self.mailbox.insert(event)
            self.creates += 1
            created = _public(self.mailbox.events[event_id])
        if self.after_create_event is not None:
            self.after_create_event(created)
        return 201, created, {}

    def list_instances(self, event_id: str, query: dict[str, str], prefer: dict[str, str]) -> Result:
        """GET /me/events/{id}/instances: the occurrences and exceptions of a series master
        in [startDateTime, endDateTime) (both required), each with its originalStart."""
        with self.mailbox.lock:
            master = self.mailbox.events.get(event_id)
            if master is None:
                return _not_found()
            try:
                start, end = _instant(query["startDateTime"]), _instant(query["endDateTime"])
            except (KeyError, ValueError):
                return error(400, "ErrorInvalidParameter",
                             "startDateTime and endDateTime are required")
            found = [] if master["type"] != "seriesMaster" else self.mailbox.instances(master, start, end)
        return self._collection(found, query, prefer, f"me/events/{event_id}/instances")

    def patch_occurrence(self, instance_id: str, body: dict) -> Result:
        """PATCH /me/events/{occurrence id}: the occurrence becomes an exception. A new time
        asks the attendees to answer again (their status goes back to none), as Outlook does."""
        instance = self.mailbox.find_instance(instance_id)
        if instance is None:
            return _not_found()
        changes = copy.deepcopy(body)
        if "start" in changes or "end" in changes:
            attendees = copy.deepcopy(changes.get("attendees", instance.get("attendees") or []))
            for attendee in attendees:
                attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}
            changes["attendees"] = attendees
        master_id = instance["seriesMasterId"]
        self.mailbox.patched.append(instance_id)
        self.mailbox.modify_occurrence(master_id, _instant(instance["originalStart"]), **changes)
        return 200, _public(self.mailbox.find_instance(instance_id) or instance), {}

    def delete_occurrence(self, instance_id: str) -> Result:
        """DELETE /me/events/{occurrence id}: that one occurrence is gone."""
        instance = self.mailbox.find_instance(instance_id)
        if instance is None:
            return _not_found()
        self.mailbox.deleted.append(instance_id)
        self.mailbox.delete_occurrence(instance["seriesMasterId"], _instant(instance["originalStart"]))
        return 204, None, {}

    def patch_event(self, event_id: str, body: dict) -> Result:
        """PATCH /me/events/{id}."""
        with self.mailbox.lock:
            if event_id not in self.mailbox.events and "_OCC" in event_id:
                return self.patch_occurrence(event_id, body)
            if event_id not in self.mailbox.events:
                return _not_found()
            if "recurrence" in body and body["recurrence"]:
                try:
                    to_rrule(body["recurrence"])
                except (KeyError, ValueError) as exc:
                    return error(400, "ErrorInvalidRequest", f"invalid recurrence: {exc}")
            self.mailbox.patched.append(event_id)
            self.mailbox.update_event(event_id, **body)
            return 200, _public(self.mailbox.events[event_id]), {}

    def delete_event(self, event_id: str) -> Result:
        """DELETE /me/events/{id}."""
        with self.mailbox.lock:
            if event_id not in self.mailbox.events and "_OCC" in event_id:
                return self.delete_occurrence(event_id)
            if event_id not in self.mailbox.events:
                return _not_found()
            self.mailbox.deleted.append(event_id)
            self.mailbox.delete_event(event_id)
            return 204, None, {}

    def get_schedule(self, body: dict, prefer: dict[str, str]) -> Result:
        """POST /me/calendar/getSchedule: availabilityView and scheduleItems per address."""
        schedules = body.get("schedules") or []
        if not schedules or len(schedules) > 20:
            return error(400, "ErrorInvalidParameter", "schedules must hold 1 to 20 addresses")
        try:
            start, end = parse_dtz(body["startTime"]), parse_dtz(body["endTime"])
        except (KeyError, ValueError) as exc:
            return error(400, "ErrorInvalidParameter", f"startTime/endTime: {exc}")
        if end <= start or end - start > timedelta(days=62):
            return error(400, "ErrorInvalidTimeInterval", "the time range must be at most 62 days")
        step = int(body.get("availabilityViewInterval") or 30)
        if not 5 <= step <= 1440:
            return error(400, "ErrorInvalidParameter", "availabilityViewInterval must be 5 to 1440")
        zone = prefer.get("outlook.timezone", "UTC")
        value = [self._schedule(a, start, end, step, zone) for a in schedules]
        return 200, {"@odata.context": f"{self.base}/$metadata#Collection(microsoft.graph.scheduleInformation)",
                     "value": value}, {}

    def _schedule(self, address: str, start: datetime, end: datetime, step: int, zone: str) -> dict:
        items = self.mailbox.busy_items(address, start, end)
        view, slot = [], start
        while slot < end:
            slot_end = slot + timedelta(minutes=step)
            codes = [_CODES.get(s, "2") for b, e, s in items if b < slot_end and e > slot]
            view.append(max(codes, default="0"))
            slot = slot_end
        return {"scheduleId": address, "availabilityView": "".join(view),
                "scheduleItems": [{"isPrivate": False, "status": s, "subject": "", "location": "",
                                   "start": dtz(b, zone), "end": dtz(e, zone)} for b, e, s in items],
                "workingHours": copy.deepcopy(self.mailbox.working_hours.get(address.lower(), {
                    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                    "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                    "timeZone": {"name": "W. Europe Standard Time"}}))}

    # --- mail --------------------------------------------------------------------------------

    def list_messages(self, query: dict[str, str], prefer: dict[str, str]) -> Result:
        """GET /me/messages."""
        matcher = _matcher(query.get("$filter"))
        if matcher is None:
            return error(400, "ErrorInvalidUrlQueryFilter", f"unsupported $filter {query['$filter']!r}")
        with self.mailbox.lock:
            found = [m for m in self.mailbox.messages.values() if matcher(m)]
        return self._collection(found, query, prefer, "me/messages")

    def create_message(self, body: dict) -> Result:
        """POST /me/messages: a draft in the Drafts folder."""
        if not isinstance(body.get("body"), dict) or "subject" not in body:
            return error(400, "ErrorInvalidRequest", "a message needs a subject and a body")
        with self.mailbox.lock:
            message = copy.deepcopy(body)
            message.update(id=self.mailbox.new_id("AAMkMsg"), isDraft=True, parentFolderId="drafts")
            self.mailbox.messages[message["id"]] = message
            return 201, _public(message), {}

    def send_mail(self, body: dict) -> Result:
        """POST /me/sendMail: 202 Accepted with no body."""
        message = body.get("message")
        if not isinstance(message, dict) or not message.get("toRecipients"):
            return error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
        with self.mailbox.lock:
            message = copy.deepcopy(message)
            message.setdefault("internetMessageId", f"<{secrets.token_hex(8)}@graph.invalid>")
            self.mailbox.sent.append(message)
            if body.get("saveToSentItems", True) not in (False, "false"):
                saved = dict(copy.deepcopy(message), id=self.mailbox.new_id("AAMkSent"),
                             isDraft=False, parentFolderId="sentitems")
                self.mailbox.messages[saved["id"]] = saved
        if self.after_send is not None:
            self.after_send(message)
        return 202, None, {}

    def list_folder_messages(self, folder: str, query: dict[str, str],
                             prefer: dict[str, str]) -> Result:
        """GET /me/mailFolders/{folder}/messages: `sentitems` and `drafts` by well-known name;
        $filter on an extended property or `internetMessageId eq '<id>'`."""
        wanted = folder.lower()
        if wanted not in ("sentitems", "drafts"):
            return _not_found()
        text = (query.get("$filter") or "").strip()
        by_id = _MESSAGE_ID.match(text)
        matcher = (lambda item: item.get("internetMessageId") == by_id["value"].replace("''", "'")) \
            if by_id else _matcher(text)
        if matcher is None:
            return error(400, "ErrorInvalidUrlQueryFilter", f"unsupported $filter {text!r}")
        with self.mailbox.lock:
            found = [m for m in self.mailbox.messages.values()
                     if m.get("parentFolderId") == wanted and matcher(m)]
        return self._collection(found, query, prefer, f"me/mailFolders/{folder}/messages")

    def _collection(self, items: list[dict], query: dict[str, str], prefer: dict[str, str],
                    path: str) -> Result:
        skip = int(query.get("$skip", 0))
        size = min(int(query.get("$top") or prefer.get("odata.maxpagesize", self.default_page_size)),
                   self.max_page_size)
        page = items[skip:skip + size]
        body: dict[str, Any] = {"value": [_shape(item, query) for item in page]}
        if skip + size < len(items) and "$top" not in query:
            rest = {k: v for k, v in query.items() if k != "$skip"}
            params = "&".join(f"{k}={v}" for k, v in rest.items())
            body["@odata.nextLink"] = f"{self.base}/{path}?{params}&$skip={skip + size}"
        return 200, body, {}


def _matcher(text: str | None):
    if not text:
        return lambda item: True
    match = _ANY.match(text.strip())
    if not match:
        return None
    prop_id = match["id"]

    def test(item: dict) -> bool:
        for prop in item.get("singleValueExtendedProperties") or []:
            if prop.get("id") != prop_id:
                continue
            value = str(prop.get("value") or "").lower()
            if match["op"] == "eq":
                return value == match["value"].replace("''", "'").lower()
            if match["op"] == "ne":
                return value != match["value"].replace("''", "'").lower()
            arg = match["arg"].replace("''", "'").lower()
            return arg in value if match["fn"].lower() == "contains" else value.startswith(arg)
        return False
    return test


def _shape(item: dict, query: dict[str, str]) -> dict:
    """An item as the client asked for it: $select keeps some properties, $expand adds some."""
    result = _public(item)
    wanted = query.get("$select")
    if wanted:
        keep = {w.strip() for w in wanted.split(",")} | {"id"}
        result = {k: v for k, v in result.items() if k in keep}
    expand = _EXPAND.match(query.get("$expand", ""))
    if expand:
        ids = set(re.findall(r"id eq '([^']+)'", expand["ids"]))
        props = [p for p in item.get("singleValueExtendedProperties") or [] if p.get("id") in ids]
        result["singleValueExtendedProperties"] = copy.deepcopy(props)
    return result


def _public(item: dict) -> dict:
    """What Graph returns by default: no extended properties unless asked for."""
    return {k: copy.deepcopy(v) for k, v in item.items() if k != "singleValueExtendedProperties"}


def _removed(item_id: str) -> dict:
    return {"@odata.type": "#microsoft.graph.event", "id": item_id, "@removed": {"reason": "deleted"}}


def _not_found() -> Result:
    return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _invalid_event(body: dict) -> str:
    if not body.get("subject"):
        return "subject is required"
    for key in ("start", "end"):
        value = body.get(key) or {}
        if not value.get("dateTime") or not value.get("timeZone"):
            return f"{key} needs dateTime and timeZone"
        try:
            zone_of(value["timeZone"])
            parse_dtz(value)
        except (KeyError, ValueError) as exc:
            return f"{key}: {exc}"
    recurrence = body.get("recurrence")
    if recurrence:
        pattern = recurrence.get("pattern") or {}
        if pattern.get("type") == "relativeMonthly" and not (pattern.get("daysOfWeek") and pattern.get("index")):
            return "relativeMonthly needs daysOfWeek and index"
        if not (recurrence.get("range") or {}).get("startDate"):
            return "recurrence range needs a startDate"
        try:
            to_rrule(recurrence)
        except (KeyError, ValueError) as exc:
            return f"invalid recurrence: {exc}"
    return ""
