"""Google sign-in: the installed-app loopback flow, the saved token file, the scopes asked for.

The token file is Google's authorized-user JSON (refresh token, client id and secret, token_uri,
scopes), written atomically with mode 0600 and never logged. Scopes are limited to what the
config uses this source for: reading events always; writing touchbases and free/busy when it is
the write target; gmail.compose when follow-up drafts or the morning email go through Gmail, and
gmail.readonly when the morning email does (to find a sent mail by its Message-ID before sending
it again after a crash: the mail goes out exactly once) or when `mail = true` (two-way mail as
contact, read as metadata only).
"""
from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import webbrowser
from pathlib import Path
from typing import Any

from agent.errors import AuthError, UserError
from agent.safe_text import one_line, server_reply
from agent.storage.private_files import tighten
from connectors.loopback import LoopbackListener, SignInTimeout

SCOPE_EVENTS_READ = "https://www.googleapis.com/auth/calendar.events.readonly"
SCOPE_EVENTS = "https://www.googleapis.com/auth/calendar.events"
SCOPE_FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPE_GMAIL_COMPOSE = "https://www.googleapis.com/auth/gmail.compose"
SCOPE_GMAIL_READ = "https://www.googleapis.com/auth/gmail.readonly"
SCOPES_READING_MAIL = frozenset({SCOPE_GMAIL_READ, "https://www.googleapis.com/auth/gmail.modify",
                                 "https://mail.google.com/"})
"""Scopes that let messages.list search sent mail by Message-ID (gmail.metadata cannot search)."""
ROLES = ("read", "write", "drafts", "send", "mail")


def scopes_for(roles: set[str] | list[str] | tuple[str, ...]) -> list[str]:
    """The OAuth scopes one source needs for its roles (read, write, drafts, send, mail)."""
    wanted = set(roles) | {"read"}
    scopes = [SCOPE_EVENTS if "write" in wanted else SCOPE_EVENTS_READ]
    if "write" in wanted:
        scopes.append(SCOPE_FREEBUSY)
    if wanted & {"drafts", "send"}:
        scopes.append(SCOPE_GMAIL_COMPOSE)
    if wanted & {"send", "mail"}:
        # send: to find a sent mail before sending it again; mail: who wrote to whom (metadata)
        scopes.append(SCOPE_GMAIL_READ)
    return scopes


def reauth_command(source_name: str) -> str:
    """The command that fixes an expired or revoked sign-in of `source_name`."""
    return f"touchbase auth google --source {source_name}"


def token_path(source: Any, data_dir: Path) -> Path:
    """The configured token file, else <data folder>/tokens/<name>.json."""
    configured = source.options.get("token_file") if hasattr(source, "options") else ""
    if configured:
        return Path(configured).expanduser()
    return Path(data_dir) / "tokens" / f"{source.name}.json"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600 (the folder is made 0700 if new)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def load_credentials(source_name: str, path: Path) -> Any:
    """The saved credentials of a source, or an AuthError naming the command that fixes it."""
    from google.oauth2.credentials import Credentials

    fix = reauth_command(source_name)
    tighten(path, "the token file")  # a token left 0644 by hand or by an old version
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuthError(source_name, f"not signed in to Google yet (no token at {path}).",
                        fix=fix) from None
    except (OSError, ValueError) as exc:
        raise AuthError(source_name, f"the token file {path} cannot be read "
                                     f"({type(exc).__name__}).", fix=fix) from None
    try:
        credentials = Credentials.from_authorized_user_info(info)
    except (ValueError, KeyError, TypeError):
        raise AuthError(source_name, f"the token file {path} is not a Google authorized-user "
                                     "token.", fix=fix) from None
    # from_authorized_user_info always points at Google's token endpoint; keep the one saved
    # with the token (the client secrets' token_uri, e.g. an emulator or a proxy).
    if isinstance(info.get("token_uri"), str) and info["token_uri"]:
        credentials = credentials.with_token_uri(info["token_uri"])
    return credentials


def save_credentials(path: Path, credentials: Any) -> None:
    """Save credentials as authorized-user JSON, atomically, mode 0600."""
    write_private(path, credentials.to_json())


def granted_scopes(credentials: Any) -> set[str]:
    """The scopes saved with the token (empty when unknown)."""
    return set(getattr(credentials, "granted_scopes", None) or credentials.scopes or [])


