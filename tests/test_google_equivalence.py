"""The same calendar as an .ics file and in the Google emulator gives the same per-colleague
figures: recurring meetings, moved and cancelled instances, declines, rooms, deletions."""
from __future__ import annotations

from tests.fakes.google_setup import gev, google_config, timed
from tests.helpers import Ev, calendar, people_json, write_config

ME = "me@acme.example"
NOW = "2026-11-01T12:00:00+01:00"
BERLIN = "Europe/Berlin"


def att(email: str, status: str = "ACCEPTED", name: str = "", extra: str = "") -> str:
    cn = f";CN={name}" if name else ""
    return f";PARTSTAT={status}{cn}{extra}:mailto:{email}"


def ics_events(phase: int) -> list[Ev]:
    """The calendar as iCalendar; phase 2 adds a cancelled instance, a deletion, a decline."""
    alice_exdates = "20261012T100000" + (",20261019T100000" if phase == 2 else "")
    events = [
        Ev(uid="alice-weekly", start="20260907T100000", end="20260907T103000", summary="1:1 Alice",
           attendees=(att(ME), att("alice@acme.example", name="Alice Archer")),
           extra=f"RRULE:FREQ=WEEKLY;COUNT=12\nEXDATE;TZID={BERLIN}:{alice_exdates}"),
        Ev(uid="alice-weekly", start="20260922T150000", end="20260922T153000", summary="1:1 Alice",
           attendees=(att(ME), att("alice@acme.example", name="Alice Archer")),
           extra=f"RECURRENCE-ID;TZID={BERLIN}:20260921T100000"),
        Ev(uid="team-biweekly", start="20260902T140000", end="20260902T150000", summary="Team",
           organizer="bob@acme.example",
           attendees=(att(ME), att("bob@acme.example", name="Bob Baker"),
                      att("carol@acme.example", "DECLINED", "Carol Cole"),
                      att("ext@other.example")),
           extra="RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=8"),
        Ev(uid="dave-room", start="20261015T100000", end="20261015T110000", summary="Design",
           attendees=(att(ME), att("dave@acme.example", name="Dave Dunn"),
                      att("room-1@resource.acme.example", name="Room 1", extra=";CUTYPE=ROOM"))),
        Ev(uid="frank-declined", start="20261022T090000", end="20261022T093000",
           organizer="frank@acme.example",
           attendees=(att(ME, "DECLINED"), att("frank@acme.example"))),
        Ev(uid="gina-allday", start="20261023", end="20261024",
           attendees=(att(ME), att("gina@acme.example"))),
        Ev(uid="henry-tentative", start="20261027T160000", end="20261027T163000",
           organizer="henry@acme.example",
           attendees=(att(ME, "TENTATIVE"), att("henry@acme.example"),
                      att("ivan@acme.example", "NEEDS-ACTION", extra=";ROLE=OPT-PARTICIPANT"))),
    ]
    if phase == 1:
        events.append(Ev(uid="erin-deleted", start="20261020T110000", end="20261020T113000",
                         attendees=(att(ME), att("erin@acme.example"))))
    if phase == 2:
        events.append(Ev(uid="team-biweekly", start="20261028T140000", end="20261028T150000",
                         summary="Team", organizer="bob@acme.example",
                         attendees=(att(ME, "DECLINED"), att("bob@acme.example", name="Bob Baker"),
                                    att("carol@acme.example", "DECLINED", "Carol Cole"),
                                    att("ext@other.example")),
                         extra=f"RECURRENCE-ID;TZID={BERLIN}:20261028T140000"))
    return events


def seed_google(google) -> None:
    """The phase-1 calendar as Google holds it."""
    google.put_event(gev("aliceweekly", "2026-09-07T10:00", summary="1:1 Alice",
                         attendees=((ME, "accepted"),
                                    ("alice@acme.example", "accepted", {"displayName": "Alice Archer"})),
                         recurrence=["RRULE:FREQ=WEEKLY;COUNT=12"]))
    google.edit_instance("aliceweekly", "2026-09-21T10:00:00+02:00",
                         {"start": timed("2026-09-22T15:00"), "end": timed("2026-09-22T15:30")})
    google.cancel_instance("aliceweekly", "2026-10-12T10:00:00+02:00")
    google.put_event(gev("teambiweekly", "2026-09-02T14:00", minutes=60, summary="Team",
                         organizer="bob@acme.example",
                         attendees=((ME, "accepted"),
                                    ("bob@acme.example", "accepted", {"displayName": "Bob Baker",
                                                                      "organizer": True}),
                                    ("carol@acme.example", "declined", {"displayName": "Carol Cole"}),
                                    ("ext@other.example", "accepted")),
                         recurrence=["RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=8"]))
    google.put_event(gev("daveroom1", "2026-10-15T10:00", minutes=60, summary="Design",
                         attendees=((ME, "accepted"),
                                    ("dave@acme.example", "accepted", {"displayName": "Dave Dunn"}),
                                    ("room-1@resource.acme.example", "accepted",
                                     {"displayName": "Room 1", "resource": True}))))
    google.put_event(gev("frankdecl", "2026-10-22T09:00", organizer="frank@acme.example",
                         attendees=((ME, "declined"), ("frank@acme.example", "accepted"))))
    all_day = gev("ginaallday", "2026-10-23T00:00",
                  attendees=((ME, "accepted"), ("gina@acme.example", "accepted")))
    all_day.update(start={"date": "2026-10-23"}, end={"date": "2026-10-24"})
    google.put_event(all_day)
    google.put_event(gev("henrytent", "2026-10-27T16:00", organizer="henry@acme.example",
                         attendees=((ME, "tentative"), ("henry@acme.example", "accepted"),
                                    ("ivan@acme.example", "needsAction", {"optional": True}))))
    google.put_event(gev("erindeleted", "2026-10-20T11:00",
                         attendees=((ME, "accepted"), ("erin@acme.example", "accepted"))))


def change_google(google) -> None:
    """Phase 2 in Google: a cancelled instance, a deleted meeting, one declined instance."""
    google.cancel_instance("aliceweekly", "2026-10-19T10:00:00+02:00")
    google.delete_event("erindeleted")
    google.respond("teambiweekly_20261028T130000Z", ME, "declined")


def test_google_and_ics_give_the_same_figures(tmp_path, google):
    ics = tmp_path / "ics" / "cal.ics"
    ics.parent.mkdir()
    ics.write_text(calendar(*ics_events(1)))
    ics_config = write_config(tmp_path / "ics", [ics])
    seed_google(google)
    (tmp_path / "g").mkdir()
    google_cfg = google_config(tmp_path / "g", google)

    from_ics = people_json(ics_config, NOW)
    from_google = people_json(google_cfg, NOW)
    assert from_google == from_ics
    assert {"alice@acme.example", "bob@acme.example", "dave@acme.example",
            "erin@acme.example", "henry@acme.example"} <= set(from_ics)
    assert "carol@acme.example" not in from_ics and "room-1@resource.acme.example" not in from_ics
    assert from_ics["alice@acme.example"]["meetings"] == 7
    assert from_ics["bob@acme.example"]["meetings"] == 5

    ics.write_text(calendar(*ics_events(2)))
    change_google(google)
    google.reset_counts()
    from_ics = people_json(ics_config, NOW)
    from_google = people_json(google_cfg, NOW)
    assert google.counts["events.list"] == 1  # the changes came incrementally
    assert from_google == from_ics
    assert from_ics["alice@acme.example"]["meetings"] == 6
    assert from_ics["bob@acme.example"]["meetings"] == 4
    assert "erin@acme.example" not in from_ics
