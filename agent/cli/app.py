"""The state every command shares: config path, the instant to evaluate at, the open store."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from agent.configuration.loader import Config, load_config, resolve_config_path
from agent.errors import UserError
from agent.storage.store import Store


def parse_now(text: str | None) -> datetime | None:
    """The --now option as an aware datetime (a naive value is read in the local zone)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 instant", param_hint="--now") from None
    return value if value.tzinfo else value.astimezone()


class App:
    """Lazily loaded config and store for one CLI invocation."""

    def __init__(self, config_path: str | None, now: datetime | None, verbose: bool) -> None:
        self.config_path = config_path
        self.fixed_now = now
        self.verbose = verbose
        self._config: Config | None = None
        self._store: Store | None = None

    @property
    def path(self) -> Path:
        """The config file this invocation uses."""
        return resolve_config_path(self.config_path)

    @property
    def config(self) -> Config:
        """The loaded configuration (errors are UserErrors naming the file)."""
        if self._config is None:
            self._config = load_config(self.path)
        return self._config

    def use_config(self, config: Config) -> None:
        """Run with an already built config (the demo)."""
        self._config = config

    @property
    def store(self) -> Store:
        """The open store."""
        if self._store is None:
            self._store = Store(self.config.store_path)
        return self._store

    def now(self) -> datetime:
        """The instant to evaluate at, in the user's zone."""
        moment = self.fixed_now or datetime.now(UTC)
        return moment.astimezone(self.config.zone)

    def require_user(self) -> None:
        """Fail clearly when the config does not name the user."""
        if not self.config.user.email:
            raise UserError(f"{self.path}: [user] email is not set")

    def close(self) -> None:
        """Close the store."""
        if self._store is not None:
            self._store.close()
            self._store = None


class _DropFrom(logging.Filter):
    """Drops records of the named loggers (and their children)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(record.name == n or record.name.startswith(n + ".") for n in self.names)


class _KeepTracebacks(_DropFrom):
    """With --verbose: drops the named loggers' error lines the command prints itself, and
    keeps those that carry a traceback (what --verbose is asked for) and everything below
    ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return super().filter(record) or record.levelno < logging.ERROR or bool(record.exc_info)


@contextmanager
def reported_by_command(verbose: bool, *loggers: str) -> Iterator[None]:
    """While a command prints the failures of `loggers` itself, the terminal log handler does
    not print them too: each error reaches the user once. Other handlers (a journal, a test's
    log capture) still get every record; --verbose shows everything else (details, tracebacks)."""
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    drop = _KeepTracebacks(loggers) if verbose else _DropFrom(loggers)
    for handler in handlers:
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(drop)
