"""A sudden loss is held, not believed: a calendar address on a real HTTP server on 127.0.0.1
(tests/fakes/calendar_server) that answers a well-formed but empty calendar, or one with most of
its events gone, and a Google calendar (the emulator) whose incremental answer removes most of it."""
from __future__ import annotations

import json
from pathlib import Path

from agent.configuration.loader import load_config
from agent.storage import own_series
from tests.fakes.calendar_server import CalendarServer
from tests.fakes.google_setup import gev, google_config
from tests.helpers import USER, Ev, calendar, flat, run_cli, write_config
from tests.mail_helpers import opened, outbox_mail, parts

NOW = "2026-10-14T12:00:00+02:00"  # a Wednesday, after the morning email's time
LATER = "2026-10-14T12:30:00+02:00"
DORA = "dora@acme.example"
WEEKLY = [f"weekly{i}@acme.example" for i in range(8)]


def weekly(i: int) -> Ev:
    """A weekly 1:1 with WEEKLY[i] since June, without end: an upcoming recurring meeting."""
    day, hour = 1 + i % 5, 9 + i // 5
    return Ev(f"w{i}", f"2026060{day}T{hour:02d}0000", f"2026060{day}T{hour:02d}3000",
              attendees=(f";PARTSTAT=ACCEPTED:mailto:{WEEKLY[i]}",), extra="RRULE:FREQ=WEEKLY")


def dora_meetings() -> list[Ev]:
    """Three 1:1s in spring with Dora: tracked, overdue, nothing upcoming: the planner books her."""
    return [Ev(f"dora{n}", f"2026{month}04T100000", f"2026{month}04T103000",
               attendees=(f";PARTSTAT=ACCEPTED:mailto:{DORA}",))
            for n, month in enumerate(("03", "04", "05"))]


def full_calendar(keep: int = 8) -> str:
    """The first `keep` weekly colleagues and Dora."""
    return calendar(*[weekly(i) for i in range(keep)], *dora_meetings())




def address_config(tmp_path: Path, server: CalendarServer, extra: str = "") -> Path:
    server.publish("/cal.ics", full_calendar())
    tmp_path.mkdir(parents=True, exist_ok=True)
    return write_config(tmp_path, [], extra=f'{extra}[[sources]]\nname = "work"\ntype = "ics"\n'
                                            f'url = "{server.url}/cal.ics"\n')


def sync(config: Path, *flags: str, now: str = NOW) -> str:
    result = run_cli(config, "sync", *flags, now=now)
    assert result.exit_code == 0, result.output
    return result.output


def people(config: Path) -> list[dict]:
    result = run_cli(config, "people", "--json", now=NOW)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def status(config: Path) -> tuple[str, dict]:
    text = flat(run_cli(config, "status", now=NOW).output)  # status folds its lines at 80 columns
    data = json.loads(run_cli(config, "status", "--json", now=NOW).output)
    return text, next(s for s in data["sources"] if s["name"] == "work")


def booked(config: Path) -> list[str]:
    with opened(config) as (_, store):
        return sorted(row["email"] for row in own_series.rows(store))


def test_one_empty_answer_changes_no_figure_books_nothing_and_the_next_answer_clears_it(tmp_path, server):
    config = address_config(tmp_path, server)
    assert "work: 271 occurrences read" in sync(config)  # a first sync is never a loss
    before = people(config)
    assert {row["email"] for row in before} == {*WEEKLY, DORA}
    server.publish("/cal.ics", calendar())  # well-formed, and empty: a publishing glitch
    once = run_cli(config, "run", "--once", now=NOW)
    assert once.exit_code == 0, once.output
    assert people(config) == before
    assert booked(config) == []  # Dora is overdue in the kept figures, and still nobody is booked
    text, work = status(config)
    assert "source work: last sync 2026-10-14 12:00, 271 occurrences, SUSPECT" in text
    assert ("held since 2026-10-14 12:00: your calendar address answered empty; kept the state "
            "of 2026-10-14 12:00") in text
    assert work["suspect"] is True and work["suspect_reason"] == "answered empty"
    assert work["suspect_since"] == "2026-10-14T12:00:00+02:00" and work["failed"] is False
    plan = run_cli(config, "plan", now=NOW).output
    assert "No new touchbase while work is held after a sudden loss" in plan
    digest, _ = parts(outbox_mail(load_config(config))[0])
    assert "your calendar address answered empty; kept the state of" in digest
    server.publish("/cal.ics", full_calendar())  # the calendar is back: it clears the mark
    again = run_cli(config, "run", "--once", now=LATER)
    assert again.exit_code == 0, again.output
    assert booked(config) == [DORA]
    after = {row["email"]: row for row in people(config)}
    dora = after.pop(DORA)  # booked now: the agent's own series is her next meeting (issue 20)
    assert dora["status"] == "booked" and dora["next_meeting"] is not None
    assert [row for row in before if row["email"] != DORA] == list(after.values())
    (dora_before,) = [row for row in before if row["email"] == DORA]
    moved = ("status", "next_meeting")
    assert {k: v for k, v in dora.items() if k not in moved} == {k: v for k, v in dora_before.items() if k not in moved}
    text, work = status(config)
    assert "SUSPECT" not in text and "held since" not in text
    assert work["suspect"] is False and work["suspect_reason"] is None and work["suspect_since"] is None


