"""Outgoing mail behind one queue: the local Maildir outbox, SMTP, and mail-account sources.

Every message is first written to the `outgoing` table and only then delivered. A delivery that
fails stays queued with its error (one clear line) and is retried by the next `flush_outgoing`,
so a refused login or a server that is down never loses a mail.

Transports: `outbox` (a Maildir under `config.outbox_path`: mail in new/, drafts in the Maildir
`Drafts/` beside it), `smtp`, or the name of a google/outlook source (its `send` or
`create_draft`). Drafts are only ever stored, never sent.
"""
from __future__ import annotations

import contextlib
import logging
import mailbox
import os
import smtplib
import ssl
from collections.abc import Callable, Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from agent.addresses import header_address, recipients, written_address
from agent.configuration.loader import Config, SmtpConfig
from agent.errors import SourceError, TouchbaseError, UserError
from agent.safe_text import one_line, printable, server_reply
from agent.storage import mail_queue
from agent.storage.store import Store

log = logging.getLogger(__name__)

OUTBOX = "outbox"
OUTBOX_NOTICE = "saved to the local outbox, not sent: set [digest] transport to send it"
"""Said wherever a mail is reported that only reached the local outbox (nobody reads a Maildir)."""
DRAFTS_NOTICE = ("saved to the local outbox, not in your mail account: set [followups] transport "
                 "to a google or outlook source to put drafts there")
"""Said wherever a draft is reported that only reached the outbox's Drafts folder."""
SMTP = "smtp"
DRAFTS_FOLDER = "Drafts"
DRAFT_KINDS = frozenset({"followup"})
"""Queued kinds that are stored as drafts instead of being sent."""
KIND_HEADER = "X-Touchbase-Kind"
KEY_HEADER = "X-Touchbase-Key"


# --- building messages ---------------------------------------------------------------------

def new_message(config: Config, *, to: list[tuple[str, str]], subject: str, text: str,
                html: str | None = None, kind: str, key: str = "",
                when: datetime | None = None) -> EmailMessage:
    """A mail from the user (or [smtp] sender) to `to` (name, address) pairs; HTML optional.

    Raises ValueError when an address is not one email address (the caller skips that item).
    """
    message = EmailMessage(policy=policy.default)
    sender = config.smtp.sender or config.user.email
    message["From"] = sender
    message["To"] = recipients(to)  # Address objects: folding cannot change a recipient
    message["Subject"] = _one_line(subject)
    if when is not None:
        message["Date"] = format_datetime(when)
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message[KIND_HEADER] = kind
    if key:
        message[KEY_HEADER] = _one_line(key)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def _one_line(text: str) -> str:
    """Header text without line breaks or control characters (data must not inject headers)."""
    return one_line(text)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2] or "touchbase.invalid"


# --- the queue -----------------------------------------------------------------------------

def enqueue(store: Store, message: EmailMessage, kind: str, transport: str,
            now: datetime) -> int:
    """Keep `message` in the `outgoing` table until it is delivered; returns its id."""
    return mail_queue.add(store, message.as_bytes(policy=policy.default), kind, transport, now)


def flush_outgoing(config: Config, store: Store, now: datetime) -> int:
    """Try to deliver every queued mail; returns how many went out.

    A failure is recorded on the mail (attempts, last_error) and logged as one line; further
    mail for the same transport waits for the next flush and carries the same error. Never
    raises for delivery errors.
    """
    sent = 0
    broken: dict[str, str] = {}  # transport -> the error that stopped it this flush
    for row in pending(store):
        transport = row["transport"]
        if transport in broken:
            mail_queue.mark_error(store, row["id"], broken[transport])
            continue
        error = _deliver_row(config, store, row, now)
        if error is None:
            sent += 1
        else:
            broken[transport] = error
    return sent


def pending(store: Store) -> list[dict]:
    """Queued mail not yet delivered, oldest first (with its raw bytes)."""
    return mail_queue.pending(store)


