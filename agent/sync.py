"""Reading every configured source into the store, one transaction per source."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agent.configuration.loader import Config, SourceConfig
from agent.errors import AuthError, SourceError
from agent.inference import MeetingRules
from agent.mail_signal import store_messages
from agent.model import MailMessage
from agent.safe_text import without_addresses
from agent.sources import local_source, open_connector
from agent.storage import mail_contacts, notices
from agent.storage.store import Store
from connectors.base import Connector

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
    mail_messages: int | None = None  # counted mail rows written (None: no mail read)
    calendar: bool = True  # False for a mail-only source


def sources_to_sync(config: Config) -> list[SourceConfig]:
    """The configured sources, plus the local calendar file once the agent has written it."""
    sources = list(config.sources)
    if config.local_calendar_path.exists():
        sources.append(local_source(config))
    return sources


def sync_source(config: Config, store: Store, source: SourceConfig, now: datetime,
                progress: Callable[[int, int], None] | None = None) -> SourceResult:
    """Sync one source (its calendar, and its mail where it is read); a failure is recorded and
    returned, never raised."""
    try:
        connector = open_connector(config, source, now, progress)
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        return _failed(store, source, now, exc, calendar=True)
    try:
        result = SourceResult(source.name, ok=True, unchanged=True, calendar=False)
        if connector.reads_calendar:
            result = _sync_calendar(store, source, connector, now)
        if connector.reads_mail():
            _sync_mail(config, store, source, connector, now, result)
        return result
    finally:
        _tell_notices(store, source, connector, now)
        connector.close()


def _tell_notices(store: Store, source: SourceConfig, connector: Connector, now: datetime) -> None:
    """What the source has to tell (a token cache without an OS keyring): each notice once per
    store, as a warning; `touchbase status` shows the standing ones."""
    current = connector.notices()
    if current is not None:
        for text in notices.settle(store, source.name, current, now):
            log.warning("%s: %s", source.name, text)


def _sync_calendar(store: Store, source: SourceConfig, connector: Connector,
                   now: datetime) -> SourceResult:
    try:
        changes, state = connector.fetch_changes(store.source_state(source.name))
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        return _failed(store, source, now, exc, calendar=True)
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


def _sync_mail(config: Config, store: Store, source: SourceConfig, connector: Connector,
               now: datetime, result: SourceResult) -> None:
    """Read the source's mail metadata; each batch is stored as it arrives (a crash keeps what
    was read, and the next run, reading from the last saved state, ends with exact figures)."""
    rules = MeetingRules(config)
    counted = [0]

    def sink(batch: list[MailMessage]) -> None:
        counted[0] += store_messages(store, source.name, batch, rules)

    try:
        state = connector.fetch_mail(mail_contacts.state(store, source.name), sink)
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        failed = _failed(store, source, now, exc, calendar=False)
        result.ok, result.error = False, failed.error
        return
    mail_contacts.record_sync(store, source.name, source.type, state, now)
    result.mail_messages = counted[0]


def _failed(store: Store, source: SourceConfig, now: datetime, exc: Exception,
            calendar: bool) -> SourceResult:
    """Record and log a failed read (of the calendar, or of the mail)."""
    fix = exc.fix if isinstance(exc, AuthError) else None
    if isinstance(exc, SourceError):
        message = _told(exc)
        log.error("%s", message)
    else:
        message = f"{source.name}: unexpected error: {type(exc).__name__}: {_told(exc)}"
        log.error("%s", message, exc_info=log.isEnabledFor(logging.DEBUG))
    if calendar:
        store.record_source_error(source.name, source.type, message, now, needs_reauth=fix)
    else:
        mail_contacts.record_error(store, source.name, source.type, message, now, needs_reauth=fix)
    return SourceResult(source.name, ok=False, error=message)


def sync_all(config: Config, store: Store, now: datetime,
             progress: Callable[[int, int], None] | None = None) -> list[SourceResult]:
    """Sync every source in turn; one failing source does not stop the others."""
    return [sync_source(config, store, source, now, progress) for source in sources_to_sync(config)]