def test_two_empty_answers_in_a_row_are_believed(tmp_path, server):
    config = address_config(tmp_path, server)
    sync(config)
    server.publish("/cal.ics", calendar())
    first = sync(config)
    assert first.startswith("work: HELD: answered empty; kept the previous state until a later "
                            "answer confirms it (`touchbase sync --accept-loss` believes it now)")
    assert len(people(config)) == 9
    del server.log[:]
    second = sync(config, now=LATER)
    assert server.statuses() == [200]  # the state was not advanced: the address is read again
    assert "work: 0 occurrences read (answered empty: believed)" in second
    assert people(config) == []
    _, work = status(config)
    assert work["suspect"] is False and work["occurrences"] == 0


def test_accept_loss_believes_at_once_and_an_empty_first_answer_is_no_loss(tmp_path, server):
    config = address_config(tmp_path, server)
    sync(config)
    server.publish("/cal.ics", calendar())
    assert "answered empty: believed" in sync(config, "--accept-loss")
    assert people(config) == []
    assert status(config)[1]["suspect"] is False
    fresh = address_config(tmp_path / "fresh", server)
    server.publish("/cal.ics", calendar())
    assert sync(fresh).strip() == "work: 0 occurrences read"  # nothing stored: nothing to lose
    assert status(fresh)[1]["suspect"] is False


def test_losing_less_than_half_is_taken_and_more_than_half_held(tmp_path, server):
    config = address_config(tmp_path, server)
    sync(config)
    server.publish("/cal.ics", full_calendar(keep=5))  # 3 of 8 weekly colleagues gone: 96 of 275
    assert "work: 0 occurrences read" in sync(config)
    assert len(people(config)) == 6
    server.publish("/cal.ics", full_calendar(keep=2))  # 3 of the 5 left gone: 96 of 165
    assert "work: HELD: dropped 96 of its 165 occurrences at once" in sync(config)
    assert len(people(config)) == 6
    text, work = status(config)
    assert "your calendar address dropped 96 of its 165 occurrences at once; kept the state" in text
    assert work["suspect_reason"] == "dropped 96 of its 165 occurrences at once"


def test_the_threshold_is_an_option(tmp_path, server):
    config = address_config(tmp_path, server, extra="[sync]\nmax_loss_percent = 60\n\n")
    sync(config)
    server.publish("/cal.ics", full_calendar(keep=2))  # 192 of 275 gone: 70 %
    assert "HELD" in sync(config)
    config = address_config(tmp_path / "lenient", server, extra="[sync]\nmax_loss_percent = 80\n\n")
    sync(config)
    server.publish("/cal.ics", full_calendar(keep=2))
    assert "HELD" not in sync(config) and len(people(config)) == 3
    (tmp_path / "bad").mkdir()
    bad = write_config(tmp_path / "bad", [], extra="[sync]\nmax_loss_percent = 5\n")
    refused = run_cli(bad, "sync", now=NOW)
    assert refused.exit_code == 2 and "max_loss_percent" in refused.output


def test_an_incremental_google_answer_removing_most_events_is_held_then_confirmed(tmp_path, google):
    for n, who in enumerate(("ann", "ben", "cat", "dan")):
        google.put_event(gev(f"event{n:04d}", f"2026-10-0{n + 5}T10:00",
                             attendees=((USER, "accepted"), (f"{who}@acme.example", "accepted"))))
    config = google_config(tmp_path, google)
    sync(config)
    for n in range(3):
        google.delete_event(f"event{n:04d}")
    google.reset_counts()
    held = sync(config)
    assert "gwork: HELD: dropped 3 of its 4 occurrences at once" in held
    assert len(people(config)) == 4
    assert "your Google calendar dropped 3 of its 4 occurrences at once; kept the state" in \
        flat(run_cli(config, "status", now=NOW).output)
    token = _sync_tokens(google)
    assert len(token) == 1  # an incremental answer (a sync token), not a full re-read
    google.reset_counts()
    believed = sync(config, now=LATER)
    assert _sync_tokens(google) == token  # the state was not advanced: the same delta again
    assert "gwork: 0 occurrences read (dropped 3 of its 4 occurrences at once: believed)" in believed
    assert [row["email"] for row in people(config)] == ["dan@acme.example"]
    assert status_of(config, "gwork")["suspect"] is False


def _sync_tokens(google) -> list[str]:
    return [query["syncToken"][0] for method, query in google.queries
            if method == "events.list" and "syncToken" in query]


def status_of(config: Path, name: str) -> dict:
    data = json.loads(run_cli(config, "status", "--json", now=NOW).output)
    return next(s for s in data["sources"] if s["name"] == name)
