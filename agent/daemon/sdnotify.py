"""A tiny sd_notify: READY, WATCHDOG, STATUS and STOPPING over $NOTIFY_SOCKET (no dependency).

systemd passes a unix datagram socket in $NOTIFY_SOCKET to services of Type=notify; a name that
starts with '@' lives in the abstract namespace. Without the variable every call does nothing,
so the daemon behaves the same when started by hand.
"""
from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    """Sends state lines to the service manager, when there is one."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = _address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_seconds = _watchdog_seconds(env)
        self._last_ping = float("-inf")

    @property
    def enabled(self) -> bool:
        """True when a service manager listens."""
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send `lines` (e.g. "READY=1") as one datagram; False when nobody listens or it fails."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall("\n".join(lines).encode("utf-8"))
            return True
        except OSError as exc:
            log.debug("sd_notify to %r failed: %s", self.address, exc)
            return False

    def ready(self, status: str = "") -> bool:
        """Tell the manager the daemon has started."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """A one-line state shown by `systemctl status`."""
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        """Keep-alive ping, sent when the manager asked for one (WatchdogSec), at most every
        tenth of the interval however often it is called (long jobs call it on progress)."""
        if self.watchdog_seconds is None:
            return False
        now = time.monotonic()
        if now - self._last_ping < self.watchdog_seconds / 10:
            return False
        self._last_ping = now
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """Tell the manager the daemon is shutting down."""
        return self.notify("STOPPING=1", "STATUS=stopping")


def _address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode("utf-8")
    if value.startswith("/"):
        return value
    log.debug("ignoring NOTIFY_SOCKET=%r (neither a path nor @abstract)", value)
    return None


def _watchdog_seconds(env: dict[str, str] | os._Environ) -> float | None:
    """The watchdog interval systemd expects pings within, when it is meant for this process."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
