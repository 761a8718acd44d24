"""The owner of the `people` table: what the rest of the program asks of it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.storage import people_records
from agent.storage.store import Store

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_ratings_pause_let_go_and_resume_are_one_record(tmp_path):
    store = Store(tmp_path / "s.db")
    assert people_records.record_of(store, "a@x.org") is None
    assert not people_records.is_known(store, "a@x.org")
    row = people_records.save_rating(store, "a@x.org", {"vital": 4, "motivators": "craft"}, NOW)
    assert (row["vital"], row["rated_at"]) == (4, "2026-03-02T09:00:00+00:00")
    people_records.pause(store, "a@x.org", NOW + timedelta(days=3), "busy")
    people_records.let_go(store, "a@x.org", NOW)
    record = people_records.record_of(store, "a@x.org")
    assert record is not None
    assert (record["vital"], record["paused_reason"], record["let_go_at"]) == (4, "busy", "2026-03-02T09:00:00+00:00")
    assert people_records.motives(store, "a@x.org") == ("craft", "")
    people_records.resume(store, "a@x.org")
    assert people_records.all_records(store)["a@x.org"]["let_go_at"] is None
    assert people_records.is_known(store, "a@x.org")


def test_forget_and_export(tmp_path):
    store = Store(tmp_path / "s.db")
    for address in ("a@x.org", "b@x.org"):
        people_records.save_rating(store, address, {"trust": 3}, NOW)
    assert people_records.motives(store, "nobody@x.org") == ("", "")
    assert people_records.forget(store, "a@x.org") == 1
    assert [row["email"] for row in people_records.export(store)] == ["b@x.org"]
