"""Strangers cannot steer the agent's own series: an event another organiser sends with the
agent's UID or tag (a calendar address shows invitations from anyone) ends nothing, pauses
nobody and moves nothing; series ids carry the installation's secret key, so they cannot be
guessed. The same events organised by the user (an imported copy of the series) still count,
which shows each forged case would act if it were believed."""
from __future__ import annotations

import hashlib
import os
import stat
from datetime import datetime, timedelta

import pytest

from agent.configuration.loader import load_config
from agent.inference import MeetingRules
from agent.model import Attendee, Occurrence, OwnEvent
from agent.planning import touchbases as tb
from agent.planning.planner import run_planner
from agent.planning.provenance import Provenance
from agent.planning.readback import occurrences_by_series, own_by_series
from agent.storage import people_records
from agent.storage.installation_key import KEY_FILE, installation_key
from connectors.ical.read import TAG_PROPERTY
from tests.helpers import USER, calendar, run_cli, write_config
from tests.planning_helpers import (
    ALICE,
    DEC_1,
    NOW_DT,
    actions,
    book_alice,
    drifting,
    imported_copy,
    local_calendar,
    open_all,
    series_in_file,
    setup,
    starts_from,
)

EVIL = "evil@evil.example"
LATER = datetime.fromisoformat("2026-11-30T09:00:00+01:00")
STEERING = ("touchbase-declined", "touchbase-ended", "touchbase-paused", "touchbase-moved",
            "touchbase-instance-cancelled", "touchbase-deleted-by-user")


def _copy_organised_by(organiser: str, event, declined: list[datetime]) -> str:
    """The series as an invitation in the ics source: the agent's UID and X-TOUCHBASE-AGENT tag,
    Alice DECLINED on `declined`, organised by `organiser`."""
    text = calendar(imported_copy(event, ALICE, declined))
    assert f"ORGANIZER:mailto:{USER}" in text and str(event[TAG_PROPERTY]) in text
    return text.replace(f"ORGANIZER:mailto:{USER}", f"ORGANIZER:mailto:{organiser}")


def _steering(store) -> list[str]:
    return [a["kind"] for a in actions(store) if a["kind"] in STEERING]


@pytest.mark.parametrize(("organiser", "believed"), [(EVIL, False), (USER, True)])
def test_a_series_decline_organised_by_a_stranger_ends_nothing_and_pauses_nobody(tmp_path, organiser, believed):
    config_path, config, store, event = book_alice(tmp_path)
    before = config.local_calendar_path.read_bytes()
    forged = _copy_organised_by(organiser, event, starts_from(event, DEC_1))
    (tmp_path / "replies.ics").write_text(forged)
    at = "2026-12-02T08:00:00+01:00"
    assert run_cli(config_path, "sync", now=at).exit_code == 0
    report = run_planner(config, store, datetime.fromisoformat(at))
    (row,) = tb.load(store)
    person = people_records.record_of(store, ALICE) or {}
    if believed:  # the user's own copy: read back as attendance, the series ends at the limit
        assert [a.kind for a in report.actions] == ["declined", "ended", "paused"]
        assert row.state == tb.ENDED and person.get("paused_until")
        return
    assert report.actions == [] and report.errors == []
    assert (row.state, row.declines) == (tb.ACTIVE, 0)
    assert not person.get("paused_until")
    assert _steering(store) == []
    assert config.local_calendar_path.read_bytes() == before  # nothing the agent wrote changed
    result = run_cli(config_path, "run", "--once", now="2027-01-06T08:00:00+01:00")  # the daemon's path
    assert result.exit_code == 0, result.output
    assert _steering(store) == [] and tb.load(store)[0].state == tb.ACTIVE
    assert "UNTIL" not in series_in_file(config)[ALICE][0]["RRULE"]
    store.close()


