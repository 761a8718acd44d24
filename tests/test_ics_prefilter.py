"""The ICS pre-filter never drops an event that falls in the window, and the optimised connector
(pre-filter, chunked parsing, worker processes) reads exactly what a naive parse reads.

The reference is a naive read: the whole file parsed by icalendar at once and expanded by
recurring-ical-events over the same span. Edge cases: events at the window's edges, zones far
from UTC, floating and all-day times, series starting long before the window, UNTIL and COUNT,
an override moved into the window of a series whose master lies outside it, RDATE, DURATION, a
VALARM's own DURATION, folded lines.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connectors.ics.connector as ics
from agent.configuration.loader import load_config
from agent.sources import open_connector
from connectors.ical import read as ical
from connectors.ical.blocks import normalise
from connectors.ics.chunks import _parse_together
from connectors.ics.window import PAD, block_span, may_overlap
from tests.helpers import calendar, people_json, run_cli, write_config

NOW = "2026-03-02T08:00:00+01:00"
REPO = Path(__file__).resolve().parent.parent  # subprocesses run this checkout's code
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = ("Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT+12", "Asia/Kolkata",
         "America/St_Johns", "UTC", "floating")


def event(uid: str, start: str, end: str | None = None, zone: str = "Europe/Berlin",
          extra: str = "", summary: str = "Meeting") -> str:
    """One VEVENT; `start`/`end` like 20260101T100000, or 20260101 for a date."""
    def prop(name: str, value: str) -> str:
        if "T" not in value:
            return f"{name};VALUE=DATE:{value}"
        if zone == "floating":
            return f"{name}:{value}"
        if zone == "UTC":
            return f"{name}:{value}Z"
        return f"{name};TZID={zone}:{value}"

    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", prop("DTSTART", start)]
    if end:
        lines.append(prop("DTEND", end))
    lines += [f"SUMMARY:{summary}", "ORGANIZER:mailto:me@acme.example",
              "ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@acme.example"]
    lines += [line for line in extra.strip().splitlines() if line.strip()]
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


def window(config_path: Path) -> tuple[datetime, datetime]:
    """The span the connector expands over on a first sync at NOW."""
    connector = open_connector(load_config(config_path), load_config(config_path).sources[0],
                               datetime.fromisoformat(NOW))
    return connector.context.window_start, connector.context.window_end + ics.WINDOW_SLACK


def naive_keys(text: str, start: datetime, end: datetime) -> dict[str, set[str]]:
    """Occurrence keys per UID from one parse of the whole text, expanded over [start, end)."""
    parsed = icalendar.Calendar.from_ical(text)
    result: dict[str, set[str]] = {}
    for component in recurring_ical_events.of(parsed, skip_bad_series=True).between(start, end):
        occ = ical.to_occurrence(component, BERLIN)
        if occ is not None:
            result.setdefault(occ.resource, set()).add(occ.key)
    return result


def connector_keys(config_path: Path, state: dict | None = None) -> tuple[dict[str, set[str]], dict]:
    """Occurrence keys per UID as the real connector reads them (empty UIDs left out)."""
    config = load_config(config_path)
    connector = open_connector(config, config.sources[0], datetime.fromisoformat(NOW))
    changes, new_state = connector.fetch_changes(state or {})
    keys = {uid: {o.key for o in occs} for uid, occs in changes.upserts.items() if occs}
    return keys, new_state


def setup(tmp_path: Path, *events: str) -> tuple[Path, Path, str]:
    text = calendar(*events)
    path = tmp_path / "cal.ics"
    path.write_bytes(text.encode("utf-8"))
    return write_config(tmp_path, [path]), path, text


def blocks(text: str) -> list[bytes]:
    """The VEVENT blocks of `text` as the connector cuts them."""
    return [b for group in ics.split_calendar(Path("x"), text.encode()).groups.values() for b in group]


# --- edge cases, each checked against the naive read ------------------------------------------

EDGE_CASES = {
    # The window at NOW is 2025-03-02 08:00 +01:00 .. 2026-05-31 08:00 +01:00 (+ 7 days slack).
    "ends just after the window start": [event("edge-start", "20250302T070000", "20250302T081500")],
    "starts just before the window end": [event("edge-end", "20260607T075900", "20260607T090000")],
    "just after the window end": [event("after-end", "20260607T100000", "20260607T110000")],
    "Kiritimati (+14) at the start edge": [
        event("kiri", "20250302T200000", "20250302T220000", zone="Pacific/Kiritimati")],
    "Pago Pago (-11) at the start edge": [
        event("pago", "20250301T200000", "20250301T230000", zone="Pacific/Pago_Pago")],
    "Etc/GMT+12 at the end edge": [event("gmt12", "20260606T200000", "20260606T210000", zone="Etc/GMT+12")],
    "floating at the start edge": [event("float", "20250302T080000", "20250302T090000", zone="floating")],
    "all-day on the first day": [event("allday", "20250302", "20250303")],
    "all-day without an end": [event("allday-noend", "20250302")],
    "long multi-day event overlapping the start": [event("long", "20250220T090000", "20250305T090000")],
    "DURATION instead of DTEND": [event("dur", "20250301T090000", extra="DURATION:P1DT12H")],
    "VALARM with its own DURATION": [event("alarm", "20250301T230000", "20250302T090000", extra=(
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nREPEAT:2\r\n"
        "DURATION:PT5M\r\nEND:VALARM"))],
    "series from long before, open-ended": [
        event("weekly-old", "20150105T100000", "20150105T103000", extra="RRULE:FREQ=WEEKLY;BYDAY=MO")],
    "series from long before, UNTIL inside": [event("until-in", "20150105T100000", "20150105T103000",
                                                    extra="RRULE:FREQ=WEEKLY;UNTIL=20250310T000000Z")],
    "series from long before, UNTIL just at the start": [
        event("until-edge", "20150105T080000", "20150105T090000",
              extra="RRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20250302T070000Z")],
    "series from long before, COUNT": [event("count", "20230102T100000", "20230102T103000",
                                             extra="RRULE:FREQ=WEEKLY;COUNT=200")],
    "series ended long before (UNTIL)": [event("until-old", "20150105T100000", "20150105T103000",
                                               extra="RRULE:FREQ=WEEKLY;UNTIL=20160101T000000Z")],
    "master outside, override moved into the window": [
        event("moved", "20230102T100000", "20230102T103000",
              extra="RRULE:FREQ=WEEKLY;UNTIL=20230301T000000Z"),
        event("moved", "20250401T100000", "20250401T103000",
              extra="RECURRENCE-ID;TZID=Europe/Berlin:20230109T100000\r\nSEQUENCE:2")],
    "override moved out of the window": [
        event("moved-out", "20250303T100000", "20250303T103000",
              extra="RRULE:FREQ=WEEKLY;COUNT=1"),
        event("moved-out", "20200101T100000", "20200101T103000",
              extra="RECURRENCE-ID;TZID=Europe/Berlin:20250303T100000")],
    "override of a future series, master after the window": [
        event("future", "20260801T100000", "20260801T103000", extra="RRULE:FREQ=WEEKLY"),
        event("future", "20260510T100000", "20260510T103000",
              extra="RECURRENCE-ID;TZID=Europe/Berlin:20260801T100000")],
    "RDATE into the window of an old single": [
        event("rdate", "20200101T100000", "20200101T110000",
              extra="RDATE;TZID=Europe/Berlin:20250601T100000,20250701T100000")],
    "RDATE on a series ended long before": [
        event("rdate-series", "20150105T100000", "20150105T103000",
              extra="RRULE:FREQ=WEEKLY;UNTIL=20160101T000000Z\r\nRDATE:20250601T100000Z")],
    "folded DTSTART line": ["BEGIN:VEVENT\r\nUID:folded\r\nDTSTAMP:20250101T000000Z\r\n"
                            "DTSTART;TZID=Europe/Berlin:2025\r\n 0401T100000\r\n"
                            "DTEND;TZID=Europe/Berlin:20250401T110000\r\nSUMMARY:Folded\r\n"
                            "ORGANIZER:mailto:me@acme.example\r\n"
                            "ATTENDEE:mailto:ann@acme.example\r\nEND:VEVENT\r\n"],
    "at the end of datetime's range": [event("y9999", "99991231T230000", "99991231T235959"),
                                       event("u9999", "20250401T100000", "20250401T110000",
                                             extra="RRULE:FREQ=YEARLY;UNTIL=99991231T235959Z")],
    "old single, skipped": [event("old", "20200101T100000", "20200101T110000")],
    "far future single, skipped": [event("far", "20300101T100000", "20300101T110000")],
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_the_connector_reads_what_a_naive_parse_reads(tmp_path, name):
    config, _, text = setup(tmp_path, *EDGE_CASES[name])
    start, end = window(config)
    keys, _ = connector_keys(config)
    assert keys == naive_keys(text, start, end)


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_the_prefilter_keeps_every_group_with_an_occurrence(tmp_path, name):
    config, _, text = setup(tmp_path, *EDGE_CASES[name])
    start, end = window(config)
    expected = naive_keys(text, start, end)
    groups = ics.split_calendar(Path("x"), text.encode()).groups
    for uid, group in groups.items():
        if expected.get(uid):
            assert may_overlap(group, start, end), uid


# --- the same calendars written differently: line endings, case, folding ----------------------

def _lines(text: str) -> list[str]:
    """The content lines of `text`, unfolded."""
    return text.replace("\r\n ", "").replace("\r\n", "\n").rstrip("\n").split("\n")


def _name_end(line: str) -> int:
    return min((i for i in (line.find(";"), line.find(":")) if i >= 0), default=len(line))


def lower_case_names(text: str) -> str:
    """Property, parameter and component names in lower case (values as they were)."""
    out = []
    for line in _lines(text):
        if line.upper().startswith(("BEGIN:", "END:")):
            out.append(line.lower())
            continue
        head, sep, value = line.partition(":")
        parts = head.split(";")
        parts = [parts[0].lower()] + [p.split("=", 1)[0].lower() + "=" + p.split("=", 1)[1]
                                      if "=" in p else p for p in parts[1:]]
        out.append(";".join(parts) + sep + value)
    return "\r\n".join(out) + "\r\n"


def folded_after_names(text: str) -> str:
    """Every line folded right after its name (`UID` then ` :value`), as RFC 5545 allows."""
    return "".join(line[:_name_end(line)] + "\r\n " + line[_name_end(line):] + "\r\n"
                   for line in _lines(text))


def folded_everywhere(text: str) -> str:
    """Every line folded every 7 octets, through UTF-8 characters too."""
    out = b""
    for line in _lines(text):
        raw = line.encode()
        out += b"\r\n\t".join(raw[i:i + 7] for i in range(0, len(raw), 7)) + b"\r\n"
    return out.decode("utf-8", "surrogateescape")


VARIANTS = {
    "LF": lambda text: text.replace("\r\n", "\n"),
    "CR": lambda text: text.replace("\r\n", "\r"),
    "lower-case names": lower_case_names,
    "folded after names": folded_after_names,
    "folded everywhere": folded_everywhere,
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_written_differently_the_connector_reads_what_a_naive_parse_reads(tmp_path, name, variant):
    text = calendar(*EDGE_CASES[name])
    config, path, _ = setup(tmp_path, *EDGE_CASES[name])
    path.write_bytes(VARIANTS[variant](text).encode("utf-8", "surrogateescape"))
    start, end = window(config)
    keys, _ = connector_keys(config)
    assert keys == naive_keys(text, start, end)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_written_differently_the_prefilter_keeps_the_same_groups(variant):
    start = datetime(2025, 3, 2, 8, tzinfo=BERLIN)
    end = datetime(2026, 6, 7, 8, tzinfo=BERLIN)
    for name, events in EDGE_CASES.items():
        text = calendar(*events)
        plain = ics.split_calendar(Path("x"), text.encode()).groups
        other = ics.split_calendar(Path("x"), VARIANTS[variant](text).encode(
            "utf-8", "surrogateescape")).groups
        assert list(other) == list(plain), name
        assert {uid: may_overlap(g, start, end) for uid, g in other.items()} == {
            uid: may_overlap(g, start, end) for uid, g in plain.items()}, name


UID_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                   max_size=30).filter(lambda u: u.strip() == u)


@settings(max_examples=150, deadline=None)
@given(uid=UID_TEXT, params=st.sampled_from(["", ";X-A=1", ';X-Q="a:b;c"']),
       fold=st.integers(0, 12), alarm_first=st.booleans(), lower=st.booleans())
def test_the_prescan_uid_is_the_parsers_uid(uid, params, fold, alarm_first, lower):
    value = uid.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    line = f"{'uid' if lower else 'UID'}{params}:{value}".encode()
    if fold:
        line = line[:fold] + b"\r\n " + line[fold:]
    alarm = b"BEGIN:VALARM\r\nUID:alarm-uid\r\nTRIGGER:-PT5M\r\nACTION:DISPLAY\r\nEND:VALARM\r\n"
    body = (b"BEGIN:VEVENT\r\n" + (alarm if alarm_first else b"") + line + b"\r\n"
            + b"DTSTART:20250401T100000Z\r\n" + (b"" if alarm_first else alarm) + b"END:VEVENT\r\n")
    text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + body + b"END:VCALENDAR\r\n"
    prescan = list(ics.split_calendar(Path("x"), text).groups)
    # The connector parses the text it normalised (folds undone on the bytes) ...
    parsed = icalendar.Calendar.from_ical(normalise(text)).walk("VEVENT")[0]
    assert prescan == [str(parsed["UID"])]
    # ... which is what icalendar reads itself, unless a fold splits a UTF-8 character.
    raw = str(icalendar.Calendar.from_ical(text).walk("VEVENT")[0]["UID"])
    assert "\ufffd" in raw or prescan == [raw]


def test_the_prefilter_skips_what_surely_lies_outside():
    start = datetime(2025, 3, 2, 8, tzinfo=BERLIN)
    end = datetime(2026, 6, 7, 8, tzinfo=BERLIN)
    for name in ("old single, skipped", "far future single, skipped",
                 "series ended long before (UNTIL)"):
        assert not may_overlap(blocks(calendar(*EDGE_CASES[name])), start, end), name
    # Just outside by less than the padding: kept, to be parsed and judged exactly.
    near = blocks(calendar(event("near", "20250301T000000", "20250301T010000")))
    assert may_overlap(near, start, end)
    assert PAD >= timedelta(days=1)


def test_what_the_prefilter_cannot_read_for_sure_is_parsed():
    start = datetime(2025, 3, 2, 8, tzinfo=BERLIN)
    end = datetime(2026, 6, 7, 8, tzinfo=BERLIN)
    unsure = [
        event("count-old", "20150105T100000", "20150105T103000", extra="RRULE:FREQ=WEEKLY;COUNT=3"),
        event("thisandfuture", "20150105T100000", "20150105T103000",
              extra="RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20150105T100000"),
        event("bad-start", "notadate", "20150105T103000"),
        "BEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
        event("period", "20150105T100000", "20150105T103000",
              extra="RDATE;VALUE=PERIOD:20150106T100000Z/PT1H"),
        event("year-9999", "99991231T230000", "99991231T235959", extra="DURATION:P3D"),
        event("until-9999", "20150105T100000", extra="RRULE:FREQ=DAILY;UNTIL=99991231T235959Z\r\n"
              "DURATION:P99999D"),
    ]
    for text in unsure:
        assert may_overlap(blocks(calendar(text)), start, end), text
    assert block_span(blocks(calendar(unsure[2]))[0]) is None


# --- random events around the window edges ------------------------------------------------------

EDGE_DAYS = (datetime(2025, 3, 2, 8), datetime(2026, 6, 7, 8))


@st.composite
def random_event(draw, uid: str) -> str:
    base = draw(st.sampled_from(EDGE_DAYS))
    begin = base + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)) // 15 * 15)
    zone = draw(st.sampled_from(ZONES))
    all_day = draw(st.booleans()) and draw(st.booleans())
    length = timedelta(minutes=draw(st.sampled_from([0, 15, 60, 600, 1440, 4000])))
    fmt = "%Y%m%d" if all_day else "%Y%m%dT%H%M%S"
    if all_day:
        length = timedelta(days=max(1, length.days))
    end = (begin + length).strftime(fmt) if draw(st.booleans()) else None
    extra = ""
    kind = draw(st.sampled_from(["single", "until", "count", "open", "rdate"]))
    if kind != "single":
        first = begin - timedelta(weeks=draw(st.integers(0, 400)))
        begin, end = first, ((first + length).strftime(fmt) if end else None)
        if kind == "until":
            until = base + timedelta(hours=draw(st.integers(-72, 72)))
            extra = f"RRULE:FREQ=DAILY;UNTIL={until:%Y%m%dT%H%M%S}Z"
        elif kind == "count":
            extra = f"RRULE:FREQ=WEEKLY;COUNT={draw(st.integers(1, 500))}"
        elif kind == "open":
            extra = "RRULE:FREQ=WEEKLY"
        else:
            extra = f"RDATE:{(base + timedelta(hours=draw(st.integers(-72, 72)))):%Y%m%dT%H%M%S}Z"
    return event(uid, begin.strftime(fmt), end, zone=zone, extra=extra)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(*[random_event(f"r{i}") for i in ids])))
def test_random_events_near_the_edges_are_never_dropped(events):
    text = calendar(*events)
    start = datetime(2025, 3, 2, 8, tzinfo=timezone(timedelta(hours=1)))
    end = datetime(2026, 6, 7, 8, tzinfo=timezone(timedelta(hours=2)))
    expected = naive_keys(text, start, end)
    groups = ics.split_calendar(Path("x"), text.encode()).groups
    for uid, group in groups.items():
        if expected.get(uid):
            assert may_overlap(group, start, end), (uid, text)


# --- incremental reads and the worker processes ---------------------------------------------------

def test_an_event_moved_out_of_the_window_loses_its_occurrences_and_back(tmp_path):
    inside = event("mover", "20251001T100000", "20251001T110000")
    outside = event("mover", "20200101T100000", "20200101T110000")
    config, path, _ = setup(tmp_path, inside, event("stay", "20251002T100000", "20251002T110000"))
    assert people_json(config, NOW)["ann@acme.example"]["meetings"] == 2
    path.write_bytes(path.read_bytes().replace(inside.encode(), outside.encode()))
    assert people_json(config, NOW)["ann@acme.example"]["meetings"] == 1
    path.write_bytes(path.read_bytes().replace(outside.encode(), inside.encode()))
    assert people_json(config, NOW)["ann@acme.example"]["meetings"] == 2


def test_a_skipped_group_is_remembered_and_parsed_once_it_changes(tmp_path):
    old = event("old-series", "20150105T100000", "20150105T103000",
                extra="RRULE:FREQ=WEEKLY;UNTIL=20160101T000000Z")
    config, path, _ = setup(tmp_path, old, event("now", "20251001T100000", "20251001T110000"))
    keys, state = connector_keys(config)
    assert "old-series" in state["uids"] and "old-series" not in keys
    # The series is extended into the window: only it is parsed again, and now it counts.
    path.write_bytes(path.read_bytes().replace(b"UNTIL=20160101T000000Z", b"UNTIL=20251231T000000Z"))
    config_obj = load_config(config)
    changes, _ = open_connector(config_obj, config_obj.sources[0],
                                datetime.fromisoformat(NOW)).fetch_changes(state)
    assert not changes.full and list(changes.upserts) == ["old-series"]
    assert len(changes.upserts["old-series"]) > 40


def many_events(count: int) -> list[str]:
    """`count` singles and series spread over six years, some malformed."""
    result = []
    for n in range(count):
        day = datetime(2021, 1, 4, 9) + timedelta(days=(n * 7) % 2000, minutes=(n % 16) * 30)
        extra = "RRULE:FREQ=WEEKLY;UNTIL=20251231T000000Z" if n % 9 == 0 else ""
        zone = ZONES[n % len(ZONES)]
        result.append(event(f"e{n}", f"{day:%Y%m%dT%H%M%S}",
                            f"{day + timedelta(minutes=45):%Y%m%dT%H%M%S}", zone=zone, extra=extra,
                            summary=f"Meeting {n}"))
    result[5] = event("broken", "20251001T100000", "20251001T110000", extra="RRULE:FREQ=SOMETIMES")
    return result


READ_SCRIPT = """
import json, sys
from datetime import datetime
from pathlib import Path
import connectors.ics.connector as ics
from agent.configuration.loader import load_config
from agent.sources import open_connector
ics.PARALLEL_MIN_GROUPS, ics.CHUNK_GROUPS = int(sys.argv[2]), 50
if sys.argv[4:] == ["no-fork"]:  # the machine refuses new processes
    import errno, os
    def refuse():
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
    os.fork = refuse
