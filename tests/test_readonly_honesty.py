"""With only calendar files or addresses, the agent never pretends: it proposes (the morning email
carries an invitation to book each proposal in one step), its local calendar file never counts as
meetings, and mail that only reached the local outbox says so everywhere (issue 12)."""
from __future__ import annotations

import json
from datetime import datetime

import icalendar

from agent.configuration.loader import load_config
from agent.storage import own_series
from agent.storage.store import Store
from tests.helpers import flat, run_cli, write_config
from tests.mail_helpers import drafts, outbox_mail, parts
from tests.planning_helpers import NOW, drifting, past_meetings, write_calendar

ALICE = "alice@acme.example"
NOTICE = "saved to the local outbox, not sent: set [digest] transport to send it"
AFTER_DIGEST = "2026-11-30T08:30:00+01:00"  # Monday, after the 08:00 morning email


def ics_only(tmp_path, extra: str = ""):
    work = tmp_path / "work.ics"
    write_calendar(work, drifting(ALICE))
    return write_config(tmp_path, [work], extra=extra, mode=None)


def people(config, now: str) -> dict[str, dict]:
    return {r["email"]: r for r in json.loads(run_cli(config, "people", "--json", now=now).output)}


def test_mode_defaults_to_propose_only_when_no_source_can_take_touchbases(tmp_path):
    assert load_config(ics_only(tmp_path)).touchbase.mode == "propose"
    explicit = write_config(tmp_path, [tmp_path / "work.ics"], extra='[touchbase]\nmode = "auto"\n', mode=None)
    assert load_config(explicit).touchbase.mode == "auto"  # the user asked for the local file
    google = ('[[sources]]\nname = "g"\ntype = "google"\nclient_secrets = "~/cs.json"\n\n'
              '[touchbase]\nwrite_to = "g"\n')
    with_google = write_config(tmp_path, [tmp_path / "work.ics"], extra=google, mode=None)
    assert load_config(with_google).touchbase.mode == "auto"


def test_a_proposal_reaches_the_morning_email_with_an_invitation_to_book_it(tmp_path):
    config = ics_only(tmp_path)
    result = run_cli(config, "run", "--once", now=AFTER_DIGEST)
    assert result.exit_code == 0, result.output
    assert "sent via outbox" not in result.output and NOTICE in result.output
    cfg = load_config(config)
    assert not cfg.local_calendar_path.exists()  # proposed, not written anywhere
    (mail,) = outbox_mail(cfg)
    text, html = parts(mail)
    assert "Proposed a touchbase with alice@acme.example" in text and "touchbase approve alice@acme.example" in text
    assert "open the attached touchbase-alice.ics in your calendar app" in text
    (attachment,) = [p for p in mail.iter_attachments()]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST" and attachment.get_filename() == "touchbase-alice.ics"
    invite = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(invite["METHOD"]) == "REQUEST"
    (event,) = invite.walk("VEVENT")
    attendees = {str(a).lower(): a.params for a in event.get("ATTENDEE")}
    assert attendees["mailto:alice@acme.example"]["RSVP"] == "TRUE"
    assert str(event["ORGANIZER"]) == "mailto:me@acme.example"
    assert "RRULE" in event and "X-TOUCHBASE-AGENT" not in event
    slot = event.decoded("DTSTART")
    store = Store(cfg.store_path)
    (row,) = own_series.rows(store)
    assert row["state"] == "proposed" and datetime.fromisoformat(row["start"]) == slot
    status = run_cli(config, "status", now=AFTER_DIGEST).output
    assert "morning email: last for 2026-11-30" in status and NOTICE in flat(status)


def test_a_proposal_not_yet_booked_stays_in_the_next_mornings_email(tmp_path):
    config = ics_only(tmp_path, extra='[touchbase]\nworking_days = ["FR"]\n')  # the slot: Friday
    for moment in ("2026-11-30T07:45:00+01:00", AFTER_DIGEST, "2026-12-02T08:30:00+01:00"):
        result = run_cli(config, "run", "--once", now=moment)
        assert result.exit_code == 0, result.output
    monday, wednesday = sorted(outbox_mail(load_config(config)), key=lambda m: str(m["Date"]))
    assert "Proposed a touchbase with alice@acme.example" in parts(monday)[0]
    text, _ = parts(wednesday)  # not booked yet: listed again, with its invitation
    assert "Still proposed: a touchbase with alice@acme.example" in text
    assert ("monthly on the 1st Friday, 09:00-09:30 Europe/Berlin, first on Fri 4 Dec; "
            "book it with: touchbase approve alice@acme.example") in text
    assert [p.get_filename() for p in wednesday.iter_attachments()] == ["touchbase-alice.ics"]


def test_the_local_calendar_file_never_counts_as_meetings(tmp_path):
    config = ics_only(tmp_path)
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    approved = run_cli(config, "approve", ALICE, now=NOW)
    assert approved.exit_code == 0, approved.output
    cfg = load_config(config)
    assert cfg.local_calendar_path.exists()  # approve still writes the local file
    before = people(config, NOW)[ALICE]
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    assert people(config, NOW)[ALICE] | {} == before
    # the approved series is the agent's own: booked, its first instance next (issue 20)
    assert before["next_meeting"] is not None and before["status"] == "booked"
    later = "2027-02-15T18:00:00+01:00"  # several monthly occurrences have passed
    assert run_cli(config, "run", "--once", now=later).exit_code in (0, 1)
    after = people(config, later)[ALICE]
    # only the one real meeting still in the 180-day window; the touchbases since are no contact
    assert after["meetings"] == 1 and after["last_met"].startswith("2026-08-22")
    assert not [d for d in drafts(cfg) if d["Subject"].startswith("Thanks")]  # no thanks for a non-meeting
    store = Store(cfg.store_path)
    local = list(store.occurrences(datetime.fromisoformat(NOW), datetime.fromisoformat(later),
                                   source="touchbase-local"))
    assert local  # the touchbases are there, and still make the user busy
    assert all(o.title.startswith("Touchbase") for o in local)


def test_busy_time_still_comes_from_the_local_file(tmp_path):
    work = tmp_path / "work.ics"
    write_calendar(work, [*drifting(ALICE), *drifting("bob@acme.example"),
                          *past_meetings("carol@acme.example", [100, 130, 160])])
    config = write_config(tmp_path, [work], extra='[touchbase]\nmode = "auto"\nmax_per_day = 3\n', mode=None)
    assert run_cli(config, "run", "--once", now=NOW).exit_code == 0
    cfg = load_config(config)
    starts = [e.decoded("DTSTART") for e in icalendar.Calendar.from_ical(
        cfg.local_calendar_path.read_bytes()).walk("VEVENT")]
    assert len(starts) == len(set(starts)) >= 2  # each booking saw the others as busy
