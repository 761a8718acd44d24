"""The calendars one run writes through: each connector opened once, closed at the end, and the
local calendar file synced again when the run wrote it (so its series count as booked)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agent.configuration.loader import Config, SourceConfig, write_target
from agent.errors import ConfigError
from agent.sources import LOCAL_SOURCE, local_source, open_connector
from agent.storage.store import Store
from agent.sync import sync_source
from connectors import connector_class
from connectors.base import Connector

OpenConnector = Callable[[Config, SourceConfig, datetime], Connector]


def target_source(config: Config) -> SourceConfig:
    """Where the agent writes its own series: `write_to` (or the first source), or the local
    calendar file when that source only reads."""
    name = write_target(config)
    if not name:
        return local_source(config)
    source = config.source(name)
    if connector_class(source.type).read_only:
        return local_source(config)
    return source


def source_named(config: Config, name: str) -> SourceConfig:
    """The source a series was written to: the local calendar file, or a configured source
    (ConfigError when it is no longer configured)."""
    return local_source(config) if name == LOCAL_SOURCE else config.source(name)


def configured_source(config: Config, name: str) -> SourceConfig | None:
    """`source_named`, or None when that source is no longer configured."""
    try:
        return source_named(config, name)
    except ConfigError:
        return None


def where_written(config: Config, name: str, hint: bool = True) -> str:
    """'in <local calendar file>' (with how to use it when `hint`) or 'in <source name>'."""
    if name != LOCAL_SOURCE:
        return f"in {name}"
    suffix = " (import or subscribe to it)" if hint else ""
    return f"in {config.local_calendar_path}{suffix}"


class WriteTargets:
    """Open connectors of one planner or reconnect-hour pass."""

    def __init__(self, config: Config, store: Store, now: datetime,
                 opener: OpenConnector = open_connector) -> None:
        self.config, self.store, self.now = config, store, now
        self.opener = opener
        self._open: dict[str, Connector] = {}
        self._local_written = False

    def get(self, source: SourceConfig) -> Connector:
        """The connector of `source`, opened on first use."""
        if source.name not in self._open:
            self._open[source.name] = self.opener(self.config, source, self.now)
        return self._open[source.name]

    def wrote(self, source_name: str) -> None:
        """Note a write through `source_name` (the local file is re-read at close)."""
        self._local_written |= source_name == LOCAL_SOURCE

    def close(self) -> None:
        """Close every connector; sync the local calendar file again when it was written."""
        for connector in self._open.values():
            connector.close()
        self._open.clear()
        if self._local_written:
            self._local_written = False
            sync_source(self.config, self.store, local_source(self.config), self.now)
