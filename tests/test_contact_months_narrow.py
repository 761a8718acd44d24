"""Contact by month for a few colleagues reads only the occurrences naming them, with the same
result as reading every occurrence.

`agent.contact_months` counts held meetings per month; for up to NARROW_MAX colleagues (the
morning email's ten, `person`'s one) it asks the store only for the first copies naming one of
them or an alias of theirs (`occurrences.first_copies_naming`). Here the narrow and the full
reading are compared on a heavy calendar synced from two sources holding the same events (every
key twice: the first copy counts) and with an alias, for random sets of colleagues.
"""
from __future__ import annotations

import random
import shutil
from datetime import datetime

import pytest

from agent import contact_months as cm
from agent.configuration.loader import load_config
from agent.storage.store import Store
from agent.sync import sync_all
from tests.helpers import heavy_calendar, write_config

NOW = datetime.fromisoformat("2026-03-02T08:00:00+01:00")


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("months")
    first = heavy_calendar(folder / "a.ics", NOW.isoformat(), years=1.2, colleagues=120, density=0.3)
    second = folder / "b.ics"
    shutil.copy(first, second)
    plain = load_config(write_config(folder, [first, second], mode=None))
    store = Store(plain.store_path)
    sync_all(plain, store, NOW)
    people = sorted(r[0] for r in store.conn.execute("SELECT DISTINCT organizer FROM occurrences"))
    alias = next(p for p in people if p.endswith("@acme.example") and p != "me@acme.example")
    config = load_config(write_config(  # the same store; aliases change only the counting
        folder, [first, second], mode=None,
        colleague_keys=f'aliases = {{ "{alias}" = "someone.else@acme.example" }}'))
    yield config, store, people
    store.close()


@pytest.mark.parametrize("seed", range(6))
def test_a_few_colleagues_read_narrowly_equal_reading_everything(synced, seed, monkeypatch):
    config, store, people = synced
    rng = random.Random(seed)
    wanted = rng.sample(people, rng.randint(1, 10)) + ["someone.else@acme.example"]
    narrow = {e: m.as_dict() for e, m in cm.contact_months(config, store, wanted, NOW).items()}
    monkeypatch.setattr(cm, "NARROW_MAX", 0)
    full = {e: m.as_dict() for e, m in cm.contact_months(config, store, wanted, NOW).items()}
    assert narrow == full
    assert any(sum(m["meetings"]) for m in full.values())
