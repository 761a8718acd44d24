"""Builders for the mail-signal tests: raw RFC 5322 messages whose subject and body carry
marker text (so a grep of the data folder can prove none of it was kept), and a reader's
context and collecting sink."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from agent.configuration.schema import SourceConfig
from agent.model import MailMessage
from connectors.base import ConnectorContext

ME = "me@acme.example"
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
SECRET_WORDS = "ZEBRA-SUBJECT-{n}", "OCTOPUS-BODY-{n}"


@dataclass
class Mail:
    """One test message; `raw()` renders it, with marker words in its subject and body."""

    sender: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    when: datetime | None = NOW - timedelta(days=2)
    message_id: str = field(default_factory=lambda: f"{secrets.token_hex(6)}@acme.example")
    references: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    n: int = field(default_factory=lambda: secrets.randbelow(10**9))

    @property
    def subject(self) -> str:
        """The marker in the subject."""
        return SECRET_WORDS[0].format(n=self.n)

    @property
    def body(self) -> str:
        """The marker in the body."""
        return SECRET_WORDS[1].format(n=self.n)

    def reply(self, sender: str, to: list[str], when: datetime, **kw: object) -> Mail:
        """A reply in the same thread (References: this message's chain)."""
        chain = self.references + [self.message_id]
        return Mail(sender, to, when=when, references=chain, **kw)  # type: ignore[arg-type]

    def raw(self) -> bytes:
        """The message as CRLF bytes."""
        lines = [f"From: {self.sender}", f"To: {', '.join(self.to)}"]
        if self.cc:
            lines.append(f"Cc: {', '.join(self.cc)}")
        if self.when is not None:
            lines.append(f"Date: {format_datetime(self.when)}")
        lines.append(f"Message-ID: <{self.message_id}>")
        if self.references:
            lines.append("References: " + " ".join(f"<{r}>" for r in self.references))
            lines.append(f"In-Reply-To: <{self.references[-1]}>")
        lines += [f"{k}: {v}" for k, v in self.extra.items()]
        lines += [f"Subject: {self.subject}", "Content-Type: text/plain; charset=utf-8", "",
                  self.body, ""]
        return "\r\n".join(lines).encode("utf-8")


def mail_context(data_dir: Path, now: datetime = NOW, window_days: int = 180) -> ConnectorContext:
    """A connector context for the user ME as of `now`."""
    return ConnectorContext(user_emails=[ME], timezone="Europe/Berlin",
                            window_start=now - timedelta(days=window_days),
                            window_end=now + timedelta(days=90), data_dir=data_dir, now=now)


def imap_source(port: int, user: str, tls: str = "none", **options: object) -> SourceConfig:
    """An imap source for the test Dovecot (password in $TOUCHBASE_IMAP_PASSWORD)."""
    return SourceConfig(name="mailbox", type="imap", options={
        "host": "127.0.0.1", "port": port, "username": user,
        "password_env": "TOUCHBASE_IMAP_PASSWORD", "tls": tls, **options})


class Collected(list):
    """A sink that keeps every batch it is handed (a list of MailMessage)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def __call__(self, batch: list[MailMessage]) -> None:
        self.batches += 1
        self.extend(batch)

    def by_key(self) -> dict[str, MailMessage]:
        """The messages read, by key."""
        return {m.key: m for m in self}
