"""run_once and job health: every job runs in order, a failure is recorded and stops nothing,
and the "Done when" of the agent loop: one `run --once` books, drafts and mails; a second adds nothing."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.configuration.loader import load_config
from agent.daemon.jobs import JOBS, describe, job_health, record_job, run_job, run_once
from agent.storage.store import Store
from tests.helpers import Ev, calendar, run_cli, write_config
from tests.mail_helpers import outbox_mail
from tests.planning_helpers import drifting, write_calendar

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 10, 5, 11, 0, tzinfo=BERLIN)  # a Monday, after the 08:00 morning email
def attendee(name: str) -> str:
    return f";PARTSTAT=ACCEPTED;CN={name.title()}:mailto:{name}@acme.example"


def meeting(uid: str, day: str, *people: str, hour: str = "10") -> Ev:
    return Ev(uid=uid, start=f"{day}T{hour}0000", end=f"{day}T{hour}3000",
              summary=f"Sync {' '.join(people)}", attendees=tuple(attendee(p) for p in people))


@pytest.fixture
def parts(tmp_path):
    ics = tmp_path / "cal.ics"
    config = load_config(write_config(tmp_path, [ics]))
    store = Store(config.store_path)
    yield config, store, ics
    store.close()


def test_jobs_run_in_order_and_a_failing_source_stops_nothing(parts):
    config, store, ics = parts  # cal.ics is missing: the sync job fails
    results = run_once(config, store, NOW)
    assert [r.name for r in results] == list(JOBS) == ["sync", "heal", "followups", "reconnect-hour", "planner",
                                                        "reconnect-drafts", "mail", "digest"]
    sync = results[0]
    assert not sync.ok and "work:" in sync.error and "file not found" in sync.error
    health = {row["name"]: row for row in job_health(store)}
    assert set(health) == set(JOBS), "every job ran and was recorded despite the failed sync"
    assert health["sync"]["failing"] and health["sync"]["failures"] == 1
    assert health["sync"]["last_success"] is None
    assert {row["name"]: row for row in store.sources()}["work"]["last_error"].endswith("file not found")

    ics.write_text(calendar(meeting("m1", "20260901", "alice")))
    again = run_once(config, store, NOW)
    assert again[0].ok and again[0].detail == "work: 1 occurrences"
    row = {row["name"]: row for row in job_health(store)}["sync"]
    assert (row["failing"], row["failures"]) == (False, 0)
    assert "file not found" in row["last_error"], "the last error stays as history"


def test_record_job_counts_failures_and_a_success_resets_them(parts):
    config, store, _ = parts
    record_job(store, "sync", False, "work: timed out", NOW)
    record_job(store, "sync", False, "work: timed out again", NOW.replace(minute=15))
    [row] = job_health(store)
    assert (row["failing"], row["failures"], row["last_error"]) == (True, 2, "work: timed out again")
    assert row["last_error_at"] == "2026-10-05T09:15:00+00:00"
    record_job(store, "sync", True, "", NOW.replace(minute=30))
    [row] = job_health(store)
    assert (row["failing"], row["failures"], row["last_success"]) == (False, 0, "2026-10-05T09:30:00+00:00")


def test_an_unexpected_exception_becomes_a_recorded_failure(parts):
    config, store, _ = parts

    def broken(config, store, now, heartbeat):
        raise RuntimeError("disk on fire")

    result = run_job(config, store, "planner", NOW, func=broken)
    assert not result.ok
    assert result.error == "unexpected error: RuntimeError: disk on fire"
    assert result.line() == "planner: FAILED: unexpected error: RuntimeError: disk on fire"
    [row] = job_health(store)
    assert row["name"] == "planner" and row["failing"]


def test_run_once_cli_reports_each_job_and_status_shows_health(tmp_path):
    config = write_config(tmp_path, [tmp_path / "missing.ics"])
    result = run_cli(config, "run", "--once", now=NOW.isoformat())
    assert result.exit_code == 1
    assert f"sync: FAILED: work: {tmp_path / 'missing.ics'}: file not found" in result.output
    assert result.output.count("sync: FAILED") == 1, "reported once, not also by the log"
    status = run_cli(config, "status")
    assert "daemon: not running" in status.output
    assert "job sync: last success never, FAILING (1 time in a row)" in status.output
    assert "\n  last error 2026-10-05 11:00: work:" in status.output  # in the user's zone


def test_each_job_has_its_own_health_line_and_a_failing_one_stops_no_other(tmp_path):
    """The reconnect hour, the planner and the reconnect drafts are jobs of their own: the hour
    failing (no organiser) fails only its own line, in the output, `status` and the morning email."""
    work = tmp_path / "work.ics"
    write_calendar(work, drifting("alice@acme.example", NOW))
    extra = '[landscape]\nreconnect_hour = true\n[digest]\nto = "me@acme.example"\n'
    config_file = write_config(tmp_path, [work], extra=extra, user="", mode="off")
    result = run_cli(config_file, "run", "--once", now=NOW.isoformat())
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines] == list(JOBS)
    assert "reconnect-hour: FAILED: " in result.output and "the reconnect hour needs an organiser" in result.output
    assert {"heal: ok (nothing to do)", "planner: ok (nothing to do)",
            "reconnect-drafts: ok (0 reconnect drafts)"} <= set(lines)
    status = run_cli(config_file, "status", now=NOW.isoformat()).output
    assert [line.split(":")[0] for line in status.splitlines() if line.startswith("job ")] == [
        f"job {name}" for name in JOBS]
    assert "job reconnect-hour: last success never, FAILING (1 time in a row)" in status
    assert "job planner: last success 2026-10-05 11:00" in status
    (email,) = outbox_mail(load_config(config_file))
    text = email.get_body(("plain",)).get_content()
    assert "job reconnect-hour failing (1 time)" in text and "job planner failing" not in text


def test_describe_summarises_job_results():
    assert describe(None, "draft") == ""
    assert describe(1, "draft") == "1 draft"
    assert describe(["a", "b"], "draft") == "2 drafts"
    assert describe("sent", "email") == "sent"
    assert describe(False, "email") == "nothing due"


def test_run_once_books_drafts_and_mails_once_then_adds_nothing(tmp_path):
    events = [
        # bob and carol: tracked (3+ small meetings this year), last met long ago -> drifting
        meeting("b1", "20260302", "bob"), meeting("b2", "20260330", "bob"),
        meeting("b3", "20260511", "bob", "carol", hour="14"),
        meeting("c1", "20260316", "carol", hour="11"), meeting("c2", "20260420", "carol", hour="11"),
        # dave: tracked, on track, and a 1:1 that ended half an hour ago
        meeting("d1", "20260914", "dave"), meeting("d2", "20260921", "dave"),
        meeting("d3", "20260928", "dave"), meeting("d4", "20261005", "dave"),
        # erin: one meeting only, not tracked
        meeting("e1", "20260803", "erin"),
    ]
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(*events))
    config_file = write_config(tmp_path, [ics])
    config = load_config(config_file)

    first = run_cli(config_file, "run", "--once", now=NOW.isoformat())
    assert first.exit_code == 0, first.output
    local = config.local_calendar_path.read_text()
    assert "RRULE:" in local
    for person in ("bob", "carol"):
        assert f"{person}@acme.example" in local.lower(), f"a touchbase with {person}"
    assert "dave@acme.example" not in local.lower() and "erin@acme.example" not in local.lower()
    drafts = files_in(config.outbox_path / "Drafts")
    assert drafts and any("dave@acme.example" in p.read_text().lower() for p in drafts)
    assert len(files_in(config.outbox_path / "new")) == 1, "exactly one morning email"

    snapshot = (event_uids(local), sorted(p.name for p in drafts), files_in(config.outbox_path / "new"))
    second = run_cli(config_file, "run", "--once", now=NOW.replace(minute=20).isoformat())
    assert second.exit_code == 0, second.output
    after = (event_uids(config.local_calendar_path.read_text()),
             sorted(p.name for p in files_in(config.outbox_path / "Drafts")),
             files_in(config.outbox_path / "new"))
    assert after == snapshot, "a second run adds nothing"


def event_uids(text: str) -> list[str]:
    """The UID line of every VEVENT in an iCalendar text, sorted."""
    blocks = text.replace("\r\n", "\n").split("BEGIN:VEVENT")[1:]
    return sorted(next(line for line in block.splitlines() if line.startswith("UID")) for block in blocks)


def files_in(folder: Path) -> list[Path]:
    """The messages of one Maildir folder (new/ and cur/ when `folder` is a Maildir)."""
    if not folder.exists():
        return []
    if (folder / "new").is_dir():
        return files_in(folder / "new") + files_in(folder / "cur")
    return sorted(p for p in folder.iterdir() if p.is_file())
