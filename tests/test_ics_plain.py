"""The narrow reader of plain single events gives exactly the rows of the full path.

`connectors.ical.plain` reads a plain single VEVENT without icalendar, and
`connectors.ical.singles` turns a single event into its occurrence without recurring-ical-events.
Each block the narrow reader accepts must give the same row as icalendar + the lenient repairs +
recurring-ical-events (`read_group`), with no note from the full path; here on every real-world
and rule fixture in tests/fixtures, on the bench's heavy calendar (where almost every single
event must be read narrowly, or the speed-up is gone), on damaged calendars (the fuzz
mutations), and on random single events around the window's edges.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.ical import read as ical
from connectors.ical.groups import read_group
from connectors.ical.plain import read_plain
from connectors.ical.singles import NotPlain
from connectors.ical.zones import usable_timezones
from connectors.ics.chunks import occurrence_row, parse_chunk
from connectors.ics.connector import split_calendar
from tests.helpers import heavy_calendar
from tests.ics_mutations import KINDS, mutate

FIXTURES = Path(__file__).parent / "fixtures"
ZONE = ZoneInfo("Europe/Berlin")
WINDOWS = [
    (datetime(2000, 1, 1, tzinfo=ZONE), datetime(2035, 1, 1, tzinfo=ZONE)),
    (datetime(2025, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=1))),
     datetime(2026, 6, 7, 8, 0, tzinfo=timezone(timedelta(hours=1)))),
    (datetime(2026, 1, 15, tzinfo=ZONE), datetime(2026, 2, 1, tzinfo=ZONE)),
]


def compare(data: bytes, start: datetime, end: datetime) -> tuple[int, int]:
    """(single-block groups, read narrowly) of a calendar; asserts both paths agree."""
    parsed = split_calendar("test.ics", data)
    timezones, _ = usable_timezones(parsed.timezones)
    singles = plain = 0
    for uid, blocks in parsed.groups.items():
        if len(blocks) != 1:
            continue
        singles += 1
        try:
            narrow = [occurrence_row(o) for o in read_plain(blocks[0], start, end, ZONE)]
        except NotPlain:
            continue
        plain += 1
        occurrences, notes = read_group(timezones, blocks, start, end, ZONE)
        assert narrow == [occurrence_row(o) for o in occurrences], uid
        assert notes == [], (uid, notes)
    return singles, plain


@pytest.mark.parametrize("window", WINDOWS, ids=["wide", "fixed-offset", "narrow"])
@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.ics")), ids=lambda p: p.name)
def test_fixtures_read_the_same_either_way(path, window):
    data = path.read_bytes()
    try:
        split_calendar(path.name, data)
    except Exception:  # noqa: BLE001 - a fixture that is not one calendar is another test's
        pytest.skip("not a complete calendar")
    compare(data, *window)


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = heavy_calendar(tmp_path_factory.mktemp("heavy") / "heavy.ics", years=0.4,
                          colleagues=300, density=0.5)
    return path.read_bytes()


@pytest.mark.parametrize("window", WINDOWS, ids=["wide", "fixed-offset", "narrow"])
def test_the_heavy_calendar_reads_the_same_and_mostly_narrowly(heavy, window):
    singles, plain = compare(heavy, *window)
    assert singles > 200
    assert plain >= 0.95 * singles


def test_a_chunk_gives_the_same_rows_with_and_without_the_narrow_reader(heavy, monkeypatch):
    parsed = split_calendar("heavy.ics", heavy)
    timezones, _ = usable_timezones(parsed.timezones)
    groups = list(parsed.groups.items())
    start, end = WINDOWS[1]
    fast = parse_chunk(timezones, groups, start, end, "Europe/Berlin")
    monkeypatch.setattr("connectors.ics.chunks.read_plain", _refuse)
    full = parse_chunk(timezones, groups, start, end, "Europe/Berlin")
    assert sorted(fast[0]) == sorted(full[0])
    assert fast[1:] == full[1:]


def _refuse(*args: object) -> list:
    raise NotPlain("the full path only")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 10_000), st.integers(0, 10_000),
                              st.integers(0, 10_000)), min_size=1, max_size=3))
def test_damaged_calendars_read_the_same_either_way(ops):
    data = mutate(ops).data
    try:
        split_calendar("damaged.ics", data)
    except Exception:  # noqa: BLE001 - a refused file is read by neither path
        return
    for window in WINDOWS[1:]:
        compare(data, *window)


EDGE = datetime(2026, 3, 1, 0, 0)
WHEN = st.one_of(
    st.builds(lambda m: ("date", (EDGE + timedelta(minutes=m)).date()), st.integers(-4000, 4000)),
    st.builds(lambda m, z: ("time", EDGE + timedelta(minutes=m), z), st.integers(-4000, 4000),
              st.sampled_from(["", "Z", "Europe/Berlin", "Pacific/Auckland", "Pacific/Honolulu",
                               "W. Europe Standard Time"])),
)
LENGTH = st.one_of(st.none(), st.integers(-60, 3000))


def _line(name: str, when: tuple) -> str:
    if when[0] == "date":
        return f"{name};VALUE=DATE:{when[1]:%Y%m%d}"
    _, moment, zone = when
    stamp = f"{moment:%Y%m%dT%H%M%S}"
    if zone == "Z":
        return f"{name}:{stamp}Z"
    return f"{name};TZID={zone}:{stamp}" if zone else f"{name}:{stamp}"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(first=WHEN, length=LENGTH, edge_zone=st.sampled_from([ZONE, timezone(timedelta(hours=1))]))
def test_a_single_event_without_the_expansion_library(first, length, edge_zone):
    lines = ["BEGIN:VEVENT", "UID:edge", _line("DTSTART", first), "SUMMARY:edge",
             "ATTENDEE;CN=Ann:mailto:ann@acme.example"]
    if length is not None:
        if first[0] == "date":
            lines.append(_line("DTEND", ("date", first[1] + timedelta(days=length // 600))))
        else:
            lines.append(_line("DTEND", ("time", first[1] + timedelta(minutes=length), first[2])))
    lines.append("END:VEVENT")
    block = "\n".join(lines).encode() + b"\n"
    start = EDGE.replace(tzinfo=edge_zone)
    end = start + timedelta(days=1)
    calendar = icalendar.Calendar.from_ical(b"BEGIN:VCALENDAR\nVERSION:2.0\n" + block + b"END:VCALENDAR\n")
    library = [occurrence_row(ical.to_occurrence(c, ZONE, recurring=False))
               for c in recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)]
    assert [occurrence_row(o) for o in ical.expand(calendar, start, end, ZONE)] == library
    try:
        narrow = [occurrence_row(o) for o in read_plain(block, start, end, ZONE)]
    except NotPlain:
        return
    assert narrow == library


def test_what_the_narrow_reader_leaves_to_the_full_path():
    base = ["BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Europe/Berlin:20260301T100000", "SUMMARY:x"]
    for extra in ("RRULE:FREQ=WEEKLY", "RDATE:20260302T100000Z", "EXDATE:20260301T090000Z",
                  "RECURRENCE-ID:20260301T090000Z", "DURATION:PT1H", "GEO:1;2",
                  "SUMMARY:again", "DTSTAMP:2026", "X-TOUCHBASE-METHOD:REPLY",
                  "X-TOUCHBASE-WR-TIMEZONE:Europe/Berlin", "ATTENDEE;CN=Doe, J:mailto:j@x.example",
                  "ATTENDEE;CN=a^nb:mailto:j@x.example", "X-THING;VALUE=INTEGER:5",
                  "BEGIN:VTODO", "no colon here"):
        block = "\n".join([*base, extra, "END:VEVENT"]).encode() + b"\n"
        with pytest.raises(NotPlain):
            read_plain(block, *WINDOWS[0], ZONE)
    odd_zone = "\n".join([*base[:2], "DTSTART;TZID=/vendor/Europe/Berlin:20260301T100000",
                          "END:VEVENT"]).encode()
    with pytest.raises(NotPlain):
        read_plain(odd_zone, *WINDOWS[0], ZONE)


def _library_rows(calendar: icalendar.Calendar, start: datetime, end: datetime) -> list:
    """What recurring-ical-events' own copies of each occurrence give, read one by one."""
    series = ical.recurring_uids(calendar)
    return sorted(occurrence_row(occ) for c in recurring_ical_events.of(calendar, skip_bad_series=True)
                  .between(start, end)
                  if (occ := ical.to_occurrence(c, ZONE, recurring=str(c.get("UID", "")) in series)))


@pytest.mark.parametrize("window", WINDOWS, ids=["wide", "fixed-offset", "narrow"])
def test_series_instances_equal_the_librarys_copies(heavy, window):
    """`expand` reads each component once and sets each instance's start, end and RECURRENCE-ID
    on it, instead of reading the copy recurring-ical-events makes per instance: the same rows,
    series, overrides, exceptions and all."""
    paths = sorted(FIXTURES.glob("rule_*.ics")) + sorted(FIXTURES.glob("bug_*.ics"))
    texts = [heavy] + [p.read_bytes() for p in paths]
    for text in texts:
        calendar = icalendar.Calendar.from_ical(text)
        fast = sorted(occurrence_row(o) for o in ical.expand(calendar, *window, ZONE))
        assert fast == _library_rows(calendar, *window)
