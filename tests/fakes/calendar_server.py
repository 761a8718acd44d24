"""A real HTTP server publishing calendars, as Google's secret address or a published Outlook
calendar does: http.server in a thread on a loopback port (optionally TLS with a test CA).

It answers conditional requests (If-None-Match / If-Modified-Since -> 304) and can be told to
answer the next requests with a given status (429 with Retry-After, 5xx), to redirect, to gzip
(in one member or several), to stall before answering, or to drip the body one byte at a
time. Every request is logged as (method, path, status, request headers).
"""
from __future__ import annotations

import gzip
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.fakes.quiet_http import QuietHTTPServer


@dataclass
class Logged:
    """One request the server answered."""

    method: str
    path: str
    status: int
    headers: dict[str, str]


@dataclass
class CalendarServer:
    """Serves `calendars[path]` (bytes) with an ETag and a Last-Modified date."""

    calendars: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)  # path -> (status, Location)
    scripted: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # next answers
    use_etag: bool = True
    use_last_modified: bool = True
    gzip: bool = False
    gzip_members: int = 1  # the gzip body as this many members, one after the other (RFC 1952)
    stall_seconds: float = 0.0
    drip_seconds: float = 0.0  # send the body one byte, then wait this long, and so on
    log: list[Logged] = field(default_factory=list)
    arrived: int = 0  # requests received, counted before any stall
    versions: dict[str, int] = field(default_factory=dict)
    modified: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tls_context: ssl.SSLContext | None = None
    _server: QuietHTTPServer | None = None

    def publish(self, path: str, body: str | bytes) -> None:
        """Put (or replace) the calendar at `path`; its ETag and date change."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self.lock:
            self.calendars[path] = data
            self.versions[path] = self.versions.get(path, 0) + 1
            self.modified[path] = max(time.time(), self.modified.get(path, 0) + 1)

    @property
    def url(self) -> str:
        """The server's root address."""
        assert self._server is not None
        scheme = "https" if self.tls_context else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def statuses(self) -> list[int]:
        """The status of each request answered so far."""
        return [entry.status for entry in self.log]

    def start(self) -> CalendarServer:
        """Listen on a free loopback port in a daemon thread."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                owner.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls_context:
            self._server.socket = self.tls_context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one GET."""
        path = handler.path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            self.arrived += 1
        if self.stall_seconds:
            time.sleep(self.stall_seconds)
        with self.lock:
            scripted = self.scripted.pop(0) if self.scripted else None
            body, version, modified = (self.calendars.get(path), self.versions.get(path),
                                       self.modified.get(path, 0.0))
        if scripted:
            status, extra = scripted
            return self._send(handler, path, headers, status, extra, b"")
        if path in self.redirects:
            status, location = self.redirects[path]
            return self._send(handler, path, headers, status, {"Location": location}, b"")
        if body is None:
            return self._send(handler, path, headers, 404, {}, b"not found")
        etag = f'"v{version}"'
        date = formatdate(int(modified), usegmt=True)
        out = {"Content-Type": "text/calendar; charset=utf-8"}
        if self.use_etag:
            out["ETag"] = etag
        if self.use_last_modified:
            out["Last-Modified"] = date
        if self._not_modified(headers, etag, modified):
            return self._send(handler, path, headers, 304, out, b"")
        if self.gzip and "gzip" in headers.get("accept-encoding", ""):
            body = _gzip_members(body, self.gzip_members)
            out["Content-Encoding"] = "gzip"
        return self._send(handler, path, headers, 200, out, body)

    def _not_modified(self, headers: dict[str, str], etag: str, modified: float) -> bool:
        if self.use_etag and "if-none-match" in headers:
            return headers["if-none-match"] == etag
        if self.use_last_modified and "if-modified-since" in headers:
            from email.utils import parsedate_to_datetime

            return parsedate_to_datetime(headers["if-modified-since"]).timestamp() >= int(modified)
        return False

    def _send(self, handler: BaseHTTPRequestHandler, path: str, headers: dict[str, str], status: int,
              extra: dict[str, str], body: bytes) -> None:
        with self.lock:
            self.log.append(Logged("GET", path, status, headers))
        handler.send_response(status)
        for key, value in extra.items():
            handler.send_header(key, value)
        if status != 304:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status != 304 and self.drip_seconds and body:
            _drip(handler, body, self.drip_seconds)
        elif status != 304:
            handler.wfile.write(body)


def _gzip_members(body: bytes, members: int) -> bytes:
    """`body` gzipped as `members` members written one after the other."""
    size = -(-len(body) // max(members, 1))
    return b"".join(gzip.compress(body[i:i + size]) for i in range(0, len(body), size))


def _drip(handler: BaseHTTPRequestHandler, body: bytes, pause: float) -> None:
    """Send `body` one byte at a time, `pause` seconds apart, until done or the client leaves."""
    try:
        for index in range(len(body)):
            handler.wfile.write(body[index:index + 1])
            handler.wfile.flush()
            time.sleep(pause)
    except OSError:
        pass


def tls_server(folder: Path) -> tuple[CalendarServer, Path]:
    """A TLS calendar server with a throw-away CA; returns it (not started) and the CA file."""
    from tests.fakes.smtp_server import make_tls_files

    files = make_tls_files(folder)
    return CalendarServer(tls_context=files.server_context()), files.ca
