"""The SQLite store: migrations on an old store, a newer or damaged store, atomic sync batches."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from agent.errors import StoreError
from agent.model import Attendee, Changes, Occurrence
from agent.storage.store import Store, migrations
from tests.helpers import run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-02T12:00:00+01:00"
UTC = UTC


def occurrence(resource: str, day: int, title: str = "Alice / me", **fields: object) -> Occurrence:
    """A 30-minute occurrence on an October day, with Alice."""
    start = datetime(2026, 10, day, 8, 0, tzinfo=UTC)
    values: dict = dict(
        resource=resource, key=f"{resource}|{start.isoformat()}", title=title, start=start,
        end=start.replace(minute=30), organizer="me@acme.example",
        attendees=(Attendee("alice@acme.example", "Alice", "accepted"),),
    )
    values.update(fields)
    return Occurrence(**values)


def all_names(store: Store) -> list[str]:
    return [m.name for m in migrations.applied(store.db)]


def store_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "touchbase.db"


# --- migrations on an old store -----------------------------------------------------------


def old_store(path: Path) -> None:
    """A store as the first release wrote it: only m001 applied, with some data in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m002_agent")
    assert [m.name for m in migrations.applied(db)] == ["m001_initial"]
    db["occurrences"].insert({
        "source": "work", "resource": "uid-1", "key": "uid-1|2026-10-05T08:00:00+00:00",
        "title": "Alice / me", "start": "2026-10-05T08:00:00+00:00",
        "end": "2026-10-05T08:30:00+00:00", "organizer": "me@acme.example",
        "attendees": json.dumps([["alice@acme.example", "Alice", "accepted", "person", 0]]),
    })
    db["sources"].insert({"name": "work", "type": "ics", "state": json.dumps({"digest": "x"}),
                          "last_success": "2026-10-06T08:00:00+00:00", "occurrences": 1})
    db["people"].insert({"email": "alice@acme.example", "name": "Alice", "vital": 5})
    db["notes"].insert({"email": "alice@acme.example", "created": "2026-10-05T09:00:00+00:00",
                        "text": "Ask about the launch"})
    db.conn.close()


def test_an_old_store_is_migrated_and_keeps_its_data(tmp_path):
    path = store_path(tmp_path)
    old_store(path)
    store = Store(path)
    try:
        assert all_names(store) == migrations.names
        assert {"own_series", "followups", "digests", "jobs", "actions", "outgoing"} <= set(
            store.db.table_names())
        [occ] = list(store.occurrences())
        assert (occ.resource, occ.title, occ.source) == ("uid-1", "Alice / me", "work")
        assert occ.start == datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
        assert occ.attendees == (Attendee("alice@acme.example", "Alice", "accepted", "person"),)
        assert store.source_state("work") == {"digest": "x"}
        assert store.db["people"].get("alice@acme.example")["vital"] == 5
        assert [n["text"] for n in store.db["notes"].rows] == ["Ask about the launch"]
    finally:
        store.close()


def test_a_migrated_store_serves_the_cli(tmp_path):
    config = write_config(tmp_path)
    old_store(store_path(tmp_path))
    result = run_cli(config, "people", "--json", now=NOW)
    assert result.exit_code == 0, result.output
    [alice] = json.loads(result.output)
    assert (alice["email"], alice["meetings"], alice["one_on_ones"]) == ("alice@acme.example", 1, 1)
    assert alice["last_met"] == "2026-10-05T10:00:00+02:00"


def test_opening_twice_applies_nothing_new(tmp_path):
    path = store_path(tmp_path)
    Store(path).close()
    store = Store(path)
    try:
        names = all_names(store)
        assert len(names) == len(set(names))
    finally:
        store.close()


# --- a newer or damaged store -------------------------------------------------------------


def newer_store(path: Path) -> None:
    Store(path).close()
    db = sqlite_utils.Database(path)
    db["_sqlite_migrations"].insert({"migration_set": "touchbase", "name": "m999_from_the_future",
                                     "applied_at": "2030-01-01 00:00:00+00:00"})
    db.conn.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    path = store_path(tmp_path)
    newer_store(path)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(caught.value) == (f"{path}: this store was written by a newer touchbase (schema "
                                 "m999_from_the_future); upgrade touchbase to use it")


@pytest.mark.parametrize("command", [("people", "--json"), ("status",), ("sync",)])
def test_a_newer_store_is_one_line_on_the_cli(tmp_path, command):
    config = write_config(tmp_path, [FIXTURES / "rule_exclude.ics"])
    path = store_path(tmp_path)
    newer_store(path)
    before = path.read_bytes()
    result = run_cli(config, *command, now=NOW)
    assert result.exit_code == 1
    assert result.output == (f"touchbase: error: {path}: this store was written by a newer "
                             "touchbase (schema m999_from_the_future); upgrade touchbase to use it\n")
    assert path.read_bytes() == before


def test_other_migration_sets_in_the_same_file_are_not_newer_touchbase(tmp_path):
    path = store_path(tmp_path)
    Store(path).close()
    db = sqlite_utils.Database(path)
    db["_sqlite_migrations"].insert({"migration_set": "someone-else", "name": "m999_other",
                                     "applied_at": "2030-01-01 00:00:00+00:00"})
    db.conn.close()
    store = Store(path)  # opens: the newer migration belongs to another set
    try:
        assert all_names(store) == migrations.names
        foreign = store.db.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'someone-else'")
        assert foreign.fetchall() == [("m999_other",)]
    finally:
        store.close()


