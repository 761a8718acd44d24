"""Registry from a config `type` to a connector class, imported lazily.

A daemon that only reads .ics files never imports googleapiclient or msal. Third-party
backends may be named by a dotted path `package.module:ClassName`. Everything else about a type
(its keys, its help line, whether it can take touchbases) is declared by its class
(see connectors.base.Connector): adding a type is one class and one line here.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from agent.errors import ConfigError

if TYPE_CHECKING:
    from connectors.base import Connector

REGISTRY: dict[str, str] = {
    "ics": "connectors.ics.connector:IcsConnector",
    "caldav": "connectors.caldav:CalDavConnector",
    "google": "connectors.google.connector:GoogleConnector",
    "outlook": "connectors.outlook.connector:OutlookConnector",
    "imap": "connectors.mail.imap:ImapMailbox",
}
"""The types a user may name in `[[sources]]`, in the order the example and the reference show
them: `type` -> `module:Class` (the class's `type_name` is the same)."""

INTERNAL: dict[str, str] = {
    "local": "connectors.localcal:LocalCalendar",
}
"""Types the agent uses itself: the local calendar file it writes touchbases to."""

KNOWN_TYPES = tuple(REGISTRY)
"""The types a user may name in `[[sources]]`."""

MAIL_ONLY_TYPES = ("imap",)
"""Types that hold mail and no calendar (their connectors set `reads_calendar = False`)."""


def connector_class(type_name: str) -> type[Connector]:
    """Import and return the class for `type_name` (a registry key or `module:Class`)."""
    target = REGISTRY.get(type_name) or INTERNAL.get(type_name) or type_name
    if ":" not in target:
        raise ConfigError(f"unknown source type {type_name!r} (known: {', '.join(KNOWN_TYPES)})")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load source type {type_name!r}: {exc}") from exc
