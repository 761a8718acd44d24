"""Builders shared by the follow-up, digest, outbox and SMTP tests: a calendar of tracked
colleagues, a synced store, and reading the Maildir outbox back with the email library."""
from __future__ import annotations

import mailbox
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from agent.configuration.loader import Config, load_config
from agent.storage.store import Store
from tests.helpers import Ev, calendar, run_cli, write_config

MONDAY = "2026-10-05T09:00:00+02:00"
ALICE, BOB, CAROL = "alice@acme.example", "bob@acme.example", "carol@acme.example"


def meeting(uid: str, day: str, start: str = "1000", end: str = "1030", summary: str = "1:1",
            people: tuple[tuple[str, str], ...] = ((ALICE, "Alice Archer"),),
            extra: str = "") -> Ev:
    """A meeting the user organises on `day` (YYYYMMDD) with `people` (address, name) accepted."""
    attendees = tuple(f";CN={name};PARTSTAT=ACCEPTED:mailto:{address}" for address, name in people)
    return Ev(uid=uid, start=f"{day}T{start}00", end=f"{day}T{end}00", summary=summary,
              attendees=attendees, extra=extra)


def tracked_events() -> list[Ev]:
    """Alice overdue (last met 1 Jul), Bob due (3 Sep), Carol on track (2 Oct) on MONDAY."""
    events = []
    for i, day in enumerate(("20260601", "20260615", "20260701")):
        events.append(meeting(f"alice-{i}", day))
    for i, day in enumerate(("20260820", "20260827", "20260903")):
        events.append(meeting(f"bob-{i}", day, "1100", "1130", people=((BOB, "Bob Baker"),)))
    for i, day in enumerate(("20260921", "20260928", "20261002")):
        events.append(meeting(f"carol-{i}", day, "1400", "1430", people=((CAROL, "Carol Chen"),)))
    return events


def setup_calendar(tmp_path: Path, *events: Ev, extra: str = "", now: str = MONDAY,
                   with_tracked: bool = True) -> Path:
    """Write the calendar and config, sync as of `now`; returns the config path."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(*(tracked_events() if with_tracked else []), *events), encoding="utf-8")
    config = write_config(tmp_path, [ics], extra=extra)
    result = run_cli(config, "sync", now=now)
    assert result.exit_code == 0, result.output
    return config


def resync(config_path: Path, now: str) -> None:
    """`touchbase sync` as of `now`."""
    result = run_cli(config_path, "sync", now=now)
    assert result.exit_code == 0, result.output


@contextmanager
def opened(config_path: Path):
    """The config and an open store (closed afterwards: the next `opened` is a restart)."""
    config = load_config(config_path)
    store = Store(config.store_path)
    try:
        yield config, store
    finally:
        store.close()


def maildir_messages(path: Path) -> list[EmailMessage]:
    """Every message of the Maildir at `path`, parsed back with the email library."""
    if not path.exists():
        return []
    folder = mailbox.Maildir(str(path), factory=None, create=False)
    result = []
    for key in sorted(folder.keys()):
        with folder.get_file(key) as handle:
            result.append(message_from_bytes(handle.read(), _class=EmailMessage, policy=policy.default))
    return result


def outbox_mail(config: Config) -> list[EmailMessage]:
    """Mail delivered into the outbox (new/ and cur/, not the Drafts folder)."""
    return maildir_messages(config.outbox_path)


def drafts(config: Config) -> list[EmailMessage]:
    """Drafts in the outbox's Drafts folder."""
    return maildir_messages(config.outbox_path / "Drafts")


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a multipart/alternative message."""
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",))
    return text, (html_part.get_content() if html_part is not None else "")
