"""Cutting a wait short: an overall time limit, and a stop request during a network wait.

A request can wait a long time while every single read is quick enough: a server that drips one
byte every few seconds, a Retry-After of a minute, a sign-in service that answers slowly. Two
things end such a wait:

- `time_limit(seconds, error)`: the body gets `seconds` in all, then `error()` is raised in it
  (SIGALRM, so it cuts a blocked read too; main thread only: elsewhere the body runs unbounded
  and only the per-read timeouts apply). An outer limit is restored afterwards, less the time
  used.
- `interruptible()`: while the body waits on the network, a stop request (SIGTERM or SIGINT in
  `touchbase run`, recorded by agent.daemon.stopping, which calls `request_stop`) raises
  `Interrupted` in it at once; a stop requested before the body starts raises it on entry. A
  write in the store is never inside such a body, so nothing is left half-written: the request
  is simply not completed, as if the network had failed (creation is idempotent on a retry).

`pause(seconds)` is a back-off or Retry-After sleep that a stop request ends the same way.
"""
from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupted(BaseException):
    """A stop was requested while the agent waited on the network (a BaseException, like
    KeyboardInterrupt, so no `except Exception` on the way mistakes it for a failed request)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} while waiting on the network")


class _State:
    depth = 0  # interruptible bodies the main thread is in
    stop: int | None = None  # the signal that asked for a stop


def request_stop(signum: int) -> None:
    """A stop was requested (from the signal handler): end the current network wait, if any."""
    _State.stop = signum
    if _State.depth and _in_main_thread():
        raise Interrupted(signum)


def reset() -> None:
    """Forget a stop request (the handlers were uninstalled)."""
    _State.stop = None


@contextmanager
def interruptible() -> Iterator[None]:
    """Let a stop request end the body's network wait with `Interrupted` (main thread only)."""
    if not _in_main_thread():
        yield
        return
    if _State.stop is not None:
        raise Interrupted(_State.stop)
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1


def pause(seconds: float) -> None:
    """Sleep `seconds` (a back-off); a stop request ends it with `Interrupted`."""
    with interruptible():
        time.sleep(max(0.0, seconds))


@contextmanager
def time_limit(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise `error()` in the body once `seconds` have passed (main thread only; elsewhere the
    body runs unbounded). An outer limit (a test's hang guard, a caller's deadline) is restored,
    less the time used, and fires at once when it has passed meanwhile."""
    if not _in_main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    started = time.monotonic()
    previous = signal.getsignal(signal.SIGALRM)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    outer_first = 0 < outer <= seconds

    def expired(signum: int, frame: FrameType | None) -> None:
        if outer_first and callable(previous):
            previous(signum, frame)  # the outer limit came first: it is its owner's to handle
        raise error()

    signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(outer if outer_first else seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        if outer > 0 and not outer_first:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
