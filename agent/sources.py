"""The configured sources as connectors: the context they get, and the agent's local calendar file."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from agent import model
from agent.configuration.loader import Config, SourceConfig
from agent.inference import sync_window
from connectors import connector_class
from connectors.base import Connector, ConnectorContext

log = logging.getLogger(__name__)

LOCAL_SOURCE = model.LOCAL_SOURCE
"""The name under which the local calendar file (the agent's own writes) is synced."""


def make_context(config: Config, now: datetime,
                 progress: Callable[[int, int], None] | None = None) -> ConnectorContext:
    """The connector context for this config as of `now`."""
    start, end = sync_window(config, now)
    return ConnectorContext(
        user_emails=config.user_emails,
        timezone=str(config.zone),
        window_start=start,
        window_end=end,
        data_dir=config.data_dir,
        progress=progress,
        warn=log.warning,
        now=now,
    )


def open_connector(config: Config, source: SourceConfig, now: datetime,
                   progress: Callable[[int, int], None] | None = None) -> Connector:
    """An instance of the connector for `source`."""
    cls = connector_class(source.type)
    return cls(source, make_context(config, now, progress))


def local_source(config: Config) -> SourceConfig:
    """The internal source for the local calendar file the agent writes."""
    return SourceConfig(name=LOCAL_SOURCE, type="local",
                        options={"path": str(config.local_calendar_path)})