def queue_problems(store: Store, kinds: tuple[str, ...] = ()) -> list[str]:
    """One line per transport whose queued mail (of `kinds`, or any) could not be delivered yet."""
    return [f"{count} mail(s) waiting for {transport}: {error}"
            for transport, count, error in mail_queue.stuck(store, kinds)]


def mail_status(store: Store, outgoing_id: int) -> dict:
    """The queue row of one mail (sent_at, attempts, last_error), without its raw bytes."""
    return mail_queue.status(store, outgoing_id)


def _deliver_row(config: Config, store: Store, row: dict, now: datetime) -> str | None:
    """Deliver one queued mail; None on success, else the error line (also recorded).

    The attempt is committed before the mail leaves (`attempts` + 1, autocommit), so a later
    run knows an earlier attempt may have got through and looks the mail up before sending it
    again (`already_delivered`). The mail is marked sent the moment the transport accepts it.
    """
    mail_queue.count_attempt(store, row["id"])

    def accepted() -> None:
        mail_queue.mark_sent(store, row["id"], now)

    try:
        message = parse_raw(row["raw"])
        if row["attempts"] > 0 and already_delivered(config, message, row["kind"], row["transport"], now):
            log.info("mail %s (%s) was delivered by an earlier attempt; not sent again",
                     row["id"], row["kind"])
            accepted()
            return None
        deliver(config, message, row["kind"], row["transport"], now,
                maybe_delivered=row["attempts"] > 0, on_accepted=accepted)
    except (TouchbaseError, ValueError, TypeError, LookupError) as exc:  # this mail only
        error = printable(str(exc)) if isinstance(exc, TouchbaseError) else \
            f"cannot deliver this mail: {type(exc).__name__}: {printable(str(exc))}"
        mail_queue.mark_error(store, row["id"], error)
        log.error("mail %s (%s) not delivered, will retry: %s", row["id"], row["kind"], error)
        return error
    return None


def already_delivered(config: Config, message: EmailMessage, kind: str, transport: str,
                      now: datetime) -> bool:
    """True when a mail-account transport finds `message` (by Message-ID) in its sent mail.

    Asked only after an attempt that may have got through. SMTP has no way to look (False: the
    mail is sent again, the one duplicate DESIGN.md allows); the outbox checks for itself.
    """
    message_id = str(message.get("Message-ID") or "").strip()
    if kind in DRAFT_KINDS or transport in (OUTBOX, SMTP) or not message_id:
        return False
    from agent.sources import open_connector

    connector = open_connector(config, config.source(transport), now)
    try:
        found = connector.find_sent(message_id)
    except TouchbaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - a backend failure keeps the mail queued
        raise SourceError(transport, f"unexpected error: {type(exc).__name__}: {exc}") from exc
    finally:
        connector.close()
    if found is None:
        log.warning("%s cannot look up sent mail; mail %s is sent again (at most one duplicate)",
                    transport, message_id)
    return bool(found)


def parse_raw(raw: bytes) -> EmailMessage:
    """A queued mail's bytes as a message again."""
    return message_from_bytes(raw, _class=EmailMessage, policy=policy.default)


# --- delivery ------------------------------------------------------------------------------

def deliver(config: Config, message: EmailMessage, kind: str, transport: str, now: datetime,
            maybe_delivered: bool = False, on_accepted: Callable[[], None] | None = None) -> None:
    """Hand `message` to `transport` now (a draft kind is stored as a draft, never sent).

    `maybe_delivered`: an earlier attempt may have got through before a crash; the outbox
    then checks for the Message-ID first. `on_accepted` is called the instant the transport
    has taken the mail (SMTP: before QUIT), so the window in which a crash leaves a delivered
    mail unrecorded is as short as it can be. Raises SourceError (or UserError) on failure.
    """
    draft = kind in DRAFT_KINDS
    if transport == OUTBOX:
        folder = drafts_folder(config) if draft else outbox(config)
        write_maildir(folder, message, draft=draft, check_duplicate=maybe_delivered)
    elif transport == SMTP:
        if draft:
            raise UserError("smtp cannot hold drafts; use outbox or a mail-account source")
        smtp_send(config, message, on_accepted)
        return
    else:
        _via_source(config, message, transport, draft, now)
    if on_accepted is not None:
        on_accepted()


