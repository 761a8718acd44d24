"""Damaged calendars never cost a traceback, a hang, or an untouched colleague's meeting.

A small hypothesis run of the mutations in tests/ics_mutations.py (truncations, byte flips,
removed or duplicated lines, case changes); bench/ics_fuzz.py runs 1,000 seeded cases.
Each damaged calendar is synced twice: over the store synced from the intact calendar (the
incremental path: only changed events are parsed, a refused file keeps the previous state) and
into a fresh store (everything parsed).
"""
from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ics_mutations import KINDS, Bench, mutate

HANG_SECONDS = 60
"""Not a speed goal (that is bench/ics_fuzz.py's): only what turns a hang into a failure."""

OPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 10_000), st.integers(0, 10_000),
                         st.integers(0, 10_000)), min_size=1, max_size=3)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    return Bench(tmp_path_factory.mktemp("fuzz"))


@contextmanager
def no_hang() -> Iterator[None]:
    def hung(signum: int, frame: object) -> None:
        raise AssertionError(f"reading the damaged calendar took more than {HANG_SECONDS} s")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=OPS, fresh=st.booleans())
def test_damage_costs_only_the_events_it_touched(bench, ops, fresh):
    mutated = mutate(ops)
    with no_hang():
        case = bench.read(mutated, fresh=fresh)
    assert "Traceback" not in case.output and "unexpected error" not in case.output, case.output
    assert not case.lost, (mutated.what, case.lost, case.output)


def test_a_cut_or_refused_calendar_keeps_every_figure(bench):
    case = bench.read(mutate([("truncate", 40, 5, 0)]), fresh=False)
    assert not case.synced and "does not end with END:VCALENDAR" in case.output
    assert not case.lost
