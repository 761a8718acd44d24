"""A stateful Microsoft Graph + identity platform emulator on an https loopback port.

One server answers both the identity endpoints msal calls (under /{tenant}/..., see
graph_identity) and Graph v1.0 (under /v1.0/..., see graph_routes). TLS uses a throw-away CA
made in the test (tests.fakes.smtp_server.make_tls_files); clients trust it through
REQUESTS_CA_BUNDLE, with verification on.

Test controls: `mailbox` (the calendar and mail data), `identity` (tokens), `inject()` for 429 /
503 / 401 answers, `drop()` for a connection cut before or after the request is processed,
`routes.expire_delta_tokens()`, `routes.replay`, `routes.leak_outside` and `routes.after_send` (called
with each mail sendMail accepted, before the answer); `mail` (messages/delta per folder and
conversations, tests.fakes.graph_mail); `log` counts requests.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.graph_identity import Identity
from tests.fakes.graph_mail import GraphMail
from tests.fakes.graph_routes import GraphRoutes, Result, error
from tests.fakes.graph_state import Mailbox
from tests.fakes.quiet_http import QuietHTTPServer
from tests.fakes.smtp_server import TlsFiles, make_tls_files

_FOLDER_MESSAGES = re.compile(r"^/me/mailFolders/(?P<folder>[^/]+)/messages$")
_FOLDER_DELTA = re.compile(r"^/me/mailFolders/(?P<folder>[^/]+)/messages/delta$")
MAIL_READERS = {"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}
CLIENT_ID = "5a1c2f0e-7d3b-4c41-9a8e-1f2e3d4c5b6a"
TENANT = "contoso-test"
SCOPES_NEEDED = {"/me/messages": {"Mail.ReadWrite"},
                 "/me/mailFolders": {"Mail.ReadWrite", "Mail.Read", "Mail.ReadBasic"},
                 "/me/sendMail": {"Mail.Send"}}


@dataclass
class Fault:
    """An answer to give instead of (or after) processing matching requests."""

    match: str  # substring of "METHOD /path"
    count: int
    status: int = 0
    retry_after: str | None = None
    drop: str = ""  # "before" or "after" processing: the connection closes with no answer


@dataclass
class Logged:
    """One request the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    body: Any = None

    @property
    def graph(self) -> bool:
        """True for a Graph request (not an identity one)."""
        return self.path.startswith("/v1.0/")


