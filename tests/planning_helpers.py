"""Builders shared by the planner and local-calendar tests: drifting colleagues, the local file."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events

from agent.configuration.loader import Config, load_config
from agent.planning.planner import run_planner
from agent.storage.store import Store
from connectors.ical.read import TAG_PROPERTY, address_of
from tests.helpers import USER, Ev, calendar, run_cli, write_config

NOW = "2026-11-30T08:00:00+01:00"  # a Monday
NOW_DT = datetime.fromisoformat(NOW)


def one_on_one(uid: str, who: str, start: datetime, minutes: int = 30, name: str = "") -> Ev:
    """A 1:1 of the user with `who` at `start` (Europe/Berlin wall time)."""
    cn = f";CN={name}" if name else ""
    return Ev(uid=uid, start=start.strftime("%Y%m%dT%H%M%S"),
              end=(start + timedelta(minutes=minutes)).strftime("%Y%m%dT%H%M%S"),
              attendees=(f"{cn};PARTSTAT=ACCEPTED:mailto:{who}", f";PARTSTAT=ACCEPTED:mailto:{USER}"))


def past_meetings(who: str, days_ago: list[int], now: datetime = NOW_DT) -> list[Ev]:
    """1:1s with `who` that many days before `now`, at 10:00."""
    local = now.replace(tzinfo=None)
    return [one_on_one(f"{who}-past-{ago}", who, (local - timedelta(days=ago)).replace(hour=10, minute=0))
            for ago in days_ago]


def drifting(who: str, now: datetime = NOW_DT) -> list[Ev]:
    """Three meetings 100-160 days ago: tracked and overdue."""
    return past_meetings(who, [100, 130, 160], now)


def write_calendar(path: Path, events: list) -> None:
    """Write `events` (Ev or raw VEVENT text) as an .ics file."""
    path.write_text(calendar(*events), encoding="utf-8")


def setup(tmp_path: Path, events: list, extra: str = "", replies: bool = False,
          now: str = NOW) -> Path:
    """A config over `events` (plus an empty second calendar when `replies`), synced at `now`."""
    work = tmp_path / "work.ics"
    write_calendar(work, events)
    paths = [work]
    if replies:
        paths.append(tmp_path / "replies.ics")
        write_calendar(paths[-1], [])
    config_path = write_config(tmp_path, paths, extra=extra)
    result = run_cli(config_path, "sync", now=now)
    assert result.exit_code == 0, result.output
    return config_path


def open_all(config_path: Path) -> tuple[Config, Store]:
    """The config and an open store."""
    config = load_config(config_path)
    return config, Store(config.store_path)


def local_calendar(config: Config) -> icalendar.Calendar:
    """The parsed local calendar file."""
    return icalendar.Calendar.from_ical(config.local_calendar_path.read_bytes())


def series_in_file(config: Config, parsed: icalendar.Calendar | None = None) -> dict[str, list[icalendar.Event]]:
    """Master VEVENTs carrying the agent's tag in the local file, by colleague address."""
    if parsed is None and not config.local_calendar_path.exists():
        return {}
    result: dict[str, list[icalendar.Event]] = {}
    for event in (parsed or local_calendar(config)).walk("VEVENT"):
        if event.get("RECURRENCE-ID") is not None or not event.get(TAG_PROPERTY):
            continue
        others = [address_of(a) for a in _list(event.get("ATTENDEE")) if address_of(a) != USER]
        for who in others:
            result.setdefault(who, []).append(event)
    return result


def live_series(config: Config) -> dict[str, list[icalendar.Event]]:
    """Like `series_in_file`, without series the agent ended (UNTIL) or cancelled."""
    result = {}
    for who, events in series_in_file(config).items():
        live = [e for e in events
                if "UNTIL" not in e["RRULE"] and str(e.get("STATUS", "")).upper() != "CANCELLED"]
        if live:
            result[who] = live
    return result


def imported_copy(event: icalendar.Event, colleague: str, declined: list[datetime]) -> str:
    """The series as the user's own calendar shows it after an import: the same UID and tag,
    with the colleague's answer DECLINED on the occurrences starting at `declined`."""
    blocks = [event.to_ical().decode()]
    length = event.decoded("DTEND") - event.decoded("DTSTART")
    zone = event.decoded("DTSTART").tzinfo
    for start in declined:
        local = start.astimezone(zone)
        exception = icalendar.Event()
        for key in ("UID", "SUMMARY", "ORGANIZER", TAG_PROPERTY):
            exception.add(key, event[key])
        exception.add("DTSTAMP", event.decoded("DTSTAMP"))
        exception.add("RECURRENCE-ID", local)
        exception.add("DTSTART", local)
        exception.add("DTEND", local + length)
        exception.add("ATTENDEE", f"mailto:{USER}", parameters={"PARTSTAT": "ACCEPTED"})
        exception.add("ATTENDEE", f"mailto:{colleague}", parameters={"PARTSTAT": "DECLINED"})
        blocks.append(exception.to_ical().decode())
    return "".join(blocks).replace("\r\n", "\n").replace("\n", "\r\n")


def actions(store: Store, kind: str | None = None) -> list[dict]:
    """Every logged action (of one kind)."""
    rows = store.actions_since(datetime(2000, 1, 1).astimezone())
    return [r for r in rows if kind is None or r["kind"] == kind]


def _list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def starts_from(event: icalendar.Event, first: datetime, days: int = 400) -> list[datetime]:
    """The starts of the series' occurrences from `first` on (a series decline from there:
    every later occurrence declined)."""
    cal = icalendar.Calendar()
    cal.add_component(event)
    return sorted(e.decoded("DTSTART") for e in recurring_ical_events.of(cal).between(
        first - timedelta(minutes=1), first + timedelta(days=days)))


ALICE = "alice@acme.example"
DEC_1 = datetime.fromisoformat("2026-12-01T09:00:00+01:00")  # Alice's first touchbase


def book_alice(tmp_path: Path, extra_events: tuple = ()) -> tuple[Path, Config, Store, icalendar.Event]:
    """Alice drifts (with `extra_events` in the calendar), one planner run books her series into
    the local file from Tue 1 Dec: (config path, config, open store, the series' event)."""
    config_path = setup(tmp_path, [*drifting(ALICE), *extra_events], replies=True)
    config, store = open_all(config_path)
    assert run_planner(config, store, NOW_DT).created == [ALICE]
    (event,) = series_in_file(config)[ALICE]
    assert event.decoded("DTSTART") == DEC_1
    return config_path, config, store, event
