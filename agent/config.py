"""The TOML configuration, loaded into typed objects with defaults.

Every problem (unknown key, wrong type, bad time zone, unknown source type) is collected and
reported at once, each naming the file, the section and the key.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from agent.config_schema import (  # noqa: F401  (the schema is re-exported from here)
    SECRET_HINT,
    SECRET_KEYS,
    SECTIONS,
    SOURCE_KEYS,
    ColleaguesConfig,
    DaemonConfig,
    DigestConfig,
    FollowupsConfig,
    LandscapeConfig,
    OutboxConfig,
    SmtpConfig,
    SourceConfig,
    StoreConfig,
    TouchbaseConfig,
    UserConfig,
)
from agent.errors import ConfigError

APP_NAME = "touchbase"
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def system_timezone() -> str:
    """The IANA name of the machine's zone, or UTC when it cannot be told."""
    env = os.environ.get("TZ", "").lstrip(":")
    if env and _valid_zone(env):
        return env
    try:
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            name = link.split("zoneinfo/", 1)[1]
            if _valid_zone(name):
                return name
    except OSError:
        pass
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


@dataclass
class Config:
    """The whole configuration; `path` is the file it came from (None: defaults)."""

    user: UserConfig = field(default_factory=UserConfig)
    colleagues: ColleaguesConfig = field(default_factory=ColleaguesConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    sources: list[SourceConfig] = field(default_factory=list)
    touchbase: TouchbaseConfig = field(default_factory=TouchbaseConfig)
    followups: FollowupsConfig = field(default_factory=FollowupsConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    landscape: LandscapeConfig = field(default_factory=LandscapeConfig)
    path: Path | None = None

    @property
    def store_path(self) -> Path:
        """The SQLite file of the store."""
        if self.store.path:
            return Path(self.store.path).expanduser()
        return Path(platformdirs.user_data_dir(APP_NAME)) / "touchbase.db"

    @property
    def data_dir(self) -> Path:
        """The folder that holds the store, the local calendar file, the outbox and tokens."""
        return self.store_path.parent

    @property
    def outbox_path(self) -> Path:
        """The local Maildir (new/ for mail, Drafts/ for drafts)."""
        if self.outbox.path:
            return Path(self.outbox.path).expanduser()
        return self.data_dir / "outbox"

    @property
    def local_calendar_path(self) -> Path:
        """The calendar file the agent writes when the target source is read-only."""
        return self.data_dir / "touchbase.ics"

    @property
    def user_emails(self) -> list[str]:
        """All of the user's addresses, lower-cased."""
        return [a.lower() for a in [self.user.email, *self.user.aliases] if a]

    @property
    def zone(self) -> ZoneInfo:
        """The user's time zone."""
        return ZoneInfo(self.user.timezone or system_timezone())

    def source(self, name: str) -> SourceConfig:
        """The source called `name`."""
        for src in self.sources:
            if src.name == name:
                return src
        raise ConfigError(f"{self.path or 'config'}: no source named {name!r}")


def default_config_path() -> Path:
    """The config file used when neither --config nor $TOUCHBASE_CONFIG is given."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def resolve_config_path(cli_path: str | None) -> Path:
    """--config, then $TOUCHBASE_CONFIG, then the platform config dir."""
    if cli_path:
        return Path(cli_path).expanduser()
    env = os.environ.get("TOUCHBASE_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config_path()


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no config file here; run `touchbase init` to write one") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Turn parsed TOML into a Config, collecting every problem before failing."""
    label = str(path or "config")
    problems: list[str] = []
    config = Config(path=path)
    for section, value in raw.items():
        if section == "sources":
            config.sources = _parse_sources(value, label, problems)
        elif section in SECTIONS:
            if not isinstance(value, dict):
                problems.append(f"{label}: [{section}] must be a table")
                continue
            setattr(config, section, _parse_section(section, value, label, problems))
        else:
            problems.append(f"{label}: unknown section [{section}]")
    _check_semantics(config, label, problems)
    if problems:
        raise ConfigError(f"{label}: {len(problems)} problem(s) in the configuration", problems)
    return config


def _parse_section(section: str, value: dict, label: str, problems: list[str]) -> Any:
    cls = SECTIONS[section]
    known = {f.name: f for f in dataclasses.fields(cls)}
    instance = cls()
    for key, item in value.items():
        if key in SECRET_KEYS:
            problems.append(f"{label}: [{section}] {key}: {SECRET_HINT}")
            continue
        if key not in known:
            problems.append(f"{label}: [{section}] unknown key {key!r}")
            continue
        default = getattr(instance, key)
        if _type_ok(default, item):
            setattr(instance, key, item)
        else:
            problems.append(
                f"{label}: [{section}] {key} must be {_type_name(default)}, got {item!r}"
            )
    return instance


def _type_ok(default: Any, item: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(item, bool)
    if isinstance(default, int):
        return isinstance(item, int) and not isinstance(item, bool)
    if isinstance(default, str):
        return isinstance(item, str)
    if isinstance(default, list):
        return isinstance(item, list) and all(isinstance(x, str) for x in item)
    if isinstance(default, dict):
        return isinstance(item, dict) and all(isinstance(v, str) for v in item.values())
    return True


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, list):
        return "a list of strings"
    if isinstance(default, dict):
        return "a table of strings"
    return type(default).__name__


def _parse_sources(value: Any, label: str, problems: list[str]) -> list[SourceConfig]:
    if not isinstance(value, list):
        problems.append(f"{label}: sources must be written as [[sources]] tables")
        return []
    sources: list[SourceConfig] = []
    for index, entry in enumerate(value, start=1):
        source = _parse_source(entry, f"{label}: [[sources]] #{index}", problems)
        if source:
            sources.append(source)
    names = [s.name for s in sources]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{label}: [[sources]] name {name!r} is used more than once")
    return sources


def _parse_source(entry: Any, where: str, problems: list[str]) -> SourceConfig | None:
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table")
        return None
    name, type_name = entry.get("name"), entry.get("type")
    if not isinstance(name, str) or not name:
        problems.append(f"{where} needs a name")
        name = f"source{where.rsplit('#', 1)[-1]}"
    where = f"{where.rsplit(' #', 1)[0]} {name!r}"
    if type_name not in SOURCE_KEYS:
        known = ", ".join(SOURCE_KEYS)
        problems.append(f"{where} type {type_name!r} is not one of: {known}")
        return None
    defaults = SOURCE_KEYS[type_name]
    options = {k: (list(v) if isinstance(v, list) else v) for k, v in defaults.items()}
    for key, item in entry.items():
        if key in ("name", "type"):
            continue
        if key in SECRET_KEYS:
            problems.append(f"{where} {key}: {SECRET_HINT}")
        elif key not in defaults:
            problems.append(f"{where} unknown key {key!r}")
        elif not _type_ok(defaults[key], item):
            problems.append(f"{where} {key} must be {_type_name(defaults[key])}, got {item!r}")
        else:
            options[key] = item
    if type_name == "ics" and not options["path"] and not options["paths"]:
        problems.append(f"{where} path: an ics source needs a path (or paths)")
    return SourceConfig(name=name, type=type_name, options=options)


def _check_semantics(config: Config, label: str, problems: list[str]) -> None:
    for source in config.sources:
        if source.type == "google" and source.options.get("send_updates") not in ("all", "externalOnly", "none"):
            problems.append(f"{label}: [[sources]] {source.name!r} send_updates must be all, externalOnly or none")
    if config.user.timezone and not _valid_zone(config.user.timezone):
        problems.append(f"{label}: [user] timezone {config.user.timezone!r} is not a known time zone")
    if config.touchbase.mode not in ("auto", "propose", "off"):
        problems.append(f"{label}: [touchbase] mode must be auto, propose or off")
    if not re.match(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$", config.touchbase.working_hours):
        problems.append(f"{label}: [touchbase] working_hours must look like 09:00-17:00")
    for section, key in (("digest", "time"), ("daemon", "planner_time"), ("landscape", "reconnect_time")):
        value = getattr(getattr(config, section), key)
        if not _HHMM.match(value):
            problems.append(f"{label}: [{section}] {key} must look like 08:00, got {value!r}")
    for section, key in (("touchbase", "working_days"), ("digest", "days")):
        for day in getattr(getattr(config, section), key):
            if day not in WEEKDAYS:
                problems.append(f"{label}: [{section}] {key}: {day!r} is not one of {', '.join(WEEKDAYS)}")
    if not 0 <= config.touchbase.heal_days <= 60:
        problems.append(f"{label}: [touchbase] heal_days must be 0 to 60 (0: no healing)")
    if config.landscape.reconnect_day not in WEEKDAYS:
        problems.append(f"{label}: [landscape] reconnect_day must be one of {', '.join(WEEKDAYS)}")
    if config.smtp.security not in ("starttls", "ssl", "none"):
        problems.append(f"{label}: [smtp] security must be starttls, ssl or none")
    names = {s.name for s in config.sources}
    for section, key, allowed in (
        ("touchbase", "write_to", {""}),
        ("followups", "transport", {"outbox"}),
        ("digest", "transport", {"outbox", "smtp"}),
    ):
        value = getattr(getattr(config, section), key)
        if value not in allowed and value not in names:
            problems.append(f"{label}: [{section}] {key} {value!r} is neither "
                            f"{' / '.join(sorted(a for a in allowed if a)) or 'empty'} nor a source name")
    for section, key in (("colleagues", "max_attendees"), ("colleagues", "window_days"),
                         ("touchbase", "cadence_days"), ("touchbase", "duration_minutes"),
                         ("touchbase", "max_per_day"), ("daemon", "sync_minutes")):
        if getattr(getattr(config, section), key) < 1:
            problems.append(f"{label}: [{section}] {key} must be at least 1")


def write_target(config: Config) -> str:
    """The source name touchbases are written to ("" means the local calendar file)."""
    if config.touchbase.write_to:
        return config.touchbase.write_to
    return config.sources[0].name if config.sources else ""
