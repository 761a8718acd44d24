"""Where an ics source's bytes come from: local files and calendar addresses.

A source names its calendar with one of `path` / `paths` (files), `url` / `urls` (https:// or
webcal:// addresses) and, for a secret address kept out of the config, `url_env` (an environment
variable holding it) or `url_file` (a file holding it); several files or addresses are read together as one
calendar. Addresses are only ever shown by scheme and host.

`InputReader.read` tells whether anything changed since the last sync: files by their hash,
addresses by a conditional request, so an unchanged calendar costs one 304 and no parsing. When
something changed, the addresses that answered 304 are fetched again in full (the calendar is
not kept on disk), and every input's bytes are returned.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import SourceError
from agent.safe_text import address_label, looks_like_address

if TYPE_CHECKING:
    from connectors.ics.http import FetchPolicy

URL_SCHEMES = ("https://", "http://", "webcal://", "webcals://")


@dataclass(frozen=True)
class CalendarInput:
    """One file or address of a source: `label` may be shown, `url` may not."""

    label: str
    key: str  # the state key: the file path, or a hash of the address (never the address)
    path: Path | None = None
    url: str = ""


def looks_like_url(text: str) -> bool:
    """Whether `text` is meant as an address rather than a file name (valid or not: a scheme,
    or a host and a path such as `calendar.example/basic.ics`)."""
    return text.strip().lower().startswith(URL_SCHEMES) or looks_like_address(text)


def source_inputs(name: str, options: dict[str, Any]) -> list[CalendarInput]:
    """The files and addresses of an ics source, in config order; SourceError on a bad one."""
    inputs = [_file_input(name, p) for p in _listed(options, "path", "paths")]
    texts = [("url", text) for text in _listed(options, "url", "urls")]
    if options.get("url_env"):
        texts.append(("url_env", _from_env(name, options["url_env"])))
    if options.get("url_file"):
        texts.append(("url_file", _from_file(name, options["url_file"])))
    inputs += [_url_input(name, key, text) for key, text in texts]
    if not inputs:
        raise SourceError(name, "no calendar given: set path, paths, url, urls, url_env or url_file")
    return inputs


def _listed(options: dict[str, Any], one: str, many: str) -> list[str]:
    values = list(options.get(many) or [])
    if options.get(one):
        values.insert(0, options[one])
    return [str(v) for v in values]


def _file_input(name: str, text: str) -> CalendarInput:
    if looks_like_url(text) and not Path(text).expanduser().is_file():
        raise SourceError(name, f"path holds a web address ({address_label(text) or 'not shown'}); "
                                "write it as url = \"https://...\" instead")
    path = Path(text).expanduser()
    return CalendarInput(label=str(path), key=f"file:{path}", path=path)


def _url_input(name: str, key: str, text: str) -> CalendarInput:
    from connectors.ics.http import check_url, label

    try:
        url = check_url(text)
    except ValueError as exc:
        raise SourceError(name, f"{key}: {exc}") from None
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return CalendarInput(label=label(url), key=f"url:{digest}", url=url)


def _from_env(name: str, variable: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise SourceError(name, f"url_env: the environment variable {variable} is not set "
                                "(it should hold the calendar's address)")
    return value


def _from_file(name: str, file_name: str) -> str:
    path = Path(file_name).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SourceError(name, f"url_file: {path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(name, f"url_file: {path}: cannot read: "
                                f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise SourceError(name, f"url_file: {path} holds no address")


class InputReader:
    """Reads a source's inputs, remembering each one's hash and HTTP validators in `state`."""

    def __init__(self, name: str, inputs: list[CalendarInput], policy: FetchPolicy | None = None,
                 read_file: Callable[[Path], bytes] | None = None) -> None:
        self.name = name
        self.inputs = inputs
        self.policy = policy
        self.read_file = read_file or (lambda path: read_file_of(name, path))
        self.state: dict[str, dict[str, str]] = {}

    def read(self, previous: dict[str, dict[str, str]] | None) -> list[tuple[str, bytes]] | None:
        """Each input's (label, bytes), or None when nothing changed since `previous`.

        `previous` is the `state` of the last read (None: read everything in full).
        """
        known = previous if previous is not None else {}
        bodies: dict[str, bytes | None] = {}
        for item in self.inputs:
            bodies[item.key] = self._read_one(item, known.get(item.key) if previous is not None else None)
        changed = previous is None or set(previous) != set(bodies) or any(
            body is not None and self.state[key].get("sha") != previous[key].get("sha")
            for key, body in bodies.items())
        if not changed:
            return None
        for item in self.inputs:
            if bodies[item.key] is None:  # 304, but another input changed: the bytes are needed
                bodies[item.key] = self._read_one(item, None)
        return [(item.label, bodies[item.key] or b"") for item in self.inputs]

    def _read_one(self, item: CalendarInput, previous: dict[str, str] | None) -> bytes | None:
        """The bytes of one input, or None for an address that answered 304 to `previous`."""
        if item.path is not None:
            data = self.read_file(item.path)
            self.state[item.key] = {"sha": _sha(data)}
            return data
        from connectors.ics.http import FetchPolicy, fetch

        fetched = fetch(item.url, previous, self.policy or FetchPolicy(), self.name)
        if fetched.body is None:
            if previous is None:
                raise SourceError(self.name, f"{item.label}: answered 304 (not modified) to a "
                                             "request that asked for the whole calendar")
            self.state[item.key] = {**previous, **fetched.validators()}
            return None
        self.state[item.key] = {"sha": _sha(fetched.body), **fetched.validators()}
        return fetched.body


def read_file_of(name: str, path: Path) -> bytes:
    """The bytes of a calendar file of source `name`; SourceError (one line) when unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError(name, f"{path}: file not found") from None
    except IsADirectoryError:
        raise SourceError(name, f"{path}: is a folder, not an .ics file") from None
    except OSError as exc:
        raise SourceError(name, f"{path}: cannot read: {exc.strerror}") from None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
