"""Text from outside (calendar data, server replies) made safe to print or to put in a header.

`printable` removes control characters: C0 and C1 controls (ESC sequences could repaint or
retitle the user's terminal), DEL, and the Unicode bidirectional overrides and isolates (which
make text read differently from what it is). `without_secrets` removes anything that looks like
a credential from a server's reply before the agent stores or shows it.
"""
from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SEPARATORS = "\u2028\u2029\x85"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]")
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029]")

REDACTED = "[redacted]"
_SECRET_PATTERNS = (
    # an authentication scheme followed by its blob (AUTH PLAIN dGVzdA==, Bearer ya29...)
    re.compile(r"(?i)\b(bearer|basic|plain|login|xoauth2|cram-md5)(\s+)[A-Za-z0-9+/=._~-]{6,}"),
    # key=value or key: value, for the usual names of secrets
    re.compile(r"(?i)\b(pass(?:word|wd)?|pwd|secret|token|access_token|refresh_token|"
               r"client_secret|api[_-]?key|auth(?:orization)?|credentials?)(\s*[:=]\s*)\S+"),
    # a secret's name, a space, and something with a digit in it (token ya29.a0..., password s3cret)
    re.compile(r"(?i)\b(pass(?:word|wd)?|secret|token)(\s+)(?=\S*\d)\S{6,}"),
)
_LONG_BLOB = re.compile(r"(?<![\w@.<:/-])(?=[\w+/.=-]*\d)(?=[\w+/.=-]*[A-Za-z])"
                        r"[A-Za-z0-9+/_.-]{24,}={0,2}(?![\w@>])")
"""A long run of letters and digits (a token, a key, a base64 blob)."""


def printable(text: str, keep_newlines: bool = False) -> str:
    """`text` without control characters; tabs and (unless kept) line breaks become spaces."""
    text = str(text)
    if text.isprintable():  # the common case, fast: nothing to remove
        return text
    for separator in _SEPARATORS:
        text = text.replace(separator, "\n" if keep_newlines else " ")
    text = text.replace("\t", " ")
    if keep_newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return _CONTROLS_BUT_NEWLINE.sub("", text)
    text = text.replace("\r", " ").replace("\n", " ")
    return _CONTROLS.sub("", text)


def one_line(text: str) -> str:
    """`text` printable, on one line, runs of white space as one space."""
    return " ".join(printable(text).split())


def without_secrets(text: str, *known: str) -> str:
    """`text` with the `known` secrets and anything that looks like a credential replaced."""
    for secret in known:
        if secret and len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
    return _LONG_BLOB.sub(REDACTED, text)


def server_reply(text: str, *known: str, limit: int = 300) -> str:
    """A server's reply as the agent stores and shows it: one printable line, no credentials,
    at most `limit` characters."""
    line = without_secrets(one_line(text), *known)
    return line if len(line) <= limit else line[:limit - 1] + "…"


# --- web addresses ------------------------------------------------------------------------
# A calendar's secret address holds its secret in the path (Google's private-... token), and a
# login may sit before the host (user:password@): messages show an address by scheme and host.

_SCHEME_HOST = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]{0,15})://([^/?#\s]*)")
_ADDRESS_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s\"'<>]*[^\s\"'<>.,:;)]")
_HOST_PORT = re.compile(r"\s*([A-Za-z0-9-]+(?:(?:\.[A-Za-z0-9-]+)+(?::\d+)?|:\d+))\s*$")
_SCHEMELESS = re.compile(r"\s*(?:[^\s/@:]+(?::[^\s/@]*)?@)?([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\w*)?/")


def address_label(text: str) -> str:
    """What may be shown of a web address: `scheme://host[:port]` (never a login, path or query);
    for an address written without its scheme (`host.example/path`), `host.example`; a bare
    `host:port` as it is; else ""."""
    found = _SCHEME_HOST.match(text)
    if found:
        host = found.group(2).rpartition("@")[2]
        return f"{found.group(1).lower()}://{printable(host)}"
    bare = _SCHEMELESS.match(text) or _HOST_PORT.match(text)
    return bare.group(1) if bare else ""


def looks_like_address(text: str) -> bool:
    """Whether `text` is meant as a web address, valid or not (`https://...`, `webcal:...`,
    `host.example/path`): such a value is never taken for a file name, nor quoted whole."""
    stripped = text.strip()
    return bool(_SCHEME_HOST.match(stripped) or _SCHEMELESS.match(stripped)
                or re.match(r"(?i)(https?|webcals?):", stripped))


def without_addresses(text: str) -> str:
    """`text` with every web address in it cut to its scheme and host (`https://host/...`)."""
    return _ADDRESS_IN_TEXT.sub(lambda found: _cut(found.group(0)), text)


def _cut(address: str) -> str:
    label = address_label(address)
    return address if address in (label, label + "/") else label + "/..."
