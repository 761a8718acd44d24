"""Sign-in for Outlook / Microsoft 365 sources and a persisted token cache.

Two interactive flows (docs/connect-outlook.md says when each applies):
- in the browser (the default): the authorization-code flow with PKCE and a loopback redirect
  (http://localhost:PORT, answered by connectors.loopback on 127.0.0.1 only: msal's own listener
  would bind every interface where it believes it runs in a container). It works where Conditional Access
  blocks the device-code flow, as Microsoft recommends in many tenants;
- the device-code flow (`--device-code`), for a machine without a browser.

The cache is encrypted where the platform offers it (DPAPI on Windows, the Keychain on macOS,
libsecret on Linux, through msal-extensions); otherwise it is a plain JSON file written atomically
with mode 0600, and the agent says so in one line, once per store (the connector's notices(),
told by agent.sync), then in `touchbase status`. The daemon only ever acquires tokens silently;
when that fails it raises AuthError naming the command that fixes it.
"""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msal
import requests
from msal_extensions import FilePersistence, PersistedTokenCache, build_encrypted_persistence

from agent import time_limits
from agent.errors import AuthError, SourceError
from agent.safe_text import address_label, server_reply
from agent.storage.private_files import tighten
from connectors.loopback import LoopbackListener, SignInTimeout

log = logging.getLogger(__name__)

AUTHORITY_HOST = "https://login.microsoftonline.com"
CALENDAR_SCOPES = ["Calendars.ReadWrite"]
DRAFT_SCOPE = "Mail.ReadWrite"
SEND_SCOPE = "Mail.Send"
SENT_LOOKUP_SCOPE = "Mail.ReadBasic"
"""To find a sent mail by its internetMessageId before sending it again after a crash."""

BROWSER_TIMEOUT = 300
"""Seconds the browser sign-in waits for the user."""
REFRESH_DEADLINE = 120.0
"""Seconds a silent token refresh may take (a stop request ends it sooner)."""
_HTTP_CACHE: dict = {}  # msal's discovery answers, shared by the connectors of one process


class _TooSlow(Exception):
    """A token refresh's deadline passed."""


class AtomicFilePersistence(FilePersistence):
    """msal-extensions' plain-file persistence, but written atomically with mode 0600."""

    def save(self, content: str) -> None:
        """Write `content` to a 0600 temporary file beside the cache, then rename it over."""
        location = self.get_location()
        folder = os.path.dirname(location) or "."
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".tokens-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, location)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise


def cache_path(source: Any, data_dir: Path) -> Path:
    """The token cache file of `source`: its `token_cache` key, else data folder/tokens/NAME.bin."""
    configured = source.options.get("token_cache") or ""
    if configured:
        return Path(configured).expanduser()
    return data_dir / "tokens" / f"{source.name}.bin"


def keyring_notice(path: Path) -> str:
    """The line telling that the token cache at `path` is not encrypted."""
    return f"no OS keyring available: the Outlook token cache is a plain file (mode 0600): {path}"


def open_token_cache(path: Path) -> tuple[PersistedTokenCache, bool]:
    """The persisted cache at `path` and whether it is encrypted (falls back to a 0600 file;
    the connector's notices() tells it, once per store: agent.sync)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tighten(path, "the token cache")  # a cache left 0644 by hand or by an old version
    try:
        persistence = build_encrypted_persistence(str(path))
        encrypted = True
    except Exception:  # noqa: BLE001 - no keyring library or service: fall back to a plain file
        persistence = AtomicFilePersistence(str(path))
        encrypted = False
    return PersistedTokenCache(persistence), encrypted


def authority_of(source: Any) -> tuple[str, bool]:
    """The authority URL of `source` and whether msal's instance discovery stays on."""
    override = (source.options.get("authority") or "").rstrip("/")
    if override:
        return override, False
    tenant = source.options.get("tenant") or "organizations"
    return f"{AUTHORITY_HOST}/{tenant}", True


