"""A small Microsoft Graph v1.0 client over `requests`: retries, token refresh, clear errors.

- 429, 503 and 504 are retried after Retry-After (seconds or an HTTP date), or with exponential
  back-off when the header is absent; the total wait per request is bounded.
- 401 leads to one forced silent token refresh and one retry.
- Any other 4xx/5xx raises a SourceError naming the request (method, path, status, Graph code).
- Network failures raise a SourceError: the source's cycle ends and it is retried next cycle.
- Each request has an overall deadline (`DEADLINE`, 120 s) besides the per-read timeout, and a
  stop request (SIGTERM in `touchbase run`) ends a wait for an answer or a Retry-After sleep at
  once (agent.time_limits).
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from agent import time_limits
from agent.errors import AuthError, SourceError

if TYPE_CHECKING:  # requests is imported on first use: reading the config never loads it
    import requests

DEFAULT_ENDPOINT = "https://graph.microsoft.com/v1.0"
RETRY_STATUSES = frozenset({429, 503, 504})
TIMEOUT = (10, 60)  # connect, read (seconds)
DEADLINE = 120.0
"""Seconds one request (connecting, sending, the whole answer) may take."""


class TokenProvider(Protocol):
    """Anything that hands out a bearer token (see connectors.outlook.auth.OutlookAuth)."""

    def token(self, force_refresh: bool = False) -> str:
        """An access token for Graph; raises AuthError when the user must sign in again."""


class _TooSlow(Exception):
    """A request's overall deadline passed."""


class GraphError(SourceError):
    """A Graph request failed with an HTTP error; carries the status and Graph's error code."""

    def __init__(self, source: str, message: str, status: int, code: str) -> None:
        self.status = status
        self.code = code
        super().__init__(source, message)


class SyncStateGone(GraphError):
    """A delta token is no longer valid (410 Gone, or syncStateNotFound): resync fully."""


@dataclass
class RetryPolicy:
    """How long a throttled or unavailable request may keep being retried."""

    max_wait_seconds: float = 60.0
    first_backoff: float = 0.5
    max_attempts: int = 8
    sleep: Callable[[float], None] = field(default=time_limits.pause)


class GraphClient:
    """Calls Graph with a bearer token from `tokens`; every call is one logical request."""

    def __init__(self, source: str, endpoint: str, tokens: TokenProvider,
                 policy: RetryPolicy | None = None, session: requests.Session | None = None) -> None:
        self.source = source
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.tokens = tokens
        self.policy = policy or RetryPolicy()
        if session is None:
            import requests

            session = requests.Session()
        self.session = session

    def url(self, path: str) -> str:
        """The absolute URL of `path` (absolute URLs such as nextLinks pass through)."""
        if path.startswith(("https://", "http://")):
            return path
        return f"{self.endpoint}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, params: dict | None = None,
                json: Any = None, headers: dict | None = None,
                retry_on: frozenset[int] = RETRY_STATUSES) -> requests.Response:
        """Send one request, retrying throttling and one 401; raise on any other error."""
        url = self.url(path)
        label = f"{method} {_short(url)}"
        refreshed = False
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            response = self._send(method, url, params, json, headers, label, refreshed)
            status = response.status_code
            if status == 401 and not refreshed:
                refreshed = True
                continue
            if status in retry_on and attempt < self.policy.max_attempts:
                delay = self._delay(response, attempt)
                if waited + delay <= self.policy.max_wait_seconds:
                    self.policy.sleep(delay)
                    waited += delay
                    continue
            if status >= 400:
                raise self._error(response, label, waited)
            return response

    def get_json(self, path: str, **kwargs: Any) -> dict:
        """GET `path` and return the decoded JSON body."""
        return _json(self.request("GET", path, **kwargs), self.source)

    def pages(self, path: str, *, params: dict | None = None,
              headers: dict | None = None) -> Iterator[dict]:
        """Every page of a collection, following @odata.nextLink."""
        page = self.get_json(path, params=params, headers=headers)
        yield page
        while page.get("@odata.nextLink"):
            page = self.get_json(page["@odata.nextLink"], headers=headers)
            yield page

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def _send(self, method: str, url: str, params: dict | None, json: Any,
              headers: dict | None, label: str, force_refresh: bool) -> requests.Response:
        import requests

        token = self.tokens.token(force_refresh=force_refresh)
        merged = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        merged.update(headers or {})
        try:
            with time_limits.interruptible(), time_limits.time_limit(DEADLINE, _TooSlow):
                return self.session.request(method, url, params=params, json=json, headers=merged,
                                            timeout=TIMEOUT)
        except _TooSlow:
            raise SourceError(self.source, f"{label}: no complete answer within {DEADLINE:.0f}s; "
                                           "retrying next cycle") from None
        except requests.exceptions.SSLError as exc:
            raise SourceError(self.source, f"{label}: TLS error: {_first_line(exc)}") from None
        except requests.RequestException as exc:
            raise SourceError(self.source, f"{label}: network error: {_first_line(exc)}; "
                                           "retrying next cycle") from None

    def _delay(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if header:
            seconds = retry_after_seconds(header)
            if seconds is not None:
                return seconds
        return self.policy.first_backoff * (2 ** (attempt - 1))

    def _error(self, response: requests.Response, label: str, waited: float) -> SourceError:
        status = response.status_code
        code, message = _graph_error(response)
        if status == 401:
            return AuthError(self.source, f"{label}: Graph refused the token ({code or 401}).",
                             fix=f"touchbase auth outlook --source {self.source}")
        if status == 410 or code.lower() in ("syncstatenotfound", "resyncrequired",
                                              "syncstateinvalid"):
            return SyncStateGone(self.source, f"{label}: delta token expired ({code or status})",
                                 status, code)
        text = f"{label}: HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if status in RETRY_STATUSES:
            text += f" (still failing after {waited:.0f}s of retries; retrying next cycle)"
        return GraphError(self.source, text, status, code)


def retry_after_seconds(value: str) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _graph_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "")), str(error.get("message", ""))[:300]
    return "", ""


def _json(response: requests.Response, source: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise SourceError(source, f"{response.request.method} {_short(response.url)}: "
                                  "Graph answered with something that is not JSON") from None
    if not isinstance(body, dict):
        raise SourceError(source, f"{_short(response.url)}: unexpected JSON from Graph")
    return body


def _short(url: str) -> str:
    """The path of a URL without its query (delta tokens are long and say nothing)."""
    return urlsplit(url).path or url


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
