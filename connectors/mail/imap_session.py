"""One IMAP connection (stdlib imaplib): sign-in over TLS, folder lookup, header-only fetches.

Only `UID FETCH (UID INTERNALDATE BODY.PEEK[HEADER.FIELDS (...)])` with the fields in
connectors.mail.headers.WANTED is ever sent: no ENVELOPE (it carries the Subject), no BODY, no
RFC822, and PEEK leaves the \\Seen flag alone. Folders are opened with EXAMINE (read-only).
"""
from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from agent.errors import AuthError, ConfigError, SourceError, Unreachable
from agent.time_limits import interruptible, time_limit
from connectors.mail.imap_names import decode_name, parse_list, quoted

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SECURITY = ("ssl", "starttls", "none")
TIMEOUT = 60.0  # between two reads of the socket
DEADLINE = 120.0  # for one command and its whole answer
FIELDS = "FROM TO CC DATE MESSAGE-ID REFERENCES IN-REPLY-TO LIST-ID LIST-UNSUBSCRIBE PRECEDENCE AUTO-SUBMITTED"
FETCH_ITEMS = f"(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS ({FIELDS})])"
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_STATUS = re.compile(rb"(UIDVALIDITY|UIDNEXT) (\d+)")


def check_security(source: str, host: str, tls: str) -> None:
    """Refuse an unknown `tls` value, and `none` anywhere but on this machine (exit 2)."""
    if tls not in SECURITY:
        raise ConfigError(f"source {source!r}: tls must be one of {', '.join(SECURITY)}, got {tls!r}")
    if tls == "none" and host.strip("[]").lower() not in LOOPBACK:
        raise ConfigError(f"source {source!r}: tls = \"none\" is only allowed for 127.0.0.1, ::1 "
                          f"or localhost, not {host!r}")


class ImapSession:
    """A signed-in IMAP connection for one source."""

    def __init__(self, source: str, host: str, port: int, tls: str, deadline: float = DEADLINE) -> None:
        check_security(source, host, tls)
        self.source = source
        self.host = host
        self.deadline = deadline
        try:
            with self._waiting("connecting"):
                self.conn = self._open(host, port, tls)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise SourceError(source, f"cannot reach the IMAP server {host}:{port}: {exc}") from None

    @contextmanager
    def _waiting(self, what: str) -> Iterator[None]:
        """A wait on the server: a stop request (SIGTERM, Ctrl-C) ends it at once, and one
        command with its whole answer may take at most `deadline` (a server that drips or stalls)."""
        def too_slow() -> Unreachable:
            return Unreachable(self.source, f"{self.host}: {what}: no complete answer within "
                                            f"{self.deadline:g} s (the IMAP server is too slow); "
                                            "will try again next sync")
        with interruptible(), time_limit(self.deadline, too_slow):
            yield

    @staticmethod
    def _open(host: str, port: int, tls: str) -> imaplib.IMAP4:
        context = ssl.create_default_context()
        if tls == "ssl":
            return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=TIMEOUT)
        conn = imaplib.IMAP4(host, port, timeout=TIMEOUT)
        if tls == "starttls":
            conn.starttls(ssl_context=context)
        return conn

    def login(self, username: str, password: str, fix: str) -> None:
        """Sign in; a refusal is an AuthError naming the fix."""
        try:
            with self._waiting("signing in"):
                self.conn.login(username, password)
        except imaplib.IMAP4.error as exc:
            raise AuthError(self.source, f"the IMAP server refused the login ({_text(exc)})",
                            fix=fix) from None

    def folders(self) -> list[tuple[set[str], str]]:
        """Every folder: (its attributes, its wire name)."""
        with self._waiting("listing folders"):
            return parse_list(self._ok(self.conn.list('""', "*"), "listing folders"))

    def status(self, wire_name: str) -> tuple[int, int]:
        """(UIDVALIDITY, UIDNEXT) of a folder, without opening it."""
        what = f"reading the state of {decode_name(wire_name)}"
        with self._waiting(what):
            data = self._ok(self.conn.status(quoted(wire_name), "(UIDVALIDITY UIDNEXT)"), what)
        found = {k.decode(): int(v) for k, v in _STATUS.findall(b" ".join(
            d for d in data if isinstance(d, bytes)))}
        return found.get("UIDVALIDITY", 0), found.get("UIDNEXT", 0)

    def examine(self, wire_name: str) -> None:
        """Open a folder read-only."""
        what = f"opening {decode_name(wire_name)}"
        with self._waiting(what):
            self._ok(self.conn.select(quoted(wire_name), readonly=True), what)

    def uids(self, first: int, below: int) -> list[int]:
        """The UIDs in [first, below) of the open folder."""
        if below <= first:
            return []
        with self._waiting("listing messages"):
            data = self._ok(self.conn.uid("SEARCH", f"UID {first}:{below - 1}"), "listing messages")
        found = [int(u) for u in b" ".join(d for d in data if isinstance(d, bytes)).split()]
        return sorted(u for u in found if first <= u < below)

    def headers(self, uids: list[int]) -> Iterator[tuple[int, datetime, bytes]]:
        """(uid, INTERNALDATE, raw header block of the wanted fields) for each of `uids`."""
        with self._waiting("reading message headers"):
            data = self._ok(self.conn.uid("FETCH", ",".join(map(str, uids)), FETCH_ITEMS),
                            "reading message headers")
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            uid = _UID.search(item[0])
            if uid is None:
                continue
            yield int(uid.group(1)), _internal_date(item[0]), bytes(item[1])

    def close(self) -> None:
        """Log out (errors while leaving are ignored)."""
        try:
            with self._waiting("signing out"):
                self.conn.logout()
        except (OSError, imaplib.IMAP4.error, Unreachable):
            pass

    def _ok(self, answer: tuple[str, list], what: str) -> list:
        status, data = answer
        if status != "OK":
            raise SourceError(self.source, f"{what}: the IMAP server answered {status} "
                                           f"{_text(data)}")
        return data


def _internal_date(line: bytes) -> datetime:
    match = _INTERNALDATE.search(line)
    if match:
        try:
            return datetime.strptime(match.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
        except ValueError:
            pass
    return datetime.now(UTC)


def _text(value: object) -> str:
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, Exception) and value.args:
        value = value.args[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
    return str(value)[:200]
