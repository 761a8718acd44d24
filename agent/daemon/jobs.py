"""The agent's jobs, run in order, each guarded so one failure never stops the others.

`run_once` is what `touchbase run --once` does and what the daemon does at start; the daemon
then runs the same job functions on its schedule. Each run is recorded in the `jobs` table
(last success, last error, consecutive failures), which `touchbase status` and the morning
email show next to each source's health.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.configuration.loader import Config
from agent.storage import job_runs
from agent.storage.store import Store
from agent.time_limits import Interrupted

if TYPE_CHECKING:
    from agent.sync import SourceResult

log = logging.getLogger(__name__)

Heartbeat = Callable[[], Any]
JobFunction = Callable[[Config, Store, datetime, Heartbeat], str]


@dataclass
class JobResult:
    """What one job did: `detail` on success, `error` on failure."""

    name: str
    ok: bool
    detail: str = ""
    error: str = ""
    stopped: bool = False  # a stop request ended it while it waited on the network

    def line(self) -> str:
        """One line for the terminal or the log."""
        if self.stopped:
            return f"{self.name}: not finished: {self.error}"
        if self.ok:
            return f"{self.name}: ok" + (f" ({self.detail})" if self.detail else "")
        return f"{self.name}: FAILED: {self.error}"


class JobFailed(Exception):
    """A job ran to its end but part of it failed (e.g. a source); the message says which."""


def job_sync(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Read every source; a failing source is recorded per source and fails the job."""
    from agent.sync import sync_all

    results = sync_all(config, store, now, progress=lambda done, total: heartbeat())
    errors = [r.error for r in results if not r.ok]
    parts = [f"{r.name}: {_sync_part(r)}" for r in results if r.ok]
    if errors:
        raise JobFailed("; ".join(errors))
    return ", ".join(parts) or "no sources configured"


def _sync_part(result: SourceResult) -> str:
    """One source's part of the sync job's line."""
    if result.held:
        return f"held ({result.held}; see touchbase status)"
    calendar = "unchanged" if result.unchanged else f"{result.occurrences} occurrences"
    if result.mail_messages is None:
        return calendar
    mail = f"{result.mail_messages} counted mail message(s)"
    return f"{calendar}, {mail}" if result.calendar else mail


