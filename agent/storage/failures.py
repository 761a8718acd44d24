"""Why the store cannot be used, told apart and said in one line.

Out of space, a read-only folder, a store locked by another process and a damaged store are
different facts with different fixes. SQLite's own words decide the first three; a store is
called damaged only when SQLite's `PRAGMA quick_check` says so (or the file is not a SQLite
database at all).
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from agent.errors import StoreError


class StoreFull(StoreError):
    """No space left (or a file size limit) where the store lives."""


class StoreReadOnly(StoreError):
    """The store or its folder cannot be written."""


class StoreLocked(StoreError):
    """Another process holds the store's write lock longer than the agent waits."""


class StoreDamaged(StoreError):
    """SQLite's integrity check finds the store damaged."""


_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def store_error(path: Path, exc: BaseException) -> StoreError:
    """The one-line StoreError for `exc`, met while opening or using the store at `path`."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError):
        return _from_os_error(path, exc)
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreLocked(f"{path}: the store is locked by another process; try again in a moment")
    if "full" in text or _no_space(path):
        return StoreFull(f"{path}: no space left on the disk for the store (or a file size "
                         "limit reached); free some space")
    if "readonly" in text or "read-only" in text or not _writable(path):
        return StoreReadOnly(f"{path}: the store cannot be written: its file or folder is "
                             "read-only; check the permissions or [store] path")
    if "unable to open" in text:
        return StoreError(f"{path}: cannot open the store ({exc})")
    if isinstance(exc, sqlite3.DatabaseError) and _damaged(path):
        return StoreDamaged(f"{path}: not a touchbase store or the file is damaged (SQLite's "
                            "integrity check fails); restore it from a backup, or move it away "
                            "to start afresh")
    return StoreError(f"{path}: the store could not be used ({exc})")


def _from_os_error(path: Path, exc: OSError) -> StoreError:
    where = exc.filename or path
    if exc.errno in _SPACE:
        return StoreFull(f"{where}: no space left on the disk for the store; free some space")
    if exc.errno in _READ_ONLY:
        return StoreReadOnly(f"{where}: the store cannot be written: the folder is read-only "
                             "or not yours; check the permissions or [store] path")
    return StoreError(f"{where}: cannot open the store: {exc.strerror or exc}")


def _no_space(path: Path) -> bool:
    """The disk is (nearly) full, or a store file reached the process's file size limit (SQLite
    reports both as "database or disk is full" or a plain "disk I/O error")."""
    import resource

    try:
        if shutil.disk_usage(path.parent).free < 256 * 1024:
            return True
    except OSError:
        return False
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit == resource.RLIM_INFINITY:
        return False
    sizes = [p.stat().st_size for p in (path, path.with_name(path.name + "-wal"))
             if p.exists()]
    return any(size + 64 * 1024 >= limit for size in sizes)


def _writable(path: Path) -> bool:
    """The store's folder (for its -wal and -shm files) and the file itself can be written."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _damaged(path: Path) -> bool:
    """True when SQLite says so: quick_check reports problems, or the file is no database."""
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        return [tuple(r) for r in rows] != [("ok",)]
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        return "malformed" in text or "not a database" in text
    finally:
        conn.close()
