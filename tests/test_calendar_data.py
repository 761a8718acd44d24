"""Real calendar data read the same on every path: an .ics file, a calendar address, CalDAV and the
agent's local calendar file all go through one lenient, bounded reader (connectors/ical/).

Each case is one fixture in the shape a real program writes it, pinned through `touchbase sync`
and `people --json` on an ics source and on a caldav source. The CalDAV server is the permissive
emulator in tests/fakes/caldav_server.py: Radicale refuses a broken VTIMEZONE, an unreadable DTEND
or a METHOD on upload, but many servers store a client's bytes unchecked.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result

from agent.configuration.loader import load_config
from agent.inference import ColleagueStats, compute_stats
from agent.sources import LOCAL_SOURCE, local_source, open_connector
from agent.storage.store import Store
from tests.helpers import run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-02T12:00:00+01:00"
COUNTS = ("meetings", "one_on_ones", "organised_by_user", "organised_by_them", "last_met")

Synced = tuple[Result, dict[str, dict]]


def _caldav_keys(url: str) -> str:
    return (f'[[sources]]\nname = "work"\ntype = "caldav"\nurl = "{url}"\nusername = "me"\n'
            'calendars = ["Work"]\n')


def _sync_and_list(config: Path) -> Synced:
    synced = run_cli(config, "sync", now=NOW)
    assert synced.exit_code == 0, synced.output
    listed = run_cli(config, "people", "--json", now=NOW)
    assert listed.exit_code == 0, listed.output
    return synced, {row["email"]: row for row in json.loads(listed.output)}


@pytest.fixture(params=["ics", "caldav"])
def read(request, tmp_path, caldav_emulator) -> Callable[..., Synced]:
    """Sync fixtures through an ics source (one file each) or a caldav source (one object each,
    stored as they are); returns the sync's Result and `people --json` keyed by address."""
    def run(*fixtures: str) -> Synced:
        if request.param == "ics":
            return _sync_and_list(write_config(tmp_path, [FIXTURES / f for f in fixtures]))
        for name in fixtures:
            caldav_emulator.put("work", name, (FIXTURES / name).read_bytes())
        return _sync_and_list(write_config(tmp_path, [], extra=_caldav_keys(caldav_emulator.url)))
    return run


def counts(row: dict) -> tuple:
    """The figures of one colleague compared here."""
    return tuple(row[key] for key in COUNTS)


# --- one case, one fixture, on both paths -------------------------------------------------------


def test_a_lightning_invitation_to_a_group_without_address_counts_for_nobody(read):
    _, rows = read("bug_lightning_group_urn_uuid.ics")
    # Oct 14 invited the platform-team list (a urn:uuid: with CUTYPE=GROUP): no meeting. Oct 15
    # had a room given as a urn:uuid: too: still a room, so still a 1:1 with Alice.
    assert {email: counts(row) for email, row in rows.items()} == {
        "alice@acme.example": (1, 1, 1, 0, "2026-10-15T16:00:00+02:00")}


def test_an_icloud_organiser_is_the_person_of_its_email_parameter(read):
    _, rows = read("bug_icloud_organiser_imip_relay.ics")
    assert {email: counts(row) for email, row in rows.items()} == {
        "paula@acme.example": (1, 1, 0, 1, "2026-10-20T11:00:00+02:00")}
    assert rows["paula@acme.example"]["name"] == "Paula Brandt"


def test_a_local_part_ending_in_a_dot_is_a_colleague(read):
    _, rows = read("bug_google_dotted_local_part.ics")
    assert {email: counts(row) for email, row in rows.items()} == {
        "laszlo.@acme.example": (3, 3, 3, 0, "2026-10-20T10:00:00+02:00")}


def test_a_broken_vtimezone_loses_no_occurrence(read):
    result, rows = read("caldav_broken_vtimezone.ics")
    assert "skipped" not in result.output
    # Five weekly Tuesdays at 18:00 in Brisbane (tzdata knows the zone; its broken block is unused).
    assert counts(rows["bruce@acme.example"]) == (5, 5, 0, 5, "2026-10-27T09:00:00+01:00")


