"""The HTTP server class every emulator in tests/fakes/ listens with.

http.server prints a traceback to `sys.stderr` whenever a handler fails, typically a client that
hung up on a stalled answer (BrokenPipeError). Printed from the server's thread while a test's
CliRunner has swapped `sys.stderr`, that traceback lands in the command's captured output and
fails an exact comparison at random. Here a handler error is kept in `errors` instead, so a
test can still look at it.
"""
from __future__ import annotations

from http.server import ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that records handler errors instead of printing them."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Keep the exception being handled; print nothing."""
        import sys

        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)
