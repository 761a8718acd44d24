"""Reading the few header fields the mail signal needs, from any provider, never the rest.

Only From, To, Cc, Date, Message-ID, References, In-Reply-To and the list / machine markers
(List-Id, List-Unsubscribe, Precedence, Auto-Submitted) are ever asked for (`WANTED`). Headers
are read leniently: folded lines, RFC 2047 encoded words in display names, a missing or broken
Date (the provider's own instant is used instead), thousands of recipients.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from agent.model import MailMessage

WANTED = ("From", "To", "Cc", "Date", "Message-ID", "References", "In-Reply-To",
          "List-Id", "List-Unsubscribe", "Precedence", "Auto-Submitted")
BULK_PRECEDENCE = {"bulk", "list", "junk"}
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def is_bulk(get: Callable[[str], str | None]) -> bool:
    """True for list or machine mail: List-Id, List-Unsubscribe, Precedence bulk|list|junk, or
    an Auto-Submitted other than `no` (`get(name)` returns a header's value or None)."""
    if get("List-Id") is not None or get("List-Unsubscribe") is not None:
        return True
    if _word(get("Precedence")) in BULK_PRECEDENCE:
        return True
    submitted = get("Auto-Submitted")
    return submitted is not None and _word(submitted) != "no"


def _word(value: str | None) -> str:
    """The first word of a header value, lower-cased ("bulk; comment" -> "bulk")."""
    text = (value or "").strip().lower()
    return re.split(r"[\s;(]", text, maxsplit=1)[0] if text else ""


def address_list(values: Iterable[str | None]) -> tuple[str, ...]:
    """Every address in the given To / Cc values, lower-cased, `mailto:` removed, in order."""
    found = getaddresses([" ".join(v.split()) for v in values if v])
    return tuple(a.lower().removeprefix("mailto:") for _, a in found if "@" in a)


def message_ids(value: str | None) -> list[str]:
    """The message ids (without angle brackets) in a Message-ID, References or In-Reply-To."""
    return _MESSAGE_ID.findall(" ".join((value or "").split()))


def thread_root(get: Callable[[str], str | None], own: str) -> str:
    """The IMAP thread key: the root of References, else In-Reply-To, else the message's own
    Message-ID (`own`)."""
    references = message_ids(get("References"))
    if references:
        return references[0]
    replied = message_ids(get("In-Reply-To"))
    return replied[0] if replied else own


def sent_instant(value: str | None, fallback: datetime) -> datetime:
    """The Date header as an aware instant; `fallback` when it is missing or unreadable."""
    if value:
        try:
            moment = parsedate_to_datetime(" ".join(value.split()))
        except (TypeError, ValueError, IndexError):
            return fallback
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return fallback


def parse_header_block(raw: bytes) -> Mapping[str, str]:
    """The fields of a raw header block (CRLF lines, folded or not), decoded leniently."""
    parsed = BytesHeaderParser(policy=compat32).parsebytes(raw)
    result: dict[str, str] = {}
    for name, value in parsed.items():
        key = name.strip().lower()
        text = str(value)
        result[key] = f"{result[key]}, {text}" if key in result and key in ("to", "cc") else \
            result.get(key, text)
    return result


def message_from_fields(fields: Mapping[str, str], fallback_key: str, thread_prefix: str,
                        fallback_instant: datetime, folder: str = "",
                        thread: str | None = None) -> MailMessage:
    """A MailMessage from lower-cased header fields (`thread`: the provider's thread id, else
    the root of References / In-Reply-To)."""
    def get(name: str) -> str | None:
        return fields.get(name.lower())

    own = (message_ids(get("Message-ID")) or [fallback_key])[0]
    senders = address_list([get("From")])
    return MailMessage(
        key=own,
        thread=f"{thread_prefix}:{thread if thread is not None else thread_root(get, own)}",
        sender=senders[0] if senders else "",
        recipients=address_list([get("To"), get("Cc")]),
        instant=sent_instant(get("Date"), fallback_instant).astimezone(UTC),
        folder=folder,
        bulk=is_bulk(get),
    )