def scopes_for(roles: list[str]) -> list[str]:
    """The delegated permissions a source needs for its roles (read, write, drafts, send, mail).

    msal adds openid, profile and offline_access by itself.
    """
    scopes = list(CALENDAR_SCOPES)
    if "drafts" in roles:
        scopes.append(DRAFT_SCOPE)
    if "send" in roles:
        scopes += [SEND_SCOPE, SENT_LOOKUP_SCOPE]
    if "mail" in roles and SENT_LOOKUP_SCOPE not in scopes:
        scopes.append(SENT_LOOKUP_SCOPE)  # mail metadata: who wrote to whom, never a body
    return scopes


class OutlookAuth:
    """msal's PublicClientApplication for one source, with its persisted token cache."""

    def __init__(self, source: Any, data_dir: Path) -> None:
        self.source_name = source.name
        self.fix = f"touchbase auth outlook --source {source.name}"
        client_id = source.options.get("client_id") or ""
        if not client_id:
            raise SourceError(source.name, "client_id is not set (the application id of your app "
                                           "registration; see docs/connect-outlook.md)")
        self.path = cache_path(source, data_dir)
        self.cache, self.encrypted = open_token_cache(self.path)
        authority, discovery = authority_of(source)
        try:
            with time_limits.interruptible(), time_limits.time_limit(REFRESH_DEADLINE, _TooSlow):
                self.app = msal.PublicClientApplication(
                    client_id, authority=authority, token_cache=self.cache, http_cache=_HTTP_CACHE,
                    instance_discovery=None if discovery else False)
        except _TooSlow:
            raise SourceError(source.name, f"the sign-in service {address_label(authority)} gave no "
                                           f"answer within {REFRESH_DEADLINE:.0f}s") from None
        except requests.RequestException as exc:
            raise SourceError(source.name, f"cannot reach the sign-in service {authority}: "
                                           f"{_first_line(exc)}") from None
        except ValueError as exc:
            raise SourceError(source.name, f"the authority {authority} is not usable: "
                                           f"{_first_line(exc)}") from None

    def token(self, force_refresh: bool = False, scopes: list[str] | None = None) -> str:
        """An access token acquired silently (cache, else refresh token); AuthError otherwise."""
        accounts = self.app.get_accounts()
        if not accounts:
            raise AuthError(self.source_name, "not signed in to Outlook.", fix=self.fix)
        try:
            with time_limits.interruptible(), time_limits.time_limit(REFRESH_DEADLINE, _TooSlow):
                result = self.app.acquire_token_silent_with_error(
                    scopes or CALENDAR_SCOPES, account=accounts[0], force_refresh=force_refresh)
        except _TooSlow:
            raise SourceError(self.source_name, f"the sign-in service gave no answer within "
                                                f"{REFRESH_DEADLINE:.0f}s; retrying next cycle") from None
        except requests.RequestException as exc:
            raise SourceError(self.source_name, f"cannot reach the sign-in service: "
                                                f"{_first_line(exc)}; retrying next cycle") from None
        if result and "access_token" in result:
            return result["access_token"]
        reason = _reason(result)
        raise AuthError(self.source_name, f"the Outlook sign-in has expired or was revoked ({reason}).",
                        fix=self.fix)

    def sign_in(self, scopes: list[str], echo: Callable[[str], None]) -> dict:
        """The device-code flow: show the code and URL via `echo`, wait for the user, save tokens."""
        try:
            flow = self.app.initiate_device_flow(scopes=scopes)
            if "user_code" not in flow:
                raise AuthError(self.source_name, f"the sign-in service refused the device-code "
                                                  f"request ({_reason(flow)}).")
            echo(flow.get("message") or f"Open {flow.get('verification_uri')} and enter the code "
                                          f"{flow['user_code']}")
            result = self.app.acquire_token_by_device_flow(flow)
        except requests.RequestException as exc:
            raise SourceError(self.source_name, f"cannot reach the sign-in service: "
                                                f"{_first_line(exc)}") from None
        if "access_token" not in result:
            raise AuthError(self.source_name, f"sign-in did not complete ({_reason(result)}).",
                            fix=self.fix)
        return result

    def sign_in_browser(self, scopes: list[str], echo: Callable[[str], None],
                        timeout: int = BROWSER_TIMEOUT) -> dict:
        """Sign in in the browser (authorization code + PKCE, the answer posted to a listener on
        127.0.0.1, connectors.loopback) and save tokens. The code is redeemed before the browser's
        page is sent, so the page says whether the sign-in worked.

        When no browser can be opened, the address to open on this machine is shown via `echo`.
        """
        try:
            listener = LoopbackListener("touchbase is signed in to Microsoft.")
        except OSError as exc:  # no loopback port could be opened
            raise SourceError(self.source_name, f"cannot listen on localhost for the sign-in answer "
                                                f"({exc.strerror or exc}); try --device-code") from None
        try:
            return self._browser_round_trip(listener, scopes, echo, timeout)
        finally:
            listener.close()

    def _redeem(self, flow: dict, answer: dict, scopes: list[str]) -> dict:
        """The tokens for the browser's answer (saved in the cache), or AuthError / SourceError."""
        try:
            result = self.app.acquire_token_by_auth_code_flow(flow, answer, scopes=scopes)
        except requests.RequestException as exc:
            raise SourceError(self.source_name, f"cannot reach the sign-in service: "
                                                f"{_first_line(exc)}") from None
        except ValueError as exc:  # msal found the answer does not belong to this flow
            raise AuthError(self.source_name, f"sign-in did not complete ({_first_line(exc)}).",
                            fix=self.fix) from None
        if "access_token" not in result:
            raise AuthError(self.source_name, f"sign-in did not complete ({_reason(result)}).",
                            fix=self.fix)
        return result

    def _browser_round_trip(self, listener: LoopbackListener, scopes: list[str],
                            echo: Callable[[str], None], timeout: int) -> dict:
        """Open the sign-in page, wait for its answer and redeem it; the tokens."""
        try:
            flow = self.app.initiate_auth_code_flow(
                scopes, redirect_uri=listener.redirect_uri("localhost").rstrip("/"),
                prompt="select_account", response_mode="form_post")
        except requests.RequestException as exc:
            raise SourceError(self.source_name, f"cannot reach the sign-in service: "
                                                f"{_first_line(exc)}") from None
        listener.expect(flow["state"])
        echo(f"Opening your browser to sign in to Microsoft (waiting up to {timeout // 60} minutes)...")
        if not _open_browser(flow["auth_uri"]):
            echo("No browser could be opened. Open this address in a browser on this machine to sign in "
                 f"(or use --device-code):\n{flow['auth_uri']}")
        redeemed: list[dict] = []
        try:
            listener.wait(timeout, lambda answer: redeemed.append(self._redeem(flow, answer, scopes)))
        except SignInTimeout:
            raise AuthError(self.source_name, f"sign-in was not completed in the browser within "
                                              f"{timeout // 60} minutes.", fix=self.fix) from None
        return redeemed[0]

    def username(self) -> str:
        """The signed-in account's username, or "" before sign-in."""
        accounts = self.app.get_accounts()
        return accounts[0].get("username", "") if accounts else ""


class ScopedTokens:
    """A TokenProvider for a fixed set of scopes (calendar calls vs. mail calls)."""

    def __init__(self, auth: OutlookAuth, scopes: list[str]) -> None:
        self.auth = auth
        self.scopes = scopes

    def token(self, force_refresh: bool = False) -> str:
        """An access token for these scopes."""
        return self.auth.token(force_refresh=force_refresh, scopes=self.scopes)


def _reason(result: dict | None) -> str:
    """`error` and `error_description` (from msal or the sign-in's redirect), safe to print."""
    if not result:
        return "no saved sign-in for these permissions"
    error = server_reply(str(result.get("error", "") or "error"), limit=80)
    description = str(result.get("error_description", "")).strip().splitlines()
    return f"{error}: {server_reply(description[0], limit=160)}" if description else error


def _open_browser(uri: str) -> bool:
    """Whether a browser took `uri`."""
    import webbrowser

    try:
        return bool(webbrowser.open(uri))
    except webbrowser.Error:
        return False


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
