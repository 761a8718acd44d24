"""The loopback listener on which both browser sign-ins (Google, Outlook) receive their answer.

It binds 127.0.0.1 explicitly, on a free port, whatever the environment (msal's own listener binds
every interface, 0.0.0.0, when it believes it runs in a container, which makes the sign-in's
answer reachable from the network). It serves requests one at a time until one carries the
`state` this sign-in sent, or the sign-in times out: any other request (a stray GET /favicon.ico,
a forged answer with another state) is answered 400 and ignored, and a connection that sends
nothing is dropped after `IDLE_SECONDS`, so neither can end or hold the sign-in. The answer's
parameters come from the query (Google) or a form POST (Microsoft's form_post).

The page the browser gets back is written only after the sign-in is complete: `wait` runs the
caller's `complete(answer)` (the code exchanged for tokens) while the browser waits, so the page
says "connected" only when it is, and says the sign-in failed (and why) when `complete` raised.
"""
from __future__ import annotations

import hmac
import html
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer

IDLE_SECONDS = 5.0
"""A connection that sends no request within this long is dropped."""
MAX_FORM_BYTES = 64 * 1024
DONE_PAGE = "<!doctype html><title>{title}</title><p>{message} You can close this tab.</p>"
FAILED_MESSAGE = "The sign-in failed: {reason}. touchbase says what to do next in the terminal."


class SignInTimeout(Exception):
    """No answer carrying the expected state arrived in time."""


def _nothing_more(answer: dict[str, str]) -> None:
    """No completion step: the answer alone is the sign-in."""


class LoopbackListener:
    """A one-sign-in HTTP listener on 127.0.0.1; `expect(state)`, then `wait(timeout)`."""

    def __init__(self, done_message: str = "touchbase is signed in.", idle: float = IDLE_SECONDS) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.listener = self
        self.idle = idle
        self.done_message = done_message
        self.state = ""
        self.answer: dict[str, str] | None = None
        self.complete: Callable[[dict[str, str]], object] = _nothing_more
        self.failure: Exception | None = None

    @property
    def port(self) -> int:
        """The port the listener took."""
        return int(self.server.server_address[1])

    def redirect_uri(self, host: str = "127.0.0.1") -> str:
        """The address the sign-in service sends the browser back to (`localhost` for Microsoft,
        whose app registrations name http://localhost; it reaches this listener all the same)."""
        return f"http://{host}:{self.port}/"

    def expect(self, state: str) -> None:
        """Accept only an answer carrying `state`."""
        self.state = state

    def wait(self, timeout: float,
             complete: Callable[[dict[str, str]], object] = _nothing_more) -> dict[str, str]:
        """Serve requests until the expected answer arrives; its parameters, or SignInTimeout.

        `complete(answer)` runs before the browser's page is sent (the page tells its outcome);
        an exception it raises is raised here, after the page said the sign-in failed.
        """
        self.complete = complete
        ends = time.monotonic() + timeout
        while self.answer is None:
            left = ends - time.monotonic()
            if left <= 0:
                raise SignInTimeout
            self.server.timeout = left
            self.server.handle_request()
        if self.failure is not None:
            raise self.failure
        return self.answer

    def close(self) -> None:
        """Stop listening."""
        self.server.server_close()

    def take(self, params: dict[str, str]) -> bool:
        """Whether `params` are this sign-in's answer (then kept)."""
        if not self.state or not hmac.compare_digest(params.get("state", ""), self.state):
            return False
        self.answer = params
        return True

    def outcome(self) -> tuple[str, str]:
        """Complete the sign-in with the answer taken; the page's (title, message)."""
        try:
            self.complete(self.answer or {})
        except Exception as exc:  # noqa: BLE001 - raised again by wait(), after the page is sent
            self.failure = exc
            return "touchbase: sign-in failed", FAILED_MESSAGE.format(reason=str(exc).rstrip("."))
        return "touchbase", self.done_message


class _Server(HTTPServer):
    listener: LoopbackListener

    def handle_timeout(self) -> None:
        """Nothing arrived before the sign-in's time ran out (wait() says so)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.listener.idle)  # a silent connection is dropped

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        self._answer(urllib.parse.urlsplit(self.path).query)

    def do_POST(self) -> None:  # noqa: N802
        length = self.headers.get("Content-Length", "")
        size = int(length) if length.isdigit() else 0
        if size > MAX_FORM_BYTES:
            return self._reply(413, "Too large.")
        self._answer(self.rfile.read(size).decode("utf-8", "replace"))

    def _answer(self, text: str) -> None:
        params = {key: values[0] for key, values in urllib.parse.parse_qs(text).items()}
        if not self.server.listener.take(params):
            return self._reply(400, "This is not the sign-in touchbase is waiting for.")
        title, message = self.server.listener.outcome()
        self._reply(200, message, title)

    def _reply(self, status: int, message: str, title: str = "touchbase") -> None:
        body = DONE_PAGE.format(title=html.escape(title), message=html.escape(message)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        """Requests are not logged (an answer holds a one-time code)."""
