"""The morning email right after the agent acts: whoever it booked, approved, moved or ended
shows one way in every section (booked, with the next meeting), never as a proposal and never in
"Who to reconnect with"; the map and `people` say the same."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from agent.digest.morning import Digest, build_digest
from agent.landscape.map import render_map
from agent.landscape.matrix import matrix, reciprocity_flags
from agent.planning import touchbases as tb
from agent.relationships import relationships
from agent.storage.store import Store
from tests.helpers import run_cli
from tests.mail_helpers import outbox_mail, parts
from tests.planning_helpers import NOW, NOW_DT, drifting, one_on_one, open_all, setup, write_calendar

ERIN, KEN, ZED = "erin@acme.example", "ken@acme.example", "zed@acme.example"
TUESDAY = "2026-12-01T08:00:00+01:00"


def places(digest: Digest, email: str) -> set[str]:
    """Where `email` appears: a section key, or for touchbase lines what the line says."""
    found = set()
    for section in digest.sections:
        for item in section.items:
            if email not in item.text and not any(email in d for d in item.details):
                continue
            if section.key != "touchbases":
                found.add(section.key)
            elif item.text.startswith(("Proposed", "Still proposed")):
                found.add("proposed")
            elif item.text.startswith("Booked"):
                found.add("booked")
                if any(d.startswith("next meeting ") for d in item.details):
                    found.add("next meeting")
            else:
                found.add(item.text.split(" ", 1)[0].lower())
    return found


def assert_booked_one_way(config, store: Store, now: datetime, email: str) -> Digest:
    """`email` has a booked touchbase: booked everywhere, never a proposal or to reconnect."""
    assert {row.state for row in tb.of_person(store, email)} & set(tb.BOOKED)
    digest = build_digest(config, store, now)
    where = places(digest, email)
    assert not where & {"reconnect", "proposed"}, (where, digest.text)
    assert f"touchbase approve {email}" not in digest.text
    (rel,) = [r for r in relationships(config, store, now) if r.email == email]
    assert rel.status == "booked" and rel.stats.next_meeting is not None and rel.stats.next_meeting > now
    return digest


def people_status(config_path, now: str) -> dict[str, dict]:
    result = run_cli(config_path, "people", "--json", now=now)
    assert result.exit_code == 0, result.output
    return {row["email"]: row for row in json.loads(result.output)}


def test_booked_in_auto_mode_the_same_runs_email_says_booked(tmp_path):
    config_path = setup(tmp_path, [*drifting(ERIN), *drifting(KEN)])
    run = run_cli(config_path, "run", "--once", now=NOW)  # Monday 08:00: books, then mails
    assert run.exit_code == 0, run.output
    config, store = open_all(config_path)
    (mail,) = outbox_mail(config)
    text, _ = parts(mail)
    assert "Who to reconnect with" not in text and "[OVERDUE]" not in text
    for email in (ERIN, KEN):
        assert f"Booked a touchbase with {email}" in text
        digest = assert_booked_one_way(config, store, NOW_DT, email)
        assert {"booked", "next meeting"} <= places(digest, email)
        row = people_status(config_path, NOW)[email]
        assert row["status"] == "booked" and row["next_meeting"].startswith("2026-12-0")
    store.close()


def test_approved_in_propose_mode_is_no_longer_proposed_and_shows_today(tmp_path):
    config_path = setup(tmp_path, [*drifting(ERIN), *drifting(KEN)],
                        extra='[touchbase]\nmode = "propose"\n')
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    assert places(build_digest(config, store, NOW_DT), KEN) >= {"proposed", "reconnect"}
    approved = run_cli(config_path, "approve", KEN, now="2026-11-30T12:00:00+01:00")
    assert approved.exit_code == 0, approved.output
    later = NOW_DT + timedelta(hours=5)
    assert_booked_one_way(config, store, later, KEN)
    assert places(build_digest(config, store, later), ERIN) >= {"proposed", "reconnect"}  # untouched
    first = tb.of_person(store, KEN)[0].start
    assert first is not None
    morning = first.astimezone(config.zone).replace(hour=8, minute=0)  # the day of the first one
    digest = assert_booked_one_way(config, store, morning, KEN)
    today = next(s for s in digest.sections if s.key == "today")
    local = first.astimezone(config.zone)
    end = local + timedelta(minutes=30)
    assert [item.text for item in today.items] == [
        f"{local:%H:%M}-{end:%H:%M} Touchbase: Ken ({KEN})"]
    assert people_status(config_path, morning.isoformat())[KEN]["status"] == "booked"
    store.close()


def test_a_moved_instance_keeps_the_colleague_booked_at_the_new_time(tmp_path):
    config_path = setup(tmp_path, drifting(KEN))
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    first = tb.of_person(store, KEN)[0].start
    assert first is not None
    blocker = one_on_one("blocker", ZED, first.astimezone(config.zone).replace(tzinfo=None), minutes=60)
    write_calendar(tmp_path / "work.ics", [*drifting(KEN), blocker])
    later = "2026-11-30T09:00:00+01:00"
    healed = run_cli(config_path, "run", "--once", now=later)
    assert healed.exit_code == 0, healed.output
    digest = assert_booked_one_way(config, store, datetime.fromisoformat(later), KEN)
    assert "moves" in places(digest, KEN)
    moved_to = people_status(config_path, later)[KEN]["next_meeting"]
    assert moved_to is not None and datetime.fromisoformat(moved_to) != first
    store.close()


def one_booked_one_waiting(tmp_path):
    """Ken and Erin drift, one run may book one of them: (config path, config, store, the
    booked one, the waiting one)."""
    config_path = setup(tmp_path, [*drifting(KEN), *drifting(ERIN)],
                        extra='[touchbase]\nmax_new_per_day = 1\n')
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    config, store = open_all(config_path)
    (booked,) = [e for e in (ERIN, KEN) if tb.of_person(store, e)]
    return config_path, config, store, booked, KEN if booked == ERIN else ERIN


def test_an_ended_series_is_not_booked_and_a_let_go_colleague_is_not_to_reconnect(tmp_path):
    config_path, config, store, booked, waiting = one_booked_one_waiting(tmp_path)
    assert "reconnect" in places(build_digest(config, store, NOW_DT), waiting)
    assert run_cli(config_path, "let-go", booked, now=NOW).exit_code == 0
    tuesday = datetime.fromisoformat(TUESDAY)
    assert run_cli(config_path, "run", "--once", now=TUESDAY).exit_code == 0
    assert {row.state for row in tb.of_person(store, booked)} == {tb.ENDED}
    digest = build_digest(config, store, tuesday)
    assert not places(digest, booked) & {"reconnect", "proposed", "booked", "today"}
    assert people_status(config_path, TUESDAY)[booked]["next_meeting"] is None
    store.close()


def test_the_map_says_nobody_is_drifting_only_when_nobody_is(tmp_path):
    config_path, config, store, booked, waiting = one_booked_one_waiting(tmp_path)

    def page(now: datetime) -> str:
        rels = relationships(config, store, now)
        return render_map(config, matrix(config, rels), reciprocity_flags(rels), now)

    html = page(NOW_DT)
    reconnect = html.split("<h2>Reconnect with</h2>", 1)[1].split("<h2>", 1)[0]
    assert waiting in reconnect and booked not in reconnect and "Nobody is drifting" not in reconnect
    assert run_cli(config_path, "run", "--once", now=TUESDAY).exit_code == 0  # books the other
    html = page(datetime.fromisoformat(TUESDAY))
    assert "Nobody is drifting" in html  # both last met 100+ days ago, both booked
    assert f"{booked}: booked" in html and f"{waiting}: booked" in html
    store.close()


def test_the_map_lists_each_booked_touchbase_in_the_one_schedule_phrase(tmp_path):
    config_path = setup(tmp_path, drifting(KEN))
    assert run_cli(config_path, "run", "--once", now=NOW).exit_code == 0
    page = tmp_path / "map.html"
    assert run_cli(config_path, "map", "--html", str(page), now=NOW).exit_code == 0
    html = page.read_text(encoding="utf-8")
    booked = html.split("<h2>Touchbases booked</h2>", 1)[1].split("<h2>", 1)[0]
    assert f"<td>{KEN}</td><td>monthly on the 1st Tuesday, 09:00-09:30 Europe/Berlin</td>" in booked