config = load_config(Path(sys.argv[1]))
connector = open_connector(config, config.sources[0], datetime.fromisoformat(sys.argv[3]))
changes, state = connector.fetch_changes({})
print(json.dumps({
    "workers": ics._worker_count(10**6),
    "skipped": changes.skipped,
    "state": state,
    "occurrences": sorted(
        [o.key, o.start.isoformat(), o.end.isoformat(), o.title, o.series_id,
         [list(a.__dict__.values()) for a in o.attendees]]
        for occs in changes.upserts.values() for o in occs),
}))
"""


def read_in_a_fresh_process(config: Path, threshold: int, *extra: str) -> dict:
    """The connector's first read in a new single-threaded process (workers from `threshold` groups)."""
    done = subprocess.run([sys.executable, "-c", READ_SCRIPT, str(config), str(threshold), NOW, *extra],
                          capture_output=True, text=True, check=True, cwd=REPO)
    return {**json.loads(done.stdout), "stderr": done.stderr}


def test_worker_processes_read_exactly_what_one_process_reads_or_fall_back_to_it(tmp_path):
    config, path, text = setup(tmp_path, *many_events(600))
    one_process = read_in_a_fresh_process(config, 10**9)
    workers = read_in_a_fresh_process(config, 1)
    assert one_process.pop("stderr") == workers.pop("stderr") == ""
    assert workers["workers"] == min(2, len(os.sched_getaffinity(0)))
    assert one_process == {**workers, "workers": one_process["workers"]}
    refused = read_in_a_fresh_process(config, 1, "no-fork")
    assert "worker processes failed" in refused.pop("stderr")
    assert refused == {**workers, "workers": refused["workers"]}
    assert len(workers["skipped"]) == 1 and "UID broken" in workers["skipped"][0]
    naive = naive_keys(text, *window(config))
    assert sorted(o[0] for o in workers["occurrences"]) == sorted(k for ks in naive.values() for k in ks)


