"""The declarative schema of the configuration: every option declared once, with its type (from its
default), bounds or allowed values, a value format and a one-line help.

`agent.configuration.loader` validates files against it; `agent.configuration.starter` renders from it
the commented example (config/touchbase.example.toml, agent/data/example.toml), the starter config
`touchbase init` writes, and docs/config-reference.md. After changing an option, regenerate them with
`python -m agent.configuration.schema` (a test fails while they differ).

To add an option: add one `opt(...)` line to its section below (or, for a `[[sources]]` key, one
`Option(...)` to its connector class's `config_options`: each connector class declares its own
keys, see connectors.base.Connector), with a default, bounds or a rule, and a help line that
fits on one line of the example file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.configuration.options import (
    DOMAIN,
    EMAIL,
    ENV_NAME,
    HOST,
    HOURS,
    PATH,
    SOURCE_NAME,
    TIME,
    WEEKDAY,
    WEEKDAYS,
    ZONE,
    Option,
    keyed,
    opt,
)
from connectors import KNOWN_TYPES, connector_class

if TYPE_CHECKING:
    from connectors.base import Connector


def _days(text: str) -> list[str]:
    return text.split()


# --- sections -----------------------------------------------------------------------------


@dataclass
class UserConfig:
    """Who you are."""

    email: str = opt("", "your work address", rule=EMAIL, example="me@acme.example")
    aliases: list[str] = opt([], "other addresses of yours", rule=EMAIL)
    timezone: str = opt("", "IANA zone; floating times are read in it (empty: the system zone)",
                        rule=ZONE, example="Europe/Berlin")


@dataclass
class ColleaguesConfig:
    """Who counts as a colleague, and which meetings count."""

    internal_domains: list[str] = opt([], "only these domains count as colleagues; [] = everyone",
                                      rule=DOMAIN, example=["acme.example"])
    max_attendees: int = opt(8, "bigger meetings (others besides you) are not relationship time",
                             minimum=1, maximum=1000)
    window_days: int = opt(180, "figures cover this many days back", minimum=1, maximum=3650)
    exclude: list[str] = opt([], "addresses never tracked", rule=EMAIL)
    aliases: dict[str, str] = opt({}, '"old@acme.example" = "new@acme.example": one person', rule=EMAIL)


@dataclass
class StoreConfig:
    """The local SQLite store."""

    path: str = opt("", "the store; its folder is the data folder (local calendar, outbox, tokens)",
                    rule=PATH, example="~/.local/share/touchbase/touchbase.db", commented=True)


@dataclass
class TouchbaseConfig:
    """Recurring touchbases the agent books (or proposes)."""

    mode: str = opt("auto", "auto (book) | propose (list in the morning email) | off; unset and only "
                    "ics sources: propose", choices=("auto", "propose", "off"), commented=True)
    cadence_days: int = opt(30, "meet each tracked colleague about this often", minimum=1, maximum=365)
    duration_minutes: int = opt(30, "length of a touchbase", minimum=5, maximum=480)
    max_active: int = opt(5, "at most this many touchbase series at once", minimum=0, maximum=100)
    max_new_per_day: int = opt(2, "at most this many new series a day", minimum=0, maximum=50)
    decline_limit: int = opt(2, "after this many declines the agent stops and pauses", minimum=1, maximum=20)
    heal_days: int = opt(14, "instances this far ahead are moved off conflicts and declines (0: never)",
                         minimum=0, maximum=60)
    max_per_day: int = opt(1, "touchbases on one day", minimum=1, maximum=20)
    working_hours: str = opt("09:00-17:00", "touchbases lie inside these hours (your zone)", rule=HOURS)
    working_days: list[str] = opt(_days("MO TU WE TH FR"), "and on these days", rule=WEEKDAY, nonempty=True)
    write_to: str = opt("", 'a source name; "" = the first; read-only (ics): the local calendar file')


@dataclass
class FollowupsConfig:
    """Follow-up drafts after meetings (never sent by the agent)."""

    enabled: bool = opt(True, "write follow-up drafts")
    max_attendees: int = opt(3, "drafts only after meetings this small", minimum=1, maximum=100)
    lookback_hours: int = opt(24, "never drafts for meetings that ended longer ago", minimum=1, maximum=720)
    min_days_between: int = opt(28, "at most one draft per colleague in this many days",
                                minimum=0, maximum=365)
    transport: str = opt("outbox", "outbox | a google/outlook source name (its Drafts folder)")


@dataclass
class OutboxConfig:
    """The local Maildir for mail and drafts that stay on this machine."""

    path: str = opt("", "a Maildir: new/ and Drafts/ (default: data folder/outbox)", rule=PATH,
                    example="~/.local/share/touchbase/outbox", commented=True)


@dataclass
class DigestConfig:
    """The morning email."""

    enabled: bool = opt(True, "send the morning email")
    time: str = opt("08:00", "when, in your time zone", rule=TIME)
    days: list[str] = opt(_days("MO TU WE TH FR"), "on these days", rule=WEEKDAY, nonempty=True)
    to: str = opt("", "recipient (empty: [user] email)", rule=EMAIL, example="me@acme.example")
    transport: str = opt("outbox", "outbox | smtp | a google/outlook source name")
    skip_when_empty: bool = opt(False, "true: no email on days with nothing to act on")


@dataclass
class SmtpConfig:
    """The mail server, when [digest] transport = "smtp"."""

    host: str = opt("localhost", "the SMTP server", rule=HOST)
    port: int = opt(587, "its port", minimum=1, maximum=65535)
    security: str = opt("starttls", "starttls | ssl | none", choices=("starttls", "ssl", "none"))
    username: str = opt("", "login name (empty: no login)")
    password_env: str = opt("TOUCHBASE_SMTP_PASSWORD", "environment variable holding the password",
                            rule=ENV_NAME, optional=True)
    password_file: str = opt("", "or a file holding it", rule=PATH,
                             example="~/.config/touchbase/smtp-password", commented=True)
    sender: str = opt("", "the From address (empty: [user] email)", rule=EMAIL, commented=True)
    timeout_seconds: int = opt(30, "give up on an unresponsive server after this long", minimum=1, maximum=600)
    ca_file: str = opt("", "a PEM file of CAs to trust instead of the system ones", rule=PATH, commented=True)


@dataclass
class DaemonConfig:
    """The background service (`touchbase run`)."""

    sync_minutes: int = opt(15, "read the calendars this often", minimum=1, maximum=1440)
    planner_time: str = opt("07:30", "plan touchbases daily at this time", rule=TIME)


@dataclass
class SyncConfig:
    """Reading the sources: a sudden loss is held, not believed."""

    max_loss_percent: int = opt(50, "hold an answer losing more than this % of a source's events "
                                "(100: never)", minimum=10, maximum=100)


@dataclass
class LandscapeConfig:
    """Your relationship landscape: pausing, letting go, the weekly reconnect hour."""

    pause_days: int = opt(90, "a colleague who keeps declining is left alone this long",
                          minimum=1, maximum=3650)
    let_go_after_days: int = opt(270, "no meeting for this long and not vital: suggest letting go",
                                 minimum=1, maximum=3650)
    reconnect_hour: bool = opt(False, 'book a weekly "Reconnect hour" block')
    reconnect_day: str = opt("FR", "its weekday", choices=WEEKDAYS)
    reconnect_time: str = opt("09:00", "its start", rule=TIME)
    track_min_meetings: int = opt(3, "small meetings in a year that make someone tracked",
                                  minimum=1, maximum=1000)


SECTIONS: dict[str, type] = {
    "user": UserConfig,
    "colleagues": ColleaguesConfig,
    "store": StoreConfig,
    "touchbase": TouchbaseConfig,
    "followups": FollowupsConfig,
    "outbox": OutboxConfig,
    "digest": DigestConfig,
    "smtp": SmtpConfig,
    "daemon": DaemonConfig,
    "sync": SyncConfig,
    "landscape": LandscapeConfig,
}
"""The tables of the file, in the order the example shows them; [[sources]] comes after [store]."""


# --- sources ------------------------------------------------------------------------------


@dataclass
class SourceConfig:
    """One `[[sources]]` entry: common keys plus the type's own in `options`."""

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        options = self.__dict__.get("options", {})
        if key in options:
            return options[key]
        raise AttributeError(key)