@dataclass
class GraphFake:
    """The emulator; `start()` it, point the source's authority and graph_endpoint at it."""

    folder: Path
    user: str = "me@acme.example"
    client_id: str = CLIENT_ID
    log: list[Logged] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mailbox = Mailbox(self.user)
        self.identity = Identity(self.client_id, self.user)
        self.routes = GraphRoutes(self.mailbox, "")
        self.mail = GraphMail(self.mailbox, "")
        self.tls: TlsFiles = make_tls_files(self.folder)
        self.lock = threading.RLock()
        self._server: QuietHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GraphFake:
        """Listen on a free loopback port with TLS, in a background thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        server = QuietHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.socket = self.tls.server_context().wrap_socket(server.socket, server_side=True)
        self._server = server
        self.identity.base_url = self.url
        self.routes.base = self.graph_endpoint
        self.mail.base = self.graph_endpoint
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT"""
        assert self._server is not None, "start() the fake first"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def graph_endpoint(self) -> str:
        """The value for a source's `graph_endpoint`."""
        return f"{self.url}/v1.0"

    @property
    def authority(self) -> str:
        """The value for a source's `authority`."""
        return f"{self.url}/{TENANT}"

    # --- controls ----------------------------------------------------------------------------

    def inject(self, status: int, match: str = "", count: int = 1, retry_after: str | None = None) -> None:
        """Answer the next `count` matching requests with `status` (429, 503, 401...)."""
        with self.lock:
            self.faults.append(Fault(match, count, status=status, retry_after=retry_after))

    def drop(self, match: str, when: str = "before", count: int = 1) -> None:
        """Cut the connection of matching requests, before or after processing them."""
        with self.lock:
            self.faults.append(Fault(match, count, drop=when))

    def graph_requests(self, match: str = "") -> list[Logged]:
        """The Graph requests received so far (those whose "METHOD /path" contains `match`)."""
        return [r for r in self.log if r.graph and match in f"{r.method} {r.path}"]

    def reset_data(self) -> None:
        """A fresh, empty mailbox and delta state (the sign-in stays valid)."""
        with self.lock:
            self.mailbox = Mailbox(self.user)
            self.routes = GraphRoutes(self.mailbox, self.graph_endpoint)
            self.mail = GraphMail(self.mailbox, self.graph_endpoint)
            self.faults.clear()
            self.log.clear()

    def reset_log(self) -> None:
        """Forget the requests counted so far."""
        with self.lock:
            self.log.clear()

    # --- dispatch ----------------------------------------------------------------------------

    def take_fault(self, label: str) -> Fault | None:
        """The first armed fault matching `label`, consumed once."""
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.match in label:
                    fault.count -= 1
                    return fault
        return None

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: Any, form: dict[str, str]) -> Result:
        """The answer to one request (after faults)."""
        if not path.startswith("/v1.0/"):
            status, payload = self.identity.handle(method, path, {**query, **form})
            if status == 302:  # the authorize endpoint's redirect: a Location, no body
                return status, None, dict(payload)
            return status, payload, {}
        grant = self.identity.check(headers.get("authorization", ""))
        if grant is None:
            return error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        route = path[len("/v1.0"):]
        needed = next((v for k, v in SCOPES_NEEDED.items() if route.startswith(k)), {"Calendars.ReadWrite"})
        if method == "GET" and route.startswith("/me/messages"):
            needed = MAIL_READERS
        if not grant.scopes & needed:
            return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        prefer = _prefer(headers.get("prefer", ""))
        basic_only = not grant.scopes & {"Mail.Read", "Mail.ReadWrite"}
        mail = self.mail_route(method, route, query, prefer, basic_only)
        return mail if mail is not None else self.route(method, route, query, body, prefer)

    def mail_route(self, method: str, route: str, query: dict[str, str], prefer: dict[str, str],
                   basic_only: bool) -> Result | None:
        """The mail-signal requests (tests.fakes.graph_mail), or None for any other."""
        if method != "GET":
            return None
        delta = _FOLDER_DELTA.match(route)
        with self.mailbox.lock:
            if delta:
                return self.mail.delta(unquote(delta["folder"]), query, prefer, basic_only)
            if route == "/me/messages":
                return self.mail.conversation(query, basic_only)
        return None

    def route(self, method: str, route: str, query: dict[str, str], body: Any,
              prefer: dict[str, str]) -> Result:
        """Send a Graph request to its handler."""
        r = self.routes
        with self.mailbox.lock:
            if method == "GET" and route == "/me/calendarView/delta":
                return r.delta(query, prefer)
            if route == "/me/events":
                return r.list_events(query, prefer) if method == "GET" else r.create_event(body or {})
            if method == "GET" and route.startswith("/me/events/") and route.endswith("/instances"):
                return r.list_instances(unquote(route[len("/me/events/"):-len("/instances")]), query, prefer)
            if route.startswith("/me/events/"):
                event_id = unquote(route[len("/me/events/"):])
                handlers = {"GET": lambda: r.get_event(event_id, query),
                            "PATCH": lambda: r.patch_event(event_id, body or {}),
                            "DELETE": lambda: r.delete_event(event_id)}
                if method in handlers:
                    return handlers[method]()
            if method == "POST" and route == "/me/calendar/getSchedule":
                return r.get_schedule(body or {}, prefer)
            if route == "/me/messages":
                return r.list_messages(query, prefer) if method == "GET" else r.create_message(body or {})
            if method == "POST" and route == "/me/sendMail":
                return r.send_mail(body or {})
            folder = _FOLDER_MESSAGES.match(route)
            if method == "GET" and folder:
                return r.list_folder_messages(unquote(folder["folder"]), query, prefer)
        return error(400, "BadRequest", f"Resource not found for the segment in {method} {route}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: GraphFake

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        body, form = _decode(raw, headers.get("content-type", ""))
        entry = Logged(method, parts.path, query, body=body)
        with self.fake.lock:
            self.fake.log.append(entry)
        fault = self.fake.take_fault(f"{method} {parts.path}")
        if fault and fault.drop == "before":
            self._cut()
            return
        if fault and fault.status:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            status, payload, more = error(fault.status, _code(fault.status), "Injected by the test.", extra)
        else:
            status, payload, more = self.fake.answer(method, parts.path, query, headers, body, form)
        entry.status = status
        if fault and fault.drop == "after":
            self._cut()
            return
        self._reply(status, payload, more)

    def _reply(self, status: int, payload: Any, headers: dict) -> None:
        page = isinstance(payload, str)  # an HTML page of the sign-in endpoints
        data = b"" if payload is None else payload.encode() if page else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if payload is not None:
            self.send_header("Content-Type", "text/html; charset=utf-8" if page else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _cut(self) -> None:
        self.close_connection = True
        self.connection.close()


def _decode(raw: bytes, content_type: str) -> tuple[Any, dict[str, str]]:
    if not raw:
        return None, {}
    if "application/x-www-form-urlencoded" in content_type:
        return None, dict(parse_qsl(raw.decode()))
    try:
        return json.loads(raw), {}
    except ValueError:
        return raw.decode("utf-8", "replace"), {}


def _prefer(header: str) -> dict[str, str]:
    result = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            result[key.strip().lower()] = value.strip().strip('"')
    return result


def _code(status: int) -> str:
    return {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout",
            401: "InvalidAuthenticationToken"}.get(status, "BadRequest")
