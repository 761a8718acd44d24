"""Reading a local calendar file whole, or refusing it with one clear line.

Only a regular file is read (a FIFO would block forever, /dev/zero would never end): the file is
opened without blocking and checked before a byte is read. It is read up to a size cap
(`max_bytes` of the source, DEFAULT_MAX_BYTES when not set). A file whose size, modification time
or content changed while it was read (an editor or a sync client still writing it) is refused
(the content is compared again only for a file modified in the last seconds: for an older one a
write would have moved its modification time),
so that the half-written view is never taken as the calendar; the next sync tries again.
"""
from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

from agent.errors import SourceError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""The size cap of one calendar file when the source sets no `max_bytes`."""
_BLOCK = 1 << 20
COARSE_MTIME_NS = 3_000_000_000
"""A file modified this recently is also compared by content after the read: some file systems
keep modification times to the second (or two), so a write may not show in them."""


def read_calendar_file(source: str, path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the regular file `path`, read whole and unchanged while read.

    Raises SourceError naming `path` when it is missing, not a regular file, larger than
    `max_bytes`, unreadable, or changed while it was read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise SourceError(source, f"{path}: file not found") from None
    except OSError as exc:
        raise SourceError(source, f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise SourceError(source, f"{path}: not a regular file ({_kind(before.st_mode)}); "
                              f"only regular files up to {size_text(max_bytes)} are read")
        if before.st_size > max_bytes:
            raise SourceError(source, _too_big(path, before.st_size, max_bytes))
        started = time.time_ns()
        data = _read_all(source, path, fd, before.st_size + 1)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if _changed(before, after, len(data)) or _changed_on_disk(path, before, data, started):
        raise SourceError(source, f"{path}: the file changed while it was read (still being "
                          "written?); the previous state is kept and the next sync tries again")
    return data


def _read_all(source: str, path: Path, fd: int, limit: int) -> bytes:
    """At most `limit` bytes of `fd` (one more than it had when opened: a file that grew)."""
    parts: list[bytes] = []
    size = 0
    try:
        while size < limit:
            part = os.read(fd, limit - size)  # a regular file: usually all of it at once
            if not part:
                break
            parts.append(part)
            size += len(part)
    except OSError as exc:
        raise SourceError(source, f"{path}: cannot read: {exc.strerror or exc}") from None
    return b"".join(parts)


def _changed(before: os.stat_result, after: os.stat_result, size: int) -> bool:
    return (after.st_size != before.st_size or after.st_mtime_ns != before.st_mtime_ns
            or size != before.st_size)


def _changed_on_disk(path: Path, before: os.stat_result, data: bytes, started: int) -> bool:
    """True when `path` now names another file, or its content is no longer `data`."""
    try:
        now = os.stat(path)
    except OSError:
        return True
    if (now.st_ino, now.st_dev) != (before.st_ino, before.st_dev):
        return True
    if now.st_size != len(data) or now.st_mtime_ns != before.st_mtime_ns:
        return True
    if started - before.st_mtime_ns > COARSE_MTIME_NS:
        return False  # a write while it was read would have moved the modification time
    return _hash_of(path) != hashlib.sha256(data).digest()


def _hash_of(path: Path) -> bytes | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    except OSError:
        return None
    return digest.digest()


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _too_big(path: Path, size: int, cap: int) -> str:
    return (f"{path}: {size_text(size)} is more than the {size_text(cap)} a calendar file may "
            "have (raise the source's max_bytes to read it)")


def size_text(count: int) -> str:
    """A byte count for people: 50 MiB, 1.5 KiB, 900 bytes."""
    if count >= 1 << 20:
        return f"{count / (1 << 20):.3g} MiB"
    if count >= 1 << 10:
        return f"{count / (1 << 10):.3g} KiB"
    return f"{count} bytes"
