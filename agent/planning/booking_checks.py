"""Who may become a booking target: the checks `approve` and `rate` make before writing anything.

Refused (a UserError: one line, exit status 2): the user's own addresses, rooms and resources
seen in the calendar, addresses outside `[colleagues] internal_domains` when it is set, and
addresses that appear in no synced event unless `--force` is given (a colleague already in the
store, rated before, is known). A near-miss names the known address it was probably meant to be.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from agent.configuration.loader import Config
from agent.errors import UserError
from agent.inference import MeetingRules
from agent.storage import mail_contacts, people_records
from agent.storage.store import Store

PERSON = "person"


@dataclass
class KnownAddresses:
    """Every address the synced events name: persons, and rooms or resources."""

    persons: set[str] = field(default_factory=set)
    facilities: set[str] = field(default_factory=set)


def known_addresses(config: Config, store: Store) -> KnownAddresses:
    """The addresses in the stored occurrences (organisers are persons) and in counted mail,
    aliases mapped."""
    rules = MeetingRules(config)
    known = KnownAddresses()
    for occ in store.occurrences():
        if occ.organizer:
            known.persons.add(rules.normalise(occ.organizer))
        for attendee in occ.attendees:
            address = rules.normalise(attendee.email)
            if address:  # a group or room given without an address names nobody
                (known.persons if attendee.kind == PERSON else known.facilities).add(address)
    known.persons |= {rules.normalise(a) for a in mail_contacts.addresses(store)}
    known.persons -= known.facilities
    return known


FORCE_HINT = "check the spelling, or use --force to book or rate them anyway"
"""What the refusal of an unknown address suggests on the command line."""


def check_booking_target(config: Config, store: Store, address: str, force: bool = False,
                         hint: str = FORCE_HINT) -> None:
    """Raise a UserError when `address` (normalised) must not be booked or rated; `hint` ends
    the refusal of an address seen nowhere (what the user can do about it)."""
    rules = MeetingRules(config)
    if address in rules.user:
        raise UserError(f"{address} is your own address: touchbases are with colleagues")
    if not rules.is_internal(address):
        domains = ", ".join(rules.domains)
        raise UserError(f"{address} is outside [colleagues] internal_domains ({domains})")
    known = known_addresses(config, store)
    if address in known.facilities:
        raise UserError(f"{address} is a room or resource in your calendar, not a person")
    if force or address in known.persons or people_records.is_known(store, address):
        return
    meant = near_miss(address, known.persons - rules.user)
    raise UserError(f"{address} appears in no synced event"
                    + (f": did you mean {meant}?" if meant else "")
                    + f" ({hint})")


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

