"""Forgetting a person, and exporting the user's own data."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from agent.addresses import normalise_email
from agent.colleague_figures import people_rows
from agent.configuration.loader import Config
from agent.errors import TouchbaseError
from agent.planning import touchbases as tb
from agent.planning.targets import where_written
from agent.sources import open_connector
from agent.storage import (
    actions,
    drafts,
    forgotten,
    instance_moves,
    interactions,
    mail_contacts,
    mail_queue,
    notes,
    occurrences,
    own_series,
    people_records,
    sources,
)
from agent.storage.store import Store

_FORGETTING: tuple[tuple[str, Callable[[Store, str], int]], ...] = (
    ("people", people_records.forget), ("notes", notes.forget),
    ("interactions", interactions.forget), ("followups", drafts.forget),
    ("actions", actions.forget), ("touchbases", own_series.forget_person),
    ("occurrences", occurrences.forget), ("outgoing", mail_queue.forget),
    ("mail", mail_contacts.forget), ("instance_moves", instance_moves.forget),
)
"""What can name a person, each with its owner's `forget` (erases a lower-cased address,
returns how many rows it changed), in the order `forget` reports them."""

_EXPORTS: tuple[tuple[str, Callable[[Store], list[dict]]], ...] = (
    ("people", people_records.export), ("notes", notes.export),
    ("interactions", interactions.export),
    ("touchbases", partial(own_series.rows, kind=own_series.TOUCHBASE)),
    ("own_blocks", partial(own_series.rows, kind=own_series.RECONNECT_BLOCK)),
    ("followups", drafts.export), ("actions", actions.export),
)
"""The user's own data in `touchbase export`: each part with its owner's export."""


def forget(store: Store, email: str, now: datetime) -> dict[str, int]:
    """Erase everything about `email`; events keep only what other colleagues need.

    Each table's owner erases its part; returns how many rows each table lost or had rewritten.
    The address is remembered only as a SHA-256 digest so that a later sync strips it again.
    """
    address = normalise_email(email)
    with store.atomic():
        counts = {table: forget_in(store, address) for table, forget_in in _FORGETTING}
        sources.forget(store, address)
        forgotten.remember(store, address, now)
    return counts


def export(config: Config, store: Store, now: datetime) -> dict:
    """The user's own data as one JSON-ready object, each table's part from its owner; every
    instant (stored in UTC) written in the user's zone, ISO 8601 with its offset."""
    zone = config.zone
    return {
        "exported_at": now.astimezone(zone).isoformat(),
        "user": config.user.email,
        **{table: [in_zone(row, zone) for row in rows(store)] for table, rows in _EXPORTS},
        "colleagues": people_rows(config, store, now),
    }


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")


def in_zone(row: dict, zone: ZoneInfo) -> dict:
    """`row` with every instant (an ISO 8601 text with an offset) moved into `zone`; dates,
    texts and numbers as they are."""
    return {key: _moved(value, zone) for key, value in row.items()}


def _moved(value: object, zone: ZoneInfo) -> object:
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(zone).isoformat()


def forget_beyond_the_store(config: Config, store: Store, email: str, now: datetime) -> list[str]:
    """Before `forget`: erase the person's copies in the agent's own files, and name the copies
    it cannot reach. Run after `end_live_series` (so their series have ended).

    Removes their drafts and mail from the local outbox and the agent's ended series with them
    from the local calendar file; lists drafts, mail and series in a provider's account (Gmail,
    Outlook, a CalDAV server), which only the user can delete there. One line each.
    """
    address = normalise_email(email)
    lines = _outbox_forgotten(config, address) + _local_calendar_forgotten(config, address, now)
    return lines + unreachable_copies(config, store, address)


def _outbox_forgotten(config: Config, address: str) -> list[str]:
    from agent.mail import drafts_folder, outbox, remove_mail_to

    if not config.outbox_path.exists():
        return []
    try:
        removed = remove_mail_to(drafts_folder(config), address)
        mail = remove_mail_to(outbox(config), address)
    except (TouchbaseError, OSError) as exc:
        return [f"Could not clean the outbox {config.outbox_path} ({exc}); "
                "delete their drafts there yourself."]
    if not removed + mail:
        return []
    return [f"Removed {removed} draft(s) and {mail} mail(s) to {address} from the outbox "
            f"{config.outbox_path}."]


def _local_calendar_forgotten(config: Config, address: str, now: datetime) -> list[str]:
    from agent.sources import local_source

    path = config.local_calendar_path
    if not path.exists():
        return []
    connector = open_connector(config, local_source(config), now)
    forget_attendee = getattr(connector, "forget_attendee", None)  # the local calendar's own
    try:
        removed = int(forget_attendee(address)) if forget_attendee else 0
    except (TouchbaseError, OSError) as exc:
        return [f"Could not clean the local calendar file {path} ({exc}); their ended touchbase "
                "series are still in it."]
    finally:
        connector.close()
    return [f"Removed {removed} ended touchbase series with {address} from {path}."] if removed else []


def unreachable_copies(config: Config, store: Store, address: str) -> list[str]:
    """Copies about `address` in providers' accounts, which the agent cannot (or may not) erase."""
    from agent.mail import OUTBOX, SMTP
    from agent.sources import LOCAL_SOURCE

    lines: list[str] = []
    lines += [f"Cannot reach {n} draft(s) to {address} in {where} drafts: delete them there yourself."
              for where, n in drafts.outside(store, address, OUTBOX)]
    sent = mail_queue.delivered_naming(store, address, OUTBOX)
    lines += [f"Cannot reach {n} mail(s) naming {address} already handed to {where}"
              f"{' (in the recipients mailboxes)' if where == SMTP else ' (in that mailbox)'}: "
              "delete them there yourself." for where, n in sent]
    targets = sorted({row.target for row in tb.of_person(store, address)
                      if row.target and row.target != LOCAL_SOURCE})
    lines += [f"Cannot reach the ended touchbase series with {address} in "
              f"{where_written(config, target, hint=False)}: delete them there yourself."
              for target in targets]
    return lines
