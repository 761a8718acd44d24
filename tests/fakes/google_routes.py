"""HTTP plumbing of the Google emulator: routing (verb, path) -> method, and the handler."""
from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.google_calendar import ApiError

_EVENTS = r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events"
ROUTES = [
    ("POST", r"/token", "oauth.token"),
    ("GET", r"/o/oauth2/auth", "oauth.auth"),
    ("GET", _EVENTS, "events.list"),
    ("POST", _EVENTS, "events.insert"),
    ("GET", _EVENTS + r"/(?P<event_id>[^/]+)/instances", "events.instances"),
    ("GET", _EVENTS + r"/(?P<event_id>[^/]+)", "events.get"),
    ("PATCH", _EVENTS + r"/(?P<event_id>[^/]+)", "events.patch"),
    ("POST", r"/calendar/v3/freeBusy", "freebusy.query"),
    ("POST", r"/gmail/v1/users/(?P<user>[^/]+)/drafts", "drafts.create"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/drafts", "drafts.list"),
    ("POST", r"/gmail/v1/users/(?P<user>[^/]+)/messages/send", "messages.send"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/messages", "messages.list"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/messages/(?P<message_id>[^/]+)", "messages.get"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/threads/(?P<thread_id>[^/]+)", "threads.get"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/history", "history.list"),
    ("GET", r"/gmail/v1/users/(?P<user>[^/]+)/profile", "users.getProfile"),
]
_COMPILED = [(verb, re.compile(f"^{pattern}$"), name) for verb, pattern, name in ROUTES]


def route(verb: str, path: str) -> tuple[str, dict[str, str]]:
    """The method a request calls, and its path arguments (unknown: 404 notFound)."""
    for want, pattern, name in _COMPILED:
        match = pattern.match(path)
        if match and want == verb:
            return name, match.groupdict()
    raise ApiError(404, "notFound", f"No handler for {verb} {path}")


class Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: parse the request, ask the emulator, write the answer."""

    emulator: Any  # set on a subclass per emulator

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self, verb: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            kind = self.headers.get("Content-Type", "")
            if "application/x-www-form-urlencoded" in kind:
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
            else:
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.emulator.lock:
            status, answer, extra = self.emulator.handle(verb, unquote(parts.path), query, body,
                                                         headers)
        if status == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        data = b"" if answer is None else json.dumps(answer).encode("utf-8")
        self.send_response(status)
        if answer is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")
