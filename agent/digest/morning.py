"""The morning email: built from small sections, sent once per configured day.

"Once" is kept by the `digests` table: the day's row is written in the same transaction that
queues the mail, so a restart, a second process or a crash after queuing never sends a second
one, and a queued mail that could not be delivered yet is retried by `flush_outgoing`.
A run after the configured time on a configured day whose email has not gone out sends it
(after the machine slept through the time, and on the very first run).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time
from email.message import EmailMessage

from agent.configuration.loader import WEEKDAYS, Config
from agent.digest.invitations import Invitation, proposal_invitations
from agent.digest.landscape_sections import register as register_landscape_sections
from agent.digest.sections import DigestContext, Section, build_sections
from agent.errors import SourceError, UserError
from agent.mail import OUTBOX, OUTBOX_NOTICE, enqueue, flush_outgoing, mail_status, new_message
from agent.storage import digests, mail_queue
from agent.storage.store import Store
from agent.templating import render

KIND = "digest"
register_landscape_sections()  # capacity, one-way relationships, letting go, the matrix
STATUS_COLOURS = {
    "overdue": "#c0392b", "due": "#b9770e", "booked": "#1f5fa8", "on track": "#1e8449", "ok": "#1e8449",
    "problem": "#c0392b",
}


@dataclass
class Digest:
    """One morning email: subject, text and HTML parts, and the sections they show."""

    subject: str
    text: str
    html: str
    day: date
    sections: list[Section] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)  # attached: proposals to book

    @property
    def empty(self) -> bool:
        """Nothing to act on (only the health section, and it shows no problem)."""
        return not any(section.actionable for section in self.sections)


def build_digest(config: Config, store: Store, now: datetime) -> Digest:
    """The morning email as of `now` (nothing is sent or recorded)."""
    ctx = DigestContext(config, store, now)
    sections = build_sections(ctx)
    day = ctx.today
    heading = f"Your touchbase morning email, {day:%A} {day.day} {day:%B %Y}"
    summary = [s.summary for s in sections if s.summary and s.actionable]
    subject = f"touchbase {day:%a} {day.day} {day:%b}: " + (", ".join(summary) or "nothing to act on")
    context = {"heading": heading, "subject": subject, "sections": sections,
               "colours": STATUS_COLOURS}
    return Digest(subject=subject, text=render("digest.txt.j2", **context),
                  html=render("digest.html.j2", **context), day=day, sections=sections,
                  invitations=proposal_invitations(config, store, now))


def digest_day(config: Config, now: datetime) -> date:
    """The user's calendar day at `now`."""
    return now.astimezone(config.zone).date()


def is_due(config: Config, store: Store, now: datetime) -> bool:
    """Today is a configured day, its time has passed, and its email has not been handled."""
    if not config.digest.enabled:
        return False
    local = now.astimezone(config.zone)
    if WEEKDAYS[local.weekday()] not in config.digest.days:
        return False
    hour, minute = (int(part) for part in config.digest.time.split(":"))
    if local.time().replace(tzinfo=None) < time(hour, minute):
        return False
    return day_record(store, local.date()) is None


def day_record(store: Store, day: date) -> dict | None:
    """The `digests` row of `day` (sent, queued or skipped), or None."""
    return digests.of_day(store, day)


def send_digest_if_due(config: Config, store: Store, now: datetime) -> str | None:
    """Send today's email once when due; None when not due, already handled or skipped.

    A delivery failure does not raise: the mail stays queued (retried by `flush_outgoing`)
    and the returned line says so.
    """
    if not is_due(config, store, now):
        return None
    digest = build_digest(config, store, now)
    if digest.empty and config.digest.skip_when_empty:
        _claim_day(store, digest.day, now, config.digest.transport, "skipped")
        return None
    try:
        outgoing_id = _queue(config, store, digest, now, claim=True)
    except sqlite3.IntegrityError:
        return None  # another process handled today's email meanwhile
    return _deliver(config, store, digest, outgoing_id, now)


