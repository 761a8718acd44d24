"""The TOML configuration, loaded into typed objects with defaults.

Every problem (unknown key, wrong type, out of bounds, bad format, unknown source type) is collected
and reported at once, each on one line naming the file, the section and the key. What is allowed is
declared in agent.configuration.schema; this module reads the file safely and applies the schema.
"""
from __future__ import annotations

import os
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from agent.configuration.options import MAX_STRING, WEEKDAYS, Option, options_of, url_parts  # noqa: F401
from agent.configuration.schema import (  # noqa: F401  (the schema is re-exported from here)
    SECRET_HINT,
    SECRET_KEYS,
    SECTIONS,
    SOURCE_COMMON,
    ColleaguesConfig,
    DaemonConfig,
    DigestConfig,
    FollowupsConfig,
    LandscapeConfig,
    OutboxConfig,
    SmtpConfig,
    SourceConfig,
    StoreConfig,
    SyncConfig,
    TouchbaseConfig,
    UserConfig,
)
from agent.errors import ConfigError
from agent.safe_text import address_label, looks_like_address
from connectors import KNOWN_TYPES, connector_class

APP_NAME = "touchbase"
MAX_CONFIG_BYTES = 1024 * 1024
"""A config file larger than this is refused unread (it cannot be a hand-written config)."""


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
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False


@dataclass
class Config:
    """The whole configuration; `path` is the file it came from (None: defaults).

    `given` holds "section.key" for every key the file set (so a default can depend on whether the
    user chose a value, e.g. [touchbase] mode).
    """

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
    sync: SyncConfig = field(default_factory=SyncConfig)
    landscape: LandscapeConfig = field(default_factory=LandscapeConfig)
    path: Path | None = None
    given: set[str] = field(default_factory=set)

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
    given = cli_path or os.environ.get("TOUCHBASE_CONFIG")
    if not given:
        return default_config_path()
    try:
        return Path(given).expanduser()
    except RuntimeError:
        raise ConfigError(f"{file_label(given)}: the ~user in this config path does not exist here") from None


# --- reading the file ---------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at `path` (a regular file of at most 1 MiB, UTF-8)."""
    raw = parse_toml(read_config_text(path), path)
    return parse_config(raw, path)


def read_config_text(path: Path) -> str:
    """The text of the config file; only a regular, small, UTF-8 file is read (never a FIFO or
    device, which could hang or never end)."""
    _check_is_regular(path, _stat(path))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ConfigError(f"{file_label(path)}: cannot read config: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_is_regular(path, os.fstat(handle.fileno()))  # it may have been swapped since the stat
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file_label(path)}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
    return _decode(path, data)


def _stat(path: Path) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{file_label(path)}: no config file here; run `touchbase init` to write one") from None
    except OSError as exc:
        raise ConfigError(f"{file_label(path)}: cannot read config: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{file_label(path)}: not a usable file name") from None