def _via_source(config: Config, message: EmailMessage, name: str, draft: bool,
                now: datetime) -> None:
    from agent.sources import open_connector

    connector = open_connector(config, config.source(name), now)
    try:
        if draft:
            connector.create_draft(message)
        else:
            connector.send(message)
    except TouchbaseError:
        raise
    except Exception as exc:  # noqa: BLE001 - a backend failure keeps the mail queued
        raise SourceError(name, f"unexpected error: {type(exc).__name__}: {exc}") from exc
    finally:
        connector.close()


# --- the local Maildir outbox --------------------------------------------------------------

def outbox(config: Config) -> mailbox.Maildir:
    """The outbox Maildir (created on first use, mode 0700)."""
    return _maildir(config.outbox_path)


def drafts_folder(config: Config) -> mailbox.Maildir:
    """The Drafts Maildir inside the outbox folder (`<outbox>/Drafts/{cur,new,tmp}`)."""
    outbox(config)
    return _maildir(config.outbox_path / DRAFTS_FOLDER)


def _maildir(path: Path) -> mailbox.Maildir:
    try:
        return mailbox.Maildir(str(path), factory=None, create=True)
    except OSError as exc:
        raise SourceError(OUTBOX, f"cannot open the Maildir {path}: {exc.strerror or exc}") from None


def write_maildir(folder: mailbox.Maildir, message: EmailMessage, draft: bool,
                  check_duplicate: bool = False) -> str:
    """Add `message` to `folder` (a draft goes to cur/ flagged D); returns its Maildir key."""
    if check_duplicate:
        existing = find_by_header(folder, "Message-ID", message["Message-ID"])
        if existing:
            return existing[0]
    item = mailbox.MaildirMessage(message)
    if draft:
        item.set_subdir("cur")
        item.set_flags("DS")
    try:
        return folder.add(item)
    except OSError as exc:
        raise SourceError(OUTBOX, f"cannot write to the Maildir: {exc.strerror or exc}") from None


def find_by_header(folder: mailbox.Maildir, name: str, value: str | None) -> list[str]:
    """Keys of the messages in `folder` whose header `name` equals `value`."""
    if not value:
        return []
    value = str(value).strip()
    return [key for key, headers in _headers(folder) if str(headers.get(name, "")).strip() == value]


def remove_mail_to(folder: mailbox.Maildir, address: str) -> int:
    """Delete the messages in `folder` addressed (To, Cc or Bcc) to `address`; how many."""
    wanted = address.strip().lower()
    doomed = [key for key, headers in _headers(folder) if wanted in _recipients_of(headers)]
    for key in doomed:
        with contextlib.suppress(KeyError, OSError):
            folder.remove(key)
    return len(doomed)


