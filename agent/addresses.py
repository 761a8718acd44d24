"""E-mail addresses as the agent compares them."""
from __future__ import annotations

from agent.errors import UserError


def bare_address(address: str) -> str:
    """An address lower-cased and without `mailto:`."""
    text = (address or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def normalise_email(address: str) -> str:
    """A user-typed address, lower-cased and without `mailto:`."""
    text = bare_address(address)
    if "@" not in text:
        raise UserError(f"{address!r} is not an email address")
    return text
