"""Google Calendar event resources <-> the agent's model (Occurrence, SeriesSpec, OwnEvent)."""
from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent.addresses import attendee_address
from agent.model import AGENT_TAG_NAME, Attendee, Occurrence, OwnEvent, SeriesSpec

SKIPPED_TYPES = frozenset({"outOfOffice", "focusTime", "workingLocation", "birthday"})
"""Event types that are not meetings with people."""

SERIES_PROPERTY = "touchbase-series"
"""Private extended property holding the agent's series id (next to the tag)."""

OWNER_PROPERTY, OWNER_VALUE = "touchbase-owner", "touchbase-agent"
"""A fixed private property on every event the agent creates: what find_own_events queries
(privateExtendedProperty matches name=value exactly, and tag values vary)."""

_RESPONSES = {
    "accepted": "accepted", "declined": "declined", "tentative": "tentative",
    "needsAction": "needs-action",
}


def event_id_for(series_id: str) -> str:
    """A deterministic Google event id for a series: base32hex (a-v, 0-9), 5 to 1024 chars.

    The same series always gets the same id, so a retried insert answers 409 instead of
    creating a second event.
    """
    digest = hashlib.sha256(series_id.encode("utf-8")).digest()
    return "tb" + base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def parse_moment(value: dict, zone: ZoneInfo) -> tuple[datetime, bool]:
    """A Google start/end object as an aware datetime, and whether it is a whole day."""
    if value.get("dateTime"):
        moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or zone.key))
        return moment, False
    if value.get("date"):
        return datetime.combine(date.fromisoformat(value["date"]), time(0), zone), True
    raise ValueError("the event has neither date nor dateTime")


def is_meeting_type(item: dict) -> bool:
    """False for out-of-office, focus time, working location and birthdays."""
    return item.get("eventType", "default") not in SKIPPED_TYPES


def to_occurrence(item: dict, calendar: str, zone: ZoneInfo) -> Occurrence:
    """One event (an instance with singleEvents=true) as an Occurrence."""
    start, all_day = parse_moment(item.get("start") or {}, zone)
    end_value = item.get("end") or {}
    end = parse_moment(end_value, zone)[0] if end_value else start + (
        timedelta(days=1) if all_day else timedelta(0))
    organizer = item.get("organizer") or {}
    where = f"event {item.get('summary', '')!r} ({item.get('id', '')})"
    attendees = tuple(_attendee(a, email) for a in item.get("attendees") or []
                      if (email := attendee_address(a.get("email"), where)))
    own = [a for a in item.get("attendees") or [] if a.get("self")]
    private = (item.get("extendedProperties") or {}).get("private") or {}
    return Occurrence(
        resource=item["id"],
        key=item["id"],
        title=item.get("summary", ""),
        start=start,
        end=end,
        all_day=all_day,
        cancelled=item.get("status") == "cancelled",
        organizer=attendee_address(organizer.get("email"), where) or "",
        organizer_name=organizer.get("displayName", ""),
        attendees=attendees,
        series_id=item.get("recurringEventId", ""),
        tag=private.get(AGENT_TAG_NAME, ""),
        calendar=calendar,
        user_response=_RESPONSES.get(own[0].get("responseStatus", ""), "") if own else "",
        transparent=item.get("transparency") == "transparent",
        zone="" if all_day else str((item.get("start") or {}).get("timeZone") or ""),
    )


def _attendee(raw: dict, email: str) -> Attendee:
    return Attendee(
        email=email,
        name=raw.get("displayName", ""),
        response=_RESPONSES.get(raw.get("responseStatus", ""), "needs-action"),
        kind="resource" if raw.get("resource") else "person",
        optional=bool(raw.get("optional")),
    )


