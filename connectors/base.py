"""The one small interface every calendar backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar

from agent.configuration.options import Option
from agent.errors import ReadOnlySource
from agent.model import Changes, MailMessage, OwnEvent, SeriesSpec, WorkingHours

Interval = tuple[datetime, datetime]
MailSink = Callable[[list[MailMessage]], None]
"""Takes one batch of mail metadata read (stored at once, so a long first read keeps its work)."""


@dataclass(frozen=True)
class Probe:
    """What a first read of a source found (as `touchbase init` checks it): a line to show, and
    the time zone the calendar declares (X-WR-TIMEZONE or its VTIMEZONE), if any."""

    found: str
    declared_zone: str | None = None


@dataclass
class ConnectorContext:
    """What a connector may know about the agent: the user, the window, where data lives."""

    user_emails: list[str]
    timezone: str
    window_start: datetime
    window_end: datetime
    data_dir: Path
    progress: Callable[[int, int], None] | None = None  # (done, total) on long reads
    now: datetime | None = None  # the instant the agent acts at (DTSTAMP of what it writes)
    warn: Callable[[str], None] = field(default=lambda message: None)


class Connector(ABC):
    """A calendar backend, and the one place that states its facts: the schema, the example
    config, the reference page and the registry read them from the class.

    A subclass sets `type_name` (the `type` of a `[[sources]]` entry, the same as its key in
    `connectors.REGISTRY`), `help` (what it connects to, one line), `config_options` (its own
    keys besides name and type, declared with `agent.configuration.options.keyed`) and
    `read_only` when it cannot take touchbases (then every write raises ReadOnlySource, from
    this base class).
    Importing the module that defines it must not import its client library.
    """

    type_name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    config_options: ClassVar[tuple[Option, ...]] = ()
    read_only: ClassVar[bool] = False
    sees_attendee_busy: ClassVar[bool] = False  # busy() also covers other people
    is_mail_account: ClassVar[bool] = False  # create_draft() / send() work
    reads_calendar: ClassVar[bool] = True  # False for a mail-only source (imap)

    def __init__(self, source: Any, context: ConnectorContext) -> None:
        self.source = source
        self.name: str = source.name
        self.context = context

    @classmethod
    def option_problems(cls, entry: Mapping[str, Any]) -> list[str]:
        """Problems across keys of one `[[sources]]` entry of this type (each single key is
        checked against `config_options` already), each written to follow the source's label."""
        return []

    @abstractmethod
    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """Return what changed since `state` (empty dict: everything) and the new state."""

    def reads_mail(self) -> bool:
        """Whether this source's mail metadata is read (`mail = true`, or a mail-only source)."""
        return not self.reads_calendar

    def fetch_mail(self, state: dict, sink: MailSink) -> dict:
        """Read mail metadata since `state` (empty dict: a first read over the window, plus
        whole threads where needed), handing each batch to `sink`; returns the new state."""
        raise ReadOnlySource(self.name, "this source holds no mail")

    def find_own_events(self) -> list[OwnEvent]:
        """The series this agent created, found by its tag (never by title)."""
        return []

    def create_series(self, spec: SeriesSpec) -> str:
        """Write a recurring touchbase; idempotent on retry. Returns the backend's event id."""
        raise ReadOnlySource(self.name, "this source is read-only")

    def end_series(self, event_id: str, until: datetime) -> None:
        """End one of the agent's own series after `until` (never touches foreign events)."""
        raise ReadOnlySource(self.name, "this source is read-only")

    def move_instance(self, series_id: str, original_start: datetime, new_start: datetime) -> None:
        """Move one instance of the agent's own series `series_id` (the id `create_series`
        returned), found by its original start, to `new_start` (same length); the colleague
        is asked to answer again. Idempotent: a retry never moves it twice or adds a second
        override. Never touches an event the agent did not create."""
        raise ReadOnlySource(self.name, "this source is read-only")

    def cancel_instance(self, series_id: str, original_start: datetime) -> None:
        """Cancel one instance of the agent's own series (idempotent; own events only)."""
        raise ReadOnlySource(self.name, "this source is read-only")

    def colleague_busy(self, start: datetime, end: datetime, email: str) -> list[Interval]:
        """Busy intervals of one colleague alone, where the backend shows them (else none)."""
        return []

    def working_hours(self, email: str) -> WorkingHours | None:
        """A colleague's working hours, where the backend tells (Graph getSchedule)."""
        return None

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """Busy intervals of the user (and of `emails` where the backend can tell)."""
        return []

    def create_draft(self, message: EmailMessage) -> str:
        """Store `message` as a draft in the account's Drafts folder; never sends it."""
        raise ReadOnlySource(self.name, "this source is not a mail account")

    def send(self, message: EmailMessage) -> None:
        """Send `message` from the account."""
        raise ReadOnlySource(self.name, "this source is not a mail account")

    def find_sent(self, message_id: str) -> bool | None:
        """Whether the account's sent mail holds a message with this Message-ID (None: the
        account cannot tell). Asked before sending again after an attempt that may have got
        through, so a mail goes out exactly once."""
        return None

    def notices(self) -> list[str] | None:
        """What the user should hear about this source once per store, then in `status` (one
        line each, e.g. a token cache kept as a plain file); None when this run cannot tell."""
        return []

    @classmethod
    def authorize(cls, source: Any, context: ConnectorContext, **options: Any) -> str:
        """Run the interactive sign-in for this source; returns a line to print."""
        raise ReadOnlySource(source.name, f"{cls.type_name} sources need no sign-in")

    def close(self) -> None:  # noqa: B027 - an optional hook: most connectors hold nothing to release
        """Release network sessions or files."""
