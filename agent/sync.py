"""Reading every configured source into the store, one transaction per source.

A sudden loss is held, not believed: when a source that had occurrences in the sync window
answers with none, or with more than `[sync] max_loss_percent` of them gone at once (a full
re-read or an incremental answer alike), the answer is not applied and the source's state is not
advanced (the next sync reads the same again); the source is marked suspect until a later answer
either shows no such loss (it is applied and the mark cleared) or shows it again (a second answer
in a row: believed). `sync --accept-loss` believes it at once. A first sync is never a loss, and
the agent's own local calendar file is never held.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from agent.configuration.loader import Config, SourceConfig
from agent.errors import AuthError, SourceError
from agent.figures_memo import ensure as ensure_figures
from agent.inference import MeetingRules, sync_window
from agent.mail_signal import store_messages
from agent.model import LOCAL_SOURCE, Changes, MailMessage
from agent.safe_text import without_addresses
from agent.sources import local_source, open_connector
from agent.storage import mail_contacts, notices, occurrences
from agent.storage import sources as stored_sources
from agent.storage.store import Store, iso
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
    held: str = ""  # why the answer was held as a sudden loss ("" when it was applied)
    confirmed: str = ""  # a loss believed: a second answer in a row, or --accept-loss


def sources_to_sync(config: Config) -> list[SourceConfig]:
    """The configured sources, plus the local calendar file once the agent has written it."""
    sources = list(config.sources)
    if config.local_calendar_path.exists():
        sources.append(local_source(config))
    return sources


def sync_source(config: Config, store: Store, source: SourceConfig, now: datetime,
                progress: Callable[[int, int], None] | None = None,
                accept_loss: bool = False) -> SourceResult:
    """Sync one source (its calendar, and its mail where it is read); a failure is recorded and
    returned, never raised. A sudden loss of calendar events is held (nothing applied, the state
    not advanced) unless it is the second answer in a row showing one, or `accept_loss` is set."""
    try:
        connector = open_connector(config, source, now, progress)
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        return _failed(store, source, now, exc, calendar=True)
    try:
        result = SourceResult(source.name, ok=True, unchanged=True, calendar=False)
        if connector.reads_calendar:
            result = _sync_calendar(config, store, source, connector, now, accept_loss)
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


def _sync_calendar(config: Config, store: Store, source: SourceConfig, connector: Connector,
                   now: datetime, accept_loss: bool) -> SourceResult:
    try:
        changes, state = connector.fetch_changes(store.source_state(source.name))
    except Exception as exc:  # noqa: BLE001 - one broken source must not stop the others
        return _failed(store, source, now, exc, calendar=True)
    loss = sudden_loss(config, store, source.name, changes, now)
    if loss and not accept_loss and stored_sources.suspect(store, source.name) is None:
        stored_sources.hold(store, source.name, source.type, loss, now)
        log.warning("%s: %s; kept the previous state until a later answer confirms it", source.name, loss)
        return SourceResult(source.name, ok=True, occurrences=changes.occurrence_count(), held=loss)
    if loss:
        log.warning("%s: %s; believed (%s)", source.name, loss,
                    "--accept-loss" if accept_loss else "a second answer in a row")
    if not changes.unchanged:
        store.apply_changes(source.name, changes)
    for line in changes.skipped:
        log.info("%s", line)
    skipped = None if changes.unchanged else len(changes.skipped)
    store.record_sync(source.name, source.type, state, now, skipped)
    return SourceResult(source.name, ok=True, occurrences=changes.occurrence_count(),
                        unchanged=changes.unchanged, skipped=changes.skipped, confirmed=loss)


def sudden_loss(config: Config, store: Store, name: str, changes: Changes, now: datetime) -> str:
    """What makes `changes` a sudden loss for source `name` ("answered empty", "dropped 12 of
    20 occurrences at once"), or "" when it is none: counted over the sync window, occurrences
    not cancelled, stored before against stored after the changes would be applied."""
    if changes.unchanged or name == LOCAL_SOURCE:
        return ""
    start, end = sync_window(config, now)
    before = occurrences.live_count(store, name, start, end)
    if not before:
        return ""  # a first sync, or a source that had nothing: nothing to lose
    after = _count_after(store, name, changes, start, end, before)
    lost = before - after
    if lost * 100 <= before * config.sync.max_loss_percent:
        return ""
    return "answered empty" if after == 0 else f"dropped {lost} of its {before} occurrences at once"


def _count_after(store: Store, name: str, changes: Changes, start: datetime, end: datetime,
                 before: int) -> int:
    """How many occurrences of `name` (not cancelled, in [start, end)) the store would hold
    once `changes` were applied."""
    low, high = iso(start), iso(end)  # compared as the store compares them
    new = sum(1 for items in changes.upserts.values() for occ in items
              if not occ.cancelled and low <= iso(occ.start) < high)
    if changes.full:
        return new
    touched = {*changes.removed, *changes.upserts}
    return before - occurrences.live_count(store, name, start, end, touched) + new


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
             progress: Callable[[int, int], None] | None = None,
             accept_loss: bool = False) -> list[SourceResult]:
    """Sync every source in turn; one failing source does not stop the others. `accept_loss`:
    believe a sudden loss at once instead of holding it."""
    results = [sync_source(config, store, source, now, progress, accept_loss)
               for source in sources_to_sync(config)]
    ensure_figures(config, store, now)  # the figures the commands after a sync read
    return results


SOURCE_KINDS = {"caldav": "your CalDAV calendar", "google": "your Google calendar",
                "outlook": "your Outlook calendar"}
ADDRESS_KEYS = ("url", "urls", "url_env", "url_file")


def source_kind(source: SourceConfig | None) -> str:
    """How the user knows a source: "your calendar address", "your calendar file", "your
    Google calendar"..."""
    if source is None:
        return "the source"
    if source.type == "ics":
        at_address = any(source.options.get(key) for key in ADDRESS_KEYS)
        return "your calendar address" if at_address else "your calendar file"
    return SOURCE_KINDS.get(source.type, f"your {source.type} calendar")


def held_text(config: Config, name: str, reason: str, kept: str) -> str:
    """What a held source shows (status, the morning email): "your calendar address answered
    empty; kept the state of <kept> ...", `kept` being the time of its last believed sync."""
    source = next((s for s in config.sources if s.name == name), None)
    return (f"{source_kind(source)} {reason}; kept the state of {kept}, and no new touchbase is "
            "booked or proposed until a later answer confirms or clears it "
            "(`touchbase sync --accept-loss` believes it now)")

