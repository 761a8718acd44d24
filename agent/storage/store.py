"""The local SQLite store: schema as numbered migrations, every sync batch in one transaction."""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import StoreError
from agent.model import Changes, Occurrence
from agent.storage.failures import store_error
from agent.storage.private_files import private_folder, tighten

if TYPE_CHECKING:
    import sqlite_utils
    import sqlite_utils.db
    from sqlite_utils.migrations import Migrations


def load_sqlite_utils() -> Any:
    """Import sqlite-utils without the numpy and pandas it loads whenever they are installed.

    sqlite-utils uses them only to map numpy / pandas values to SQLite types; the store never
    holds such values, and a long-running daemon need not carry the ~15 MB (numpy) or more
    (pandas) for them. Both stay importable for anything else that asks later.
    """
    import sys

    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    blocked = [name for name in ("numpy", "pandas") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            del sys.modules[name]
    return sqlite_utils


class _LazyMigrations:
    """sqlite-utils Migrations, built on first use: importing sqlite-utils (and numpy, which it
    loads when installed) costs a short command such as an unchanged `sync` most of its time,
    while a store whose migrations are all applied needs none of it (see `_schema_is_current`).
    Used exactly like Migrations: `@migrations()` on each migration function."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps: list[tuple[str | None, bool, Any]] = []
        self._real: Migrations | None = None

    def __call__(self, *, name: str | None = None, transactional: bool = True) -> Any:
        def register(fn: Any) -> Any:
            self.steps.append((name, transactional, fn))
            self._real = None
            return fn
        return register

    @property
    def names(self) -> list[str]:
        """The names of every registered migration, in order."""
        return [name or fn.__name__ for name, _, fn in self.steps]

    def real(self) -> Migrations:
        """The sqlite-utils Migrations holding every registered migration."""
        if self._real is None:
            load_sqlite_utils()
            from sqlite_utils.migrations import Migrations

            real = Migrations(self.name)
            for name, transactional, fn in self.steps:
                real(name=name, transactional=transactional)(fn)
            self._real = real
        return self._real

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.real(), attribute)


migrations = _LazyMigrations("touchbase")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    """Occurrences, sources, people, notes."""
    db.execute("""CREATE TABLE occurrences (
        source TEXT NOT NULL, resource TEXT NOT NULL, key TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '', start TEXT NOT NULL, "end" TEXT NOT NULL,
        all_day INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,
        organizer TEXT NOT NULL DEFAULT '', organizer_name TEXT NOT NULL DEFAULT '',
        attendees TEXT NOT NULL DEFAULT '[]', series_id TEXT NOT NULL DEFAULT '',
        tag TEXT NOT NULL DEFAULT '', calendar TEXT NOT NULL DEFAULT '',
        user_response TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (source, key))""")
    db.execute("CREATE INDEX occurrences_resource ON occurrences (source, resource)")
    db.execute("CREATE INDEX occurrences_start ON occurrences (start)")
    db.execute("""CREATE TABLE sources (
        name TEXT PRIMARY KEY, type TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '{}',
        last_success TEXT, last_error TEXT, last_error_at TEXT, needs_reauth TEXT,
        occurrences INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""CREATE TABLE people (
        email TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
        vital INTEGER, quality INTEGER, trust INTEGER, role TEXT NOT NULL DEFAULT 'neutral',
        cadence_days INTEGER, motivators TEXT NOT NULL DEFAULT '',
        demotivators TEXT NOT NULL DEFAULT '', rated_at TEXT,
        paused_until TEXT, paused_reason TEXT NOT NULL DEFAULT '',
        let_go_at TEXT)""")
    db.execute("""CREATE TABLE notes (
        id INTEGER PRIMARY KEY, email TEXT NOT NULL, created TEXT NOT NULL, text TEXT NOT NULL)""")
    db.execute("CREATE INDEX notes_email ON notes (email)")


@migrations()
def m002_agent(db: sqlite_utils.Database) -> None:
    """Touchbases, follow-ups, digests, jobs, actions, queued mail."""
    db.execute("""CREATE TABLE touchbases (
        series_id TEXT PRIMARY KEY, email TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
        event_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, created_at TEXT NOT NULL,
        ended_at TEXT, declines INTEGER NOT NULL DEFAULT 0, start TEXT, rrule TEXT,
        title TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX touchbases_email ON touchbases (email)")
    db.execute("""CREATE TABLE followups (
        key TEXT PRIMARY KEY, email TEXT NOT NULL, created_at TEXT NOT NULL,
        meeting_start TEXT, title TEXT NOT NULL DEFAULT '', location TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'followup')""")
    db.execute("""CREATE TABLE digests (
        day TEXT PRIMARY KEY, sent_at TEXT NOT NULL, transport TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'sent')""")
    db.execute("""CREATE TABLE jobs (
        name TEXT PRIMARY KEY, last_success TEXT, last_error TEXT, last_error_at TEXT,
        failures INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""CREATE TABLE actions (
        id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,
        email TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')""")
    db.execute("CREATE INDEX actions_at ON actions (at)")
    db.execute("""CREATE TABLE outgoing (
        id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, kind TEXT NOT NULL,
        transport TEXT NOT NULL, raw BLOB NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, sent_at TEXT)""")


@migrations()
def m003_forgotten(db: sqlite_utils.Database) -> None:
    """Hashes of forgotten addresses, so a later sync does not bring them back."""
    db.execute("CREATE TABLE forgotten (digest TEXT PRIMARY KEY, at TEXT NOT NULL)")


@migrations()
def m004_own_blocks(db: sqlite_utils.Database) -> None:
    """The agent's blocks of the user's own time (the weekly Reconnect hour): not touchbases."""
    db.execute("""CREATE TABLE own_blocks (
        series_id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
        event_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, created_at TEXT NOT NULL,
        ended_at TEXT, start TEXT, rrule TEXT, title TEXT NOT NULL DEFAULT '')""")


@migrations()
def m005_interactions(db: sqlite_utils.Database) -> None:
    """Contact the user logged outside the calendar (`touchbase log`): never a calendar meeting."""
    db.execute("""CREATE TABLE interactions (
        id INTEGER PRIMARY KEY, email TEXT NOT NULL, at TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'other', note TEXT NOT NULL DEFAULT '', created TEXT NOT NULL)""")
    db.execute("CREATE INDEX interactions_email ON interactions (email, at)")


@migrations()
def m006_instance_moves(db: sqlite_utils.Database) -> None:
    """Single instances of touchbase series the agent moved or cancelled (healing)."""
    db.execute("""CREATE TABLE instance_moves (
        key TEXT PRIMARY KEY, series_id TEXT NOT NULL, email TEXT NOT NULL,
        original_start TEXT NOT NULL, new_start TEXT, state TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, moves INTEGER NOT NULL DEFAULT 1)""")
    db.execute("CREATE INDEX instance_moves_series ON instance_moves (series_id)")
    db.execute("CREATE TABLE busy_checks (series_id TEXT PRIMARY KEY, day TEXT NOT NULL)")


@migrations()
def m007_occurrence_show_as(db: sqlite_utils.Database) -> None:
    """Whether an occurrence shows as free (transparent), and the zone its start was written in."""
    db.execute("ALTER TABLE occurrences ADD COLUMN transparent INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE occurrences ADD COLUMN zone TEXT NOT NULL DEFAULT ''")


@migrations()
def m008_own_series(db: sqlite_utils.Database) -> None:
    """One table for the agent's own series: touchbases and the Reconnect hour, told apart by kind.

    `touchbases` becomes `own_series` (its rows of kind `touchbase`); the rows of `own_blocks`
    move in as kind `reconnect_block`, with their ids, states and times as they were.
    """
    db.execute("ALTER TABLE touchbases RENAME TO own_series")
    db.execute("ALTER TABLE own_series ADD COLUMN kind TEXT NOT NULL DEFAULT 'touchbase'")
    db.execute("DROP INDEX IF EXISTS touchbases_email")
    db.execute("CREATE INDEX own_series_email ON own_series (email)")
    db.execute("CREATE INDEX own_series_kind ON own_series (kind, created_at)")
    db.execute("""INSERT INTO own_series (series_id, kind, email, target, event_id, state, created_at,
        ended_at, declines, start, rrule, title)
        SELECT series_id, 'reconnect_block', '', target, event_id, state, created_at, ended_at, 0,
        start, rrule, title FROM own_blocks""")
    db.execute("DROP TABLE own_blocks")


@migrations()
def m009_mail_contacts(db: sqlite_utils.Database) -> None:
    """Two-way mail as contact: one row per counted message and counterpart (keys, address,
    direction, instant, folder: never a subject or a body), and each mail source's sync state."""
    db.execute("""CREATE TABLE mail_contacts (key TEXT NOT NULL, thread TEXT NOT NULL,
        email TEXT NOT NULL, direction TEXT NOT NULL, at TEXT NOT NULL,
        folder TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,
        PRIMARY KEY (key, email, direction))""")
    db.execute("CREATE INDEX mail_contacts_email ON mail_contacts (email, thread)")
    db.execute("""CREATE TABLE mail_sync (source TEXT PRIMARY KEY, type TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT '{}', last_success TEXT, messages INTEGER NOT NULL DEFAULT 0,
        last_error TEXT, last_error_at TEXT, needs_reauth TEXT)""")


@migrations()
def m010_notices(db: sqlite_utils.Database) -> None:
    """Notices about a source told once per store, then only by `status` (a token cache kept
    as a plain file for want of an OS keyring)."""
    db.execute("""CREATE TABLE notices (source TEXT NOT NULL, text TEXT NOT NULL,
        shown_at TEXT NOT NULL, PRIMARY KEY (source, text))""")


@migrations()
def m011_source_suspect(db: sqlite_utils.Database) -> None:
    """A source whose latest answer was held as a sudden loss: why, and since when."""
    db.execute("ALTER TABLE sources ADD COLUMN suspect TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN suspect_since TEXT")


@migrations()
def m012_figures_cache(db: sqlite_utils.Database) -> None:
    """The per-colleague figures as last computed (agent/storage/figures_cache.py), and the
    version of the occurrences, raised by triggers on every write to them; the same triggers
    drop the kept figures (what `forget` takes out of the occurrences leaves no copy there)."""
    db.execute("""CREATE TABLE figures_cache (fingerprint TEXT NOT NULL, version INTEGER NOT NULL,
        bounds TEXT NOT NULL, payload TEXT NOT NULL)""")
    db.execute("CREATE TABLE occurrences_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO occurrences_version (version) VALUES (0)")
    for event in ("INSERT", "UPDATE", "DELETE"):
        db.execute(f"""CREATE TRIGGER occurrences_{event.lower()}_version AFTER {event} ON occurrences
            BEGIN UPDATE occurrences_version SET version = version + 1; DELETE FROM figures_cache; END""")


EMAIL_NAMES = "instr(',' || lower(email) || ',', ?) > 0"
"""The SQL condition: the `email` column (one address, or a comma-separated list for a group)
names the address given as the parameter `named_in(address)`."""


def named_in(address: str) -> str:
    """The parameter of `EMAIL_NAMES` for a lower-cased `address`."""
    return f",{address},"


def address_digest(address: str) -> str:
    """The SHA-256 of a lower-cased address: what the store keeps of a forgotten person."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def iso(moment: datetime) -> str:
    """A sortable UTC ISO 8601 text for an aware datetime."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_iso(text: str) -> datetime:
    """The aware datetime of a text written by `iso`."""
    return datetime.fromisoformat(text)


class Store:
    """The SQLite file holding everything the agent knows."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.conn = self._open(path, timeout)
        self._db: sqlite_utils.Database | None = None
        from agent.storage.forgotten import digests

        self.forgotten = digests(self.conn)

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils view of the connection (sqlite-utils is imported on first use)."""
        if self._db is None:
            sqlite_utils = load_sqlite_utils()
            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def table(self, name: str) -> sqlite_utils.db.Table:
        """One table of the store, typed as a table (``db[name]`` is typed ``Table | View``)."""
        return self.db.table(name)

    def dict_rows(self, sql: str, args: tuple = ()) -> list[dict]:
        """The rows of one query as dicts by column name, with plain sqlite3 (a short command
        reading a few rows need not import sqlite-utils for it)."""
        cursor = self.conn.execute(sql, args)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    @staticmethod
    def _open(path: Path, timeout: float) -> sqlite3.Connection:
        """Open (creating and migrating) the store; `timeout`: how long to wait for a lock."""
        try:
            _prepare_private(path)
            conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA recursive_triggers=on")  # as sqlite_utils.Database sets it
            if not _schema_is_current(conn):
                db = load_sqlite_utils().Database(conn)
                _check_known_schema(db, path)
                migrations.apply(db)
            return conn
        except (sqlite3.Error, OSError) as exc:
            raise store_error(path, exc) from None

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def atomic(self) -> Any:
        """A context manager: everything inside commits together or not at all."""
        return self.db.atomic()

    # --- shorthands for the most used owners (agent/storage/occurrences.py, sources.py,
    # actions.py), imported on use because each owner imports this module

    def apply_changes(self, source: str, changes: Changes) -> None:
        """Apply one sync batch of `source` in a single transaction."""
        from agent.storage import occurrences

        occurrences.apply_changes(self, source, changes)

    def occurrences(self, start: datetime | None = None, end: datetime | None = None,
                    source: str | None = None, untagged: bool = False) -> Iterator[Occurrence]:
        """Stored occurrences starting in [start, end), in start order (`untagged`: only those
        without the agent's tag)."""
        from agent.storage import occurrences

        return occurrences.between(self, start, end, source, untagged)

    def tagged_occurrences(self, uids: Iterable[str] = (), start: datetime | None = None,
                           end: datetime | None = None) -> Iterator[Occurrence]:
        """Occurrences carrying the agent's tag, or belonging to one of the series `uids`
        (starting in [start, end) when given).

        The planner reads its own touchbases back this way wherever they were synced (declines).
        """
        from agent.storage import occurrences

        return occurrences.tagged(self, uids, start, end)

    def organiser_zone(self, email: str) -> str:
        """The zone most of the timed events `email` organised were written in ("" if unknown)."""
        from agent.storage import occurrences

        return occurrences.organiser_zone(self, email)

    def occurrence_count(self, source: str | None = None) -> int:
        """How many occurrences are stored (for one source or all)."""
        from agent.storage import occurrences

        return occurrences.count(self, source)

    def source_state(self, name: str) -> dict:
        """The connector state saved after the last successful sync of `name`."""
        from agent.storage import sources

        return sources.state(self, name)

    def record_sync(self, name: str, type_name: str, state: dict, when: datetime,
                    skipped: int | None) -> None:
        """Remember a successful sync of `name` (`skipped` None: keep the last count)."""
        from agent.storage import sources

        sources.record_sync(self, name, type_name, state, when, skipped)

    def record_source_error(self, name: str, type_name: str, message: str, when: datetime,
                            needs_reauth: str | None = None) -> None:
        """Remember a failed sync of `name` (shown by status and the morning email)."""
        from agent.storage import sources

        sources.record_error(self, name, type_name, message, when, needs_reauth)

    def sources(self) -> list[dict]:
        """Every source's health row."""
        from agent.storage import sources

        return sources.health(self)

    def forget_source(self, name: str) -> None:
        """Drop a source's occurrences and state (its token expired for good, or it was removed)."""
        from agent.storage import sources

        sources.drop(self, name)

    def log_action(self, kind: str, email: str, detail: str, when: datetime) -> None:
        """Record something the agent did, for the morning email."""
        from agent.storage import actions

        actions.log(self, kind, email, detail, when)

    def actions_since(self, since: datetime) -> list[dict]:
        """What the agent did since `since`, oldest first."""
        from agent.storage import actions

        return actions.since(self, since)


def _prepare_private(path: Path) -> None:
    """The store's folder (0700 when created) and file (0600, created empty when missing, so
    that SQLite's -wal and -shm files, which copy its mode, are private too); a store file found
    readable by others is tightened with a warning."""
    private_folder(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    for suffix in ("", "-wal", "-shm"):
        tighten(path.with_name(path.name + suffix), "the store")


def _schema_is_current(conn: sqlite3.Connection) -> bool:
    """True when exactly the known migrations are applied (nothing to do, nothing unknown)."""
    try:
        applied = {row[0] for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.name,))}
    except sqlite3.OperationalError:  # no migrations table yet: a new store
        return False
    return applied == set(migrations.names)


def _check_known_schema(db: sqlite_utils.Database, path: Path) -> None:
    if "_sqlite_migrations" not in db.table_names():
        return
    known = {m.name for m in migrations.pending(load_sqlite_utils().Database(memory=True))}
    applied = {m.name for m in migrations.applied(db)}
    unknown = sorted(applied - known)
    if unknown:
        raise StoreError(
            f"{path}: this store was written by a newer touchbase (schema {unknown[-1]}); "
            "upgrade touchbase to use it")


_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def scrub_text(text: str, forgotten: set[str]) -> str:
    """`text` with every forgotten address replaced by a neutral token."""
    if not forgotten or "@" not in text:
        return text

    def replace(match: re.Match) -> str:
        text = match.group(0)
        ends = [len(text)] + [i for i in range(len(text) - 1, text.index("@"), -1) if text[i] in ".-_"]
        for end in ends:  # the longest prefix that is a forgotten address
            digest = address_digest(text[:end])
            if digest in forgotten:
                return f"forgotten-{digest[:12]}" + text[end:]
        return text

    return _ADDRESS.sub(replace, text)
