"""Turning Microsoft Graph JSON into the agent's model and back (events, series, messages)."""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.addresses import attendee_address
from agent.model import AGENT_TAG_NAME, Attendee, Occurrence, SeriesSpec, WorkingHours

PROPERTY_SET = "{2d10d0b2-e21d-4009-9ee2-d1b4a0b0eb8a}"
TAG_PROPERTY_ID = f"String {PROPERTY_SET} Name {AGENT_TAG_NAME}"
"""The single-value extended property that marks the events and drafts the agent created."""
SERIES_PROPERTY_ID = f"String {PROPERTY_SET} Name {AGENT_TAG_NAME}-series"
"""The agent's series id on the events it created (for find_own_events)."""
TRANSACTION_PREFIX = "touchbase-"

_RESPONSES = {
    "accepted": "accepted", "declined": "declined", "tentativelyaccepted": "tentative",
    "notresponded": "needs-action", "none": "needs-action", "organizer": "accepted",
}
_USER_RESPONSES = {
    "accepted": "accepted", "declined": "declined", "tentativelyaccepted": "tentative",
    "notresponded": "needs-action", "organizer": "organizer", "none": "",
}
_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_DAYS = {"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday", "FR": "friday",
         "SA": "saturday", "SU": "sunday"}
BUSY_STATUSES = frozenset({"busy", "tentative", "oof"})


def parse_time(value: dict | None, zone: ZoneInfo) -> datetime | None:
    """An aware datetime from a Graph dateTimeTimeZone (7-digit fractions, UTC or IANA zone)."""
    if not value or not value.get("dateTime"):
        return None
    text = value["dateTime"].rstrip("Z")
    if "." in text:
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(value.get("timeZone") or "UTC", zone))
    return moment