def _check_is_regular(path: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{file_label(path)}: is a folder; name the config file (e.g. {path / 'config.toml'})")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{file_label(path)}: not a regular file (a pipe, device or socket); name a TOML file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file_label(path)}: larger than {MAX_CONFIG_BYTES // 1024} KiB; not a config file")


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{file_label(path)}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                          "save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def parse_toml(text: str, path: Path | None = None) -> dict[str, Any]:
    """Parse TOML text; any failure (syntax, nesting too deep, huge numbers) is one ConfigError."""
    label = file_label(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{label}: not valid TOML: arrays or tables nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits, past Python's int-to-str limit
        why = "a number has too many digits" if "digits" in str(exc) else short(str(exc))
        raise ConfigError(f"{label}: not valid TOML: {why}") from None


# --- applying the schema ------------------------------------------------------------------

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 2, 160, 60, 40
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 4


def short(value: Any) -> str:
    """A short, one-line repr of a value from the file (nesting, length and size bounded)."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def file_label(path: Path | str | None) -> str:
    """The config file as problems name it: its path, quoted when it holds unprintable characters."""
    text = str(path or "config")
    return text if text.isprintable() else repr(text)


def _label_name(name: Any) -> str:
    """A section or key name as it is shown: bare when it is a plain word, else quoted."""
    text = str(name)
    if text.replace("_", "").replace("-", "").isalnum() and text.isascii() and len(text) <= 40:
        return text
    return short(text)


def parse_config(raw: dict[str, Any], path: Path | None = None) -> Config:
    """Turn parsed TOML into a Config, collecting every problem before failing."""
    label = file_label(path)
    problems: list[str] = []
    config = Config(path=path)
    for section, value in raw.items():
        if section == "sources":
            config.sources = _parse_sources(value, label, problems)
        elif section in SECTIONS:
            if not isinstance(value, dict):
                problems.append(f"{label}: [{section}] must be a table")
                continue
            setattr(config, section, _parse_section(section, value, f"{label}: [{section}]", problems))
            config.given.update(f"{section}.{key}" for key in value)
        else:
            problems.append(f"{label}: unknown section [{_label_name(section)}]")
    _check_cross_rules(config, label, problems)
    if problems:
        raise ConfigError(f"{label}: {len(problems)} problem(s) in the configuration", problems)
    if "touchbase.mode" not in config.given and not can_take_touchbases(config):
        config.touchbase.mode = "propose"  # nobody would be invited to the local calendar file
    return config


def can_take_touchbases(config: Config) -> bool:
    """Whether the write target is a calendar that invites people (not the local calendar file)."""
    name = write_target(config)
    source = next((s for s in config.sources if s.name == name), None)
    if source is None:
        return False
    return not connector_class(source.type).read_only


def _parse_section(section: str, value: dict[str, Any], where: str, problems: list[str]) -> Any:
    cls = SECTIONS[section]
    known = {option.key: option for option in options_of(cls)}
    instance = cls()
    for key, item in value.items():
        if _accepted(known, key, item, where, problems):
            setattr(instance, key, item)
    return instance


def check_value(option: Option, value: Any) -> list[str]:
    """What is wrong with `value` for `option` (each problem starts with the key); [] when fine."""
    key = option.key
    if not _type_ok(option.kind, value):
        return [f"{key} must be {_TYPE_NAMES[option.kind]}, got {short(value)}"]
    if option.kind == "int":
        return _check_bounds(option, value)
    if option.kind == "bool":
        return []
    strings = _strings_of(value)
    for text in strings:
        bad = _hygiene(text)
        if bad:
            return [f"{key} {bad}"]
    if option.kind == "str":
        return _check_string(option, value)
    if option.kind == "list" and option.nonempty and not value:
        return [f"{key} must list at least one value"]
    problems = [f"{key}: {_shown(option, text)} {_item_problem(option, text)}" for text in strings
                if _item_problem(option, text)]
    return problems[:3]


_TYPE_NAMES = {"bool": "true or false", "int": "an integer", "str": "a string",
               "list": "a list of strings", "table": "a table of strings"}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(x, str) for x in value)
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _strings_of(value: str | list[str] | dict[str, str]) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return list(value)
    return [text for pair in value.items() for text in pair]


def _hygiene(text: str) -> str:
    if len(text) > MAX_STRING:
        return f"holds a value longer than {MAX_STRING} characters"
    if any(_is_control(ch) for ch in text):
        return "must not contain control characters"
    return ""


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069


def _check_bounds(option: Option, value: int) -> list[str]:
    low, high = option.minimum, option.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            return [f"{option.key} must be between {low} and {high}, got {short(value)}"]
        if low is not None:
            return [f"{option.key} must be at least {low}, got {short(value)}"]
        return [f"{option.key} must be at most {high}, got {short(value)}"]
    return []


def _check_string(option: Option, value: str) -> list[str]:
    if option.choices and value not in option.choices:
        return [f"{option.key} must be {_one_of(option.choices)}"]
    if value == "" and option.may_be_empty():
        return []
    problem = _item_problem(option, value)
    return [f"{option.key} {_shown(option, value)} {problem}"] if problem else []


def _shown(option: Option, value: str) -> str:
    """A string value as a message may quote it: a web address (or the value of an address key,
    valid or not) by its scheme and host only; a calendar's secret address holds its secret in
    the path, a login sits before the host."""
    if not (looks_like_address(value) or (option.rule is not None and option.rule.address)):
        return short(value)
    shown = address_label(value)
    if not shown:
        return "(the value is not shown)"
    return short(shown if value.strip() == shown else f"{shown}/...")


def _item_problem(option: Option, text: str) -> str:
    if option.kind != "str" and text == "":
        return "is empty"
    if option.kind != "str" and option.choices and text not in option.choices:
        return f"is not {_one_of(option.choices)}"
    return option.rule.test(text) if option.rule else ""


def _one_of(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


# --- sources ------------------------------------------------------------------------------


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
        problems.append(f"{label}: [[sources]] name {short(name)} is used more than once")
    return sources


def _parse_source(entry: Any, where: str, problems: list[str]) -> SourceConfig | None:
    if not isinstance(entry, dict):
        problems.append(f"{where} must be a table")
        return None
    name, type_name = entry.get("name"), entry.get("type")
    if not isinstance(name, str) or not name:
        problems.append(f"{where} needs a name")
        name = f"source{where.rsplit('#', 1)[-1]}"
    else:
        problems.extend(f"{where} {problem}" for problem in check_value(SOURCE_COMMON[0], name))
    where = f"{where.rsplit(' #', 1)[0]} {short(name)}"
    if not isinstance(type_name, str) or type_name not in KNOWN_TYPES:
        problems.append(f"{where} type {short(type_name)} is not one of: {', '.join(KNOWN_TYPES)}")
        return None
    kind = connector_class(type_name)
    known = {option.key: option for option in kind.config_options}
    options = {key: (list(option.default) if isinstance(option.default, list) else option.default)
               for key, option in known.items()}
    for key, item in entry.items():
        if key in ("name", "type"):
            continue
        if _accepted(known, key, item, where, problems):
            options[key] = item
    problems.extend(f"{where} {problem}" for problem in kind.option_problems(entry))
    return SourceConfig(name=name, type=type_name, options=options)


# --- rules across keys --------------------------------------------------------------------


def _check_cross_rules(config: Config, label: str, problems: list[str]) -> None:
    names = {s.name for s in config.sources}
    for section, key, allowed in (
        ("touchbase", "write_to", {""}),
        ("followups", "transport", {"outbox"}),
        ("digest", "transport", {"outbox", "smtp"}),
    ):
        value = getattr(getattr(config, section), key)
        if value not in allowed and value not in names:
            problems.append(f"{label}: [{section}] {key} {short(value)} is neither "
                            f"{' / '.join(sorted(a for a in allowed if a)) or 'empty'} nor a source name")
    if not any(p.startswith(f"{label}: [store] path") for p in problems):
        problem = store_place_problem(config.store_path)
        if problem:
            problems.append(f"{label}: [store] path {short(str(config.store_path))} {problem}")


def store_place_problem(path: Path) -> str:
    """Why `path` can never hold the store; "" when it may. A folder or a missing file that the
    store opens later is its business (a runtime fact); here only what no run could use."""
    if not path.name:
        return "is a folder; name the store file inside it (e.g. touchbase.db)"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return _creatable_problem(path)
    except NotADirectoryError:
        return "cannot be used: a part of it is a file, not a folder"
    except (OSError, ValueError) as exc:
        return f"cannot be used: {getattr(exc, 'strerror', None) or exc}"
    if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        return "is not a regular file (a device, pipe or socket)"
    return ""


def _creatable_problem(path: Path) -> str:
    for parent in path.absolute().parents:
        try:
            info = os.stat(parent)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"cannot be created: {exc.strerror}"
        if not stat.S_ISDIR(info.st_mode):
            return f"cannot be created: {parent} is not a folder"
        if not os.access(parent, os.W_OK | os.X_OK):
            return f"cannot be created: {parent} is not writable"
        return ""
    return ""


def write_target(config: Config) -> str:
    """The source name touchbases are written to ("" means the local calendar file)."""
    if config.touchbase.write_to:
        return config.touchbase.write_to
    return config.sources[0].name if config.sources else ""


def _accepted(known: dict[str, Option], key: str, item: Any, where: str, problems: list[str]) -> bool:
    """Whether `key = item` is a known, valid option that is not a secret; problems are collected."""
    if key in SECRET_KEYS:
        problems.append(f"{where} {key}: {SECRET_HINT}")
        return False
    if key not in known:
        problems.append(f"{where} unknown key {short(key)}")
        return False
    found = check_value(known[key], item)
    problems.extend(f"{where} {problem}" for problem in found)
    return not found
