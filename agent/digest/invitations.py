"""Invitation files for proposed touchbases, attached to the morning email.

With only calendar files or addresses (nothing the agent can write invitations into), the planner
proposes touchbases instead of booking them into a calendar nobody is invited to. Each proposal
then travels in the morning email as an iCalendar invitation (METHOD:REQUEST, the user as
organiser, the colleague as attendee, the proposed slot and its recurrence), so that opening the
attachment in the user's own calendar app books it in one step (docs/touchbases.md says which
apps honour it). The invitation holds only what may be sent: the title and a plain sentence,
never notes or the agent's tag.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agent.configuration.loader import Config
from agent.planning import touchbases as tb
from agent.planning.prompts import display_name
from agent.planning.recurrence import schedule_phrase
from agent.storage.store import Store

PRODID = "-//touchbase//touchbase-agent//EN"


@dataclass(frozen=True)
class Invitation:
    """One attachment: the colleague it invites, its file name and the iCalendar bytes."""

    email: str
    filename: str
    data: bytes


def invitation_filename(email: str) -> str:
    """The attachment's name for a proposal to `email`, e.g. touchbase-alice.smith.ics."""
    local = re.sub(r"[^A-Za-z0-9._-]+", "-", email.partition("@")[0]).strip(".-") or "colleague"
    return f"touchbase-{local}.ics"


def proposal_invitations(config: Config, store: Store, now: datetime) -> list[Invitation]:
    """An invitation for every touchbase still proposed whose first slot is ahead of `now`."""
    return [Invitation(row.email, invitation_filename(row.email), invitation_ics(config, row, now))
            for row in proposed_rows(store, now)]


def proposed_rows(store: Store, now: datetime) -> list[tb.Touchbase]:
    """Touchbases still proposed whose first slot is ahead of `now`, soonest first."""
    rows = [row for row in tb.load(store)
            if row.state == tb.PROPOSED and row.start is not None and row.start > now]
    return sorted(rows, key=lambda r: (r.start or now, r.email))


def invitation_ics(config: Config, row: tb.Touchbase, now: datetime) -> bytes:
    """The METHOD:REQUEST calendar for proposal `row` (organiser: the user)."""
    import icalendar

    assert row.start is not None
    zone = config.zone
    start = row.start.astimezone(zone)
    minutes = config.touchbase.duration_minutes
    event = icalendar.Event()
    event.add("UID", f"{row.series_id}-invitation@touchbase.local")
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("SEQUENCE", 0)
    event.add("DTSTART", start)
    event.add("DTEND", start + timedelta(minutes=minutes))
    if row.rrule:
        event.add("RRULE", icalendar.vRecur.from_ical(row.rrule))
    event.add("SUMMARY", row.title or f"Touchbase: {display_name(row.email)}")
    event.add("DESCRIPTION", "A touchbase to stay in touch: "
              f"{schedule_phrase(row.rrule, start, minutes, zone)}.")
    event.add("STATUS", "CONFIRMED")
    event.add("TRANSP", "OPAQUE")
    event.add("ORGANIZER", f"mailto:{config.user.email}")
    event.add("ATTENDEE", f"mailto:{config.user.email}",
              parameters={"PARTSTAT": "ACCEPTED", "ROLE": "CHAIR", "CUTYPE": "INDIVIDUAL"})
    event.add("ATTENDEE", f"mailto:{row.email}",
              parameters={"PARTSTAT": "NEEDS-ACTION", "ROLE": "REQ-PARTICIPANT", "CUTYPE": "INDIVIDUAL",
                          "RSVP": "TRUE", "CN": display_name(row.email)})
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "REQUEST")
    if str(zone) != "UTC":
        cal.add_component(icalendar.Timezone.from_tzid(str(zone)))
    cal.add_component(event)
    return cal.to_ical()
