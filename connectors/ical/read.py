"""iCalendar helpers shared by the ICS, CalDAV and local-calendar connectors.

Turns parsed VEVENT components into Occurrences: recurrence expansion only through
recurring-ical-events (never by hand), floating times read in the user's zone.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from agent.addresses import attendee_address, parse_calendar_address
from agent.model import AGENT_TAG_NAME, Attendee, Occurrence

TAG_PROPERTY = "X-" + AGENT_TAG_NAME.upper()

_PARTSTAT = {
    "ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
    "NEEDS-ACTION": "needs-action", "DELEGATED": "declined",
}
RELAY_DOMAINS = ("imip.me.com",)
"""Domains whose addresses stand for a person written in the EMAIL parameter (iCloud's invitation
relay)."""
_CUTYPE = {"INDIVIDUAL": "person", "ROOM": "room", "RESOURCE": "resource", "GROUP": "group"}


def expand(calendar: icalendar.Calendar, start: datetime, end: datetime,
           zone: ZoneInfo) -> list[Occurrence]:
    """Every occurrence of every event in `calendar` that starts in [start, end); single events
    without the expansion library (`connectors.ical.singles`)."""
    from connectors.ical.singles import split_singles

    result: list[Occurrence] = []
    if calendar.get("X-WR-TIMEZONE") is not None:  # the library converts such a calendar first
        rest = list(calendar.subcomponents)
    else:
        result, rest = split_singles(calendar, start, end, zone)
    if not any(component.name == "VEVENT" for component in rest):
        return result
    if len(rest) < len(calendar.subcomponents):
        calendar = _with_components(calendar, rest)
    series = recurring_uids(calendar)
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    templates: dict[int, Occurrence | None] = {}
    for found in query._occurrences_between(query.to_datetime(start), query.to_datetime(end)):
        occ = _instance(found, zone, series, templates)
        if occ is not None:
            result.append(occ)
    return result


def _instance(found: Any, zone: ZoneInfo, series: set[str],
              templates: dict[int, Occurrence | None]) -> Occurrence | None:
    """The Occurrence of one of recurring-ical-events' occurrences, without the copy of the
    component it would make for it (`Occurrence.as_component`): what the copy would change (the
    start, the end, and a RECURRENCE-ID equal to the start when the component has none) is set
    on an Occurrence read once per component (tests/test_ics_plain.py pins both equal)."""
    component = found._adapter._component
    key = id(component)
    if key not in templates:
        uid = str(component.get("UID", ""))
        templates[key] = to_occurrence(component, zone, recurring=uid in series)
    template = templates[key]
    if template is None:
        return None
    begin, all_day = as_aware(found.start, zone)
    recurrence = component.get("RECURRENCE-ID")
    recurrence_at = as_aware(recurrence.dt, zone)[0] if recurrence is not None else begin
    uid = template.key.rpartition("|")[0]
    return replace(template, key=f"{uid}|{recurrence_at.isoformat()}", start=begin,
                   end=as_aware(found.end, zone)[0], all_day=all_day,
                   zone="" if all_day else str(getattr(found.start.tzinfo, "key", "") or ""))


def _with_components(calendar: icalendar.Calendar, components: list) -> icalendar.Calendar:
    """A calendar with `calendar`'s properties and only `components`."""
    copy = icalendar.Calendar()
    copy.update(calendar)
    copy.subcomponents = components
    return copy


def user_busy(occurrences: Iterable[Occurrence], start: datetime, end: datetime,
              user_emails: Iterable[str]) -> list[tuple[datetime, datetime]]:
    """(start, end) of the occurrences overlapping [start, end) that make the user busy: timed,
    not cancelled, and not declined by the user (any of `user_emails`)."""
    users = {email.lower() for email in user_emails}
    result = []
    for occ in occurrences:
        own = [a for a in occ.attendees if a.email.lower() in users]
        declined = occ.user_response == "declined" or (bool(own) and all(a.response == "declined" for a in own))
        if not (occ.all_day or occ.cancelled or declined) and occ.start < end and occ.end > start:
            result.append((occ.start, occ.end))
    return sorted(result)


def recurring_uids(calendar: icalendar.Calendar) -> set[str]:
    """UIDs of the events that are part of a series (an RRULE, RDATE or RECURRENCE-ID).

    Needed because recurring-ical-events gives every occurrence it returns, even that of a
    single event, a RECURRENCE-ID and drops the RRULE.
    """
    return {
        str(event.get("UID", "")) for event in calendar.walk("VEVENT")
        if event.get("RRULE") or event.get("RDATE") or event.get("RECURRENCE-ID") is not None
    }


