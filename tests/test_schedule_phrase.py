"""One phrase for a series' schedule, from its recurrence rule (agent.planning.recurrence)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.configuration.loader import load_config
from agent.inference import compute_stats
from agent.model import Attendee, Occurrence
from agent.planning.prompts import title_for
from agent.planning.recurrence import schedule_phrase
from tests.helpers import USER, write_config

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2026, 12, 9, 9, 0, tzinfo=BERLIN)  # the 2nd Wednesday of December 2026


@pytest.mark.parametrize(("rule", "phrase"), [
    ("FREQ=WEEKLY;BYDAY=WE", "weekly on Wednesday"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "every 2 weeks on Wednesday"),
    ("FREQ=MONTHLY;BYDAY=2WE", "monthly on the 2nd Wednesday"),
    ("FREQ=MONTHLY;INTERVAL=2;BYDAY=2WE", "every 2 months on the 2nd Wednesday"),
    ("FREQ=MONTHLY;INTERVAL=3;BYDAY=2WE", "quarterly on the 2nd Wednesday"),
    ("FREQ=MONTHLY;INTERVAL=6;BYDAY=2WE", "every 6 months on the 2nd Wednesday"),
    ("FREQ=MONTHLY;BYDAY=-1WE", "monthly on the last Wednesday"),
    ("FREQ=MONTHLY;BYDAY=4WE", "monthly on the 4th Wednesday"),
    ("RRULE:FREQ=MONTHLY;BYDAY=1WE", "monthly on the 1st Wednesday"),  # as Google lists it
    ("FREQ=MONTHLY;BYDAY=3WE;UNTIL=20270101T000000Z", "monthly on the 3rd Wednesday"),
    ("freq=weekly;interval=2;byday=we", "every 2 weeks on Wednesday"),
    ("FREQ=WEEKLY", "weekly on Wednesday"),  # no BYDAY: the first occurrence's day
    ("FREQ=MONTHLY", "monthly on the 2nd Wednesday"),
    ("", "monthly on the 2nd Wednesday"),  # the agent's default
])
def test_every_cadence_reads_one_way_with_time_and_zone(rule, phrase):
    assert schedule_phrase(rule, START, 30, BERLIN) == f"{phrase}, 09:00-09:30 Europe/Berlin"


def test_the_time_and_zone_are_the_users():
    assert schedule_phrase("FREQ=MONTHLY;BYDAY=2WE", START, 45, NEW_YORK) == \
        "monthly on the 2nd Wednesday, 03:00-03:45 America/New_York"


def test_an_event_title_uses_the_display_name_else_the_local_part():
    assert title_for("Ken Adams", "ken@acme.example") == "Touchbase: Ken Adams"
    assert title_for("", "ken@acme.example") == "Touchbase: Ken"
    assert title_for("ken@acme.example", "ken@acme.example") == "Touchbase: Ken"  # Graph's "name"
    assert title_for("", "mei.chen@acme.example") == "Touchbase: Mei Chen"


def test_a_name_that_is_an_address_is_no_name(tmp_path):
    """Graph gives the address as the attendee's name when it knows none: Ken stays "Ken" on
    Outlook as on Google, never "Touchbase: ken@acme.example"."""
    config = load_config(write_config(tmp_path))
    start = datetime(2026, 11, 3, 10, 0, tzinfo=BERLIN)
    occurrence = Occurrence(
        resource="r1", key="r1", title="1:1", start=start, end=start + timedelta(minutes=30),
        organizer=USER, attendees=(Attendee(email=USER, name=USER, response="accepted"),
                                   Attendee(email="ken@acme.example", name="ken@acme.example",
                                            response="accepted")))
    stats = compute_stats(config, [occurrence], start + timedelta(days=1))
    assert stats["ken@acme.example"].name == ""
    assert title_for(stats["ken@acme.example"].name, "ken@acme.example") == "Touchbase: Ken"
