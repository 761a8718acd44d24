"""agent/storage/notices.py: a source's notice is to be told once per store; one no longer true is
dropped (and told again should it come back)."""
from __future__ import annotations

from datetime import UTC, datetime

from agent.storage import notices
from agent.storage.store import Store

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def test_a_notice_is_new_once_and_dropped_when_no_longer_true(tmp_path):
    store = Store(tmp_path / "store.db")
    assert notices.settle(store, "office", ["plain cache"], NOW) == ["plain cache"]
    assert notices.settle(store, "office", ["plain cache"], NOW) == []
    assert notices.settle(store, "other", ["plain cache"], NOW) == ["plain cache"]  # per source
    assert notices.of_source(store, "office") == ["plain cache"]
    assert notices.settle(store, "office", [], NOW) == [] and notices.of_source(store, "office") == []
    assert notices.settle(store, "office", ["plain cache"], NOW) == ["plain cache"]
    reopened = Store(tmp_path / "store.db")
    assert notices.settle(reopened, "office", ["plain cache"], NOW) == []
