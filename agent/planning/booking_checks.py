"""Who may become a booking target: the checks `approve` and `rate` make before writing anything.

Refused (a UserError: one line, exit status 2): the user's own addresses, rooms and resources
seen in the calendar, addresses outside `[colleagues] internal_domains` when it is set, and
addresses that appear in no synced event unless `--force` is given (a colleague already in the
store, rated before, is known). A near-miss names the known address it was probably meant to be.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from agent.configuration.loader import Config
from agent.errors import UserError
from agent.inference import MeetingRules
from agent.storage.store import Store

PERSON = "person"


@dataclass
class KnownAddresses:
    """Every address the synced events name: persons, and rooms or resources."""

    persons: set[str] = field(default_factory=set)
    facilities: set[str] = field(default_factory=set)


def known_addresses(config: Config, store: Store) -> KnownAddresses:
    """The addresses in the stored occurrences (organisers are persons), aliases mapped."""
    rules = MeetingRules(config)
    known = KnownAddresses()
    for organizer, attendees in store.conn.execute("SELECT organizer, attendees FROM occurrences"):
        if organizer:
            known.persons.add(rules.normalise(organizer))
        for attendee in json.loads(attendees):
            address, kind = rules.normalise(attendee[0]), attendee[3]
            (known.persons if kind == PERSON else known.facilities).add(address)
    known.persons -= known.facilities
    return known


def check_booking_target(config: Config, store: Store, address: str, force: bool = False) -> None:
    """Raise a UserError when `address` (normalised) must not be booked or rated."""
    rules = MeetingRules(config)
    if address in rules.user:
        raise UserError(f"{address} is your own address: touchbases are with colleagues")
    if not rules.is_internal(address):
        domains = ", ".join(rules.domains)
        raise UserError(f"{address} is outside [colleagues] internal_domains ({domains})")
    known = known_addresses(config, store)
    if address in known.facilities:
        raise UserError(f"{address} is a room or resource in your calendar, not a person")
    if force or address in known.persons or _in_store(store, address):
        return
    hint = near_miss(address, known.persons - rules.user)
    raise UserError(f"{address} appears in no synced event"
                    + (f": did you mean {hint}?" if hint else "")
                    + " (check the spelling, or use --force to book or rate them anyway)")


def near_miss(address: str, candidates: set[str]) -> str | None:
    """The known address `address` was most likely meant to be, if one is close: a typo in the
    name part (compared within the same domain, so a shared domain does not make every
    address look alike), else a typo in the domain."""
    local, _, domain = address.partition("@")
    same_domain = {c.partition("@")[0]: c for c in candidates if c.partition("@")[2] == domain}
    names = difflib.get_close_matches(local, sorted(same_domain), n=1, cutoff=0.75)
    if names:
        return same_domain[names[0]]
    others = sorted(c for c in candidates if c.partition("@")[0] == local)
    matches = difflib.get_close_matches(address, others, n=1, cutoff=0.85)
    return matches[0] if matches else None


def _in_store(store: Store, address: str) -> bool:
    """Rated or touched before (a colleague added with --force stays known)."""
    row = store.conn.execute("SELECT 1 FROM people WHERE email = ?", (address,)).fetchone()
    return row is not None
