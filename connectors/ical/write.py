"""Writing the agent's touchbase series as iCalendar (CalDAV and the local calendar file)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from agent.errors import NotFound
from agent.model import SeriesSpec
from connectors.ical.read import TAG_PROPERTY

PRODID = "-//touchbase//touchbase-agent//EN"


def series_uid(spec: SeriesSpec) -> str:
    """The deterministic UID of a series: the same spec always gives the same UID."""
    return f"{spec.series_id}@touchbase.local"


def written_at(now: datetime | None) -> datetime:
    """The DTSTAMP of an event the agent writes or changes: when it did (whole seconds, UTC)."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def restamp(event: icalendar.Component, now: datetime | None) -> None:
    """Set DTSTAMP to the time of this change (clients order updates by it)."""
    event.pop("DTSTAMP", None)
    event.add("DTSTAMP", written_at(now))


def series_event(spec: SeriesSpec, now: datetime | None = None) -> icalendar.Event:
    """The VEVENT of a relative-monthly touchbase series, tagged as the agent's, stamped `now`."""
    zone = ZoneInfo(spec.timezone)
    start = spec.start.astimezone(zone)
    event = icalendar.Event()
    event.add("UID", series_uid(spec))
    event.add("DTSTAMP", written_at(now))
    event.add("DTSTART", start)
    event.add("DTEND", start + timedelta(minutes=spec.duration_minutes))
    event.add("SUMMARY", spec.title)
    event.add("DESCRIPTION", spec.description)
    event.add("RRULE", icalendar.vRecur.from_ical(spec.rrule))
    event.add("STATUS", "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    event.add("ORGANIZER", f"mailto:{spec.organizer}")
    event.add("ATTENDEE", f"mailto:{spec.organizer}",
              parameters={"PARTSTAT": "ACCEPTED", "ROLE": "CHAIR", "CUTYPE": "INDIVIDUAL"})
    if spec.colleague:
        params = {"PARTSTAT": "NEEDS-ACTION", "ROLE": "REQ-PARTICIPANT", "CUTYPE": "INDIVIDUAL",
                  "RSVP": "TRUE"}
        if spec.colleague_name:
            params["CN"] = spec.colleague_name
        event.add("ATTENDEE", f"mailto:{spec.colleague}", parameters=params)
    event.add(TAG_PROPERTY, spec.tag)
    return event


def calendar_with(events: list[icalendar.Event], zones: set[str]) -> icalendar.Calendar:
    """A VCALENDAR holding `events` and a VTIMEZONE for each zone they use."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    for name in sorted(zones):
        if name != "UTC":
            cal.add_component(icalendar.Timezone.from_tzid(name))
    for event in events:
        cal.add_component(event)
    return cal


def series_calendar(spec: SeriesSpec, now: datetime | None = None) -> bytes:
    """One series as a complete iCalendar object (with its VTIMEZONE), stamped `now`."""
    return calendar_with([series_event(spec, now)], {spec.timezone}).to_ical()


def end_rrule(event: icalendar.Component, until: datetime) -> None:
    """Set UNTIL on the RRULE of `event` (dropping COUNT) so no occurrence follows `until`."""
    rule = event.get("RRULE")
    if rule is None:
        return
    rule = icalendar.vRecur(dict(rule))
    rule.pop("COUNT", None)
    rule["UNTIL"] = [until.astimezone(UTC)]
    event["RRULE"] = rule


def instance_override(master: icalendar.Component, original_start: datetime,
                      new_start: datetime | None, now: datetime | None = None) -> icalendar.Event:
    """A RECURRENCE-ID override of the instance of `master` starting at `original_start`:
    moved to `new_start` (same length; invitees asked to answer again), or cancelled (None)."""
    start = master.decoded("DTSTART")
    zone = start.tzinfo
    length = master.decoded("DTEND") - start
    original = original_start.astimezone(zone)
    moved = (new_start or original_start).astimezone(zone)
    event = icalendar.Event()
    event.add("UID", master["UID"])
    event.add("DTSTAMP", written_at(now))
    event.add("RECURRENCE-ID", original)
    event.add("DTSTART", moved)
    event.add("DTEND", moved + length)
    for key in ("SUMMARY", "DESCRIPTION", "TRANSP", "ORGANIZER", "CATEGORIES", TAG_PROPERTY):
        if master.get(key) is not None:
            event[key] = master[key]
    event.add("STATUS", "CANCELLED" if new_start is None else "CONFIRMED")
    for attendee in _as_list(master.get("ATTENDEE")):
        copied = icalendar.vCalAddress(str(attendee))
        copied.params.update(attendee.params)
        if copied.params.get("ROLE") != "CHAIR":
            copied.params["PARTSTAT"] = "NEEDS-ACTION"
        event.add("ATTENDEE", copied)
    event.add("SEQUENCE", int(master.get("SEQUENCE", 0)) + 1)
    return event


def is_occurrence(master: icalendar.Component, original_start: datetime) -> bool:
    """True when the series `master` has an occurrence starting at `original_start`."""
    from dateutil.rrule import rrulestr

    start = master.decoded("DTSTART")
    rule = master.get("RRULE")
    if rule is None or not isinstance(start, datetime) or start.tzinfo is None:
        return False
    zone = start.tzinfo
    local = start.replace(tzinfo=None)
    wanted = original_start.astimezone(zone).replace(tzinfo=None)
    text = rule.to_ical().decode()
    if "UNTIL=" in text:  # dateutil wants UNTIL in the same (wall-clock) terms as a naive start
        until = rule["UNTIL"][0]
        if isinstance(until, datetime):
            until = until.astimezone(zone).replace(tzinfo=None)
            text = re.sub(r"UNTIL=[^;]+", f"UNTIL={until:%Y%m%dT%H%M%S}", text)
    found = rrulestr(text, dtstart=local).between(wanted - timedelta(seconds=1),
                                                    wanted + timedelta(seconds=1), inc=True)
    return bool(found)


def put_override(components: list, master: icalendar.Component, original_start: datetime,
                 new_start: datetime | None, now: datetime | None = None) -> bool:
    """Add or replace the override of one instance in `components` (a calendar's
    subcomponents); False when the same override is there already (a retry). NotFound when
    the series has no occurrence at `original_start` (an instance changed outside the agent)."""
    if not is_occurrence(master, original_start):
        raise NotFound(f"series {master.get('UID')} has no occurrence at {original_start.isoformat()}")
    wanted = instance_override(master, original_start, new_start, now)
    uid, key = str(master["UID"]), original_start.astimezone(UTC)
    for index, item in enumerate(components):
        if (getattr(item, "name", "") == "VEVENT" and str(item.get("UID", "")) == uid
                and item.get("RECURRENCE-ID") is not None
                and item.decoded("RECURRENCE-ID").astimezone(UTC) == key):
            if _same_override(item, wanted):
                return False
            components[index] = wanted
            return True
    components.append(wanted)
    return True


def _same_override(old: icalendar.Event, new: icalendar.Event) -> bool:
    return (old.decoded("DTSTART") == new.decoded("DTSTART")
            and str(old.get("STATUS", "")).upper() == str(new.get("STATUS", "")).upper())


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