def send_digest_now(config: Config, store: Store, now: datetime, again: bool = False) -> str:
    """Send the email now (`digest --send`); it counts as the day's email.

    Raises UserError (nothing sent) when today's email already went out or is queued, unless
    `again`; SourceError (the mail stays queued) when the transport refuses it.
    """
    if not again:
        _refuse_a_second(config, store, digest_day(config, now))
    digest = build_digest(config, store, now)
    outgoing_id = _queue(config, store, digest, now, claim=True, exclusive=False)
    line = _deliver(config, store, digest, outgoing_id, now)
    row = mail_status(store, outgoing_id)
    if not row["sent_at"]:
        transport = config.digest.transport
        error = (row["last_error"] or "not delivered").removeprefix(f"{transport}: ")
        raise SourceError(transport, f"{error} (the email is queued and will be retried by the daemon)")
    return line


def _refuse_a_second(config: Config, store: Store, day: date) -> None:
    """UserError when `day`'s email was sent or is queued (the daemon retries a queued one)."""
    record = digests.of_day(store, day)
    if record is None or record["status"] not in ("sent", "queued"):
        return
    at = datetime.fromisoformat(record["sent_at"]).astimezone(config.zone).strftime("%H:%M")
    if record["status"] == "sent":
        raise UserError(f"the morning email was already sent today at {at}; --again to send another")
    raise UserError(f"today's morning email is queued since {at} and the daemon retries it; "
                    "--again to send another")


def digest_message(config: Config, digest: Digest, now: datetime) -> EmailMessage:
    """The multipart (text + HTML) mail of `digest`."""
    recipient = config.digest.to or config.user.email
    if not recipient:
        raise UserError(f"{config.path or 'config'}: [digest] to (or [user] email) is not set")
    message = new_message(config, to=[("", recipient)], subject=digest.subject, text=digest.text,
                          html=digest.html, kind=KIND, key=f"digest|{digest.day}", when=now)
    for invitation in digest.invitations:
        message.add_attachment(invitation.data, maintype="text", subtype="calendar",
                               params={"method": "REQUEST"}, filename=invitation.filename)
    return message


def _queue(config: Config, store: Store, digest: Digest, now: datetime, claim: bool,
           exclusive: bool = True) -> int:
    """Queue the mail and (with `claim`) record the day, atomically; returns the mail's id.

    Raises sqlite3.IntegrityError (nothing queued) when an `exclusive` claim finds the day taken.
    """
    message = digest_message(config, digest, now)
    transport = config.digest.transport
    with store.atomic():
        outgoing_id = enqueue(store, message, KIND, transport, now)
        if claim:
            _claim_day(store, digest.day, now, transport, "queued", exclusive)
    return outgoing_id


def settle_queued_days(store: Store) -> int:
    """Days recorded 'queued' whose email has gone out since (a retry by the mail job, found in
    sent mail after a crash) read 'sent', at the time it went; returns how many changed."""
    changed = 0
    days = digests.queued_days(store)
    rows = mail_queue.of_kind(store, KIND) if days else []
    for day in days:
        key = f"{KIND}|{day}".encode()
        sent = [at for at, raw in rows if key in bytes(raw)]
        if sent and all(sent):
            changed += digests.mark_sent(store, day, str(sent[0]))
    return changed


def _claim_day(store: Store, day: date, now: datetime, transport: str, status: str,
               exclusive: bool = True) -> None:
    digests.claim(store, day, now, transport, status, exclusive)


def _deliver(config: Config, store: Store, digest: Digest, outgoing_id: int, now: datetime) -> str:
    flush_outgoing(config, store, now)
    row = mail_status(store, outgoing_id)
    recipient = config.digest.to or config.user.email
    transport = config.digest.transport
    if row["sent_at"]:
        digests.mark_sent(store, digest.day.isoformat(), row["sent_at"])
        if transport == OUTBOX:
            return f"morning email of {digest.day} for {recipient} {OUTBOX_NOTICE} ({config.outbox_path})"
        return f"morning email of {digest.day} sent via {transport} to {recipient}"
    return (f"morning email of {digest.day} queued for {transport}, not delivered yet: "
            f"{row['last_error'] or 'waiting'}")