def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo | timezone:
    if name.upper() in ("UTC", "ETC/UTC", "ETC/GMT", "COORDINATED UNIVERSAL TIME"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


WINDOWS_ZONES = {
    "UTC": "UTC", "GMT Standard Time": "Europe/London", "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris", "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw", "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev", "GTB Standard Time": "Europe/Bucharest",
    "Russian Standard Time": "Europe/Moscow", "Israel Standard Time": "Asia/Jerusalem",
    "India Standard Time": "Asia/Kolkata", "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore", "Tokyo Standard Time": "Asia/Tokyo",
    "AUS Eastern Standard Time": "Australia/Sydney", "New Zealand Standard Time": "Pacific/Auckland",
    "Eastern Standard Time": "America/New_York", "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver", "Pacific Standard Time": "America/Los_Angeles",
    "E. South America Standard Time": "America/Sao_Paulo",
}
"""The Windows zone names Graph uses for the most common IANA zones (an IANA name passes as is)."""


def iana_zone(name: str) -> str:
    """The IANA name of a Graph zone name (Windows or IANA); "" when unknown."""
    zone = WINDOWS_ZONES.get(name, name)
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        return ""
    return zone


def working_hours_of(value: dict | None) -> WorkingHours | None:
    """getSchedule's workingHours as WorkingHours (None when absent or in an unknown zone)."""
    if not value or not value.get("daysOfWeek"):
        return None
    name = str((value.get("timeZone") or {}).get("name") or "UTC")
    zone = WINDOWS_ZONES.get(name, name)
    try:
        ZoneInfo(zone)
        first = time.fromisoformat(str(value["startTime"])[:8])
        last = time.fromisoformat(str(value["endTime"])[:8])
    except (KeyError, ValueError, ZoneInfoNotFoundError):
        return None
    codes = {name: code for code, name in _DAYS.items()}
    days = tuple(codes[d.lower()] for d in value["daysOfWeek"] if d.lower() in codes)
    return WorkingHours(days, first, last, zone)


def local_time(moment: datetime, zone: ZoneInfo) -> dict:
    """A dateTimeTimeZone in `zone` (wall-clock time and its IANA name)."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    return {"dateTime": local.isoformat(timespec="seconds"), "timeZone": zone.key}


def graph_time(moment: datetime) -> dict:
    """A Graph dateTimeTimeZone in UTC for an aware datetime."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def event_tag(event: dict) -> str:
    """The agent's tag on `event` when the payload carries its extended properties."""
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == TAG_PROPERTY_ID.lower():
            return str(prop.get("value") or "")
    return ""


def event_series(event: dict) -> str:
    """The agent's series id on `event` when the payload carries it."""
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == SERIES_PROPERTY_ID.lower():
            return str(prop.get("value") or "")
    return ""


def to_occurrence(event: dict, zone: ZoneInfo, user_emails: list[str], tag: str = "") -> Occurrence | None:
    """One calendarView instance (occurrence, exception or single instance) as an Occurrence."""
    if event.get("type") == "seriesMaster":
        return None
    start = parse_time(event.get("start"), zone)
    end = parse_time(event.get("end"), zone)
    if start is None:
        return None
    all_day = bool(event.get("isAllDay"))
    if all_day:
        start = datetime.combine(start.date(), time(0), zone)
        end = datetime.combine(end.date(), time(0), zone) if end else start + timedelta(days=1)
    organizer = (event.get("organizer") or {}).get("emailAddress") or {}
    user_response = _USER_RESPONSES.get(_response_of(event.get("responseStatus")), "")
    return Occurrence(
        resource=event["id"], key=event["id"], title=str(event.get("subject") or ""),
        start=start, end=end or start, all_day=all_day, cancelled=bool(event.get("isCancelled")),
        organizer=attendee_address(organizer.get("address"), _where(event)) or "",
        organizer_name=str(organizer.get("name") or ""),
        attendees=tuple(_attendees(event, user_emails, user_response)),
        series_id=str(event.get("seriesMasterId") or ""),
        tag=tag or event_tag(event), user_response=user_response,
        transparent=str(event.get("showAs") or "").lower() == "free",
        zone="" if all_day else iana_zone(str(event.get("originalStartTimeZone") or "")),
    )


def _where(event: dict) -> str:
    return f"event {event.get('subject') or ''!r} ({event.get('id', '')})"


def _attendees(event: dict, user_emails: list[str], user_response: str) -> list[Attendee]:
    people = []
    own = {e.lower() for e in user_emails}
    for item in event.get("attendees") or []:
        address = (item.get("emailAddress") or {})
        email = attendee_address(address.get("address"), _where(event))
        if not email:
            continue
        kind = str(item.get("type") or "required").lower()
        response = _RESPONSES.get(_response_of(item.get("status")), "needs-action")
        if email in own and user_response in ("accepted", "declined", "tentative"):
            response = user_response  # the user's own copy reports its answer in responseStatus
        people.append(Attendee(email=email, name=str(address.get("name") or ""), response=response,
                               kind="resource" if kind == "resource" else "person",
                               optional=kind == "optional"))
    return people


def _response_of(status: dict | None) -> str:
    return str((status or {}).get("response") or "none").lower()


def relative_monthly(spec: SeriesSpec) -> dict:
    """The patternedRecurrence of a relative-monthly series with no end."""
    local = spec.start.astimezone(ZoneInfo(spec.timezone))
    return {
        "pattern": {"type": "relativeMonthly", "interval": spec.interval,
                    "daysOfWeek": [_DAYS[spec.weekday]], "index": _INDEX[spec.week_index],
                    "firstDayOfWeek": "monday"},
        "range": {"type": "noEnd", "startDate": local.date().isoformat(),
                  "recurrenceTimeZone": spec.timezone},
    }


def rrule_of(recurrence: dict | None) -> str:
    """The RRULE text of a Graph patternedRecurrence (weekly or relative-monthly, as the agent
    writes them; "" for no recurrence or another pattern type)."""
    pattern = (recurrence or {}).get("pattern") or {}
    days = [code for code, name in _DAYS.items() if name in (pattern.get("daysOfWeek") or [])]
    every = f";INTERVAL={pattern['interval']}" if int(pattern.get("interval") or 1) > 1 else ""
    if pattern.get("type") == "weekly" and days:
        return f"FREQ=WEEKLY{every};BYDAY={','.join(days)}"
    index = next((n for n, word in _INDEX.items() if word == pattern.get("index")), 0)
    if pattern.get("type") == "relativeMonthly" and days and index:
        return f"FREQ=MONTHLY{every};BYDAY={index}{days[0]}"
    return ""


def weekly(spec: SeriesSpec) -> dict:
    """The patternedRecurrence of a weekly series on `spec.weekday` with no end."""
    local = spec.start.astimezone(ZoneInfo(spec.timezone))
    return {
        "pattern": {"type": "weekly", "interval": spec.interval, "daysOfWeek": [_DAYS[spec.weekday]],
                    "firstDayOfWeek": "monday"},
        "range": {"type": "noEnd", "startDate": local.date().isoformat(),
                  "recurrenceTimeZone": spec.timezone},
    }


def recurrence_of(spec: SeriesSpec) -> dict:
    """The patternedRecurrence of `spec`: weekly, or relative-monthly (the touchbases)."""
    return weekly(spec) if spec.frequency == "weekly" else relative_monthly(spec)


def transaction_id(spec: SeriesSpec) -> str:
    """A stable transactionId for a series: the same colleague and series always give the same."""
    digest = hashlib.sha256(f"{spec.colleague.lower()}|{spec.series_id}".encode()).hexdigest()
    return f"{TRANSACTION_PREFIX}{digest[:32]}"


def series_event(spec: SeriesSpec) -> dict:
    """The JSON body of POST /me/events for a series: a touchbase with the colleague as the
    one required attendee, or (`spec.colleague` empty) a block of the user's own with no
    attendee, so Outlook sends no invitation."""
    local = spec.start.astimezone(ZoneInfo(spec.timezone)).replace(tzinfo=None)
    end = local + timedelta(minutes=spec.duration_minutes)
    attendees = []
    if spec.colleague:
        attendee: dict[str, Any] = {"emailAddress": {"address": spec.colleague}, "type": "required"}
        if spec.colleague_name:
            attendee["emailAddress"]["name"] = spec.colleague_name
        attendees.append(attendee)
    return {
        "subject": spec.title,
        "body": {"contentType": "text", "content": spec.description},
        "start": {"dateTime": local.isoformat(timespec="seconds"), "timeZone": spec.timezone},
        "end": {"dateTime": end.isoformat(timespec="seconds"), "timeZone": spec.timezone},
        "recurrence": recurrence_of(spec),
        "attendees": attendees,
        "showAs": "busy",
        "responseRequested": bool(attendees),
        "allowNewTimeProposals": bool(attendees),
        "transactionId": transaction_id(spec),
        "singleValueExtendedProperties": [
            {"id": TAG_PROPERTY_ID, "value": spec.tag},
            {"id": SERIES_PROPERTY_ID, "value": spec.series_id},
        ],
    }


def ended_range(recurrence: dict, until: datetime, start: datetime, zone: ZoneInfo) -> dict | None:
    """The recurrence with its range ending so no occurrence starts after `until` (None: none left)."""
    local_until = until.astimezone(zone)
    local_start = start.astimezone(zone)
    last_day = local_until.date()
    if local_until.time() < local_start.time():
        last_day -= timedelta(days=1)
    first_day = date.fromisoformat(recurrence["range"]["startDate"])
    if last_day < first_day:
        return None
    new_range = {key: value for key, value in recurrence["range"].items()
                 if key not in ("numberOfOccurrences",)}
    new_range.update({"type": "endDate", "endDate": last_day.isoformat()})
    return {"pattern": recurrence["pattern"], "range": new_range}


def tag_filter(value: str | None = None, prop: str = TAG_PROPERTY_ID) -> str:
    """The $filter finding items whose tag property equals `value` (None: has any value)."""
    if value is None:
        return f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value ne '')"
    quoted = value.replace("'", "''")
    return f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value eq '{quoted}')"