def envelope_to(message: Message) -> list[str]:
    """The SMTP recipients of `message`: every To, Cc and Bcc address as written in the header
    (smtplib would write a quoted local part such as `"laszlo."@example.com` unquoted)."""
    message = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    values = [v for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [written_address(a) for v in values for a in getattr(v, "addresses", ())]


def _recipients_of(headers: Message) -> set[str]:
    """The bare lower-cased addresses in the To, Cc and Bcc headers (a quoted local part such
    as `"laszlo."@example.com` read as `laszlo.@example.com`)."""
    from email.utils import getaddresses

    values = [v for name in ("To", "Cc", "Bcc") for v in headers.get_all(name, [])]
    found = {spec.strip().lower() for _, spec in getaddresses([str(v) for v in values])}
    found.update(header_address(a) for v in values for a in getattr(v, "addresses", ()))
    return found


def header_values(folder: mailbox.Maildir, name: str) -> set[str]:
    """Every value of header `name` among the messages in `folder`."""
    return {str(headers[name]).strip() for _, headers in _headers(folder) if headers.get(name)}


def _headers(folder: mailbox.Maildir) -> Iterator[tuple[str, Message]]:
    parser = BytesHeaderParser(policy=policy.default)
    for key in folder.keys():
        try:
            with folder.get_file(key) as handle:
                head = handle.read(65536)
        except (KeyError, OSError):
            continue  # moved or deleted meanwhile
        yield key, parser.parsebytes(head)


# --- SMTP ----------------------------------------------------------------------------------

def smtp_password(cfg: SmtpConfig) -> str:
    """The SMTP password from $password_env, else from password_file; never logged."""
    if cfg.password_env and os.environ.get(cfg.password_env):
        return os.environ[cfg.password_env]
    if cfg.password_file:
        path = Path(cfg.password_file).expanduser()
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserError(f"[smtp] password_file {path}: cannot read it: {exc.strerror}") from None
    raise UserError(f"[smtp] username is set but there is no password: set ${cfg.password_env} "
                    "or [smtp] password_file")


def smtp_send(config: Config, message: EmailMessage,
              on_accepted: Callable[[], None] | None = None) -> None:
    """Send `message` through the configured SMTP server (STARTTLS, implicit TLS or none).

    `on_accepted` runs right after the server accepted the message, before QUIT.
    """
    cfg = config.smtp
    where = f"{cfg.host}:{cfg.port}"
    password = smtp_password(cfg) if cfg.username else ""
    sender = cfg.sender or config.user.email
    try:
        client = _smtp_session(cfg)
        try:
            if cfg.username:
                client.login(cfg.username, password)
            refused = client.send_message(message, from_addr=sender, to_addrs=envelope_to(message))
            if on_accepted is not None:
                on_accepted()
        finally:
            _quit_quietly(client)
    except (smtplib.SMTPException, OSError) as exc:
        raise SourceError(SMTP, server_reply(_smtp_failure(exc, cfg, where), password,
                                             limit=500)) from None
    if refused:
        log.warning("smtp: some recipients were refused: %s",
                    server_reply(_refusals(refused), password))


def _smtp_failure(exc: Exception, cfg: SmtpConfig, where: str) -> str:
    """One line for an SMTP failure (the server's own words cleaned by the caller)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login of {cfg.username!r} ({_server_said(exc)}); check the password"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{where} does not support this: {exc}; check [smtp] security"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where} refused every recipient: {_refusals(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} refused the mail ({_server_said(exc)})"
    if isinstance(exc, smtplib.SMTPException):
        return f"{where}: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{where}: the server's certificate is not trusted ({exc.verify_message}); "
                "see [smtp] ca_file")
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS failed ({exc.reason or exc}); check [smtp] security and port"
    assert isinstance(exc, OSError)
    return f"cannot reach {where}: {exc.strerror or exc}"


def _quit_quietly(client: smtplib.SMTP) -> None:
    """Say QUIT; a server that answers it badly or hangs up changes nothing (the mail is in)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _smtp_session(cfg: SmtpConfig) -> smtplib.SMTP:
    timeout = cfg.timeout_seconds
    if cfg.security == "ssl":
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=_tls_context(cfg))
    client = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
    try:
        client.ehlo()
        if cfg.security == "starttls":
            client.starttls(context=_tls_context(cfg))
            client.ehlo()
    except BaseException:
        client.close()
        raise
    return client


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    """A verifying TLS context; [smtp] ca_file replaces the system CAs."""
    if not cfg.ca_file:
        return ssl.create_default_context()
    path = Path(cfg.ca_file).expanduser()
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"[smtp] ca_file {path}: cannot load it: {exc}") from None


def _server_said(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"{exc.smtp_code} {one_line(text)}"


def _refusals(recipients: dict) -> str:
    return ", ".join(
        f"{address} ({code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg})"
        for address, (code, msg) in recipients.items()
    )
