"""IMAP mailbox names: modified UTF-7 (RFC 3501 5.1.3) and the LIST responses that carry them."""
from __future__ import annotations

import base64
import re

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')


def decode_name(raw: str) -> str:
    """A wire name in modified UTF-7 ("Envoy&AOk-s") as text ("Envoyés")."""
    def piece(match: re.Match) -> str:
        inner = match.group(1)
        if not inner:
            return "&"
        data = inner.replace(",", "/")
        return base64.b64decode(data + "=" * (-len(data) % 4)).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", piece, raw)


def encode_name(name: str) -> str:
    """Text as a modified UTF-7 wire name (the inverse of `decode_name`)."""
    out: list[str] = []
    pending = ""
    for char in name + "\0":
        if char != "\0" and not (0x20 <= ord(char) <= 0x7E):
            pending += char
            continue
        if pending:
            data = base64.b64encode(pending.encode("utf-16-be")).decode("ascii").rstrip("=")
            out.append("&" + data.replace("/", ",") + "-")
            pending = ""
        if char != "\0":
            out.append("&-" if char == "&" else char)
    return "".join(out)


def quoted(wire_name: str) -> str:
    """A wire name as an IMAP quoted string."""
    return '"' + wire_name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_list(data: list) -> list[tuple[set[str], str]]:
    """(flags lower-cased, wire name) for each LIST response imaplib returned (a literal
    name arrives as a (line, name) tuple)."""
    found = []
    for item in data:
        line, literal = (item[0], item[1]) if isinstance(item, tuple) else (item, None)
        if not isinstance(line, bytes):
            continue
        match = _LIST_LINE.match(line.strip())
        if not match:
            continue
        flags = {f.lower() for f in match["flags"].decode("ascii", "replace").split()}
        name = literal if literal is not None else _unquote(match["name"].strip())
        found.append((flags, name.decode("utf-8", "replace")))
    return found


def _unquote(raw: bytes) -> bytes:
    if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
        return re.sub(rb"\\(.)", rb"\1", raw[1:-1])
    return raw
