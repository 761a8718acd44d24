"""CLI conventions (issue 14) and booking-target checks (issue 12): errors once, exit status
0 / 1 / 2 as documented, --json, times in the user's zone, --version, DTSTAMP."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import Ev, calendar, run_cli, write_config
from tests.planning_helpers import NOW, past_meetings, setup

ALICE = "alice@acme.example"


def _touchbase(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_partial_sync_prints_each_error_once_and_exits_1(tmp_path):
    good = tmp_path / "good.ics"
    good.write_text(calendar(*past_meetings(ALICE, [10])))
    config = write_config(tmp_path, [good, tmp_path / "missing-1.ics", tmp_path / "missing-2.ics"])
    done = _touchbase("--config", str(config), "--now", NOW, "sync")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == ["work: 1 occurrences read"]
    errors = done.stderr.splitlines()
    assert len(errors) == 2 and all("FAILED" in line and "file not found" in line for line in errors)
    all_ok = write_config(tmp_path, [good])
    assert _touchbase("--config", str(all_ok), "--now", NOW, "sync").returncode == 0


def test_usage_and_config_errors_exit_2_with_one_line(tmp_path):
    missing = _touchbase("--config", str(tmp_path / "none.toml"), "people")
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    bad_option = _touchbase("people", "--no-such-option")
    assert bad_option.returncode == 2
    config_path = setup(tmp_path, past_meetings(ALICE, [10, 20, 30]))
    bad_address = run_cli(config_path, "person", "not-an-address", now=NOW)
    assert bad_address.exit_code == 2 and bad_address.output.count("\n") == 1


def test_version_and_shell_completion_are_documented():
    done = _touchbase("--version")
    assert done.returncode == 0 and done.stdout.startswith("touchbase")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "_TOUCHBASE_COMPLETE=bash_source touchbase" in readme
    assert "| exit status |" in readme


def test_status_and_plan_as_json_with_local_times(tmp_path):
    config_path = setup(tmp_path, past_meetings(ALICE, [100, 130, 160]))
    status = json.loads(run_cli(config_path, "status", "--json", now=NOW).output)
    (source,) = status["sources"]
    assert source["name"] == "work" and source["failed"] is False
    assert source["last_success"].endswith("+01:00")  # Europe/Berlin in November
    assert status["touchbases"]["max_active"] == 5 and "daemon" in status
    text = run_cli(config_path, "status", now=NOW).output
    assert "source work: last sync 2026-11-30 08:00" in text
    plan = json.loads(run_cli(config_path, "plan", "--json", now=NOW).output)
    assert plan["mode"] == "auto" and plan["changes_nothing"] is True
    (action,) = plan["actions"]
    assert action["email"] == ALICE and action["kind"] in ("would create", "created", "create")
    assert plan["errors"] == []


# --- booking targets (issue 12) -------------------------------------------------------------

def _targets_setup(tmp_path: Path) -> Path:
    room = Ev(uid="room-mtg", start="20261120T100000", end="20261120T103000",
              attendees=(f";PARTSTAT=ACCEPTED:mailto:{ALICE}",
                         ";CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-4b@acme.example"))
    return setup(tmp_path, [*past_meetings(ALICE, [100, 130, 160]), room])


def _refused(config_path: Path, *args: str) -> str:
    result = run_cli(config_path, *args, now=NOW)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1, result.output
    return result.output


def _nothing_written(config_path: Path) -> None:
    status = json.loads(run_cli(config_path, "status", "--json", now=NOW).output)
    assert status["touchbases"]["active"] == 0
    exported = json.loads(run_cli(config_path, "export", now=NOW).output)
    assert exported["people"] == [] and exported["touchbases"] == []


def test_approve_and_rate_refuse_bad_targets_with_exit_2_and_write_nothing(tmp_path):
    config_path = _targets_setup(tmp_path)
    for command in (("approve",), ("rate", "--vital", "5")):
        own = _refused(config_path, *command, "me@acme.example")
        assert "your own address" in own
        room = _refused(config_path, *command, "room-4b@acme.example")
        assert "room or resource" in room
        outside = _refused(config_path, *command, "bob@partner.example")
        assert "outside [colleagues] internal_domains (acme.example)" in outside
        typo = _refused(config_path, *command, "alcie@acme.example")
        assert "appears in no synced event: did you mean alice@acme.example?" in typo
        unknown = _refused(config_path, *command, "zed@acme.example")
        assert "did you mean" not in unknown and "--new" in unknown
    _nothing_written(config_path)


NAMING = {  # every command that names a colleague, with the address put where it goes
    "note": lambda a: ("note", a, "moving to Lisbon"), "log": lambda a: ("log", a, "--kind", "call"),
    "notes": lambda a: ("notes", a), "person": lambda a: ("person", a), "let-go": lambda a: ("let-go", a),
    "resume": lambda a: ("resume", a), "rate": lambda a: ("rate", a, "--vital", "4"),
    "approve": lambda a: ("approve", a),
}


def test_every_command_naming_a_colleague_refuses_a_typo_and_takes_new_on_purpose(tmp_path):
    config_path = _targets_setup(tmp_path)
    for name, command in NAMING.items():
        typo = _refused(config_path, *command("alcie@acme.example"))
        assert "appears in no synced event: did you mean alice@acme.example?" in typo, name
        assert "--new" in typo, name
        assert "your own address" in _refused(config_path, *command("me@acme.example")), name
    _nothing_written(config_path)
    forget = _refused(config_path, "forget", "alcie@acme.example", "--yes")
    assert forget == "touchbase: error: nothing is stored about alcie@acme.example: did you mean alice@acme.example?\n"
    people = json.loads(run_cli(config_path, "people", "--json", now=NOW).output)
    assert "alcie@acme.example" not in {row["email"] for row in people}
    added = run_cli(config_path, "note", "--new", "zoe@acme.example", "met at the offsite", now=NOW)
    assert added.exit_code == 0, added.output
    for later in ("log", "person", "notes"):  # a person you added is known from then on
        assert run_cli(config_path, *NAMING[later]("zoe@acme.example"), now=NOW).exit_code == 0, later


def test_force_books_and_rates_an_address_seen_in_no_event(tmp_path):
    config_path = _targets_setup(tmp_path)
    rated = run_cli(config_path, "rate", "new@acme.example", "--vital", "4", "--force", now=NOW)
    assert rated.exit_code == 0, rated.output
    again = run_cli(config_path, "rate", "new@acme.example", "--trust", "3", now=NOW)
    assert again.exit_code == 0, again.output  # known now: rated before
    assert run_cli(config_path, "approve", "alice@acme.example", now=NOW).exit_code == 0
    still_own = run_cli(config_path, "approve", "me@acme.example", "--force", now=NOW)
    assert still_own.exit_code == 2


def test_written_events_carry_the_time_they_were_written_as_dtstamp(tmp_path):
    config_path = setup(tmp_path, past_meetings(ALICE, [100, 130, 160]))
    assert run_cli(config_path, "approve", ALICE, now=NOW).exit_code == 0
    local = (tmp_path / "data" / "touchbase.ics")
    text = next(p for p in [local, *tmp_path.rglob("touchbase.ics")] if p.exists()).read_text()
    stamps = [line for line in text.splitlines() if line.startswith("DTSTAMP")]
    assert stamps and all(line == "DTSTAMP:20261130T070000Z" for line in stamps), stamps


def test_through_caldav_a_booking_moves_no_one_dtstamp_is_now_and_let_go_ends_at_once(
        tmp_path, dav_calendar):
    import icalendar

    from connectors.ical.read import TAG_PROPERTY
    from tests.planning_helpers import drifting

    base, work, name = dav_calendar
    for event in drifting(ALICE):
        work.save_event(calendar(event))
    extra = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
             f'calendars = ["{name}"]\n\n[touchbase]\nwrite_to = "dav"\n')
    config_path = write_config(tmp_path, [], extra=extra)
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    assert run_cli(config_path, "rate", ALICE, "--vital", "5", now=NOW).exit_code == 0
    before = json.loads(run_cli(config_path, "person", ALICE, "--json", now=NOW).output)
    assert run_cli(config_path, "approve", ALICE, now=NOW).exit_code == 0
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    booked = json.loads(run_cli(config_path, "person", ALICE, "--json", now=NOW).output)
    assert (before["status"], booked["status"]) == ("overdue", "booked")
    assert (booked["quadrant"], booked["strength"]) == (before["quadrant"], before["strength"])
    assert booked["quadrant"] == "start here"
    (series,) = [icalendar.Calendar.from_ical(o.data) for o in work.objects(load_objects=True)
                 if TAG_PROPERTY in o.data]
    (event,) = series.walk("VEVENT")
    assert event.decoded("DTSTAMP").isoformat() == "2026-11-30T07:00:00+00:00"
    later = "2026-11-30T09:00:00+01:00"
    gone = run_cli(config_path, "let-go", ALICE, now=later)
    assert gone.exit_code == 0 and gone.output.startswith("Ended the touchbase series "), gone.output[100:400]
    (ended,) = [icalendar.Calendar.from_ical(o.data) for o in work.objects(load_objects=True)
                if TAG_PROPERTY in o.data]
    (event,) = ended.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"  # it had not started: cancelled, not cut
    assert event.decoded("DTSTAMP").isoformat() == "2026-11-30T08:00:00+00:00"  # the change
    after = json.loads(run_cli(config_path, "person", ALICE, "--json", now=later).output)
    assert after["let_go"] and after["status"] == "overdue" and after["next_meeting"] is None


def test_a_refusal_exits_2_in_every_command(tmp_path):
    config_path = setup(tmp_path, past_meetings(ALICE, [100, 130, 160]))
    assert run_cli(config_path, "approve", ALICE, now=NOW).exit_code == 0
    again = run_cli(config_path, "approve", ALICE, now=NOW)
    assert again.exit_code == 2 and "already has a touchbase" in again.output
    assert again.output.count("\n") == 1
    unconfirmed = run_cli(config_path, "forget", ALICE, now=NOW, input="n\n")
    assert unconfirmed.exit_code == 2


def _booked_on_caldav_then_unreachable(tmp_path, dav_calendar, monkeypatch):
    """A touchbase with Alice booked on Radicale, then a password the server refuses."""
    from tests.planning_helpers import drifting

    base, work, name = dav_calendar
    for event in drifting(ALICE):
        work.save_event(calendar(event))
    extra = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{base}"\nusername = "me"\n'
             f'calendars = ["{name}"]\n\n[touchbase]\nwrite_to = "dav"\n')
    config_path = write_config(tmp_path, [], extra=extra)
    assert run_cli(config_path, "sync", now=NOW).exit_code == 0
    assert run_cli(config_path, "approve", ALICE, now=NOW).exit_code == 0
    monkeypatch.setenv("TOUCHBASE_CALDAV_PASSWORD", "wrong")
    return config_path


def test_let_go_when_the_calendar_cannot_be_reached_says_the_agent_ends_it_later(
        tmp_path, dav_calendar, monkeypatch):
    config_path = _booked_on_caldav_then_unreachable(tmp_path, dav_calendar, monkeypatch)
    gone = run_cli(config_path, "let-go", ALICE, now=NOW)
    assert gone.exit_code == 1  # let go, but a part of the work (ending the series) failed
    first = gone.output.splitlines()[0]
    assert first.startswith("Could not end the touchbase series ")
    assert first.endswith("the agent ends it on its next run, or delete it yourself.")
    page = json.loads(run_cli(config_path, "person", ALICE, "--json", now=NOW).output)
    assert page["let_go"] and page["touchbases"][0]["state"] == "active"  # still live: retried


def test_forget_when_the_calendar_cannot_be_reached_erases_but_exits_1(tmp_path, dav_calendar, monkeypatch):
    config_path = _booked_on_caldav_then_unreachable(tmp_path, dav_calendar, monkeypatch)
    gone = run_cli(config_path, "forget", ALICE, "--yes", now=NOW)
    assert gone.exit_code == 1  # erased, but ending the series (a part of the work) failed
    assert gone.output.splitlines()[0].startswith("Could not end the touchbase series ")
    assert f"Forgot {ALICE} (" in gone.output
    again = run_cli(config_path, "forget", ALICE, "--yes", now=NOW)
    assert again.exit_code == 0 and "Could not end" not in again.output  # the record is gone: nothing to end