def to_occurrence(event: icalendar.Event, zone: ZoneInfo, resource: str = "",
                  recurring: bool | None = None) -> Occurrence | None:
    """One expanded VEVENT as an Occurrence (None when it has no start).

    `recurring` says whether the event belongs to a series (see `recurring_uids`); None means:
    tell from the component itself, which only works on an unexpanded one.
    """
    dtstart = event.get("DTSTART")
    if dtstart is None:
        return None
    start, all_day = as_aware(dtstart.dt, zone)
    end = _end_of(event, start, all_day, zone)
    uid = str(event.get("UID", ""))
    recurrence = event.get("RECURRENCE-ID")
    recurrence_at = as_aware(recurrence.dt, zone)[0] if recurrence is not None else start
    if recurring is None:
        recurring = bool(event.get("RRULE") or event.get("RDATE") or recurrence is not None)
    organizer = event.get("ORGANIZER")
    return Occurrence(
        resource=resource or uid,
        key=f"{uid}|{recurrence_at.isoformat()}",
        title=str(event.get("SUMMARY", "")),
        start=start,
        end=end,
        all_day=all_day,
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        organizer=address_of(organizer),
        organizer_name=_param(organizer, "CN"),
        attendees=tuple(attendees_of(event)),
        series_id=uid if recurring else "",
        tag=str(event.get(TAG_PROPERTY, "")),
        transparent=str(event.get("TRANSP", "")).upper() == "TRANSPARENT",
        zone="" if all_day else str(getattr(dtstart.dt.tzinfo, "key", "") or ""),
    )


def attendees_of(event: icalendar.Event) -> Iterable[Attendee]:
    """The ATTENDEE properties of `event`, normalised. An attendee whose value is no usable
    address keeps its kind, role and name with an empty address: a group or a room given as a
    `urn:uuid:` still is one (docs/rules.md)."""
    raw = event.get("ATTENDEE")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    where = f"event {str(event.get('SUMMARY', ''))!r} ({event.get('UID', '')})"
    return [
        Attendee(
            email=address_of(item, where),
            name=_param(item, "CN"),
            response=_PARTSTAT.get(_param(item, "PARTSTAT").upper(), "needs-action"),
            kind=_CUTYPE.get(_param(item, "CUTYPE").upper() or "INDIVIDUAL", "person"),
            optional=_param(item, "ROLE").upper() in ("OPT-PARTICIPANT", "NON-PARTICIPANT"),
        )
        for item in items
    ]


def address_of(value: object, where: str = "") -> str:
    """The bare lower-cased address of a CAL-ADDRESS value ("" when it gives none:
    agent.addresses.parse_calendar_address decides, and names what it drops).

    The RFC 7986 EMAIL parameter is the person's address when the value is not a mailto: URI
    (Apple's servers write urn:uuid: principals) or is a relay's (iCloud writes the organiser as
    `mailto:2_...@imip.me.com;EMAIL=person@example.com`); otherwise it stands in only for a
    value that is no usable address.
    """
    if value is None:
        return ""
    text = str(value).strip()
    email = _param(value, "EMAIL")
    if not email:
        return attendee_address(text, where or "calendar") or ""
    own = parse_calendar_address(text) if text[:7].lower() == "mailto:" else None
    if own is not None and not _relayed(own):
        return own
    return attendee_address(email, where or "calendar") or own or ""


def _relayed(address: str) -> bool:
    """True for an address of a relay that stands for a person (iCloud's imip.me.com)."""
    domain = address.rpartition("@")[2]
    return any(domain == relay or domain.endswith("." + relay) for relay in RELAY_DOMAINS)


def rule_text(event: icalendar.Component) -> str:
    """The event's (first) RRULE as RRULE text ("FREQ=MONTHLY;BYDAY=2WE"), "" when none."""
    rule = event.get("RRULE")
    if isinstance(rule, list):
        rule = rule[0] if rule else None
    return rule.to_ical().decode("utf-8") if rule is not None else ""


def as_aware(value: date | datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """An aware datetime (floating times in `zone`) and whether the value was a whole day."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), zone), True
    if value.tzinfo is None:
        return value.replace(tzinfo=zone), False
    return value, False


def _end_of(event: icalendar.Event, start: datetime, all_day: bool, zone: ZoneInfo) -> datetime:
    dtend = event.get("DTEND")
    if dtend is not None:
        return as_aware(dtend.dt, zone)[0]
    duration = event.get("DURATION")
    if duration is not None:
        return start + duration.dt
    return start + (timedelta(days=1) if all_day else timedelta(0))


def _param(value: object, name: str) -> str:
    params = getattr(value, "params", None)
    if not params:
        return ""
    return str(params.get(name, ""))
