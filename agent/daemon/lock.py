"""One daemon per store: an exclusive flock on a lock file next to the store.

The kernel drops the lock when the process ends, however it ends, so a crash never leaves a
stale lock behind. The file holds the pid of the holder, for the message a second daemon prints.
"""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from agent.errors import LockHeld

_RETRY_SECONDS = 0.5


def lock_path(store_path: Path) -> Path:
    """The lock file of the store at `store_path` (touchbase.db -> touchbase.db.lock)."""
    return store_path.with_name(store_path.name + ".lock")


class StoreLock:
    """An exclusive, process-wide lock on one store; use as a context manager."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.path = lock_path(store_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeld naming the store and the holder's pid."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            from agent.storage.failures import store_error

            raise store_error(self.path, exc) from None
        if not _lock_with_retry(fd):
            pid = _read_pid(fd)
            os.close(fd)
            holder = f" (pid {pid})" if pid else ""
            raise LockHeld(f"another touchbase daemon is already running on {self.store_path}{holder}")
        try:  # the pid is only for the message a second daemon prints: a full disk is no reason to stop
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (the file stays: removing it would race with a new holder)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_pid(store_path: Path) -> int | None:
    """The pid of the daemon holding the store's lock, or None when no one holds it."""
    path = lock_path(store_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _lock_with_retry(fd: int) -> bool:
    """Try for a moment: `status` probes the lock with a brief shared hold."""
    deadline = time.monotonic() + _RETRY_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