@pytest.mark.parametrize("content", [
    b"This is not a database at all.\n" * 200,
    b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 500,
    b"hello\n",
])
def test_a_file_that_is_not_a_store_is_one_clear_error(tmp_path, content):
    config = write_config(tmp_path)
    path = store_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    result = run_cli(config, "status", now=NOW)
    assert result.exit_code == 1
    assert result.output.startswith(f"touchbase: error: {path}: ")
    assert "not a touchbase store or the file is damaged" in result.output
    assert len(result.output.splitlines()) == 1


def test_damage_inside_the_data_is_one_clear_error(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_max_attendees_boundary.ics"])
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    path = store_path(tmp_path)
    pristine = path.read_bytes()
    page = 4096
    for number in range(1, len(pristine) // page):
        damaged = bytearray(pristine)
        damaged[number * page + 8:(number + 1) * page] = b"\xff" * (page - 8)
        path.write_bytes(bytes(damaged))
        for command in (("people", "--json"), ("status",), ("sync",)):
            result = run_cli_caught(config, *command)
            if result.exit_code == 0:
                continue  # that page did not matter to this command
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                number, command, result.exception)
            last = result.output.splitlines()[-1]
            assert last.startswith(f"touchbase: error: {path}: "), (number, command, last)
            assert "Traceback" not in result.output
    path.write_bytes(pristine)


def run_cli_caught(config: Path, *args: str):
    """Like run_cli, but an escaping exception is returned in the result, not raised."""
    from click.testing import CliRunner

    from agent.cli import main

    return CliRunner().invoke(main, ["--config", str(config), "--now", NOW, *args])


def test_a_directory_where_the_store_should_be(tmp_path):
    config = write_config(tmp_path)
    store_path(tmp_path).mkdir(parents=True)
    result = run_cli(config, "status", now=NOW)
    assert result.exit_code == 1
    assert result.output.startswith(f"touchbase: error: {store_path(tmp_path)}: ")


# --- one sync batch, one transaction ------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    opened = Store(store_path(tmp_path))
    opened.apply_changes("work", Changes(full=True, upserts={
        "a": [occurrence("a", 5), occurrence("a", 12)],
        "b": [occurrence("b", 6, title="Bob / me")],
    }))
    yield opened
    opened.close()


def snapshot(store: Store) -> list[tuple]:
    return [(o.source, o.resource, o.key, o.title) for o in store.occurrences()]


def test_a_batch_replaces_the_occurrences_of_its_resources(store):
    store.apply_changes("work", Changes(upserts={"a": [occurrence("a", 19, title="moved")]},
                                        removed=["b"]))
    assert snapshot(store) == [("work", "a", "a|2026-10-19T08:00:00+00:00", "moved")]


def test_a_full_batch_forgets_what_it_does_not_carry(store):
    store.apply_changes("work", Changes(full=True, upserts={"c": [occurrence("c", 7)]}))
    assert [r for _, r, _, _ in snapshot(store)] == ["c"]


def test_batches_of_other_sources_are_left_alone(store):
    store.apply_changes("other", Changes(full=True, upserts={"z": [occurrence("z", 8)]}))
    store.apply_changes("other", Changes(full=True))
    assert [r for _, r, _, _ in snapshot(store)] == ["a", "b", "a"]


@pytest.mark.parametrize(("bad", "error"), [
    ({"key": None}, sqlite3.IntegrityError),  # NOT NULL without a default: the database refuses the row
    ({"title": ["not", "text"]}, sqlite3.ProgrammingError),  # a value SQLite cannot store
    ({"start": "2026-10-20 not a datetime"}, AttributeError),  # the row cannot even be built
    ({"attendees": (object(),)}, AttributeError),  # nor serialised
])
def test_a_failing_batch_writes_nothing(store, bad, error):
    before = snapshot(store)
    broken = dataclasses.replace(occurrence("c", 21), **bad)
    batch = Changes(
        upserts={"a": [occurrence("a", 19, title="changed")], "c": [broken],
                 "d": [occurrence("d", 22)]},
        removed=["b"],
    )
    with pytest.raises(error):
        store.apply_changes("work", batch)
    assert snapshot(store) == before
    store.apply_changes("work", Changes(upserts={"d": [occurrence("d", 22)]}))
    assert len(snapshot(store)) == len(before) + 1  # the store still works afterwards


def test_a_failing_full_batch_keeps_everything(store):
    before = snapshot(store)
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: occurrences.key"):
        store.apply_changes("work", Changes(full=True, upserts={
            "x": [occurrence("x", 9)], "y": [occurrence("y", 10, key=None)]}))
    assert snapshot(store) == before


def test_the_batch_is_visible_to_another_connection_only_when_done(store):
    other = sqlite_utils.Database(store.path)
    try:
        count = other.execute("SELECT count(*) FROM occurrences").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL constraint failed: occurrences.key"):
            store.apply_changes("work", Changes(full=True, upserts={
                "x": [occurrence("x", 9)], "y": [occurrence("y", 10, key=None)]}))
        assert other.execute("SELECT count(*) FROM occurrences").fetchone()[0] == count
    finally:
        other.conn.close()