def browser_available() -> bool:
    """True when a browser can be opened on this machine (a desktop session or $BROWSER)."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _sign_in_on_loopback(source_name: str, flow: Any, open_browser: bool, timeout: int) -> Any:
    """The browser's round trip: the consent page, Google's answer on a listener on 127.0.0.1
    (connectors.loopback), the code exchanged (with its PKCE verifier) for credentials before the
    browser's page is sent, so the page says whether the sign-in worked."""
    listener = LoopbackListener("touchbase is connected to Google.")
    try:
        flow.redirect_uri = listener.redirect_uri()
        url, state = flow.authorization_url(state=secrets.token_urlsafe(24), access_type="offline",
                                            prompt="consent")
        listener.expect(state)
        if open_browser:
            webbrowser.open(url, new=1, autoraise=True)
        print("Open this address in a browser on this machine to let touchbase use your Google account"
              + ("" if open_browser else " (no browser was opened)") + f":\n{url}\n", flush=True)
        listener.wait(timeout, lambda answer: _exchange(source_name, flow, answer))
    finally:
        listener.close()
    return flow.credentials


def _exchange(source_name: str, flow: Any, answer: dict[str, str]) -> None:
    """Trade the answer's code for credentials (kept on `flow`); AuthError when Google refused
    the sign-in or the code, or could not be asked."""
    if "error" in answer:
        raise _failed(source_name, f"Google refused the sign-in ({_said(answer)})")
    try:
        flow.fetch_token(code=answer.get("code", ""))
    except Exception as exc:  # noqa: BLE001 - oauthlib and requests raise many kinds
        raise _failed(source_name, _exchange_failure(exc)) from None
    if not flow.credentials.refresh_token:
        raise _failed(source_name, "Google returned no refresh token; remove touchbase's access at "
                                   "myaccount.google.com/permissions and sign in again")


def _exchange_failure(exc: Exception) -> str:
    """What went wrong trading the code, in one line (an OAuth error's code and description,
    else the kind of failure)."""
    error = getattr(exc, "error", None)
    if isinstance(error, str) and error:
        said = _said({"error": error, "error_description": getattr(exc, "description", "") or ""})
        return f"Google refused the sign-in code ({said})"
    text = one_line(str(exc))[:200]
    return f"the sign-in code could not be exchanged ({type(exc).__name__}{': ' + text if text else ''})"


def _failed(source_name: str, reason: str) -> AuthError:
    """A failed sign-in: one line naming the source and the command to try again."""
    return AuthError(source_name, f"Google sign-in failed: {reason}.", fix=reauth_command(source_name))


def _said(answer: dict[str, str]) -> str:
    """`error` and `error_description` of a refused sign-in, safe to print (one line)."""
    text = answer.get("error", "error")
    if answer.get("error_description"):
        text += f": {answer['error_description']}"
    return server_reply(text, limit=200)


def run_installed_app_flow(source_name: str, client_secrets: Path, roles: set[str],
                           token_file: Path, no_browser: bool = False,
                           timeout_seconds: int = 600) -> str:
    """The loopback sign-in: a listener on 127.0.0.1 and a free port receives Google's redirect.

    Prints the URL to open; opens a browser only when there is one and `no_browser` is false.
    Returns a one-line summary for the CLI.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    if not client_secrets.is_file():
        raise UserError(f"{client_secrets}: no OAuth client file here; download the desktop "
                        "client JSON from Google Cloud (see docs/connect-google.md)")
    scopes = scopes_for(roles)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=scopes)
    except (ValueError, KeyError) as exc:
        raise UserError(f"{client_secrets}: not an OAuth desktop client file ({exc})") from None
    open_browser = not no_browser and browser_available()
    try:
        credentials = _sign_in_on_loopback(source_name, flow, open_browser, timeout_seconds)
    except SignInTimeout:
        raise _failed(source_name, f"no answer from the browser within {timeout_seconds // 60} "
                                   "minutes") from None
    save_credentials(token_file, credentials)
    return (f"{source_name}: signed in to Google; token saved to {token_file} (mode 0600); "
            f"scopes: {', '.join(s.rsplit('/', 1)[-1] for s in scopes)}")