def test_a_chunk_that_does_not_parse_is_read_group_by_group(tmp_path, monkeypatch):
    # A VALARM left open swallows the events after it when parsed together.
    open_alarm = ("BEGIN:VEVENT\r\nUID:open-alarm\r\nDTSTART:20251001T100000Z\r\nSUMMARY:Open\r\n"
                  "BEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VEVENT\r\n")
    good = [event("a", "20251001T100000", "20251001T110000"),
            event("b", "20251002T100000", "20251002T110000")]
    config, path, text = setup(tmp_path, good[0], open_alarm, good[1])
    parsed = ics.split_calendar(path, path.read_bytes())
    assert _parse_together(parsed.timezones, list(parsed.groups.items())) is None
    keys, _ = connector_keys(config)
    alone = {}
    for item in good:
        alone.update(naive_keys(calendar(item), *window(config)))
    assert {uid: keys[uid] for uid in ("a", "b")} == alone


def test_figures_equal_after_sync_with_and_without_workers(tmp_path):
    figures = []
    for name, threshold in (("workers", 1), ("one", 10**9)):
        (tmp_path / name).mkdir()
        config, _, _ = setup(tmp_path / name, *many_events(300))
        code = (f"import sys, connectors.ics.connector as ics; ics.PARALLEL_MIN_GROUPS = {threshold}; "
                "from agent.cli import main; sys.exit(main())")
        base = [sys.executable, "-c", code, "--config", str(config), "--now", NOW]
        subprocess.run(base + ["sync"], check=True, capture_output=True, cwd=REPO)
        figures.append(subprocess.run(base + ["people", "--json"], check=True, capture_output=True,
                                      text=True, cwd=REPO).stdout)
        assert run_cli(config, "sync", now=NOW).output.strip() == "work: unchanged"
    assert figures[0] == figures[1] and json.loads(figures[0])