def series_body(spec: SeriesSpec, event_id: str) -> dict:
    """The events.insert body of a series: client-chosen id, zone, RRULE (relative-monthly or
    weekly, from `spec.rrule`), tag; the colleague as the one attendee, none for a block of the
    user's own (`spec.colleague` empty)."""
    zone = ZoneInfo(spec.timezone)
    start = spec.start.astimezone(zone)
    end = start + timedelta(minutes=spec.duration_minutes)
    body: dict[str, Any] = {
        "id": event_id,
        "summary": spec.title,
        "description": spec.description,
        "start": {"dateTime": start.isoformat(), "timeZone": spec.timezone},
        "end": {"dateTime": end.isoformat(), "timeZone": spec.timezone},
        "recurrence": [f"RRULE:{spec.rrule}"],
        "transparency": "opaque",
        "extendedProperties": {"private": {AGENT_TAG_NAME: spec.tag,
                                           SERIES_PROPERTY: spec.series_id,
                                           OWNER_PROPERTY: OWNER_VALUE}},
    }
    if spec.colleague:
        attendee = {"email": spec.colleague}
        if spec.colleague_name:
            attendee["displayName"] = spec.colleague_name
        body["attendees"] = [attendee]
    return body


def moved_instance_body(instance: dict, start: datetime, end: datetime) -> dict:
    """The PATCH body moving one instance to [start, end) in its own zone; the other attendees
    are asked to answer again (their earlier answer was for the old time)."""
    zone_name = (instance.get("start") or {}).get("timeZone") or "UTC"
    zone = ZoneInfo(zone_name)
    attendees = []
    for attendee in instance.get("attendees") or []:
        entry = dict(attendee)
        if not entry.get("self") and not entry.get("organizer"):
            entry["responseStatus"] = "needsAction"
        attendees.append(entry)
    body: dict = {"start": {"dateTime": start.astimezone(zone).isoformat(), "timeZone": zone_name},
                  "end": {"dateTime": end.astimezone(zone).isoformat(), "timeZone": zone_name}}
    if attendees:
        body["attendees"] = attendees
    return body


def send_updates_for(attendees: object, configured: str) -> str:
    """The sendUpdates value of a write: the configured one, "none" when nobody is invited
    (a block of the user's own: no invitation or update email at all)."""
    return configured if attendees else "none"


def is_own(item: dict) -> bool:
    """True when the event carries the agent's tag in its private extended properties."""
    private = (item.get("extendedProperties") or {}).get("private") or {}
    return private.get(OWNER_PROPERTY) == OWNER_VALUE or bool(private.get(AGENT_TAG_NAME))


def own_event(item: dict, zone: ZoneInfo) -> OwnEvent:
    """A series master the agent created, as an OwnEvent."""
    private = (item.get("extendedProperties") or {}).get("private") or {}
    start = None
    if item.get("start"):
        start = parse_moment(item["start"], zone)[0]
    return OwnEvent(
        event_id=item["id"], tag=private.get(AGENT_TAG_NAME, ""),
        series_id=private.get(SERIES_PROPERTY, ""), title=item.get("summary", ""),
        start=start, ended=any("UNTIL=" in rule.upper() for rule in rrules_of(item)),
        rrule=next((rule[6:] for rule in rrules_of(item)), ""),
    )


def rrules_of(item: dict) -> list[str]:
    """The RRULE lines of an event's recurrence."""
    return [line for line in item.get("recurrence") or [] if line.upper().startswith("RRULE:")]


def with_until(recurrence: list[str], until: datetime) -> list[str]:
    """The recurrence lines with every RRULE ending at `until` (UTC; COUNT dropped)."""
    stamp = until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = []
    for line in recurrence:
        if not line.upper().startswith("RRULE:"):
            result.append(line)
            continue
        parts = [p for p in line[6:].split(";")
                 if p and p.split("=", 1)[0].upper() not in ("UNTIL", "COUNT")]
        result.append("RRULE:" + ";".join(parts + [f"UNTIL={stamp}"]))
    return result


def until_of(item: dict) -> datetime | None:
    """The earliest UNTIL of the event's RRULEs, if any."""
    found = []
    for line in rrules_of(item):
        for part in line[6:].split(";"):
            key, _, value = part.partition("=")
            if key.upper() == "UNTIL" and value:
                found.append(_parse_until(value))
    return min(found) if found else None


def _parse_until(value: str) -> datetime:
    value = value.strip().upper()
    if "T" in value:
        return datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