def expand_tags() -> str:
    """The $expand that brings the agent's two properties along with each event."""
    return (f"singleValueExtendedProperties($filter=id eq '{TAG_PROPERTY_ID}' "
            f"or id eq '{SERIES_PROPERTY_ID}')")


def message_key(message: EmailMessage) -> str:
    """A stable key of a message: its Message-ID, else a hash of recipients, subject and body."""
    if message.get("Message-ID"):
        return str(message["Message-ID"]).strip()
    text, html = message_bodies(message)
    blob = "|".join([str(message.get("To", "")), str(message.get("Subject", "")), text, html])
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def message_bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of `message` ("" where absent)."""
    texts = {"plain": "", "html": ""}
    parts = message.walk() if message.is_multipart() else [message]
    for part in parts:
        subtype = part.get_content_subtype()
        if part.get_content_maintype() == "text" and subtype in texts and not texts[subtype]:
            if part.get_content_disposition() != "attachment":
                texts[subtype] = part.get_content()
    return texts["plain"], texts["html"]


def graph_message(message: EmailMessage, key: str | None = None, sending: bool = False) -> dict:
    """The Graph message JSON of an EmailMessage (HTML body when there is one); a message being
    sent keeps its Message-ID as internetMessageId, so Sent Items can be searched for it."""
    text, html = message_bodies(message)
    body = {"contentType": "html", "content": html} if html else {"contentType": "text", "content": text}
    result = {"subject": str(message.get("Subject", "")), "body": body,
              "toRecipients": _recipients(message.get_all("To", [])),
              "ccRecipients": _recipients(message.get_all("Cc", [])),
              "bccRecipients": _recipients(message.get_all("Bcc", []))}
    if key:
        result["singleValueExtendedProperties"] = [{"id": TAG_PROPERTY_ID, "value": key}]
    if sending and message.get("Message-ID"):
        result["internetMessageId"] = str(message["Message-ID"]).strip()
    return result


def _recipients(values: list) -> list[dict]:
    result = []
    for name, address in getaddresses([str(v) for v in values]):
        if address:
            entry: dict = {"address": address}
            if name:
                entry["name"] = name
            result.append({"emailAddress": entry})
    return result
