"""E-mail addresses: the one parser of calendar addresses, comparison, and recipient headers.

A calendar address (an ATTENDEE or ORGANIZER value, Google's `email`, Graph's `address`) becomes
exactly one addr-spec or nothing: a value holding a comma, angle brackets, spaces, quotes or
anything else that RFC 5322's addr-spec (as email.headerregistry reads it) does not allow is not
an address, and the attendee is dropped (`mailto:evil@evil.example,victor@acme.example` never
becomes a recipient). One leniency: a local part with a dot at its start or end or two dots in a
row (`laszlo.@example.com`, as Google exports it) is an address when, its dots aside, it is a
valid one; it is written quoted in headers (`"laszlo."@example.com`, RFC 5322 3.4.1).
Recipient headers are built from headerregistry.Address objects and read back before use, so
folding can never change who a mail goes to.

Parsing is memoised per distinct value (`functools.lru_cache`): a large calendar names the same
few addresses tens of thousands of times.
"""
from __future__ import annotations

import logging
from email import errors as email_errors
from email.header import decode_header, make_header
from email.headerregistry import Address
from functools import lru_cache
from urllib.parse import unquote

from agent.errors import UserError
from agent.safe_text import one_line

log = logging.getLogger(__name__)

_NOT_IN_AN_ADDRESS = frozenset(',<>;:"()[]\\ \t\r\n?&')


def parse_calendar_address(value: object) -> str | None:
    """The single lower-cased addr-spec of a calendar address (`mailto:` URI or bare), or None
    when the value is not exactly one valid address."""
    return _parse(str(value or ""))


@lru_cache(maxsize=65536)
def _parse(value: str) -> str | None:
    text = value.strip()
    if text[:7].lower() == "mailto:":
        text = unquote(text[7:]).strip()
    if not text or any(ch in _NOT_IN_AN_ADDRESS or not ch.isprintable() for ch in text):
        return None
    if _strict(text):
        return text.lower()
    local, _, domain = text.rpartition("@")
    dotted = ".".join(part for part in local.split(".") if part)
    if dotted and dotted != local and _strict(f"{dotted}@{domain}"):
        return text.lower()  # only its dots were wrong: nothing in it is unsafe
    return None


def _strict(text: str) -> bool:
    """True when `text` is exactly one RFC 5322 addr-spec with a dot-atom local part."""
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, TypeError, email_errors.HeaderParseError):
        return False
    if not address.username or not address.domain or address.addr_spec != text:
        return False
    return text.count("@") == 1 and "." not in (text[0], text[-1])


def attendee_address(value: object, where: str) -> str | None:
    """`parse_calendar_address`, naming a dropped value (one warning line) when it looks meant
    as an address (has an @) but is not one; `where` says which event it came from."""
    address = parse_calendar_address(value)
    if address is None and "@" in str(value or ""):
        log.warning("%s: dropped attendee %s: not one email address", one_line(where)[:120],
                    one_line(repr(str(value)))[:120])
    return address


def bare_address(address: str) -> str:
    """An address lower-cased and without `mailto:` (for comparing known addresses)."""
    text = (address or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def normalise_email(address: str) -> str:
    """A user-typed address, lower-cased and without `mailto:`."""
    text = bare_address(address)
    if parse_calendar_address(text) is None:
        raise UserError(f"{one_line(address)!r} is not an email address")
    return text


def display_name(text: str) -> str:
    """A name fit for a header: encoded words decoded, control characters and line breaks gone,
    and nothing left that a mail reader would decode again."""
    raw = str(text or "")
    if "=?" in raw:
        try:
            raw = str(make_header(decode_header(raw)))
        except (ValueError, LookupError, UnicodeError, email_errors.HeaderParseError):
            pass
    return one_line(raw).replace("=?", "= ?")


def recipients(pairs: list[tuple[str, str]]) -> tuple[Address, ...]:
    """Address objects for (name, address) pairs; a name that would not survive being written
    and read back (whatever the folding) is left out, the address never changes."""
    result = []
    for name, address in pairs:
        spec = parse_calendar_address(address)
        if spec is None:
            raise ValueError(f"{one_line(address)!r} is not one email address")
        result.append(_with_safe_name(display_name(name), spec))
    return tuple(result)


def _with_safe_name(name: str, spec: str) -> Address:
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    local, _, domain = spec.rpartition("@")
    if name:
        probe = EmailMessage(policy=policy.SMTP)
        candidate = _Mailbox(display_name=name, username=local, domain=domain)
        try:
            probe["To"] = candidate
            back = message_from_bytes(probe.as_bytes(), policy=policy.default)["To"]
            if [a.addr_spec.lower() for a in back.addresses] == [spec]:
                return candidate
        except (ValueError, TypeError, IndexError, email_errors.HeaderParseError):
            pass
    return _Mailbox(username=local, domain=domain)


def header_address(address: Address) -> str:
    """The bare lower-cased address of a parsed header address (quotes around a local part
    undone), to compare with what `parse_calendar_address` gives."""
    return f"{address.username}@{address.domain}".lower()


class _Mailbox(Address):
    """An Address written with its local part quoted when that is not a dot-atom
    (`"laszlo."@example.com`); any other address is written as headerregistry writes it."""

    @property
    def addr_spec(self) -> str:
        """The address as written in a header."""
        return written_address(self) if self.username else super().addr_spec


def written_address(address: Address) -> str:
    """How `address` is written in a header or an SMTP envelope: its local part quoted when it
    is not a dot-atom (`"laszlo."@example.com`, RFC 5322 3.4.1 and RFC 5321 4.1.2)."""
    local = address.username
    if local and "" in local.split("."):
        return f'"{local}"@{address.domain}'  # the parser let no quote or backslash in
    return Address.addr_spec.fget(address)  # type: ignore[attr-defined]
