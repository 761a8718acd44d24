"""`touchbase run [--once]`, `touchbase install-service`, and job health in `status`."""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path

import click

from agent.cli import main
from agent.cli.app import App, reported_by_command
from agent.cli.core import STATUS_HOOKS, StatusReport
from agent.daemon import stopping
from agent.daemon.jobs import JOBS, job_health, run_once
from agent.daemon.lock import StoreLock, holder_pid
from agent.errors import UserError

pass_app = click.make_pass_decorator(App)

_QUIET_LOGGERS = ("googleapiclient.discovery_cache", "urllib3", "caldav", "msal")


@main.command()
@click.option("--once", is_flag=True,
              help="Run every job that is due once (sync, healing, follow-ups, reconnect hour, "
                   "planner, reconnect drafts, mail retry, morning email), then exit.")
@pass_app
def run(app: App, once: bool) -> None:
    """Run the agent: the daemon, or with --once a single pass of every job."""
    stopping.install()  # already done at start-up for `run`; here for callers that skip it
    try:
        _run(app, once)
    finally:
        stopping.release()


def _run(app: App, once: bool) -> None:
    config = app.config
    if once:
        with StoreLock(config.store_path), _quiet_job_log(app.verbose), \
                reported_by_command(app.verbose, "agent.sync", "agent.mail"):
            results = run_once(config, app.store, app.now(), should_stop=stopping.requested)
        for result in results:
            click.echo(result.line(), err=not result.ok)
        _exit_when_stopped(sum(not result.stopped for result in results))
        if not all(r.ok for r in results):
            raise SystemExit(1)
        return
    if app.fixed_now is not None:
        raise UserError("--now only applies to `run --once`; the daemon runs on the real clock")
    from agent.daemon.loop import run_daemon

    configure_logging(app.verbose, config.zone)
    with StoreLock(config.store_path):
        code = run_daemon(config, app.store)
    raise SystemExit(code)


def _exit_when_stopped(jobs_run: int) -> None:
    """After `run --once`: a stop request that left jobs undone ends with 128 + the signal."""
    signum = stopping.requested()
    if signum is None or jobs_run == len(JOBS):
        return
    left = ", ".join(list(JOBS)[jobs_run:])
    click.echo(f"touchbase: stopped by {stopping.name(signum)} before {left}; "
               "everything written so far is complete, the next run does the rest", err=True)
    raise SystemExit(stopping.exit_status(signum))


@main.command("install-service")
@click.option("--print", "print_only", is_flag=True,
              help="Print the unit to standard output instead of installing it.")
@pass_app
def install_service(app: App, print_only: bool) -> None:
    """Install the systemd user unit that runs `touchbase run` in the background."""
    from agent.daemon.service import UNIT_NAME, install_unit, service_folders, unit_for, user_unit_dir

    explicit = app.config_path or os.environ.get("TOUCHBASE_CONFIG")
    config_path = app.path.expanduser().absolute() if explicit else None
    config = app.config
    text = unit_for(config, config_path)
    if print_only:
        click.echo(text, nl=False)
        return
    target = install_unit(text, user_unit_dir(), service_folders(config, config_path))
    click.echo(f"Wrote {target}")
    click.echo("Start it now and at every login with:")
    click.echo(f"  systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}")
    click.echo("To keep it running while you are logged out: loginctl enable-linger $USER")


@contextmanager
def _quiet_job_log(verbose: bool) -> Iterator[None]:
    """In `run --once` the summary lines report failures; the job log would say it twice."""
    logger = logging.getLogger("agent.daemon.jobs")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def configure_logging(verbose: bool, zone: tzinfo) -> None:
    """Daemon logging to stderr: plain lines with a syslog priority when journald reads them,
    else each line stamped in the user's zone with its offset (as `status` shows times)."""
    handler = logging.StreamHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(ZonedFormatter(zone, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler],
                        force=True)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def stderr_is_journal() -> bool:
    """True when $JOURNAL_STREAM is set and (where it can be told) is our stderr."""
    value = os.environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    try:
        device, inode = (int(part) for part in value.split(":"))
        info = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return True
    return (info.st_dev, info.st_ino) == (device, inode)


class ZonedFormatter(logging.Formatter):
    """Log lines stamped in a given zone, ISO 8601 with the offset (2026-10-05T09:00:03+02:00)."""

    def __init__(self, zone: tzinfo, fmt: str) -> None:
        super().__init__(fmt)
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's hook
        """The record's instant in the zone."""
        return datetime.fromtimestamp(record.created, self.zone).isoformat(timespec="seconds")


class JournalFormatter(logging.Formatter):
    """No timestamp (journald adds one); a <N> prefix so journald knows each line's priority."""

    _PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
                 logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        priority = self._PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def status_jobs(app: App, report: StatusReport) -> None:
    """`status`: whether the daemon runs, and each job's last success and error."""
    pid = holder_pid(app.config.store_path)
    running = "not running" if pid is None else f"running{f' (pid {pid})' if pid > 0 else ''}"
    report.add("daemon", {"running": pid is not None, "pid": pid if pid and pid > 0 else None,
                          "service": str(unit_path()) if unit_path().exists() else None},
               f"daemon: {running}",
               *([f"service: installed at {unit_path()}"] if unit_path().exists() else []))
    jobs = []
    for row in job_health(app.store):
        line = f"job {row['name']}: last success {report.when(row['last_success'])}"
        lines = [line]
        if row["failing"]:
            lines[0] += f", FAILING ({row['failures']} time{'s' if row['failures'] != 1 else ''} in a row)"
            lines.append(f"  last error {report.when(row['last_error_at'])}: {row['last_error']}")
        report.lines.extend(lines)
        jobs.append({"name": row["name"], "last_success": report.iso(row["last_success"]),
                     "failing": bool(row["failing"]), "failures": row["failures"],
                     "last_error": row["last_error"] if row["failing"] else None,
                     "last_error_at": report.iso(row["last_error_at"]) if row["failing"] else None})
    report.add("jobs", jobs)


def unit_path() -> Path:
    """Where install-service writes the unit."""
    from agent.daemon.service import UNIT_NAME, user_unit_dir

    return user_unit_dir() / UNIT_NAME


STATUS_HOOKS.append(status_jobs)
