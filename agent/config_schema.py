"""The declarative schema of the configuration: each section's keys with their types and
defaults, and the keys of each source type. `agent.config` loads and checks files against it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class UserConfig:
    email: str = ""
    aliases: list[str] = field(default_factory=list)
    timezone: str = ""


@dataclass
class ColleaguesConfig:
    internal_domains: list[str] = field(default_factory=list)
    max_attendees: int = 8
    window_days: int = 180
    exclude: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)


@dataclass
class StoreConfig:
    path: str = ""


@dataclass
class TouchbaseConfig:
    mode: str = "auto"
    cadence_days: int = 30
    duration_minutes: int = 30
    max_active: int = 5
    max_new_per_day: int = 2
    decline_limit: int = 2
    heal_days: int = 14
    max_per_day: int = 1
    working_hours: str = "09:00-17:00"
    working_days: list[str] = field(default_factory=lambda: ["MO", "TU", "WE", "TH", "FR"])
    write_to: str = ""


@dataclass
class FollowupsConfig:
    enabled: bool = True
    max_attendees: int = 3
    lookback_hours: int = 24
    transport: str = "outbox"


@dataclass
class OutboxConfig:
    path: str = ""


@dataclass
class DigestConfig:
    enabled: bool = True
    time: str = "08:00"
    days: list[str] = field(default_factory=lambda: ["MO", "TU", "WE", "TH", "FR"])
    to: str = ""
    transport: str = "outbox"
    skip_when_empty: bool = False


@dataclass
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "TOUCHBASE_SMTP_PASSWORD"
    password_file: str = ""
    sender: str = ""
    timeout_seconds: int = 30
    ca_file: str = ""


@dataclass
class DaemonConfig:
    sync_minutes: int = 15
    planner_time: str = "07:30"


@dataclass
class LandscapeConfig:
    pause_days: int = 90
    let_go_after_days: int = 270
    reconnect_hour: bool = False
    reconnect_day: str = "FR"
    reconnect_time: str = "09:00"
    track_min_meetings: int = 3


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


# Keys of each source type, with their defaults ("" for a path means: computed later).
SOURCE_KEYS: dict[str, dict[str, Any]] = {
    "ics": {"path": "", "paths": [], "calendar_name": ""},
    "caldav": {
        "url": "", "username": "", "password_env": "TOUCHBASE_CALDAV_PASSWORD",
        "password_file": "", "calendars": [],
    },
    "google": {
        "calendars": ["primary"], "client_secrets": "", "token_file": "",
        "api_endpoint": "", "send_updates": "all",
    },
    "outlook": {
        "client_id": "", "tenant": "organizations", "authority": "",
        "graph_endpoint": "https://graph.microsoft.com/v1.0", "token_cache": "",
    },
}

SECRET_KEYS = ("password", "secret", "client_secret", "token")
"""Keys that would hold a secret in clear: refused in every section."""
SECRET_HINT = "secrets are never stored in the config; use password_env or password_file"

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
    "landscape": LandscapeConfig,
}
