"""The kept per-colleague figures are exactly what computing them again gives.

agent.figures_memo keeps `compute_stats` of the store as of the sync's `now`; a command reads
them back only while they are exact. Here, on a synced heavy calendar: at many later (and
earlier) instants, some crossing meeting starts and the window's edges, the kept figures equal
a fresh computation; a write to the occurrences (any writer: a trigger raises the version) or a
change of the counting rules means a fresh computation; and the sync leaves figures that the
next command reads without computing.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent import figures_memo
from agent.colleague_figures import colleague_stats
from agent.configuration.loader import load_config
from agent.inference import compute_stats, sync_window
from agent.storage import figures_cache
from agent.storage.store import Store
from agent.sync import sync_all
from tests.helpers import heavy_calendar, write_config

NOW = datetime.fromisoformat("2026-03-02T08:00:00+01:00")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("memo")
    ics = heavy_calendar(folder / "heavy.ics", NOW.isoformat(), years=1, colleagues=200, density=0.4)
    config = load_config(write_config(folder, [ics], mode=None))
    store = Store(config.store_path)
    sync_all(config, store, NOW)
    yield config, store
    store.close()


def fresh(config, store, now):
    start, end = sync_window(config, now)
    return compute_stats(config, store.occurrences(start, end), now)


def test_the_sync_leaves_figures_the_next_command_reads(synced, monkeypatch):
    config, store = synced  # synced at NOW: the sync kept the figures
    monkeypatch.setattr(figures_memo, "compute_stats", _must_not_compute)
    assert figures_memo.stored_stats(config, store, NOW) == fresh(config, store, NOW)


def _must_not_compute(*args: object) -> dict:
    raise AssertionError("computed again although the kept figures were exact")


MINUTES = st.integers(-3 * 24 * 60, 40 * 24 * 60)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(MINUTES, min_size=1, max_size=6))
def test_kept_figures_equal_a_fresh_computation_at_any_later_or_earlier_time(synced, steps):
    config, store = synced
    figures_memo.refresh(config, store, NOW)
    for minutes in steps:
        now = NOW + timedelta(minutes=minutes)
        assert figures_memo.stored_stats(config, store, now) == fresh(config, store, now), now


def test_a_meeting_starting_between_two_reads_is_seen(synced):
    config, store = synced
    starts = [o.start for o in store.occurrences(NOW, NOW + timedelta(days=14)) if not o.all_day]
    first = starts[0]
    figures_memo.refresh(config, store, first - timedelta(minutes=1))
    for now in (first - timedelta(seconds=1), first, first + timedelta(seconds=1),
                first + timedelta(days=1)):
        assert figures_memo.stored_stats(config, store, now) == fresh(config, store, now)


def test_any_write_to_the_occurrences_means_computing_again(synced):
    config, store = synced
    figures_memo.refresh(config, store, NOW)
    before = figures_cache.version(store)
    store.conn.execute("UPDATE occurrences SET cancelled = 1 WHERE rowid = "
                       "(SELECT rowid FROM occurrences WHERE start < ? ORDER BY start DESC LIMIT 1)",
                       (NOW.isoformat(),))
    assert figures_cache.version(store) > before
    assert figures_cache.load(store, figures_memo._fingerprint(config)) is None
    assert store.conn.execute("SELECT count(*) FROM figures_cache").fetchone()[0] == 0  # no copy left
    assert colleague_stats(config, store, NOW) is not None
    assert figures_memo.stored_stats(config, store, NOW) == fresh(config, store, NOW)
    store.conn.execute("UPDATE occurrences SET cancelled = 0")


def test_other_counting_rules_mean_computing_again(synced):
    config, store = synced
    figures_memo.refresh(config, store, NOW)
    narrower = replace(config, colleagues=replace(config.colleagues, window_days=30))
    assert figures_cache.load(store, figures_memo._fingerprint(narrower)) is None
    assert figures_memo.stored_stats(narrower, store, NOW) == fresh(narrower, store, NOW)
    assert fresh(narrower, store, NOW) != fresh(config, store, NOW)
