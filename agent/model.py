"""The plain data passed between connectors, the store and the agent."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

AGENT_TAG_NAME = "touchbase-agent"
"""Name of the property (X- property, extended property) that marks events the agent created."""

RESPONSES = ("accepted", "declined", "tentative", "needs-action")
KINDS = ("person", "room", "resource", "group")


@dataclass(frozen=True)
class Attendee:
    """One attendee of an event, normalised across backends."""

    email: str
    name: str = ""
    response: str = "needs-action"  # accepted | declined | tentative | needs-action
    kind: str = "person"  # person | room | resource | group
    optional: bool = False


@dataclass
class Occurrence:
    """One occurrence of a calendar event (recurrences expanded, exceptions applied).

    `resource` is the unit of change inside a source: an iCalendar UID, a CalDAV href,
    a Google or Graph event id. A change replaces all occurrences of its resource.
    """

    resource: str
    key: str
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    cancelled: bool = False
    organizer: str = ""
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    series_id: str = ""
    tag: str = ""
    calendar: str = ""
    user_response: str = ""  # the user's own response where the backend reports it apart
    source: str = ""  # filled in by the store
    transparent: bool = False  # shows as free (TRANSP:TRANSPARENT, Google transparent, Graph free)
    zone: str = ""  # the IANA zone its start was written in, where the backend tells


LOCAL_SOURCE = "touchbase-local"
"""The source name of the agent's local calendar file (its own writes when no calendar can take
them): nobody is invited to its events, so they never count as meetings, only as busy time."""


@dataclass
class Changes:
    """What a connector saw change since the state it was given."""

    full: bool = False  # True: `upserts` is everything; forget what is not in it
    upserts: dict[str, list[Occurrence]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line per bad item left out
    unchanged: bool = False  # nothing was read at all (e.g. same file hash)

    def occurrence_count(self) -> int:
        """Number of occurrences carried by the upserts."""
        return sum(len(items) for items in self.upserts.values())


@dataclass
class SeriesSpec:
    """A recurring touchbase the agent wants written into a calendar."""

    series_id: str  # deterministic per colleague and series; also the iCalendar UID stem
    colleague: str  # "" for a block of the user's own (the Friday reconnect hour): no invitee
    colleague_name: str
    organizer: str
    title: str
    description: str
    start: datetime  # first occurrence, aware, in `timezone`
    duration_minutes: int
    timezone: str
    weekday: str  # MO..SU
    week_index: int  # 1..4, or -1 for the last
    tag: str  # value of the agent's tag
    frequency: str = "monthly"  # "monthly" (relative: week_index + weekday) or "weekly" (weekday)
    interval: int = 1  # every `interval` weeks or months

    @property
    def rrule(self) -> str:
        """The RRULE text: relative-monthly (e.g. second Tuesday), or weekly on `weekday`,
        every `interval` of them."""
        every = f";INTERVAL={self.interval}" if self.interval > 1 else ""
        if self.frequency == "weekly":
            return f"FREQ=WEEKLY{every};BYDAY={self.weekday}"
        return f"FREQ=MONTHLY{every};BYDAY={self.week_index}{self.weekday}"


@dataclass
class OwnEvent:
    """A series the agent created, as found in a backend by its tag."""

    event_id: str
    tag: str
    series_id: str
    title: str = ""
    start: datetime | None = None
    ended: bool = False
    organizer: str = ""  # as the event names it, where the tag travels with it (iCalendar data)
    rrule: str = ""  # the series' RRULE text as the backend holds it (Graph's pattern translated)


@dataclass(frozen=True)
class WorkingHours:
    """Someone's working hours: days (MO..SU), a daily span, in their zone (an IANA name)."""

    days: tuple[str, ...]
    start: time
    end: time
    timezone: str

    def contains(self, start: datetime, end: datetime) -> bool:
        """True when [start, end) lies inside these hours on one of their working days."""
        zone = ZoneInfo(self.timezone)
        first, last = start.astimezone(zone), end.astimezone(zone)
        weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first.weekday()]
        if weekday not in self.days or last.date() != first.date():
            return False
        return self.start <= first.time() and last.time() <= self.end


@dataclass(frozen=True)
class MailMessage:
    """Who wrote to whom, when, in which thread: the metadata of one mail message.

    Never a subject, a body, a snippet or an attachment name. `key` is the RFC 5322
    Message-ID where the message has one (so one message seen in two folders or two sources is
    one message), else the provider's id; `thread` is namespaced by provider (gmail:, graph:,
    imap:). `recipients` are To and Cc, lower-cased. `bulk` is True when a List-Id or
    List-Unsubscribe header, `Precedence: bulk|list|junk` or an `Auto-Submitted` other than
    `no` marks it as list or machine mail.
    """

    key: str
    thread: str
    sender: str
    recipients: tuple[str, ...]
    instant: datetime
    folder: str = ""
    bulk: bool = False


@dataclass(frozen=True)
class Interaction:
    """One logged contact."""

    id: int
    email: str
    at: datetime
    kind: str
    note: str

    def as_dict(self, zone: ZoneInfo) -> dict:
        """The JSON shape (`people --json`, `person --json`): local ISO 8601 with offset."""
        return {"id": self.id, "at": self.at.astimezone(zone).isoformat(), "kind": self.kind,
                "note": self.note}
