"""Calling Google APIs: building the clients, retries with back-off, one clear error per failure.

Every request goes through `Caller.run`: 429, 403 rateLimitExceeded / userRateLimitExceeded and
5xx are retried with exponential back-off and jitter (honouring Retry-After), within a time
budget (a stop request ends the wait at once, agent.time_limits); 403 quotaExceeded and network
failures end the source's cycle at once (it is retried next cycle); an expired or revoked
refresh token becomes an AuthError naming the fix. Error reasons are read from
HttpError.error_details, never from the message text.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from agent import time_limits
from agent.errors import AuthError, SourceError

RETRY_REASONS = {"ratelimitexceeded", "userratelimitexceeded"}
QUOTA_REASONS = {"quotaexceeded", "dailylimitexceeded"}
SCOPE_REASONS = {"insufficientpermissions", "accesstokenscopeinsufficient"}


@dataclass
class RetryPolicy:
    """How long and how often a throttled or failing request is retried within one cycle."""

    base_seconds: float = 1.0  # first back-off step; doubles each attempt
    cap_seconds: float = 32.0  # longest single wait
    budget_seconds: float = 90.0  # total time one request may spend waiting
    max_attempts: int = 7  # requests in all, the first included


def reasons_of(error: Any) -> set[str]:
    """The `reason` values in an HttpError's details, lower-cased without underscores.

    Google's classic format lists `{"reason": "rateLimitExceeded", ...}` under error.errors; the
    newer one carries ErrorInfo `{"reason": "RATE_LIMIT_EXCEEDED"}` under error.details. Both
    normalise to the same text.
    """
    details = getattr(error, "error_details", None)
    items: Iterable[Any] = details if isinstance(details, list) else []
    found = set()
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("reason"), str):
            found.add(item["reason"].replace("_", "").lower())
    return found


def list_request(events: Any, query: dict[str, Any]) -> Callable[[], Any]:
    """A request for `Caller.run` that lists one page of `events` with `query` (a new
    googleapiclient request on each attempt)."""
    return lambda: events.list(**query).execute(num_retries=0)


def retry_after_seconds(error: Any, now: float | None = None) -> float | None:
    """The Retry-After header of an HttpError as seconds (delta or HTTP date), or None."""
    resp = getattr(error, "resp", None)
    value = resp.get("retry-after") if resp is not None and hasattr(resp, "get") else None
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def is_retryable(error: Any) -> bool:
    """429, 5xx, and 403 with a rate-limit reason."""
    status = int(getattr(getattr(error, "resp", None), "status", 0) or 0)
    if status == 429 or status >= 500:
        return True
    return status == 403 and bool(reasons_of(error) & RETRY_REASONS)


class Caller:
    """Runs requests for one source with the retry policy and the error translation."""

    def __init__(self, source: str, fix: str, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time_limits.pause) -> None:
        self.source = source
        self.fix = fix
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.requests = 0  # requests sent, retries included

    def run(self, request: Callable[[], Any], what: str, passthrough: tuple[int, ...] = ()) -> Any:
        """Execute `request()` (a googleapiclient request's execute); retry what may be retried.

        HttpErrors whose status is in `passthrough` are re-raised for the caller to handle (a 409
        on insert, a 410 on a stale sync token, a 404 on get); every other failure becomes a
        SourceError or AuthError.
        """
        from googleapiclient.errors import HttpError

        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                return self._once(request, what)
            except HttpError as exc:
                status = exc.resp.status
                if status in passthrough:
                    raise
                if not is_retryable(exc):
                    raise self.translate(exc, what) from None
                delay = self._delay(exc, attempt)
                spent = time.monotonic() - started
                if attempt >= self.policy.max_attempts or spent + delay > self.policy.budget_seconds:
                    raise SourceError(self.source, (
                        f"{what}: Google kept answering {status} ({_reason_text(exc)}) after "
                        f"{attempt} attempt(s) over {spent:.0f}s; will retry next cycle")) from None
                self.sleep(delay)

    def _once(self, request: Callable[[], Any], what: str) -> Any:
        from google.auth.exceptions import RefreshError, TransportError
        from httplib2 import HttpLib2Error

        try:
            return request()
        except RefreshError as exc:
            if getattr(exc, "retryable", False):
                raise SourceError(self.source, f"{what}: the token endpoint failed for now "
                                               f"({_short(exc)}); will retry next cycle") from None
            raise AuthError(self.source, _refresh_message(exc), fix=self.fix) from None
        except (TimeoutError, TransportError, HttpLib2Error, ConnectionError, OSError) as exc:
            raise SourceError(self.source, f"{what}: network failure ({_short(exc)}); "
                                           "will retry next cycle") from None

    def _delay(self, error: Any, attempt: int) -> float:
        told = retry_after_seconds(error)
        if told is not None:
            return told
        step = min(self.policy.cap_seconds, self.policy.base_seconds * (2 ** (attempt - 1)))
        return step / 2 + random.uniform(0, step / 2)

    def translate(self, error: Any, what: str) -> SourceError:
        """One clear SourceError (or AuthError) for an HttpError that is not retried."""
        status = error.resp.status
        reasons = reasons_of(error)
        text = _reason_text(error)
        if status == 401:
            return AuthError(self.source, f"{what}: Google refused the credentials ({text}).",
                             fix=self.fix)
        if status == 403 and reasons & SCOPE_REASONS:
            return AuthError(self.source, f"{what}: the saved sign-in does not allow this "
                                          f"({text}); sign in again to grant it.", fix=self.fix)
        if status == 403 and reasons & QUOTA_REASONS:
            return SourceError(self.source, f"{what}: Google usage quota exceeded ({text}); "
                                            "will retry next cycle")
        return SourceError(self.source, f"{what}: Google answered {status} ({text})")


def _reason_text(error: Any) -> str:
    reasons = sorted(reasons_of(error))
    message = getattr(error, "reason", "") or ""
    label = "/".join(reasons)
    return f"{label}: {message}" if label and message else (label or message or "no details")


def _refresh_message(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    detail = args[0] if args else ""
    if isinstance(detail, str) and "invalid_grant" in detail:
        return ("the Google sign-in expired or was revoked (apps in Google's testing mode lose "
                "it after 7 days).")
    return "the Google sign-in could not be refreshed."


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 text in UTC (what timeMin/timeMax require)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
