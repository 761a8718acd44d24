"""The ICS connector: skip-and-report of bad events, a file that is not iCalendar, unchanged
files costing no parsing, re-parsing only what changed, several files, the same UID twice."""
from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from agent.sources import open_connector
from agent.storage.store import Store
from tests.contract import NOW as CONTRACT_NOW
from tests.contract import CalendarFileBackend, ConnectorContract
from tests.helpers import people_json, run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-02T12:00:00+01:00"
BROKEN = ("b4dd4t3a1b2c3d4e5f6g7h8i9j@google.com", "n0st4rt3a1b2c3d4e5f6g7h8i9@google.com",
          "b4dr3p34t1b2c3d4e5f6g7h8i9@google.com")


def connector_for(config_path: Path, now: str = NOW, index: int = 0):
    """The real ICS connector of the config's source number `index`, as of `now`."""
    config = load_config(config_path)
    return open_connector(config, config.sources[index], datetime.fromisoformat(now))


def copy_fixture(tmp_path: Path, name: str) -> Path:
    """A writable copy of a fixture."""
    target = tmp_path / name
    shutil.copyfile(FIXTURES / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace text in an .ics file, keeping its CRLF line ends byte for byte."""
    text = path.read_bytes().decode("utf-8")
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode("utf-8"))


def drop_event(path: Path, first_line: str) -> None:
    """Remove the VEVENT whose first lines are `first_line`."""
    text = path.read_bytes().decode("utf-8")
    start = text.index(first_line)
    end = text.index("END:VEVENT\r\n", start) + len("END:VEVENT\r\n")
    path.write_bytes((text[:start] + text[end:]).encode("utf-8"))


# --- skip and report ----------------------------------------------------------------------


def test_malformed_events_are_skipped_named_and_the_rest_syncs(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_malformed_events.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 0, result.output
    assert "work: 2 occurrences read" in result.output
    for title, uid in (("Broken export", BROKEN[0]), ("No start", BROKEN[1]),
                       ("Bad repeat", BROKEN[2])):
        line = next(line for line in result.output.splitlines() if uid in line)
        assert f"work: skipped event '{title}' (UID {uid}): " in line
    assert "3 malformed event(s) skipped" in result.output
    assert "Traceback" not in result.output
    rows = people_json(config, NOW)
    assert set(rows) == {"alice@acme.example", "carol@acme.example"}
    status = run_cli(config, "status", now=NOW)
    assert "source work: last sync" in status.output and "3 skipped" in status.output


def test_skipped_events_stay_reported_while_the_file_is_unchanged(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_malformed_events.ics"])
    run_cli(config, "sync", now=NOW)
    again = run_cli(config, "sync", now="2026-11-02T12:15:00+01:00")
    assert again.exit_code == 0
    assert "work: unchanged" in again.output
    assert "3 skipped" in run_cli(config, "status", now=NOW).output


def test_a_fixed_event_is_read_on_the_next_sync(tmp_path):
    ics = copy_fixture(tmp_path, "ics_malformed_events.ics")
    config = write_config(tmp_path, [ics])
    run_cli(config, "sync", now=NOW)
    edit(ics, "2026-10-06 10:00", "20261006T100000")
    edit(ics, "2026-10-06 10:30", "20261006T103000")
    result = run_cli(config, "sync", now=NOW)
    assert "2 malformed event(s) skipped" in result.output
    assert BROKEN[0] not in result.output
    rows = people_json(config, NOW)
    assert rows["bob@acme.example"]["last_met"] == "2026-10-06T10:00:00+02:00"


# --- a file that is not iCalendar ---------------------------------------------------------


def test_not_icalendar_is_one_clear_error_line_and_a_non_zero_exit(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_not_icalendar.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"work: FAILED: {FIXTURES / 'ics_not_icalendar.ics'}: not an iCalendar file "
        "(it does not start with BEGIN:VCALENDAR)"]


def test_not_icalendar_does_not_stop_the_other_sources(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_not_icalendar.ics",
                                     FIXTURES / "rule_weekly_series_exdate.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1  # the contract (README): 1 when any part failed, a partial sync included
    errors = [line for line in result.output.splitlines() if "FAILED" in line]
    assert len(errors) == 1
    assert errors[0].startswith("work: FAILED: ")
    assert "ics_not_icalendar.ics: not an iCalendar file" in errors[0]
    assert "Traceback" not in result.output
    assert any(line.startswith("work1: ") and "occurrences read" in line
               for line in result.output.splitlines())
    rows = people_json_after_failure(config)
    assert rows["alice@acme.example"]["meetings"] == 6
    status = run_cli(config, "status", now=NOW)
    assert "not an iCalendar file" in status.output


def people_json_after_failure(config: Path) -> dict[str, dict]:
    """`people --json` without syncing again (people_json asserts a clean sync)."""
    import json

    result = run_cli(config, "people", "--json", now=NOW)
    assert result.exit_code == 0, result.output
    return {row["email"]: row for row in json.loads(result.output)}


def test_a_missing_file_is_one_clear_error(tmp_path):
    config = write_config(tmp_path, [tmp_path / "nowhere.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"work: FAILED: {tmp_path / 'nowhere.ics'}: file not found"]


# --- unchanged files, changed events ------------------------------------------------------


def test_an_unchanged_file_is_not_parsed(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_weekly_series_exdate.ics"])
    connector = connector_for(config)
    changes, state = connector.fetch_changes({})
    assert changes.full and not changes.unchanged
    again, same_state = connector.fetch_changes(state)
    assert again.unchanged and not again.upserts and not again.removed
    assert same_state == state


def test_an_unchanged_file_is_not_parsed_on_later_syncs_either(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_weekly_series_exdate.ics"])
    _, state = connector_for(config).fetch_changes({})
    later = connector_for(config, now="2026-11-02T12:15:00+01:00")
    assert later.fetch_changes(state)[0].unchanged
    next_day = connector_for(config, now="2026-11-03T12:00:00+01:00")
    assert next_day.fetch_changes(state)[0].unchanged
    assert "occurrences read" in run_cli(config, "sync", now=NOW).output
    assert run_cli(config, "sync", now="2026-11-02T13:00:00+01:00").output == "work: unchanged\n"


def test_the_window_moves_on_and_new_occurrences_appear(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_weekly_series_exdate.ics"])
    run_cli(config, "sync", now=NOW)
    much_later = "2026-12-14T12:00:00+01:00"
    result = run_cli(config, "sync", now=much_later)
    assert "occurrences read" in result.output  # read again: the old expansion ends too early
    rows = people_json(config, much_later)
    alice = rows["alice@acme.example"]
    # Nov 9 .. Dec 14 adds six Mondays to the six before.
    assert alice["meetings"] == 12
    assert alice["last_met"] == "2026-12-14T10:00:00+01:00"
    assert alice["next_meeting"] == "2026-12-21T10:00:00+01:00"


def test_one_changed_event_is_the_only_one_parsed_again(tmp_path):
    ics = copy_fixture(tmp_path, "rule_user_declined.ics")
    config = write_config(tmp_path, [ics])
    changes, state = connector_for(config).fetch_changes({})
    assert len(changes.upserts) == 6
    edit(ics, "SUMMARY:Hiring sync follow-up", "SUMMARY:Hiring debrief")
    changed, _ = connector_for(config).fetch_changes(state)
    assert not changed.full and not changed.unchanged
    assert list(changed.upserts) == ["8w7e6r5t4y3u2i1o0p9a8s7d6f@google.com"]
    assert [occ.title for occ in changed.upserts["8w7e6r5t4y3u2i1o0p9a8s7d6f@google.com"]] == [
        "Hiring debrief"]
    assert changed.removed == []


def test_an_exception_added_to_a_series_reparses_only_that_series(tmp_path):
    ics = copy_fixture(tmp_path, "rule_user_declined.ics")
    config = write_config(tmp_path, [ics])
    run_cli(config, "sync", now=NOW)
    _, state = connector_for(config).fetch_changes({})
    uid = "5s8d7f6g5h4j3k2l1z0x9c8v7b@google.com"
    cancelled = (
        "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20261022T160000\r\n"
        "DTEND;TZID=Europe/Berlin:20261022T163000\r\nDTSTAMP:20261102T090000Z\r\n"
        f"UID:{uid}\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261022T160000\r\n"
        "STATUS:CANCELLED\r\nSUMMARY:Carol / me\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    edit(ics, "END:VCALENDAR\r\n", cancelled)
    changed, _ = connector_for(config).fetch_changes(state)
    assert list(changed.upserts) == [uid]
    rows = people_json(config, NOW)
    assert rows["carol@acme.example"]["meetings"] == 3


def test_a_removed_event_disappears(tmp_path):
    ics = copy_fixture(tmp_path, "rule_user_declined.ics")
    config = write_config(tmp_path, [ics])
    assert people_json(config, NOW)["bob@acme.example"]["meetings"] == 1
    drop_event(ics, "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20261021T150000")
    _, state = connector_for(config).fetch_changes({})
    rows = people_json(config, NOW)
    assert "bob@acme.example" not in rows
    assert rows["carol@acme.example"]["meetings"] == 4
    assert state["uids"] and "1b2c3d4e5f6g7h8i9j0k1l2m3n@google.com" not in state["uids"]


def test_removed_uid_is_reported_as_removed(tmp_path):
    ics = copy_fixture(tmp_path, "rule_user_declined.ics")
    config = write_config(tmp_path, [ics])
    _, state = connector_for(config).fetch_changes({})
    drop_event(ics, "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:20261021T150000")
    changed, _ = connector_for(config).fetch_changes(state)
    assert changed.upserts == {}
    assert changed.removed == ["1b2c3d4e5f6g7h8i9j0k1l2m3n@google.com"]


# --- several files, the same UID twice ----------------------------------------------------


def two_file_source(tmp_path: Path) -> Path:
    a, b = FIXTURES / "ics_same_uid_file_a.ics", FIXTURES / "ics_same_uid_file_b.ics"
    return write_config(tmp_path, extra=(
        f'[[sources]]\nname = "work"\ntype = "ics"\npaths = ["{a}", "{b}"]\n'))


def test_one_source_reads_several_files(tmp_path):
    rows = people_json(two_file_source(tmp_path), NOW)
    assert set(rows) == {"alice@acme.example", "bob@acme.example", "dan@acme.example"}
    assert rows["bob@acme.example"]["meetings"] == 1
    assert rows["dan@acme.example"]["meetings"] == 1


def test_the_same_uid_in_two_files_of_one_source_counts_once(tmp_path):
    rows = people_json(two_file_source(tmp_path), NOW)
    alice = rows["alice@acme.example"]
    assert (alice["meetings"], alice["one_on_ones"]) == (4, 4)  # Tuesdays Oct 6 .. Oct 27
    assert alice["next_meeting"] == "2026-11-03T09:00:00+01:00"


def test_the_same_uid_in_two_sources_counts_once(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_same_uid_file_a.ics",
                                     FIXTURES / "ics_same_uid_file_b.ics"])
    rows = people_json(config, NOW)
    alice = rows["alice@acme.example"]
    assert (alice["meetings"], alice["one_on_ones"]) == (4, 4)
    assert alice["typical_gap_days"] == 7.0  # not 0: no occurrence is there twice
    store = Store(load_config(config).store_path)
    try:
        assert store.occurrence_count("work") > 0 and store.occurrence_count("work1") > 0
    finally:
        store.close()


def test_a_file_changed_in_one_of_several_files(tmp_path):
    a = copy_fixture(tmp_path, "ics_same_uid_file_a.ics")
    b = copy_fixture(tmp_path, "ics_same_uid_file_b.ics")
    config = write_config(tmp_path, extra=(
        f'[[sources]]\nname = "work"\ntype = "ics"\npaths = ["{a}", "{b}"]\n'))
    _, state = connector_for(config).fetch_changes({})
    edit(b, "SUMMARY:Dan / me", "SUMMARY:Dan + me")
    changed, _ = connector_for(config).fetch_changes(state)
    assert list(changed.upserts) == ["0A1B2C3D-ONLY-IN-B-0003"]


# --- what the connector hands on ----------------------------------------------------------


def test_series_id_only_for_events_of_a_series(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_user_declined.ics"])
    changes, _ = connector_for(config).fetch_changes({})
    single = changes.upserts["1b2c3d4e5f6g7h8i9j0k1l2m3n@google.com"]
    assert [occ.series_id for occ in single] == [""]
    series_uid = "5s8d7f6g5h4j3k2l1z0x9c8v7b@google.com"
    assert {occ.series_id for occ in changes.upserts[series_uid]} == {series_uid}
    assert len(changes.upserts[series_uid]) == 5  # including the declined exception


def test_occurrences_carry_aware_times_and_normalised_attendees(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_room_not_a_person.ics"])
    changes, _ = connector_for(config).fetch_changes({})
    occ = changes.upserts["r0o1m2n3o4t5a6p7e8r9s0o1n2@google.com"][0]
    assert occ.start == datetime(2026, 10, 13, 9, 0, tzinfo=UTC)
    assert occ.end - occ.start == timedelta(minutes=30)
    kinds = {a.email: a.kind for a in occ.attendees}
    assert kinds == {
        "me@acme.example": "person", "alice@acme.example": "person",
        "c_1889abcdef0123456789@resource.calendar.google.com": "resource",
        "room-fjord@acme.example": "room",
    }
    assert occ.organizer == "me@acme.example"


def test_a_long_first_sync_shows_a_progress_bar_and_a_short_one_does_not(tmp_path):
    from tests.helpers import Ev, calendar

    events = [Ev(uid=f"e{i}", start=f"202610{1 + i % 28:02d}T{8 + i % 9:02d}0000",
                 end=f"202610{1 + i % 28:02d}T{8 + i % 9:02d}3000",
                 attendees=(f";PARTSTAT=ACCEPTED:mailto:p{i % 50}@acme.example",))
              for i in range(2100)]
    big = tmp_path / "big.ics"
    big.write_text(calendar(*events))
    result = run_cli(write_config(tmp_path, [big]), "sync", now=NOW)
    assert result.exit_code == 0, result.output
    assert "Reading events" in result.output  # not a terminal: click prints the label only
    small = tmp_path / "small"
    small.mkdir()
    (small / "s.ics").write_text(calendar(*events[:10]))
    quiet = run_cli(write_config(small, [small / "s.ics"]), "sync", now=NOW)
    assert "Reading events" not in quiet.output


# --- the connector contract (tests/contract.py) -----------------------------------------------


class IcsFileBackend(CalendarFileBackend):
    """A local .ics file configured as the source "work"."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / "work.ics")
        with self._editing():
            pass  # an empty calendar to start with
        self.config = load_config(write_config(folder, [self.path]))

    def connector(self):
        return open_connector(self.config, self.config.source("work"), CONTRACT_NOW)


class TestIcsContract(ConnectorContract):
    """A local .ics file: read, never written."""

    writable = False

    @pytest.fixture
    def backend(self, tmp_path):
        return IcsFileBackend(tmp_path)


def test_with_verbose_a_failing_source_is_still_told_once_naming_it_once(tmp_path):
    config = write_config(tmp_path, [tmp_path / "nowhere.ics"])
    done = subprocess.run([sys.executable, "-m", "agent", "--config", str(config), "--verbose", "sync"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    told = [line for line in done.stderr.splitlines() if "nowhere.ics" in line]
    assert told == [f"work: FAILED: {tmp_path / 'nowhere.ics'}: file not found"], done.stderr
