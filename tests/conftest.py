"""Shared fixtures and settings for the whole suite.

Subprocesses started by tests (`python -m agent ...`) run this checkout's code, whatever an
editable install elsewhere points to.

The servers the tests talk to, all on 127.0.0.1, are fixtures here and nowhere else:
`radicale_base` (one Radicale for the whole run) with `dav_calendar` (a fresh calendar per test),
`caldav_emulator` (a permissive CalDAV server that stores bytes Radicale would refuse),
`calendar_server` (a plain HTTP server publishing calendars at addresses),
`smtp_server` (aiosmtpd, run in a `with` block) with `smtp_tls`, `google` (the Google Calendar
emulator) with `fast_retries`, `graph` (the Microsoft Graph emulator), and `dovecot` (one real
Dovecot IMAP server per run) with `imap_user` (a fresh, empty mailbox per test). Plain builders stay in
tests/fakes/ and tests/*_helpers.py and are imported as usual.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.fakes.caldav_server import CalDavServer
from tests.fakes.calendar_server import CalendarServer
from tests.fakes.google_api import GoogleEmulator
from tests.fakes.graph_api import GraphFake
from tests.fakes.imap_server import Dovecot
from tests.fakes.radicale_server import PASSWORD, fresh_calendar, radicale
from tests.fakes.smtp_server import SmtpServer, TlsFiles, make_tls_files

ROOT = Path(__file__).resolve().parent.parent
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

# --- CalDAV: Radicale ------------------------------------------------------------------------


class DavCalendar(NamedTuple):
    """A calendar on the shared Radicale: the user's base URL, the caldav object, its name."""

    base: str
    calendar: Any
    name: str


@pytest.fixture(scope="session")
def radicale_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Radicale server for the whole run (user "me"); yields that user's base URL."""
    with radicale(tmp_path_factory.mktemp("radicale")) as base:
        yield base


@pytest.fixture
def dav_calendar(radicale_base: str, request: pytest.FixtureRequest,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[DavCalendar]:
    """A fresh calendar on the shared server, named after the test, deleted afterwards.

    The caldav password is in $TOUCHBASE_CALDAV_PASSWORD, as a caldav source reads it.
    """
    monkeypatch.setenv("TOUCHBASE_CALDAV_PASSWORD", PASSWORD)
    name = request.node.name[:40]
    work = fresh_calendar(radicale_base, name)
    yield DavCalendar(radicale_base, work, name)
    work.delete()


@pytest.fixture
def caldav_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[CalDavServer]:
    """A started permissive CalDAV server (tests/fakes/caldav_server.py) with one calendar,
    segment "work" shown as "Work"; its password is in $TOUCHBASE_CALDAV_PASSWORD."""
    from tests.fakes.caldav_server import PASSWORD as EMULATOR_PASSWORD

    monkeypatch.setenv("TOUCHBASE_CALDAV_PASSWORD", EMULATOR_PASSWORD)
    server = CalDavServer().start()
    server.calendar("work", "Work")
    yield server
    server.stop()


@pytest.fixture
def calendar_server() -> Iterator[CalendarServer]:
    """A started HTTP server publishing calendars at addresses on 127.0.0.1."""
    server = CalendarServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(calendar_server: CalendarServer) -> CalendarServer:
    """The calendar server, by the short name the calendar-address tests use (a module may
    define its own `server`, publishing a calendar first)."""
    return calendar_server


@pytest.fixture
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME and the XDG data and config folders inside tmp_path (for `init`, which writes no
    store path: the data folder is the platform's)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    return tmp_path / "home"


# --- SMTP: aiosmtpd ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throw-away CA and a certificate for 127.0.0.1 (`.ca` is the file clients trust)."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server(smtp_tls: TlsFiles) -> Callable[..., SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 using the suite's test CA, as a context manager.

    `with smtp_server("starttls" | "ssl" | "none", users={...}, port=...) as server:` runs it for
    the block; `server.received` keeps every message it accepted, unless `handler=` (an aiosmtpd
    handler) answers the mail instead.
    """
    def build(security: str = "starttls", users: dict[str, str] | None = None,
              port: int | None = None, handler: object | None = None) -> SmtpServer:
        return SmtpServer(None if security == "none" else smtp_tls, security, port=port, users=users,
                          handler=handler)

    return build


# --- Google Calendar emulator ------------------------------------------------------------------


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    """A started Google Calendar emulator, stopped after the test."""
    emulator = GoogleEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Google back-off in hundredths of a second so retry tests stay fast (the logic is unchanged)."""
    from connectors.google.connector import GoogleConnector
    from connectors.google.http import RetryPolicy

    monkeypatch.setattr(GoogleConnector, "retry_policy",
                        RetryPolicy(base_seconds=0.01, cap_seconds=0.05, budget_seconds=10))


# --- Microsoft Graph emulator ------------------------------------------------------------------


@pytest.fixture
def graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphFake]:
    """A running Graph emulator whose test CA the process trusts (TLS verification stays on)."""
    fake = GraphFake(tmp_path / "tls").start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.tls.ca))
    yield fake
    fake.stop()


# --- IMAP: Dovecot -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot(smtp_tls: TlsFiles) -> Iterator[Dovecot]:
    """One Dovecot for the whole run (fails, never skips, when dovecot is not installed)."""
    server = Dovecot(smtp_tls).start()
    yield server
    server.stop()


@pytest.fixture
def imap_user(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh user with an empty mailbox on the shared Dovecot; its password is in
    $TOUCHBASE_IMAP_PASSWORD, as an imap source with `password_env` reads it."""
    from tests.fakes.imap_server import PASSWORD

    monkeypatch.setenv("TOUCHBASE_IMAP_PASSWORD", PASSWORD)
    return dovecot.add_user()
