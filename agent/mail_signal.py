"""Two-way mail as contact: which messages count toward whom, and each colleague's figures.

A message counts toward colleague X when the user is From and X is in To/Cc, or X is From and
the user is in To/Cc; To+Cc hold at most `MAX_RECIPIENTS` addresses besides the user; and it is
not list or machine mail (`MailMessage.bulk`). X must be a colleague by the meeting rules
(`internal_domains` and subdomains, `exclude`, never the user), applied when figures are made, so
a changed config needs no new read. A thread is two-way with X when the messages counted toward
X include one each way, however old the first one is; `email_threads` counts two-way threads
whose latest counted message lies in the window, and `last_emailed` is the latest of those.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.configuration.loader import Config
from agent.inference import MeetingRules
from agent.model import MailMessage
from agent.storage import mail_contacts
from agent.storage.mail_contacts import MailContact
from agent.storage.store import Store

MAX_RECIPIENTS = 5
"""To + Cc addresses besides the user, at most, for a message to count."""


@dataclass
class MailFigures:
    """One colleague's mail figures as of a moment."""

    email_threads: int = 0
    last_emailed: datetime | None = None


def counted(message: MailMessage, rules: MeetingRules) -> list[MailContact]:
    """The rows `message` gives: one per colleague it counts toward (none for bulk mail)."""
    sender = rules.normalise(message.sender) if message.sender else ""
    recipients = {rules.normalise(r) for r in message.recipients}
    others = recipients - rules.user
    if message.bulk or not sender or len(others) > MAX_RECIPIENTS:
        return []
    if sender in rules.user:
        return [_row(message, email, "out") for email in sorted(others)]
    if recipients & rules.user:
        return [_row(message, sender, "in")]
    return []


def _row(message: MailMessage, email: str, direction: str) -> MailContact:
    return MailContact(message.key, message.thread, email, direction, message.instant,
                       message.folder)


def store_messages(store: Store, source: str, messages: Iterable[MailMessage],
                   rules: MeetingRules) -> int:
    """Keep the rows of every message that counts (what a mail sync hands over in batches)."""
    return mail_contacts.put(store, source, (row for m in messages for row in counted(m, rules)))


def mail_figures(config: Config, store: Store, now: datetime) -> dict[str, MailFigures]:
    """Per colleague: two-way threads whose latest counted message is in the window, and the
    latest such message (the window starts `window_days` before `now`, wall-clock, user's zone)."""
    rules = MeetingRules(config)
    start = now.astimezone(config.zone) - timedelta(days=config.colleagues.window_days)
    threads: dict[tuple[str, str], tuple[set[str], datetime]] = {}
    for row in mail_contacts.up_to(store, now):
        email = rules.normalise(row.email)
        if email in rules.user or email in rules.exclude or not rules.is_internal(email):
            continue
        ways, latest = threads.get((email, row.thread), (set(), row.at))
        threads[(email, row.thread)] = (ways | {row.direction}, max(latest, row.at))
    result: dict[str, MailFigures] = {}
    for (email, _), (ways, latest) in threads.items():
        if len(ways) == 2 and latest >= start:
            figures = result.setdefault(email, MailFigures())
            figures.email_threads += 1
            figures.last_emailed = max(filter(None, (figures.last_emailed, latest)))
    return result