@pytest.mark.parametrize(("organiser", "believed"), [(EVIL, False), (USER, True)])
def test_a_recurrence_id_from_a_stranger_moves_nothing(tmp_path, organiser, believed):
    config_path, config, store, event = book_alice(tmp_path)
    before = config.local_calendar_path.read_bytes()
    (tmp_path / "replies.ics").write_text(_copy_organised_by(organiser, event, [DEC_1]))
    assert run_cli(config_path, "sync", now=LATER.isoformat()).exit_code == 0
    report = run_planner(config, store, LATER)
    overrides = [e for e in local_calendar(config).walk("VEVENT") if e.get("RECURRENCE-ID") is not None]
    if believed:  # the user's own copy: Alice declined that one instance, so it is moved
        assert [a.kind for a in report.actions] == ["moved"] and len(overrides) == 1
        return
    assert report.actions == [] and report.errors == [] and overrides == []
    assert config.local_calendar_path.read_bytes() == before
    assert _steering(store) == []
    store.close()


def test_a_copy_off_the_stored_rule_is_nobodys_attendance_outside_the_write_target(tmp_path):
    """Outside the write target, a copy must be the series as stored: an instance at a time the
    stored rule never has is nobody's attendance, even when it names the user as organiser."""
    config = load_config(write_config(tmp_path))
    row = tb.Touchbase(series_id="tb-x", email=ALICE, state=tb.ACTIVE, created_at=NOW_DT, target="touchbase-local",
                       event_id="tb-x@touchbase.local", start=DEC_1, rrule="FREQ=MONTHLY;BYDAY=1TU")
    provenance = Provenance(MeetingRules(config), config.zone, {})

    def copy(start: datetime, organiser: str = USER, source: str = "replies") -> Occurrence:
        return Occurrence(resource="tb-x@touchbase.local", key=f"k{start}", title="", start=start,
                          end=start + timedelta(minutes=30), organizer=organiser, source=source,
                          series_id="tb-x@touchbase.local", attendees=(Attendee(ALICE, response="declined"),))

    jan_5 = datetime.fromisoformat("2027-01-05T09:00:00+01:00")  # the rule's next instance
    off_rule = datetime.fromisoformat("2027-01-07T14:00:00+01:00")
    grouped = occurrences_by_series([copy(DEC_1), copy(jan_5), copy(off_rule), copy(jan_5, EVIL),
                                     copy(off_rule, source="touchbase-local")], [row], provenance)
    assert [(o.start, o.source) for o in grouped["tb-x"]] == [
        (DEC_1, "replies"), (jan_5, "replies"), (off_rule, "touchbase-local")]


def test_an_event_in_the_write_target_organised_by_someone_else_is_not_the_agents(tmp_path):
    config = load_config(write_config(tmp_path))
    provenance = Provenance.of(config)
    mine = OwnEvent(event_id="ours", tag="tb-x", series_id="tb-x", organizer=USER)
    theirs = OwnEvent(event_id="forged", tag="tb-x", series_id="tb-x", organizer=EVIL)
    assert own_by_series([theirs], provenance) == {}
    assert own_by_series([theirs, mine], provenance)["tb-x"].event_id == "ours"
    assert own_by_series([OwnEvent(event_id="g", tag="tb-y", series_id="tb-y")], provenance)["tb-y"].event_id == "g"


def test_series_ids_are_not_predictable_without_the_installation_key(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    config_path = setup(tmp_path / "one", drifting(ALICE), replies=True)
    config, store = open_all(config_path)
    key_path = config.data_dir / KEY_FILE
    assert not key_path.exists()  # created on first need: the first new series
    run_planner(config, store, NOW_DT)
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600 and len(key_path.read_bytes()) == 32
    (row,) = tb.load(store)
    legacy = "tb-" + hashlib.sha1(f"{ALICE}#1".encode()).hexdigest()[:24]  # the old, guessable id
    assert row.series_id != legacy
    assert row.series_id == tb.series_id_for(key_path.read_bytes(), ALICE, 1)
    assert installation_key(config.data_dir) == key_path.read_bytes()  # kept, never replaced

    other_path = setup(tmp_path / "two", drifting(ALICE), replies=True)
    other_config, other_store = open_all(other_path)
    run_planner(other_config, other_store, NOW_DT)
    (other,) = tb.load(other_store)
    assert other.series_id != row.series_id  # another installation, another key, another id
    assert tb.series_id_for(b"k" * 32, ALICE, 1) != tb.series_id_for(b"j" * 32, ALICE, 1)
    store.close()
    other_store.close()