def job_heal(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Act on touchbase declines and conflicts as soon as a sync brings them (the planner also
    does daily): declines are read back, then instances in trouble healed. Store-only checks
    come first, so after a sync that changed nothing this costs no request to any backend."""
    from agent.planning.planner import heal_after_sync, new_declines_synced, read_back_series

    parts = []
    if new_declines_synced(config, store, now):
        parts.append(f"declines read back: {describe(read_back_series(config, store, now), 'action')}")
    healed = heal_after_sync(config, store, now)
    if healed is not None:
        parts.append(f"touchbases healed: {describe(healed, 'action')}")
    return "; ".join(parts) or "nothing to do"


def job_followups(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Draft follow-ups for meetings that just ended."""
    from agent.followups import KIND, run_followups

    detail = drafts_detail(config, describe(run_followups(config, store, now), "draft"))
    _fail_on_undelivered(store, (KIND,), detail)
    return detail


def drafts_detail(config: Config, detail: str) -> str:
    """`detail` of drafts written, saying so when they only reached the local outbox."""
    from agent.mail import DRAFTS_NOTICE, OUTBOX

    if not detail or config.followups.transport != OUTBOX or detail.startswith("0 "):
        return detail
    return f"{detail}; {DRAFTS_NOTICE}"


def job_reconnect_hour(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Keep the weekly Reconnect hour as configured (before the planner, so touchbases are
    booked around it)."""
    from agent.landscape.reconnect_block import ensure_reconnect_block

    done = ensure_reconnect_block(config, store, now)
    return "; ".join(done) or ("nothing to do" if config.landscape.reconnect_hour else "off")


def job_planner(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Read back the agent's series, heal them, and book or propose touchbases."""
    from agent.planning.planner import run_planner

    return describe(run_planner(config, store, now), "action")


def job_reconnect_drafts(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """On the reconnect day, this week's reconnect drafts (after the planner: nobody gets a note
    and a new touchbase the same day)."""
    from agent.landscape.reconnect import run_reconnect_drafts

    return drafts_detail(config, describe(run_reconnect_drafts(config, store, now), "reconnect draft"))


def job_mail(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Retry mail that could not be sent or filed before."""
    from agent.digest.morning import settle_queued_days
    from agent.mail import flush_outgoing

    detail = describe(flush_outgoing(config, store, now), "message")
    settle_queued_days(store)
    _fail_on_undelivered(store, (), detail)
    return detail


def job_digest(config: Config, store: Store, now: datetime, heartbeat: Heartbeat) -> str:
    """Send today's morning email when it is due and has not gone out."""
    from agent.digest.morning import KIND, send_digest_if_due

    detail = send_digest_if_due(config, store, now) or "not due, or already handled today"
    _fail_on_undelivered(store, (KIND,), "")
    return detail


def _fail_on_undelivered(store: Store, kinds: tuple[str, ...], done: str) -> None:
    """Mail (of `kinds`) still queued after a failed delivery fails the job: the work is not done."""
    from agent.mail import queue_problems

    problems = queue_problems(store, kinds)
    if problems:
        raise JobFailed((f"{done}; " if done and done != "0 messages" else "") + "; ".join(problems))


JOBS: dict[str, JobFunction] = {
    "sync": job_sync,
    "heal": job_heal,
    "followups": job_followups,
    "reconnect-hour": job_reconnect_hour,
    "planner": job_planner,
    "reconnect-drafts": job_reconnect_drafts,
    "mail": job_mail,
    "digest": job_digest,
}
"""Every job, one function each, in the order `run_once` runs them: healing right after the
sync that brought the changes; the reconnect hour before the planner (touchbases are booked
around it) and the reconnect drafts after it; the morning email last, so it tells what the
others did."""


def run_job(config: Config, store: Store, name: str, now: datetime,
            heartbeat: Heartbeat | None = None, func: JobFunction | None = None) -> JobResult:
    """Run one job; any exception is logged and recorded, never raised."""
    func = func or JOBS[name]
    try:
        detail = func(config, store, now, heartbeat or _nothing) or ""
    except Interrupted as stop:  # SIGTERM during a network wait: not a failure of the job
        log.info("job %s: %s", name, stop)
        return JobResult(name, ok=False, error=str(stop), stopped=True)
    except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others
        exc = _as_fact(store, exc)
        message = _message(exc)
        log.error("job %s failed: %s", name, message, exc_info=_traceback_wanted(exc))
        _record_quietly(store, name, False, message, now)
        return JobResult(name, ok=False, error=message)
    log.info("job %s: ok%s", name, f" ({detail})" if detail else "")
    _record_quietly(store, name, True, detail, now)
    return JobResult(name, ok=True, detail=detail)


def run_once(config: Config, store: Store, now: datetime,
             heartbeat: Heartbeat | None = None,
             should_stop: Callable[[], object] | None = None) -> list[JobResult]:
    """Run every job once, in the order of JOBS: sync, heal, follow-ups, reconnect hour,
    planner, reconnect drafts, mail retry, morning email.

    `should_stop` is asked before each job: when it answers true (a SIGTERM arrived), the jobs
    not started yet are left for the next run and the results so far are returned.
    """
    results = []
    for name in JOBS:
        if should_stop is not None and should_stop():
            break
        results.append(run_job(config, store, name, now, heartbeat))
        if heartbeat:
            heartbeat()
    return results


def record_job(store: Store, name: str, ok: bool, message: str, now: datetime) -> None:
    """Remember how job `name` went at `now` (a success resets the failure count)."""
    job_runs.record(store, name, ok, message, now)


def job_health(store: Store) -> list[dict]:
    """Every recorded job: name, last_success, last_error, last_error_at, failures, failing.

    `failing` is true when the latest run failed; `last_error` stays as history after a success.
    Jobs are listed in run order, then any other recorded name.
    """
    rows = {row["name"]: row for row in job_runs.every_job(store)}
    order = [n for n in JOBS if n in rows] + sorted(n for n in rows if n not in JOBS)
    health = []
    for name in order:
        row = rows[name]
        row["failing"] = bool(row["failures"]) and (row["last_error_at"] or "") >= (row["last_success"] or "")
        health.append(row)
    return health


def describe(value: Any, noun: str) -> str:
    """A short summary of what a job function returned (a count, a text, or a summary())."""
    if value is None:
        return ""
    summary = getattr(value, "summary", None)
    if callable(summary):
        return str(summary())
    if isinstance(value, bool):
        return "done" if value else "nothing due"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value} {noun}{'' if value == 1 else 's'}"
    if isinstance(value, (list, tuple, set, dict)):
        return describe(len(value), noun)
    return ""


def _as_fact(store: Store, exc: Exception) -> Exception:
    """A full disk, a read-only folder or a locked store as the StoreError that says so."""
    import sqlite3

    from agent.storage.failures import store_error

    if isinstance(exc, sqlite3.Error):
        return store_error(store.path, exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        from agent.errors import TouchbaseError
        from agent.storage.private_files import describe_os_error

        where = f"{exc.filename}: " if exc.filename else ""
        return TouchbaseError(f"{where}{describe_os_error(exc)}")
    return exc


def _message(exc: Exception) -> str:
    from agent.errors import TouchbaseError

    if isinstance(exc, (TouchbaseError, JobFailed)):
        return " ".join(line.strip() for line in str(exc).splitlines()) or type(exc).__name__
    if isinstance(exc, ImportError) and exc.name and exc.name.startswith("agent."):
        return f"{exc.name} is not available in this installation"
    return f"unexpected error: {type(exc).__name__}: {exc}"


def _traceback_wanted(exc: Exception) -> bool:
    from agent.errors import TouchbaseError

    return log.isEnabledFor(logging.DEBUG) or not isinstance(exc, (TouchbaseError, JobFailed, ImportError))


def _record_quietly(store: Store, name: str, ok: bool, message: str, now: datetime) -> None:
    try:
        record_job(store, name, ok, message, now)
    except Exception as exc:  # noqa: BLE001 - a full disk must not kill the daemon
        log.error("cannot record job %s in the store: %s", name, exc)


def _nothing() -> None:
    return None
