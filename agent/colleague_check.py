"""The one check of an address a command names as a colleague (note, log, notes, person, rate,
approve, let-go, resume; forget has a lighter one): a mistyped address is refused with the
known address it was probably meant to be, before anything is written.

Known: an address in a synced event or counted mail, one you rated, logged contact with or kept
a note about. `--new` adds someone on purpose (the refusals of your own address, rooms and
addresses outside `internal_domains` still hold).
"""
from __future__ import annotations

from agent.addresses import normalise_email
from agent.configuration.loader import Config
from agent.errors import UserError
from agent.inference import MeetingRules
from agent.planning.booking_checks import check_booking_target, known_addresses, near_miss
from agent.storage import interactions, notes, people_records
from agent.storage.store import Store, address_digest

NEW_HINT = "check the spelling, or use --new to add them on purpose"
"""What the refusal of an unknown address suggests on the command line."""


def checked_colleague(config: Config, store: Store, typed: str, new: bool = False,
                      hint: str = NEW_HINT) -> str:
    """The colleague `typed` names (lower-cased, aliases mapped); UserError (exit 2) when it is
    your own address, a room, outside `internal_domains`, or known nowhere and not `new`."""
    rules = MeetingRules(config)
    address = rules.normalise(normalise_email(typed))
    if address in rules.user:
        raise UserError(f"{address} is your own address")
    known_by_you = new or _kept_by_you(store, address)
    check_booking_target(config, store, address, force=known_by_you, hint=hint)
    return address


def checked_to_forget(config: Config, store: Store, typed: str) -> str:
    """The address `forget` erases: anyone the store may name (outside `internal_domains` too)
    or forgot before; UserError for your own address, or one known nowhere (with the near miss)."""
    rules = MeetingRules(config)
    address = rules.normalise(normalise_email(typed))
    if address in rules.user:
        raise UserError(f"{address} is your own address")
    known = known_addresses(config, store)
    if address in known.persons | known.facilities or _kept_by_you(store, address):
        return address
    if address_digest(address) in store.forgotten:
        return address  # forgotten before: erasing again finds nothing, and says so
    meant = near_miss(address, known.persons - rules.user)
    raise UserError(f"nothing is stored about {address}" + (f": did you mean {meant}?" if meant else ""))


def _kept_by_you(store: Store, address: str) -> bool:
    """Rated, or named in contact you logged or a note you kept."""
    return (people_records.is_known(store, address) or bool(notes.about(store, address))
            or bool(interactions.with_person(store, address)))
