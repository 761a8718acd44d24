"""Fetching a calendar from its address: checks, conditional GET, redirects, size cap, retries.

A calendar address is often a secret (Google's "secret address in iCal format", a published
Outlook calendar): whoever has it reads the calendar. So nothing here ever prints, logs or returns
more of it than its scheme and host (`label`), and errors are worded here, never taken from the
HTTP library (whose messages quote the full address). The standard library's urllib is used for
that reason too: it logs nothing and honours the usual proxy variables.

`webcal://` is read as `https://`; plain `http://` is refused except for loopback hosts. An
unchanged calendar costs one request answered 304 (ETag / If-None-Match, Last-Modified /
If-Modified-Since). 429 and 5xx answers and network errors are retried with back-off, honouring
Retry-After. Besides the timeout between bytes, one fetch (its redirects, retries and waits
included) has an overall deadline (`deadline_seconds` of the source, default 120 s): a server that
drips its answer is cut there with one line, and a Retry-After longer than the time left is not
slept (the fetch fails and the next sync tries again). A stop request (SIGTERM) ends any of these
waits at once (agent.time_limits).
"""
from __future__ import annotations

import http.client
import ipaddress
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime

from agent import time_limits
from agent.errors import SourceError, Unreachable

USER_AGENT = "touchbase (calendar reader)"
REDIRECTS = (301, 302, 303, 307, 308)
RETRIED = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch: time-outs, size cap, redirects, retries and their back-off."""

    timeout: float = 30.0  # seconds to connect, and between bytes
    deadline: float = 120.0  # seconds for the whole fetch ([[sources]] deadline_seconds)
    max_bytes: int = 50 * 1024 * 1024  # a calendar larger than this is refused ([[sources]] max_bytes)
    max_redirects: int = 5
    retries: int = 3  # further attempts after a 429, a 5xx or a network error
    backoff: float = 1.0  # first wait without Retry-After; doubles each time
    max_wait: float = 60.0  # a longer Retry-After gives up until the next sync
    sleep: Callable[[float], None] = field(default=time_limits.pause, compare=False)


@dataclass
class Fetched:
    """The answer to one fetch: the body (None when not modified) and the new validators."""

    body: bytes | None
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        """The server said 304: the calendar is as it was."""
        return self.body is None

    def validators(self) -> dict[str, str]:
        """What to remember for the next conditional request (empty values left out)."""
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}


def label(url: str) -> str:
    """The part of an address that may be shown: scheme and host (and a non-default port)."""
    parts = urllib.parse.urlsplit(url.strip())
    scheme = "https" if parts.scheme.lower() == "webcal" else parts.scheme.lower()
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(text: str) -> str:
    """The address to fetch for `text` (webcal:// read as https://); a problem raises ValueError.

    The message names only scheme and host.
    """
    url = text.strip()
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "webcal":
        url = "https" + url[len(parts.scheme):]
        parts, scheme = urllib.parse.urlsplit(url), "https"
    if scheme not in ("https", "http") or not parts.hostname:
        shown = f"{scheme}://..." if scheme else "it"
        raise ValueError(f"{shown} is not a calendar address (use https:// or webcal://)")
    if parts.username is not None or "@" in parts.netloc:
        raise ValueError(f"{label(url)}: the address holds a login (user:password@), which is refused; "
                         "write it without (a secret address goes in url_env or url_file)")
    try:
        parts.port  # noqa: B018 - a bad port raises here, not in the middle of a fetch
    except ValueError:
        raise ValueError(f"{label(url)}: the port is not a number") from None
    if scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{label(url)}: plain http:// is only allowed for this machine "
                         "(localhost); use https://")
    return url


def fetch(url: str, previous: dict[str, str] | None, policy: FetchPolicy, where: str) -> Fetched:
    """GET `url`, conditionally on `previous` validators; SourceError (naming `where`) on failure.

    Redirects are followed (each target checked like the first address, and never from https://
    down to http://, not even to this machine); 429, 5xx and network
    errors are retried up to `policy.retries` times with back-off, all within `policy.deadline`.
    """
    shown = label(url)
    ends = time.monotonic() + policy.deadline
    attempt = 0
    while True:
        try:
            return _attempt(url, previous or {}, policy, ends)
        except _Retry as retry:
            wait = retry.after if retry.after is not None else policy.backoff * 2 ** attempt
            _check_retry(retry, attempt, wait, ends - time.monotonic(), policy, shown, where)
            policy.sleep(max(0.0, wait))
            attempt += 1
        except _TooSlow:
            raise Unreachable(where, f"{shown}: no complete answer within {policy.deadline:g} s "
                                     "(the server is too slow); will try again next sync") from None
        except _Failure as failure:
            raise SourceError(where, f"{shown}: {failure}") from None


def _check_retry(retry: _Retry, attempt: int, wait: float, left: float, policy: FetchPolicy,
                 shown: str, where: str) -> None:
    """Raise the failure when no retry is left, or its wait would not fit the time left."""
    if attempt >= policy.retries or (retry.after is None and wait > left):
        error = Unreachable if retry.network else SourceError
        raise error(where, f"{shown}: {retry.reason} (gave up after "
                           f"{attempt + 1} attempts; will try again next sync)") from None
    if wait > policy.max_wait or wait > left:
        raise SourceError(where, f"{shown}: {retry.reason}; the server asks to wait "
                                 f"{wait:.0f} s, so it is tried again next sync") from None


def _attempt(url: str, previous: dict[str, str], policy: FetchPolicy, ends: float) -> Fetched:
    """One attempt within the time left before `ends`, which a stop request cuts short."""
    left = ends - time.monotonic()
    if left <= 0:
        raise _TooSlow
    with time_limits.interruptible(), time_limits.time_limit(left, _TooSlow):
        return _follow(url, previous, policy, ends)


class _TooSlow(Exception):
    """The fetch's overall deadline passed."""


class _Retry(Exception):
    """A failure worth another try (429, 5xx, network), with the server's Retry-After if any."""

    def __init__(self, reason: str, after: float | None = None, network: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.network = network  # no answer at all (as opposed to an HTTP status)


class _Failure(Exception):
    """A failure that another try now would not fix (4xx, a bad redirect, too large)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back instead of following them: each hop is checked here."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError):
        raise _Failure(f"cannot load the trusted certificates from {cafile}") from None
    return urllib.request.build_opener(_NoRedirects(), urllib.request.HTTPSHandler(context=context))


def _follow(url: str, previous: dict[str, str], policy: FetchPolicy, ends: float) -> Fetched:
    """One attempt: the request and its redirects."""
    opener = _opener()
    for _hop in range(policy.max_redirects + 1):
        status, headers, body = _get(opener, url, previous, policy, ends)
        if status in REDIRECTS:
            location = headers.get("Location")
            if not location:
                raise _Failure(f"HTTP {status} without a Location")
            try:
                target = check_url(urllib.parse.urljoin(url, location))
            except ValueError as exc:
                raise _Failure(f"redirected to {exc}") from None
            if url.startswith("https:") and target.startswith("http:"):
                raise _Failure(f"redirected from https:// to plain http:// ({label(target)}); refused")
            url = target
            continue
        if status == 304:
            return Fetched(None, headers.get("ETag") or previous.get("etag", ""),
                           headers.get("Last-Modified") or previous.get("last_modified", ""))
        if status in RETRIED:
            raise _Retry(f"HTTP {status}", _retry_after(headers.get("Retry-After")))
        if status == 200:
            assert body is not None
            return Fetched(body, headers.get("ETag") or "", headers.get("Last-Modified") or "")
        raise _Failure(_status_text(status))
    raise _Failure(f"more than {policy.max_redirects} redirects")


def _get(opener: urllib.request.OpenerDirector, url: str, previous: dict[str, str],
         policy: FetchPolicy, ends: float) -> tuple[int, Message, bytes | None]:
    """Status, headers and (for a 200) the decoded body of one GET."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5",
               "Accept-Encoding": "gzip"}
    if previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        response = opener.open(request, timeout=min(policy.timeout, max(ends - time.monotonic(), 0.01)))
    except urllib.error.HTTPError as answer:
        answer.close()
        return answer.code, answer.headers, None
    except (TimeoutError, ssl.SSLError, urllib.error.URLError, OSError) as exc:
        raise _network(exc) from None
    except http.client.HTTPException as exc:  # a malformed answer; its text may quote the address
        raise _Retry(f"the server's answer was malformed ({type(exc).__name__})") from None
    except ValueError as exc:  # e.g. InvalidURL, whose message quotes the address
        raise _Failure(f"the address is not usable ({type(exc).__name__})") from None
    with response:
        if response.status != 200:
            return response.status, response.headers, None
        try:
            body = _read_capped(response, policy.max_bytes, ends)
        except (TimeoutError, OSError) as exc:
            raise _network(exc) from None
        except http.client.HTTPException as exc:  # e.g. IncompleteRead
            raise _Retry(f"the answer was cut short ({type(exc).__name__})") from None
        return 200, response.headers, _decoded(body, response.headers, policy.max_bytes)


def _read_capped(response: http.client.HTTPResponse, cap: int, ends: float) -> bytes:
    """The body as it arrives (whatever came in each read), up to `cap` bytes, before `ends`."""
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > cap:
        raise _Failure(f"the calendar is larger than the {_mib(cap)} limit")
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = response.read1(65536)
        if time.monotonic() > ends:  # a drip of bytes, each in time, the whole too late
            raise _TooSlow
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:
            raise _Failure(f"the calendar is larger than the {_mib(cap)} limit")
        chunks.append(chunk)


def _decoded(body: bytes, headers: Message, cap: int) -> bytes:
    """The body without its gzip content coding (capped as well); a body of several gzip members
    (RFC 1952 allows them, e.g. a calendar written in appended pieces) is decoded whole."""
    coding = (headers.get("Content-Encoding") or "").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip"):
        raise _Failure(f"the server sent an unknown content coding {coding!r}")
    parts: list[bytes] = []
    size, rest = 0, body
    while rest:
        data, rest = _inflate_member(rest, cap - size)
        size += len(data)
        if size > cap:
            raise _Failure(f"the calendar is larger than the {_mib(cap)} limit")
        parts.append(data)
    return b"".join(parts)


def _inflate_member(body: bytes, room: int) -> tuple[bytes, bytes]:
    """One gzip member of `body` inflated (more than `room` bytes only when it is too large) and
    what follows it."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, room + 1)
    except zlib.error:
        raise _Failure("the server sent a damaged gzip body") from None
    if len(data) > room:
        return data, b""
    if not inflater.eof:
        raise _Failure("the server sent a gzip body that is cut short")
    return data, inflater.unused_data.lstrip(b"\0")  # zero padding after a member is allowed


def _network(exc: BaseException) -> _Retry:
    """A network failure, described without the address."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return _Retry("no answer in time (timed out)", network=True)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return _Retry(f"the TLS certificate is not trusted ({reason.verify_message})")
    if isinstance(reason, ssl.SSLError):
        return _Retry(f"TLS failed ({reason.reason or 'handshake'})", network=True)
    if isinstance(reason, OSError) and reason.strerror:
        return _Retry(f"cannot connect ({reason.strerror})", network=True)
    return _Retry(f"cannot connect ({type(reason).__name__})", network=True)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _status_text(status: int) -> str:
    known = {401: "the server asks for a sign-in (is the address complete?)",
             403: "access refused (the address may have been reset or made private)",
             404: "no calendar at this address (was it reset or unpublished?)",
             410: "the calendar is gone (was it reset or unpublished?)"}
    return f"HTTP {status}: {known.get(status, 'unexpected answer')}"


def _mib(size: int) -> str:
    return f"{size / 1048576:g} MiB" if size >= 1048576 else f"{size} bytes"

