"""An IMAP mailbox as a mail-only source (`type = "imap"`): who wrote to whom, never what.

Folders: the configured `folders`, else INBOX plus the folder carrying the RFC 6154 `\\Sent`
special-use attribute, whatever its name. IMAP has no way to fetch a thread by id, so the
first read takes the few wanted header fields of every message in those folders (threads of any
age are then whole); later reads take only UIDs from the stored UIDNEXT on. A folder whose
UIDVALIDITY and UIDNEXT are unchanged costs one STATUS and no FETCH; a new UIDVALIDITY means
that folder is read again.
"""
from __future__ import annotations

import imaplib
from collections.abc import Mapping
from typing import Any

from agent.configuration.options import ENV_NAME, HOST, PATH, Option, keyed
from agent.errors import SourceError
from agent.model import Changes, MailMessage
from connectors.base import Connector, MailSink
from connectors.mail.headers import message_from_fields, parse_header_block
from connectors.mail.imap_names import decode_name, encode_name
from connectors.mail.imap_session import DEADLINE, LOOPBACK, SECURITY, ImapSession, check_security
from connectors.secrets import password_origin, read_password

STATE_VERSION = 1
BATCH = 500
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


class ImapMailbox(Connector):
    """One IMAP account, read for mail metadata only (no calendar, nothing written)."""

    type_name = "imap"
    help = "an IMAP mailbox: two-way mail with colleagues, metadata only"
    config_options = keyed(
        host=Option("", "the mail server", rule=HOST, example="mail.company.example", required=True),
        port=Option(0, "0: 993 for ssl, 143 for starttls and none", minimum=0, maximum=65535,
                    example=993),
        username=Option("", "login name", example="me@company.example", required=True),
        password_env=Option("TOUCHBASE_IMAP_PASSWORD", "environment variable holding the password",
                            rule=ENV_NAME, optional=True),
        password_file=Option("", "or a file holding it", rule=PATH),
        tls=Option("ssl", "ssl | starttls | none (none: only 127.0.0.1, ::1 or localhost)",
                   choices=SECURITY),
        folders=Option([], "folders to read; [] = INBOX and the folder marked \\Sent",
                       example=["INBOX", "Sent"], commented=True),
        deadline_seconds=Option(int(DEADLINE), "give up on one command to the server (and its whole "
                                "answer) after this long", minimum=1, maximum=3600, commented=True),
    )
    read_only = True
    reads_calendar = False

    @classmethod
    def option_problems(cls, entry: Mapping[str, Any]) -> list[str]:
        """`tls = "none"` only for this machine: a password never crosses a network in clear."""
        host = str(entry.get("host") or "").strip("[]").lower()
        if entry.get("tls") == "none" and host not in LOOPBACK:
            return [f'tls: "none" is only allowed for 127.0.0.1, ::1 or localhost, not {host!r}']
        return []

    def __init__(self, source: Any, context: Any) -> None:
        super().__init__(source, context)
        options = source.options
        self.host = str(options.get("host") or "")
        self.tls = str(options.get("tls") or "ssl")
        check_security(self.name, self.host, self.tls)
        self.port = int(options.get("port") or DEFAULT_PORTS[self.tls])
        self.deadline = float(options.get("deadline_seconds") or DEADLINE)
        self.session_class = ImapSession

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """No calendar here: nothing ever changes."""
        return Changes(unchanged=True), state

    def fetch_mail(self, state: dict, sink: MailSink) -> dict:
        """Read every wanted folder whose UIDVALIDITY or UIDNEXT moved; returns the new state."""
        known = state.get("folders", {}) if state.get("version") == STATE_VERSION else {}
        session = self._session()
        try:
            folders = self._folders(session)
            marks = {name: session.status(name) for name in folders}
            total = sum(_todo(known.get(n), m) for n, m in marks.items())
            done = 0
            result = {}
            for name, (validity, uidnext) in marks.items():
                done = self._read_folder(session, name, known.get(name), (validity, uidnext),
                                         sink, (done, total))
                result[name] = {"uidvalidity": validity, "uidnext": uidnext}
            return {"version": STATE_VERSION, "folders": result}
        except (imaplib.IMAP4.error, OSError) as exc:
            raise SourceError(self.name, f"IMAP: {exc}") from None
        finally:
            session.close()

    def _session(self) -> ImapSession:
        options = self.source.options
        session = self.session_class(self.name, self.host, self.port, self.tls, self.deadline)
        try:
            session.login(str(options.get("username") or ""), read_password(self.name, options),
                          fix=f"check username and {password_origin(options)}")
        except Exception:
            session.close()
            raise
        return session

    def _folders(self, session: ImapSession) -> list[str]:
        """The wire names to read: the configured ones, else INBOX and the \\Sent folder."""
        listed = session.folders()
        configured = list(self.source.options.get("folders") or [])
        if configured:
            names = {decode_name(wire): wire for _, wire in listed}
            missing = [f for f in configured if f not in names and f.upper() != "INBOX"]
            if missing:
                raise SourceError(self.name, f"no folder named {', '.join(map(repr, missing))} "
                                             "on the server")
            return [names.get(f, encode_name(f)) for f in configured]
        sent = [wire for flags, wire in listed if "\\sent" in flags]
        if not sent:
            self.context.warn(f"{self.name}: no folder carries the \\Sent attribute; reading "
                              "INBOX only (name the folders with `folders = [...]`)")
        return ["INBOX"] + sent[:1]

    def _read_folder(self, session: ImapSession, name: str, known: dict | None,
                     marks: tuple[int, int], sink: MailSink, progress: tuple[int, int]) -> int:
        validity, uidnext = marks
        done, total = progress
        if _todo(known, marks) == 0 or known is None and uidnext <= 1:
            return done
        first = known["uidnext"] if known and known.get("uidvalidity") == validity else 1
        session.examine(name)
        uids = session.uids(first, uidnext)
        label = decode_name(name)
        for start in range(0, len(uids), BATCH):
            chunk = uids[start:start + BATCH]
            sink([self._message(uid, when, raw, label, validity)
                  for uid, when, raw in session.headers(chunk)])
            done += len(chunk)
            if self.context.progress is not None:
                self.context.progress(min(done, total), total)
        return done

    def _message(self, uid: int, when: Any, raw: bytes, folder: str,
                 validity: int) -> MailMessage:
        return message_from_fields(parse_header_block(raw), f"{folder}/{validity}/{uid}",
                                   "imap", when, folder=folder)


def _todo(known: dict | None, marks: tuple[int, int]) -> int:
    """An estimate of the messages to read in a folder (0: unchanged, nothing to fetch)."""
    validity, uidnext = marks
    if known and known.get("uidvalidity") == validity:
        return max(0, uidnext - int(known.get("uidnext") or 1))
    return max(0, uidnext - 1)
