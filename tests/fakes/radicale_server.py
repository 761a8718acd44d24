"""A real Radicale CalDAV server on a loopback port, for the tests."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

USER = "me"
PASSWORD = "secret"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def radicale(folder: Path, user: str = USER, password: str = PASSWORD) -> Iterator[str]:
    """Run Radicale with one htpasswd user; yields the base URL of that user's collections."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users").write_text(f"{user}:{password}\n")
    (folder / "config").write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {folder / 'users'}\nhtpasswd_encryption = plain\n"
        # No delay after a refused login: the caldav library's first request carries no
        # credentials, and Radicale's default 1 s penalty would slow every connection.
        "delay = 0\n"
        f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
        "[rights]\ntype = owner_only\n[logging]\nlevel = warning\n"
    )
    process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(folder / "config")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/{user}/"
    try:
        _wait_until_up(base, user, password)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_up(url: str, user: str, password: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.request("PROPFIND", url, auth=(user, password), timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("Radicale did not start")


def fresh_calendar(base: str, name: str, user: str = USER, password: str = PASSWORD) -> object:
    """A new empty calendar called `name` on the Radicale server at `base`."""
    import caldav

    client = caldav.DAVClient(url=base, username=user, password=password, require_tls=False,
                              enable_rfc6764=False)
    return client.principal().make_calendar(name=name)
