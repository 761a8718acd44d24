"""Reading every configured source into the store, one transaction per source."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agent.configuration.loader import Config, SourceConfig
from agent.errors import AuthError, SourceError
from agent.safe_text import without_addresses
from agent.sources import local_source, open_connector
from agent.storage.store import Store

log = logging.getLogger(__name__)

@dataclass
class SourceResult:
    """What one source's sync did."""

    name: str
    ok: bool
    occurrences: int = 0
    unchanged: bool = False
    skipped: list[str] = field(default_factory=list)
    error: str = ""


def sources_to_sync(config: Config) -> list[SourceConfig]:
    """The configured sources, plus the local calendar file once the agent has written it."""
    sources = list(config.sources)
    if config.local_calendar_path.exists():
        sources.append(local_source(config))
    return sources


def sync_source(config: Config, store: Store, source: SourceConfig, now: datetime,
                progress: Callable[[int, int], None] | None = None) -> SourceResult:
    """Sync one source; a failure is recorded and returned, never raised."""
    try:
        connector = open_connector(config, source, now, progress)
        try:
            changes, state = connector.fetch_changes(store.source_state(source.name))
        finally:
            connector.close()
    except AuthError as exc:
        store.record_source_error(source.name, source.type, _told(exc), now, needs_reauth=exc.fix)
        log.error("%s", _told(exc))
        return SourceResult(source.name, ok=False, error=_told(exc))
    except SourceError as exc:
        store.record_source_error(source.name, source.type, _told(exc), now)
        log.error("%s", _told(exc))
        return SourceResult(source.name, ok=False, error=_told(exc))
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        message = f"{source.name}: unexpected error: {type(exc).__name__}: {_told(exc)}"
        store.record_source_error(source.name, source.type, message, now)
        log.error("%s", message, exc_info=log.isEnabledFor(logging.DEBUG))
        return SourceResult(source.name, ok=False, error=message)
    if not changes.unchanged:
        store.apply_changes(source.name, changes)
    for line in changes.skipped:
        log.info("%s", line)
    skipped = None if changes.unchanged else len(changes.skipped)
    store.record_sync(source.name, source.type, state, now, skipped)
    return SourceResult(source.name, ok=True, occurrences=changes.occurrence_count(),
                        unchanged=changes.unchanged, skipped=changes.skipped)


def _told(exc: Exception) -> str:
    """An error as it is stored and shown: any web address in it by scheme and host only (a
    calendar's address may be its secret)."""
    return without_addresses(str(exc))


def sync_all(config: Config, store: Store, now: datetime,
             progress: Callable[[int, int], None] | None = None) -> list[SourceResult]:
    """Sync every source in turn; one failing source does not stop the others."""
    return [sync_source(config, store, source, now, progress) for source in sources_to_sync(config)]