def test_an_unreadable_dtend_skips_the_event_with_a_line(read):
    result, rows = read("caldav_broken_dtend.ics")
    assert ("work: skipped event 'Dana / me' (UID broken-dtend-1): DTEND: "
            "Wrong datetime format: 2026-10-21 14:30") in result.output
    assert "1 malformed event(s) skipped" in result.output
    assert rows == {}


@pytest.mark.parametrize("fixture", ["caldav_stored_cancel.ics", "caldav_stored_reply.ics"])
def test_a_stored_cancel_or_reply_alone_is_not_an_event(read, fixture):
    result, rows = read(fixture)
    assert rows == {}
    assert "0 occurrences read" in result.output and "skipped" not in result.output


def test_runaway_series_are_bounded_and_named_alike_on_every_path(read):
    result, rows = read("ics_runaway_series.ics")
    for uid, why in (("run-interval0", "INTERVAL=0"), ("run-minutely", "FREQ=MINUTELY"),
                     ("run-secondly", "FREQ=SECONDLY"), ("run-byxxx", "more than 5,000 instances")):
        line = next(line for line in result.output.splitlines() if f"UID {uid})" in line)
        assert line.strip().startswith("work: skipped event ") and why in line
    assert set(rows) == {"yan@acme.example"} and rows["yan@acme.example"]["meetings"] == 5


def test_skipped_caldav_events_stay_reported_while_their_object_is_unchanged(tmp_path, caldav_emulator):
    caldav_emulator.put("work", "dtend.ics", (FIXTURES / "caldav_broken_dtend.ics").read_bytes())
    config = write_config(tmp_path, [], extra=_caldav_keys(caldav_emulator.url))
    _sync_and_list(config)
    caldav_emulator.put("work", "other.ics", (FIXTURES / "bug_icloud_organiser_imip_relay.ics").read_bytes())
    again, rows = _sync_and_list(config)
    assert "work: 1 occurrences read" in again.output  # only the new object was read
    assert "1 malformed event(s) skipped" in again.output
    assert "1 skipped" in run_cli(config, "status", now=NOW).output
    assert set(rows) == {"paula@acme.example"}
    caldav_emulator.remove("work", "dtend.ics")
    third, _ = _sync_and_list(config)
    assert "skipped" not in third.output


# --- busy times: the same reader ----------------------------------------------------------------

BUSY_CASES = ["caldav_broken_vtimezone.ics", "caldav_broken_dtend.ics", "caldav_stored_cancel.ics"]
SPAN = (datetime(2026, 9, 28, tzinfo=ZoneInfo("UTC")), datetime(2026, 11, 1, tzinfo=ZoneInfo("UTC")))


def _brisbane_tuesdays() -> list[tuple[str, str]]:
    return [(f"2026-{day}T08:00:00+00:00", f"2026-{day}T08:30:00+00:00")
            for day in ("09-29", "10-06", "10-13", "10-20", "10-27")]


def _as_utc(intervals: list) -> list[tuple[str, str]]:
    utc = ZoneInfo("UTC")
    return [(a.astimezone(utc).isoformat(), b.astimezone(utc).isoformat()) for a, b in intervals]


def test_caldav_busy_reads_objects_as_a_sync_does(tmp_path, caldav_emulator):
    for name in BUSY_CASES:
        caldav_emulator.put("work", name, (FIXTURES / name).read_bytes())
    config = load_config(write_config(tmp_path, [], extra=_caldav_keys(caldav_emulator.url)))
    connector = open_connector(config, config.source("work"), datetime.fromisoformat(NOW))
    assert _as_utc(connector.busy(*SPAN, [])) == _brisbane_tuesdays()
    connector.close()


def test_local_file_busy_reads_the_file_as_a_sync_does(tmp_path):
    config = load_config(write_config(tmp_path, []))
    config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    config.local_calendar_path.write_bytes(b"".join((FIXTURES / n).read_bytes() for n in BUSY_CASES))
    local = open_connector(config, local_source(config), datetime.fromisoformat(NOW))
    assert _as_utc(local.busy(*SPAN, [])) == _brisbane_tuesdays()


