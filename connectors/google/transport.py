"""The httplib2-shaped HTTP object googleapiclient calls, carried over `requests`.

Why not httplib2 itself: it silently sends a request a second time when the connection drops
before the answer arrives (its stale keep-alive rule), and for a POST such as drafts.create that
makes a second draft behind the connector's back. `requests` sends each request once (retries
are the connector's job, see google_http.Caller), and it honours REQUESTS_CA_BUNDLE and the
proxy variables, so a proxy or a test CA works the same as for the other connectors.

Each request has an overall deadline (`DEADLINE`, 120 s) besides the timeout between bytes, and a
stop request (SIGTERM in `touchbase run`) ends the wait for an answer at once (agent.time_limits).
"""
from __future__ import annotations

from typing import Any

import httplib2
import requests

from agent import time_limits

DEADLINE = 120.0
"""Seconds one request (connecting, sending, the whole answer) may take."""


class _TooSlow(Exception):
    """A request's overall deadline passed."""


class RequestsHttp:
    """The subset of httplib2.Http that googleapiclient and google_auth_httplib2 use."""

    def __init__(self, timeout: float = 60.0, deadline: float = DEADLINE) -> None:
        self.session = requests.Session()
        self.timeout = timeout
        self.deadline = deadline
        self.connections: dict = {}  # google_auth_httplib2 proxies this attribute

    def request(self, uri: str, method: str = "GET", body: Any = None,
                headers: dict | None = None, redirections: int = 5,
                connection_type: Any = None, **_: Any) -> tuple[httplib2.Response, bytes]:
        """Send one request; returns (an httplib2.Response of the headers, the body bytes).

        Network failures raise ConnectionError (an OSError); a timeout, or no whole answer within
        the deadline, raises TimeoutError.
        """
        try:
            with time_limits.interruptible(), time_limits.time_limit(self.deadline, _TooSlow):
                answer = self.session.request(method, uri, data=body, headers=headers,
                                              timeout=self.timeout, allow_redirects=redirections > 0)
        except _TooSlow:
            raise TimeoutError(f"no complete answer from {_host(uri)} within {self.deadline:.0f}s") from None
        except requests.Timeout as exc:
            raise TimeoutError(f"no answer from {_host(uri)} within {self.timeout:.0f}s") from exc
        except requests.RequestException as exc:
            raise ConnectionError(f"cannot reach {_host(uri)}: {type(exc).__name__}") from exc
        info = {name.lower(): value for name, value in answer.headers.items()}
        info["status"] = str(answer.status_code)
        response = httplib2.Response(info)
        response.reason = answer.reason or ""
        return response, answer.content

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()


def _host(uri: str) -> str:
    return uri.split("//", 1)[-1].split("/", 1)[0]
