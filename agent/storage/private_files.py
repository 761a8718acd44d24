"""Files that hold relationship data or secrets: 0600 in 0700 folders, whatever the umask.

The command line runs with umask 077 (`private_umask`), so everything the agent creates (the
store and its -wal/-shm, tokens, exports, maps, the outbox, the local calendar file) is private
from the first byte; `write_private` writes a file atomically with mode 0600; `tighten` corrects
a file or folder found looser (a token file left 0644) and says so once.
"""
from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agent.errors import TouchbaseError

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Run the body with umask 077 (files 0600, folders 0700), then restore the old umask."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def private_folder(path: Path) -> Path:
    """Create `path` (and missing parents) with mode 0700; an existing folder is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        with contextlib.suppress(OSError):
            os.chmod(folder, FOLDER_MODE)
    return path


def tighten(path: Path, what: str = "") -> bool:
    """Make a file 0600 (a folder 0700) when others could read it; True when it was changed.

    Logs one warning naming the file and its old mode. A file that cannot be changed (not ours)
    is reported, not fatal.
    """
    try:
        info = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(info.st_mode) or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return False
    wanted = FOLDER_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
    if not info.st_mode & 0o077:
        return False
    old = stat.S_IMODE(info.st_mode)
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        log.warning("%s%s is readable by others (mode %o) and could not be tightened: %s",
                    f"{what} " if what else "", path, old, exc.strerror)
        return False
    log.warning("%s%s was readable by others (mode %o); tightened to %o", f"{what} " if what else "",
                path, old, wanted)
    return True


def write_private(path: Path, data: bytes | str, what: str = "file") -> Path:
    """Write `data` to `path` with mode 0600: atomically (temporary file, then rename) for a
    regular file; straight into a device or pipe the user named (`-o /dev/stdout`).

    Raises TouchbaseError with one line (no space left, read-only folder, no permission).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.exists() and not path.is_file():
            _write_special(path, payload)
        else:
            _write_atomic(path, payload)
    except OSError as exc:
        raise TouchbaseError(f"cannot write the {what} {path}: {describe_os_error(exc)}") from None
    return path


def _write_special(path: Path, payload: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _write_atomic(path: Path, payload: bytes) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def describe_os_error(exc: OSError) -> str:
    """An OSError as the user needs it: what happened, in words (no errno numbers)."""
    import errno

    known = {
        errno.ENOSPC: "no space left on the disk",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EFBIG: "the file would be larger than allowed",
        errno.ENOENT: "the folder does not exist",
        errno.EISDIR: "it is a folder",
    }
    return known.get(exc.errno or 0) or exc.strerror or str(exc)