# --- one calendar, four paths ----------------------------------------------------------------------

SAME_DATA = ["bug_lightning_group_urn_uuid.ics", "bug_icloud_organiser_imip_relay.ics",
             "bug_google_dotted_local_part.ics", "caldav_broken_vtimezone.ics",
             "caldav_broken_dtend.ics", "caldav_stored_cancel.ics", "caldav_stored_reply.ics",
             "rule_weekly_series_exdate.ics", "rule_moved_instance.ics", "rule_room_not_a_person.ics",
             "rule_user_declined.ics", "ics_copies_reply_partstat.ics", "ics_broken_vtimezone_custom.ics"]
FIGURES = ("name", "meetings", "one_on_ones", "last_met", "next_meeting", "organised_by_user",
           "organised_by_them", "typical_gap_days")


def _figures(rows: dict[str, dict]) -> dict[str, tuple]:
    return {email: tuple(row[key] for key in FIGURES) for email, row in rows.items()}


def _read(store: Store, source: str) -> list[tuple]:
    return sorted((o.key, o.start.isoformat(), o.end.isoformat(), o.cancelled, o.organizer,
                   tuple(sorted((a.email, a.kind, a.response) for a in o.attendees)))
                  for o in store.occurrences(source=source))


def test_the_same_data_gives_the_same_figures_through_every_path(tmp_path, caldav_emulator,
                                                                 calendar_server):
    text = b"".join((FIXTURES / name).read_bytes() for name in SAME_DATA)
    (tmp_path / "same.ics").write_bytes(text)
    calendar_server.publish("/same.ics", text)
    for name in SAME_DATA:
        caldav_emulator.put("work", name, (FIXTURES / name).read_bytes())
    for folder in ("file", "address", "caldav", "local"):
        (tmp_path / folder).mkdir()
    paths = {
        "file": write_config(tmp_path / "file", [tmp_path / "same.ics"]),
        "address": write_config(tmp_path / "address", [], extra=(
            f'[[sources]]\nname = "work"\ntype = "ics"\nurl = "{calendar_server.url}/same.ics"\n')),
        "caldav": write_config(tmp_path / "caldav", [], extra=_caldav_keys(caldav_emulator.url)),
    }
    figures = {how: _figures(_sync_and_list(config)[1]) for how, config in paths.items()}
    assert figures["file"] == figures["address"] == figures["caldav"]
    assert len(figures["file"]) >= 8

    local_path = write_config(tmp_path / "local", [])
    local_config = load_config(local_path)
    local_config.local_calendar_path.parent.mkdir(parents=True, exist_ok=True)
    local_config.local_calendar_path.write_bytes(text)
    assert run_cli(local_path, "sync", now=NOW).exit_code == 0
    local_store = Store(local_config.store_path)
    file_store = Store(load_config(paths["file"]).store_path)
    assert _read(local_store, LOCAL_SOURCE) == _read(file_store, "work")
    # The local file's events never count (nobody is invited to it); counted as any source's,
    # what it read gives the same figures.
    occurrences = list(local_store.occurrences(source=LOCAL_SOURCE))
    for occ in occurrences:
        occ.source = "work"
    stats = compute_stats(local_config, occurrences, datetime.fromisoformat(NOW))
    assert {email: _stats_figures(entry, local_config.zone) for email, entry in stats.items()
            if entry.meetings or entry.next_meeting} == {
        email: figure[1:] for email, figure in figures["file"].items()}
    local_store.close()
    file_store.close()


def _stats_figures(entry: ColleagueStats, zone: ZoneInfo) -> tuple:
    """FIGURES but the name, as `people --json` shows them."""
    moments = [m.astimezone(zone).isoformat() if m else None for m in (entry.last_met, entry.next_meeting)]
    return (entry.meetings, entry.one_on_ones, *moments, entry.organised_by_user,
            entry.organised_by_them, entry.typical_gap_days)