SOURCE_COMMON = keyed(
    name=Option("", "your name for this source (used by write_to and transports)", rule=SOURCE_NAME,
                example="work", required=True),
    type=Option("", " | ".join(KNOWN_TYPES), choices=KNOWN_TYPES, example="ics", required=True),
)
"""The keys every `[[sources]]` entry has; each type's own keys are declared by its connector
class (`config_options`, with `type_name`, `help` and `read_only`: see connectors.base.Connector)."""


def source_types() -> dict[str, type[Connector]]:
    """Every type a user may name in `[[sources]]`, with the connector class that declares its
    keys, in the order the example and the reference show them (imports every connector
    module, none of their client libraries)."""
    return {name: connector_class(name) for name in KNOWN_TYPES}


SECRET_KEYS = ("password", "secret", "client_secret", "token")
"""Keys that would hold a secret in clear: refused in every section."""
SECRET_HINT = "secrets are never stored in the config; use password_env or password_file"

CROSS_RULES = (
    "An ics source takes exactly one of path, paths, url, urls, url_env or url_file.",
    "Source names are unique; write_to and the transports name a source (or outbox / smtp).",
    "The store path names a file (not a device, pipe or socket) in a folder that exists or can be "
    "created.",
)
"""Rules that involve more than one key (checked in agent.configuration.loader), for the reference page."""


if __name__ == "__main__":  # python -m agent.configuration.schema: regenerate the example and reference
    from agent.configuration.starter import main

    raise SystemExit(main())
