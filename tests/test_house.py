"""House rules: every table is read and written through one owner module in agent/storage/.

No module outside agent/storage/ holds SQL or reaches the store's connection or tables
directly; each table has exactly one owner there; `touchbase forget` asks the owner of every
table that can name a person.
"""
from __future__ import annotations

import re
from pathlib import Path

from agent import privacy
from agent.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "agent" / "storage"

SQL = re.compile(r"\bSELECT\b[^\n]*?\bFROM\b|\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
                 r"|\bDELETE\s+FROM\b|\b(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX)\b|\bPRAGMA\b")
STORE_ACCESS = re.compile(r"\.table\(|\bstore\.db\b|\bstore\.conn\b|\.db\.conn\b|\.table_names\("
                          r"|\bconn\.execute|\.execute(?:many|script)?\(\s*f?[\"']")
"""sqlite-utils tables, the store's connection, and any `.execute(...)` given SQL text (the
Google client's `.execute(num_retries=0)` is an HTTP request, not SQL)."""

NOT_FORGOTTEN: set[str] = set()
"""Tables with an `email` column that `forget` may leave: none."""


def outside_storage() -> list[Path]:
    """Every Python file of the program outside agent/storage/."""
    files = [*sorted((ROOT / "agent").rglob("*.py")), *sorted((ROOT / "connectors").rglob("*.py"))]
    return [path for path in files if STORAGE not in path.parents]


def offences(pattern: re.Pattern, path: Path) -> list[str]:
    """`file:line: match` for every match of `pattern` in the file at `path`."""
    return scan(pattern, path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def scan(pattern: re.Pattern, text: str, name: str) -> list[str]:
    """`name:line: match` for every match of `pattern` in `text`."""
    return [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}" for m in pattern.finditer(text)]


def tables(tmp_path: Path) -> dict[str, set[str]]:
    """Every table of a freshly migrated store, with its columns."""
    store = Store(tmp_path / "house.db")
    names = [name for (name,) in store.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'")]
    return {name: {row[1] for row in store.conn.execute(f"PRAGMA table_info({name})")} for name in names}


def owners_of(table: str) -> list[str]:
    """The storage modules (migrations aside) holding SQL of `table` or opening it."""
    uses = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN)\s+{table}\b|table\(\"{table}\"\)")
    return [path.name for path in sorted(STORAGE.glob("*.py"))
            if path.name != "store.py" and uses.search(path.read_text(encoding="utf-8"))]


def test_no_sql_outside_storage():
    found = [line for path in outside_storage() for line in offences(SQL, path)]
    assert found == [], "SQL belongs in the table's owner in agent/storage/"


def test_no_direct_table_or_connection_access_outside_storage():
    found = [line for path in outside_storage() for line in offences(STORE_ACCESS, path)]
    assert found == [], "ask the table's owner in agent/storage/ for what you mean"


def test_the_scan_finds_what_it_forbids():
    sample = ('rows = store.db.conn.execute("SELECT email FROM people")\n'
              'store.table("notes").insert({})\nconn.execute(f"DELETE FROM notes")\n'
              'db.execute("UPDATE jobs SET failures = 0")\n'
              'events.list(**query).execute(num_retries=0)\nself.conn.uid("SEARCH", "UID 1:*")\n')
    assert [line.split(":")[1] for line in scan(SQL, sample, "s")] == ["1", "3", "4"]
    assert [line.split(":")[1] for line in scan(STORE_ACCESS, sample, "s")] == ["1", "1", "2", "3", "4"]


def test_every_table_has_exactly_one_owner_module(tmp_path):
    found = {table: owners_of(table) for table in tables(tmp_path)}
    wrong = {table: modules for table, modules in found.items() if len(modules) != 1}
    assert wrong == {}, "each table is read and written through one module in agent/storage/"


def test_the_architecture_page_names_every_table_with_its_owner(tmp_path):
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.strip().startswith("| `")]
    missing = [table for table in tables(tmp_path)
               if not any(f"`{table}`" in row and all(f"`storage/{owner}`" in row for owner in owners_of(table))
                          for row in rows)]
    assert missing == [], "docs/architecture.md: add the table and its owner to the storage table"


def test_forget_asks_the_owner_of_every_table_that_names_a_person(tmp_path):
    asked = {forget_in.__module__.rpartition(".")[2] + ".py" for _, forget_in in privacy._FORGETTING}
    naming = {table for table, columns in tables(tmp_path).items() if "email" in columns} - NOT_FORGOTTEN
    assert {table: owners_of(table) for table in naming if not set(owners_of(table)) & asked} == {}
    assert {"occurrences.py", "mail_queue.py"} <= asked  # name people in attendees and raw mail
