"""Clean stops: SIGTERM and SIGINT ask `run` (the daemon and `run --once`) to stop after the
current unit of work, from the first instant the command line knows it is `run`.

The handler records the request (and wakes whoever listens, e.g. the daemon's sleep): the
write in progress finishes, no new job starts, and the process exits. A wait on the network
(a fetch, a Retry-After sleep, a token refresh; see agent.time_limits) ends at once instead,
so a stop never waits for a slow server. A second SIGINT (Ctrl-C
twice) stops at once with KeyboardInterrupt; an open transaction is then rolled back.
Exit statuses (docs/background.md): the daemon exits 0 (a requested stop is its normal end);
`run --once` stopped before its last job exits 128 + the signal (143 for SIGTERM, 130 for SIGINT),
the shell's convention for "interrupted", so a script sees the pass did not complete.
"""
from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from agent import time_limits

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _State:
    signum: int | None = None
    installed: bool = False
    for_process: bool = False  # installed at start-up for the whole `touchbase run` process
    listeners: list[Callable[[], None]] = []


def install(for_process: bool = False) -> None:
    """Handle SIGTERM and SIGINT by recording a stop request (idempotent; main thread only).

    `for_process`: installed at start-up of a `touchbase run` process, kept until it exits
    (`release` then leaves it alone, so no signal finds the default handler on the way out).
    """
    _State.for_process = _State.for_process or for_process
    if _State.installed:
        return
    for signum in SIGNALS:
        signal.signal(signum, _on_signal)
    _State.installed = True


def release() -> None:
    """The work is over: undo an `install` made for one command in a longer-lived process
    (tests, embedding); in a `touchbase run` process, ignore further SIGTERM/SIGINT instead, as
    Python would give them back their default (killing) action while it shuts down."""
    if not _State.for_process:
        uninstall()
        return
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def uninstall() -> None:
    """Give SIGTERM and SIGINT their default behaviour back and forget any request."""
    if _State.installed:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _State.installed = False
    _State.signum = None
    _State.listeners.clear()
    time_limits.reset()


def requested() -> int | None:
    """The signal that asked for a stop, or None."""
    return _State.signum


def on_request(listener: Callable[[], None]) -> None:
    """Call `listener` when a stop is requested (at once if one already was)."""
    _State.listeners.append(listener)
    if _State.signum is not None:
        listener()


def exit_status(signum: int) -> int:
    """The shell's status for a command ended by `signum` (128 + its number)."""
    return 128 + int(signum)


def name(signum: int) -> str:
    """SIGTERM, SIGINT..."""
    return signal.Signals(signum).name


def _on_signal(signum: int, frame: Any) -> None:
    if signum == signal.SIGINT and _State.signum == signal.SIGINT:
        raise KeyboardInterrupt  # asked twice: stop now
    _State.signum = signum
    for listener in list(_State.listeners):
        listener()
    time_limits.request_stop(signum)  # raises Interrupted inside a network wait


def command_word(argv: list[str]) -> str | None:
    """The first word of a `touchbase` command line after the global options (None when none)."""
    args, index = argv[1:], 0
    while index < len(args):
        arg = args[index]
        if arg in ("--config", "--now"):
            index += 2
        elif arg.startswith(("--config=", "--now=")) or arg in ("--verbose", "-v"):
            index += 1
        else:
            return arg
    return None


def wants_run(argv: list[str]) -> bool:
    """True when a `touchbase` command line runs the `run` command (global options skipped)."""
    return command_word(argv) == "run"
