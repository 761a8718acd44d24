"""`touchbase run`: the jobs on a schedule, sleeping until the next one is due.

One thread, one store connection. At start the daemon runs every job once (as `run --once`
does), then: sync every `sync_minutes` followed by healing, follow-ups, mail retry and a
morning-email check (which also catches up after the machine slept); the reconnect hour, the
planner and the reconnect drafts daily at `planner_time`; the morning email at its time.
Between jobs it sleeps on a self-pipe with a timeout, so a signal wakes it at once and nothing
polls. SIGTERM/SIGINT (handled from the moment the command line knows it runs `run`, see
agent.daemon.stopping) let the current job finish (its writes are transactions), then the
daemon says STOPPING to systemd and exits 0.
"""
from __future__ import annotations

import logging
import os
import select
import signal
from datetime import UTC, datetime

import schedule

from agent.configuration.loader import Config
from agent.daemon import stopping
from agent.daemon.jobs import JOBS, JobFunction, run_job
from agent.daemon.sdnotify import Notifier
from agent.storage.store import Store

log = logging.getLogger(__name__)

MAX_SLEEP_SECONDS = 300.0
"""Longest single sleep: the sleep clock stops while the machine is suspended, the schedule's
wall clock does not, so waking now and then lets jobs missed during a suspend run soon after."""

CYCLE = ("sync", "heal", "followups", "mail", "digest")
"""What runs every `sync_minutes`: healing and follow-ups right after each sync."""

DAILY = ("reconnect-hour", "planner", "reconnect-drafts")
"""What runs daily at `planner_time`, in this order (as in `run --once`)."""


class Waker:
    """A sleep that a signal or `wake()` ends at once (a self-pipe; no lock a handler could hold)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._attached = False

    def attach_signals(self) -> None:
        """Make every signal with a Python handler end the current wait (main thread only)."""
        self._attached = True
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, less when woken."""
        ready, _, _ = select.select([self._read], [], [], max(0.0, seconds))
        if ready:
            self._drain()

    def wake(self) -> None:
        """End the current or the next wait."""
        try:
            os.write(self._write, b"\0")
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Release the pipe (and the signal wake-up when it was attached)."""
        if self._attached:
            signal.set_wakeup_fd(-1)
        os.close(self._read)
        os.close(self._write)

    def _drain(self) -> None:
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass


class Daemon:
    """The schedule loop over one config and one open store."""

    def __init__(self, config: Config, store: Store, notifier: Notifier | None = None,
                 max_sleep: float = MAX_SLEEP_SECONDS) -> None:
        self.config = config
        self.store = store
        self.notifier = notifier or Notifier()
        self.scheduler = schedule.Scheduler()
        self.max_sleep = max_sleep
        self.stopping = False
        self._waker = Waker()
        self._handlers_installed = False

    # --- set-up ------------------------------------------------------------------------------

    def plan(self) -> None:
        """Put the standard jobs on the schedule (times in the user's zone)."""
        zone = _schedule_zone(self.config)
        every = self.scheduler.every
        self.add(every(self.config.daemon.sync_minutes).minutes, *CYCLE)
        self.add(every().day.at(self.config.daemon.planner_time, zone), *DAILY)
        self.add(every().day.at(self.config.digest.time, zone), "digest")

    def add(self, job: schedule.Job, *names: str,
            functions: dict[str, JobFunction] | None = None) -> schedule.Job:
        """Run the jobs `names` (in order) whenever `job` is due; `functions` may supply them."""
        return job.do(self._guarded, names, functions or {})

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a clean stop after the current job (a stop asked for
        while the command line was still starting counts too)."""
        self._waker.attach_signals()
        stopping.install()
        self._handlers_installed = True
        stopping.on_request(self._on_stop_request)

    # --- running -----------------------------------------------------------------------------

    def run(self) -> int:
        """Run every job once, then the schedule until asked to stop; returns the exit status."""
        self.notifier.ready("starting: running every job once")
        log.info("touchbase daemon started (pid %d)", os.getpid())
        self._guarded(tuple(JOBS), {})
        while not self.stopping:
            self.scheduler.run_pending()
            if self.stopping:
                break
            seconds = self.sleep_seconds()
            self.notifier.status(f"idle; next job at {_next_run_text(self.scheduler)}")
            self.notifier.watchdog()
            self._waker.wait(seconds)
            self.notifier.watchdog()
        self.notifier.stopping()
        log.info("touchbase daemon stopped")
        return 0

    def stop(self) -> None:
        """Ask the loop to end after the current job."""
        self.stopping = True
        self._waker.wake()

    def close(self) -> None:
        """Restore the signal handlers and release the wake-up pipe."""
        if self._handlers_installed:
            stopping.release()
            self._handlers_installed = False
        self._waker.close()

    def sleep_seconds(self) -> float:
        """Until the next job, capped by MAX_SLEEP and half the watchdog interval."""
        limits = [self.max_sleep]
        idle = self.scheduler.idle_seconds
        if idle is not None:
            limits.append(idle)
        if self.notifier.watchdog_seconds:
            limits.append(self.notifier.watchdog_seconds / 2)
        return max(0.0, min(limits))

    def now(self) -> datetime:
        """The real time in the user's zone (the daemon never takes --now)."""
        return datetime.now(UTC).astimezone(self.config.zone)

    # --- internals ---------------------------------------------------------------------------

    def _guarded(self, names: tuple[str, ...], functions: dict[str, JobFunction]) -> None:
        for name in names:
            if self.stopping:
                return
            self.notifier.status(f"running {name}")
            try:
                run_job(self.config, self.store, name, self.now(), self.notifier.watchdog,
                        func=functions.get(name))
            except Exception:  # noqa: BLE001 - run_job records failures; this is the last net
                log.exception("job %s broke the daemon's guard", name)
            self.notifier.watchdog()

    def _on_stop_request(self) -> None:
        signum = stopping.requested()
        log.info("received %s: stopping after the current job", stopping.name(signum or 15))
        self.stop()


def _schedule_zone(config: Config) -> str | None:
    """The user's zone for schedule's `at()` (which needs pytz), or None for local time."""
    try:
        import pytz

        name = str(config.zone)
        pytz.timezone(name)
        return name
    except Exception:  # noqa: BLE001 - pytz missing or unaware of the zone: use local time
        log.warning("scheduling in the system's local time (zone %s unknown to pytz)", config.zone)
        return None


def _next_run_text(scheduler: schedule.Scheduler) -> str:
    moment = scheduler.next_run
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "never"


def run_daemon(config: Config, store: Store, notifier: Notifier | None = None) -> int:
    """Run the daemon with signal handling until SIGTERM/SIGINT; returns the exit status."""
    daemon = Daemon(config, store, notifier)
    try:
        daemon.plan()
        daemon.install_signal_handlers()
        return daemon.run()
    finally:
        daemon.close()
