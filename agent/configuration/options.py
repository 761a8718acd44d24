"""The kit a configuration schema is declared with: value formats (`Rule`: email, time, path,
address...) and `Option` (one key: its default, bounds or allowed values, a format and a help
line). `agent.configuration.schema` declares the sections with it and each connector class its
own `[[sources]]` keys.
"""
from __future__ import annotations

import copy
import dataclasses
import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_STRING = 4096
"""No string value is longer than this (paths and URLs included)."""


# --- value formats ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A format a string value must have beyond its type.

    `describe` is what the reference page says; `test` returns "" when the value is fine, else the
    problem, written to follow the value (e.g. "is not an email address").
    """

    describe: str
    test: Callable[[str], str]
    address: bool = False
    """A web address: messages show it by scheme and host only, valid or not."""


_DOMAIN = r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?)(?:\.[^\W_](?:[\w-]{0,61}[^\W_])?)*"
_EMAIL_RE = re.compile(r"^[^\s@<>(),;:\"\[\]\\]{1,64}@" + _DOMAIN + r"$")
_DOMAIN_RE = re.compile(r"^" + _DOMAIN + r"$")
_HHMM = r"([01]\d|2[0-3]):([0-5]\d)"
_TIME_RE = re.compile(r"^" + _HHMM + r"$")
_HOURS_RE = re.compile(r"^" + _HHMM + r"-(?:" + _HHMM + r"|(24):(00))$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,127}$")


def _email(value: str) -> str:
    return "" if len(value) <= 254 and _EMAIL_RE.match(value) else "is not an email address"


def _domain(value: str) -> str:
    if value.startswith("@") and _DOMAIN_RE.match(value[1:]):
        return f"is not a domain (write {value[1:]!r})"
    return "" if len(value) <= 253 and _DOMAIN_RE.match(value) else "is not a domain"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
        return ""
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "is not a known time zone"


def _time(value: str) -> str:
    return "" if _TIME_RE.match(value) else "is not a time like 08:00"


def _hours(value: str) -> str:
    match = _HOURS_RE.match(value)
    if not match:
        return "is not a range like 09:00-17:00"
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3] or match[5]) * 60 + int(match[4] or match[6])
    return "" if start < end else "must end after it starts (like 09:00-17:00)"


def _weekday(value: str) -> str:
    return "" if value in WEEKDAYS else f"is not one of {', '.join(WEEKDAYS)}"


def _env_name(value: str) -> str:
    return "" if _ENV_RE.match(value) else "is not an environment variable name"


def _source_name(value: str) -> str:
    return "" if _NAME_RE.match(value) else "must be letters, digits, '.', '_' or '-' (at most 64)"


def _tenant(value: str) -> str:
    return "" if _TENANT_RE.match(value) else "is not a tenant (common, organizations, an id or a domain)"


def _host(value: str) -> str:
    return "" if _DOMAIN_RE.match(value) or _is_ip(value) else "is not a host name"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _path(value: str) -> str:
    if "\x00" in value:
        return "is not a usable path"
    try:
        Path(value).expanduser()
    except RuntimeError:
        return "starts with a ~user that does not exist here"
    return ""


def url_parts(value: str) -> tuple[str, str] | None:
    """(scheme, host) of an absolute URL, lower-cased; None when it is not one."""
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError when out of range
    except ValueError:
        return None
    if not parts.scheme or not host or any(c.isspace() for c in value):
        return None
    return parts.scheme.lower(), host.lower()


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_LOGIN = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)@")
LOGIN_PROBLEM = ("holds a login (user:password@), which is refused: write the address without it and "
                 "keep the password in password_env or password_file")
CALENDAR_LOGIN_PROBLEM = ("holds a login (user:password@), which is refused: write the address without it "
                          "(passwords go in password_env or password_file; a secret address in url_env "
                          "or url_file)")


def has_login(value: str) -> bool:
    """Whether a web address carries a user name or password before its host."""
    return bool(_LOGIN.match(value))


def _http_url(value: str) -> str:
    if has_login(value):
        return LOGIN_PROBLEM
    parts = url_parts(value)
    if parts is None or parts[0] not in ("http", "https"):
        return "is not an http(s):// address"
    return ""


def _calendar_url(value: str) -> str:
    if has_login(value):
        return CALENDAR_LOGIN_PROBLEM
    parts = url_parts(value)
    if parts is None or parts[0] not in ("https", "webcal", "webcals", "http"):
        return "is not an https:// or webcal:// address"
    if parts[0] == "http" and not is_loopback_host(parts[1]):
        return "uses http://, which is only allowed for this machine (use https:// or webcal://)"
    return ""


EMAIL = Rule("an email address", _email)
DOMAIN = Rule("a domain such as acme.example", _domain)
ZONE = Rule("an IANA time zone such as Europe/Berlin", _zone)
TIME = Rule("a time HH:MM", _time)
HOURS = Rule("HH:MM-HH:MM, ending after it starts (24:00 allowed)", _hours)
WEEKDAY = Rule(f"a weekday: {', '.join(WEEKDAYS)}", _weekday)
ENV_NAME = Rule("an environment variable name", _env_name)
SOURCE_NAME = Rule("letters, digits, '.', '_', '-' (at most 64)", _source_name)
TENANT = Rule("common, organizations, a tenant id or a domain", _tenant)
HOST = Rule("a host name or IP address", _host)
PATH = Rule("a path (~ is your home folder)", _path)
HTTP_URL = Rule("an http:// or https:// address, without a login", _http_url, address=True)
CALENDAR_URL = Rule("https:// or webcal:// (http:// only for localhost), without a login", _calendar_url,
                    address=True)


# --- options ------------------------------------------------------------------------------

_UNSET: Any = object()


@dataclass(frozen=True)
class Option:
    """One configuration key: its default (which fixes its type), bounds, format and help."""

    default: Any
    help: str
    key: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    rule: Rule | None = None
    nonempty: bool = False
    """A list that must hold at least one item."""
    optional: bool = False
    """An empty string is allowed (always so when the default is empty, unless `required`)."""
    required: bool = False
    """The key must be given (the common keys of a source)."""
    example: Any = _UNSET
    """The value the example config shows, when it differs from the default."""
    commented: bool = False
    """The example shows this key commented out (its default is computed or rarely changed)."""

    @property
    def kind(self) -> str:
        """bool, int, str, list (of strings) or table (of strings)."""
        for kind, types in (("bool", bool), ("int", int), ("str", str), ("list", list), ("table", dict)):
            if isinstance(self.default, types):
                return kind
        raise TypeError(f"option {self.key}: unsupported default {self.default!r}")

    @property
    def shown(self) -> Any:
        """The value the example config shows."""
        return self.default if self.example is _UNSET else self.example

    def may_be_empty(self) -> bool:
        """Whether "" is a valid value of this string option."""
        return self.optional or (self.default == "" and not self.required)


def opt(default: Any, help: str, **details: Any) -> Any:
    """A dataclass field carrying its Option; list and table defaults are copied per instance."""
    option = Option(default=default, help=help, **details)
    _ = option.kind  # an unsupported default fails at import, not at load
    meta = {"option": option}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def options_of(cls: type) -> list[Option]:
    """The options of a section class, in declaration order, each with its key filled in."""
    return [dataclasses.replace(f.metadata["option"], key=f.name) for f in dataclasses.fields(cls)
            if "option" in f.metadata]


def keyed(**options: Option) -> tuple[Option, ...]:
    """Options named by their keywords, in order: `keyed(url=Option(...), ...)`."""
    return tuple(dataclasses.replace(option, key=key) for key, option in options.items())
