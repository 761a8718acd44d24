"""The per-installation secret that the agent's series ids are derived with.

A random 32-byte key in `series.key` in the data folder (mode 0600), created on first need: the
first time the agent needs a new series id. Ids made with it cannot be guessed by anyone who does
not hold the file, so nobody can forge an event that claims to be one of the agent's series.
Created once, never replaced: when two processes create it at the same moment, both end up with
the one that was linked into place first.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from agent.errors import TouchbaseError
from agent.storage.private_files import FILE_MODE, describe_os_error, private_folder, tighten

KEY_FILE = "series.key"
KEY_BYTES = 32


def installation_key(data_dir: Path) -> bytes:
    """The installation's key, read from `data_dir`, created (0600) when there is none yet."""
    path = data_dir / KEY_FILE
    try:
        if not path.exists():
            _create(path)
        tighten(path, "the series key")
        key = path.read_bytes()
    except OSError as exc:
        raise TouchbaseError(f"cannot use the series key {path}: {describe_os_error(exc)}") from None
    if len(key) < KEY_BYTES:
        raise TouchbaseError(f"the series key {path} is damaged ({len(key)} bytes): "
                             "move it away and run again to create a new one")
    return key


def _create(path: Path) -> None:
    """Write a new key next to `path`, then link it into place unless another process did first."""
    private_folder(path.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process created it first: theirs is the key
    finally:
        Path(temp).unlink(missing_ok=True)
