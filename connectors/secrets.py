"""Secrets a source names in its config (`password_env` or `password_file`), read when needed."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import SourceError


def read_password(source: str, options: Mapping[str, Any]) -> str:
    """The password from `password_file` (stripped) or the variable `password_env` ("" if unset)."""
    if options.get("password_file"):
        path = Path(options["password_file"]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SourceError(source, f"cannot read password_file {path}: {exc.strerror}") from None
    return os.environ.get(options.get("password_env") or "", "")


def password_origin(options: Mapping[str, Any]) -> str:
    """Where the password comes from, for a hint (never the password)."""
    return options.get("password_env") or "password_file"
