"""Relationship state: who is tracked, cadence, status on track / due / overdue, priority."""
from __future__ import annotations

from datetime import datetime, timedelta

from agent.ratings import rate
from agent.relationships import BOOKED, DUE, ON_TRACK, OVERDUE, relationship_of, relationships, status_of
from tests.helpers import USER, Ev, run_cli
from tests.planning_helpers import NOW, NOW_DT, one_on_one, open_all, past_meetings, setup


def _by_email(config_path):
    config, store = open_all(config_path)
    rels = relationships(config, store, NOW_DT)
    return config, store, rels, {r.email: r for r in rels}


def test_tracked_are_the_rated_and_those_with_several_small_meetings_in_the_past_year(tmp_path):
    big = Ev(uid="all-hands", start="20261001T100000", end="20261001T110000",
             attendees=tuple(f"mailto:p{i}@acme.example" for i in range(12)),
             extra="RRULE:FREQ=WEEKLY;COUNT=6")
    events = [*past_meetings("three@acme.example", [20, 200, 300]),
              *past_meetings("two@acme.example", [20, 40]),
              *past_meetings("old@acme.example", [380, 400, 420]),
              *past_meetings("excluded@acme.example", [10, 20, 30]),
              *past_meetings("someone@partner.example", [10, 20, 30]),
              big]
    config_path = setup(tmp_path, events)
    text = config_path.read_text()
    config_path.write_text(text.replace("[colleagues]\n", '[colleagues]\nexclude = ["excluded@acme.example"]\n'))
    assert run_cli(config_path, "rate", "rated@acme.example", "--vital", "4", "--force",
                   now=NOW).exit_code == 0  # in no synced event: --force
    _, _, rels, by_email = _by_email(config_path)
    assert set(by_email) == {"three@acme.example", "rated@acme.example"}
    assert by_email["rated@acme.example"].rated and by_email["rated@acme.example"].days_since is None
    assert not by_email["three@acme.example"].rated


def test_status_on_track_due_overdue_and_a_booked_meeting(tmp_path):
    events = [*past_meetings("recent@acme.example", [10, 50, 90]),
              *past_meetings("due@acme.example", [40, 80, 120]),
              *past_meetings("overdue@acme.example", [50, 80, 120]),
              *past_meetings("booked@acme.example", [60, 90, 120]),
              one_on_one("booked-next", "booked@acme.example", datetime(2026, 12, 20, 10)),
              *past_meetings("far@acme.example", [60, 90, 120]),
              one_on_one("far-next", "far@acme.example", datetime(2027, 2, 1, 10))]
    _, _, _, by_email = _by_email(setup(tmp_path, events))
    status = {email: rel.status for email, rel in by_email.items()}
    assert status == {"recent@acme.example": ON_TRACK, "due@acme.example": DUE,
                      "overdue@acme.example": OVERDUE, "booked@acme.example": BOOKED,
                      "far@acme.example": OVERDUE}
    assert round(by_email["due@acme.example"].days_since) == 40


def test_status_boundaries():
    now = NOW_DT
    assert status_of(30, None, 30, now) == ON_TRACK
    assert status_of(30.01, None, 30, now) == DUE
    assert status_of(45, None, 30, now) == DUE
    assert status_of(45.01, None, 30, now) == OVERDUE
    assert status_of(None, None, 30, now) == OVERDUE
    assert status_of(None, now + timedelta(days=30), 30, now) == BOOKED
    assert status_of(100, now + timedelta(days=31), 30, now) == OVERDUE


def test_a_rated_cadence_replaces_the_default(tmp_path):
    config_path = setup(tmp_path, past_meetings("weekly@acme.example", [10, 20, 30]))
    assert run_cli(config_path, "rate", "weekly@acme.example", "--cadence", "7d", now=NOW).exit_code == 0
    _, _, _, by_email = _by_email(config_path)
    rel = by_email["weekly@acme.example"]
    assert (rel.cadence_days, rel.status) == (7, DUE)


def test_priority_puts_vital_drifting_colleagues_first_then_overdue_before_due(tmp_path):
    events = [*past_meetings("overdue@acme.example", [100, 130, 160]),
              *past_meetings("longest@acme.example", [200, 230, 260]),
              *past_meetings("due@acme.example", [40, 70, 100]),
              *past_meetings("vitaldue@acme.example", [40, 70, 100]),
              *past_meetings("ontrack@acme.example", [5, 70, 100])]
    config_path = setup(tmp_path, events)
    for who, vital in (("vitaldue@acme.example", "5"), ("ontrack@acme.example", "5")):
        assert run_cli(config_path, "rate", who, "--vital", vital, now=NOW).exit_code == 0
    _, _, rels, _ = _by_email(config_path)
    assert [r.email for r in rels] == ["vitaldue@acme.example", "longest@acme.example",
                                      "overdue@acme.example", "due@acme.example", "ontrack@acme.example"]


def test_paused_and_let_go_are_flagged_and_the_user_is_never_tracked(tmp_path):
    events = [*past_meetings("alice@acme.example", [100, 130, 160]),
              *past_meetings("bob@acme.example", [100, 130, 160])]
    config_path = setup(tmp_path, events)
    assert run_cli(config_path, "let-go", "bob@acme.example", now=NOW).exit_code == 0
    assert run_cli(config_path, "rate", USER, "--vital", "5", now=NOW).exit_code == 2  # refused
    config, store, _, by_email = _by_email(config_path)
    rate(store, USER, NOW_DT, vital=5)  # a rating stored before the CLI refused it
    store.db["people"].upsert({"email": "alice@acme.example",
                               "paused_until": (NOW_DT + timedelta(days=3)).isoformat()}, pk="email")
    by_email = {r.email: r for r in relationships(config, store, NOW_DT)}
    assert USER not in by_email
    assert by_email["bob@acme.example"].let_go
    assert by_email["alice@acme.example"].paused(NOW_DT)
    assert not by_email["alice@acme.example"].paused(NOW_DT + timedelta(days=4))


def test_relationship_of_someone_untracked(tmp_path):
    config, store = open_all(setup(tmp_path, past_meetings("two@acme.example", [10, 20])))
    rel = relationship_of(config, store, "two@acme.example", NOW_DT)
    assert (rel.stats.meetings, rel.status, rel.rated) == (2, ON_TRACK, False)
    nobody = relationship_of(config, store, "nobody@acme.example", NOW_DT)
    assert (nobody.stats.meetings, nobody.status) == (0, OVERDUE)
