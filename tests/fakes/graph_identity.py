"""The Microsoft identity platform endpoints msal calls, as a stateful fake.

- GET  /{tenant}/v2.0/.well-known/openid-configuration  (tenant discovery)
- GET  /{tenant}/oauth2/v2.0/authorize                  (authorization code request, with PKCE)
- POST /{tenant}/oauth2/v2.0/devicecode                 (device authorization, RFC 8628)
- POST /{tenant}/oauth2/v2.0/token                      (authorization_code, device_code and
                                                         refresh_token grants)

The authorize endpoint plays a user who is already signed in and consents: it answers as the
Microsoft identity platform documents for a native client: the redirect_uri must be a registered
one (http://localhost on any port, as for "Mobile and desktop applications"), the code comes back
as query parameters, or with response_mode=form_post as an auto-submitting HTML form that POSTs
`code` and `state` to the redirect URI. The authorization_code grant needs the same redirect_uri
and a code_verifier whose S256 hash is the code_challenge (AADSTS501481 otherwise); a code is
redeemed once (AADSTS54005) and expires after ten minutes (AADSTS70008).

Answers follow the documented wire format: `authorization_pending` while the user has not
entered the code, `invalid_grant` for a revoked or expired refresh token, and token responses with
`access_token`, `refresh_token`, `id_token`, `client_info`, `scope`, `expires_in`.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class Grant:
    """What one token carries: who, which scopes, until when."""

    scopes: frozenset[str]
    expires_at: float


@dataclass
class Identity:
    """Device codes, refresh tokens and access tokens of one tenant and one user."""

    client_id: str
    user: str
    tenant: str = "11111111-2222-3333-4444-555555555555"
    interval: int = 1
    auto_approve: bool = True  # the user enters the code before the first poll
    pending_polls: int = 0  # polls answered authorization_pending before approval
    token_lifetime: int = 3600
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    device_codes: dict[str, dict] = field(default_factory=dict)
    refresh_tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    access_tokens: dict[str, Grant] = field(default_factory=dict)
    consented: set[str] = field(default_factory=set)
    token_requests: int = 0
    auth_codes: dict[str, dict] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    redirect_uris: tuple[str, ...] = ("http://localhost",)  # the app registration's
    user_refuses: bool = False  # the user cancels on the consent page
    refuse_codes: bool = False  # the token endpoint refuses every authorization code

    # --- test controls -----------------------------------------------------------------------

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far stops working (as after a password change)."""
        with self.lock:
            self.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token stops working: only a new sign-in helps."""
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def check(self, header: str) -> Grant | None:
        """The grant of a valid `Authorization: Bearer` header, else None."""
        if not header.startswith("Bearer "):
            return None
        with self.lock:
            grant = self.access_tokens.get(header[7:])
            if grant is None or grant.expires_at < time.time():
                return None
            return grant

    # --- endpoints ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, form: dict[str, str]) -> tuple[int, Any]:
        """Answer one identity request; `path` starts with /{tenant}/."""
        parts = path.strip("/").split("/")
        if method == "GET" and path.endswith("/v2.0/.well-known/openid-configuration"):
            return 200, self.openid_configuration(parts[0])
        if method == "GET" and path.endswith("/oauth2/v2.0/authorize"):
            return self.authorize(form)
        if method == "POST" and path.endswith("/oauth2/v2.0/devicecode"):
            return self.device_code(form)
        if method == "POST" and path.endswith("/oauth2/v2.0/token"):
            with self.lock:
                self.token_requests += 1
            return self.token(form)
        return 404, {"error": "not_found", "error_description": f"no identity endpoint {path}"}

    def openid_configuration(self, tenant: str) -> dict:
        """The tenant discovery document."""
        root = f"{self.base_url}/{tenant}"
        return {
            "issuer": f"{self.base_url}/{self.tenant}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, Any]:
        """The authorization request: a code for the redirect URI, or an error page or redirect.

        Returns (302, {"Location": ...}) for a redirect, (200, "<html>...") for the form_post page
        or an error page the user would see (no redirect when the client or redirect URI is wrong).
        """
        with self.lock:
            self.authorize_requests.append(dict(query))
        if query.get("client_id") != self.client_id:
            return 400, _page("AADSTS700016: Application with identifier was not found in the directory.")
        redirect = query.get("redirect_uri", "")
        if not _registered(redirect, self.redirect_uris):
            return 400, _page("AADSTS50011: The redirect URI specified in the request does not match "
                              "the redirect URIs configured for the application.")
        mode = query.get("response_mode") or "query"
        state = query.get("state", "")
        if query.get("response_type") != "code":
            return _respond(redirect, mode, {"error": "unsupported_response_type", "state": state,
                                             "error_description": "AADSTS70005"})
        challenge, method = query.get("code_challenge", ""), query.get("code_challenge_method", "plain")
        if challenge and method not in ("S256", "plain"):
            return _respond(redirect, mode, {"error": "invalid_request", "state": state,
                                             "error_description": "AADSTS501491: Invalid code_challenge_method"})
        if self.user_refuses:
            return _respond(redirect, mode, {"error": "access_denied", "state": state,
                                             "error_description": "AADSTS65004: User declined to consent."})
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.auth_codes[code] = {"scopes": _scopes(query.get("scope", "")), "redirect_uri": redirect,
                                     "challenge": challenge, "method": method, "issued": time.time(),
                                     "nonce": query.get("nonce", "")}
        return _respond(redirect, mode, {"code": code, "state": state,
                                         "session_state": secrets.token_hex(8)})

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            entry = self.auth_codes.get(form.get("code", ""))
            if self.refuse_codes:
                return 400, {"error": "invalid_grant", "error_description":
                             "AADSTS70008: The provided authorization code or refresh token has expired "
                             "due to inactivity."}
            if entry is None or entry.get("redeemed"):
                return 400, {"error": "invalid_grant", "error_description": (
                    "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a "
                    "new valid code or use an existing refresh token." if entry else
                    "AADSTS9002313: Invalid request. Request is malformed or invalid.")}
            if time.time() - entry["issued"] > 600:
                return 400, {"error": "invalid_grant", "error_description":
                             "AADSTS70008: The provided authorization code or refresh token has expired."}
            if form.get("redirect_uri") != entry["redirect_uri"]:
                return 400, {"error": "invalid_grant", "error_description":
                             "AADSTS70000: The reply URL does not match the one used to request the code."}
            if entry["challenge"] and not _verifier_matches(form.get("code_verifier", ""), entry):
                return 400, {"error": "invalid_grant", "error_description":
                             "AADSTS501481: The Code_Verifier does not match the code_challenge supplied "
                             "in the authorization request."}
            entry["redeemed"] = True
            self.consented |= entry["scopes"]
            return 200, self._issue(entry["scopes"], nonce=entry["nonce"])

    def device_code(self, form: dict[str, str]) -> tuple[int, dict]:
        """Start a device-code sign-in."""
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client",
                         "error_description": "AADSTS700016: Application not found in the directory."}
        code = secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        with self.lock:
            self.device_codes[code] = {"scopes": _scopes(form.get("scope", "")), "polls": 0,
                                       "approved": self.auto_approve and not self.pending_polls,
                                       "user_code": user_code}
        verification = f"{self.base_url}/devicelogin"
        return 200, {
            "device_code": code, "user_code": user_code, "verification_uri": verification,
            "expires_in": 900, "interval": self.interval,
            "message": f"To sign in, use a web browser to open the page {verification} and enter "
                       f"the code {user_code} to authenticate.",
        }

    def approve(self, user_code: str) -> None:
        """The user entered `user_code` and consented."""
        with self.lock:
            for entry in self.device_codes.values():
                if entry["user_code"] == user_code:
                    entry["approved"] = True

    def token(self, form: dict[str, str]) -> tuple[int, dict]:
        """The token endpoint: device_code and refresh_token grants."""
        if form.get("client_id") != self.client_id:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016"}
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self._device_grant(form)
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if grant == "authorization_code":
            return self._code_grant(form)
        return 400, {"error": "unsupported_grant_type", "error_description": grant}

    def _device_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            entry = self.device_codes.get(form.get("device_code", ""))
            if entry is None:
                return 400, {"error": "expired_token", "error_description": "AADSTS70020"}
            entry["polls"] += 1
            if not entry["approved"] and self.auto_approve and entry["polls"] > self.pending_polls:
                entry["approved"] = True
            if not entry["approved"]:
                return 400, {"error": "authorization_pending",
                             "error_description": "AADSTS70016: OAuth 2.0 device flow error. "
                                                  "Authorization is pending. Continue polling."}
            del self.device_codes[form["device_code"]]
            self.consented |= entry["scopes"]
            return 200, self._issue(entry["scopes"])

    def _refresh_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            held = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if held is None:
                return 400, {"error": "invalid_grant", "suberror": "bad_token",
                             "error_description": "AADSTS700082: The refresh token has expired "
                                                  "due to inactivity."}
            wanted = _scopes(form.get("scope", "")) or held
            if not wanted <= self.consented:
                self.refresh_tokens[form["refresh_token"]] = held
                return 400, {"error": "invalid_grant", "suberror": "consent_required",
                             "error_description": "AADSTS65001: The user or administrator has not "
                                                  "consented to use the application."}
            return 200, self._issue(wanted)

    def _issue(self, scopes: frozenset[str], nonce: str = "") -> dict:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = int(time.time())
        self.access_tokens[access] = Grant(scopes, now + self.token_lifetime)
        self.refresh_tokens[refresh] = frozenset(self.consented)
        uid = "00000000-0000-0000-66f3-3332eca7ea81"
        claims = {"iss": f"{self.base_url}/{self.tenant}/v2.0", "aud": self.client_id, "iat": now,
                  "nbf": now, "exp": now + 3600, "sub": "subject-of-me", "oid": uid, "tid": self.tenant,
                  "name": "Me Myself", "preferred_username": self.user, "ver": "2.0"}
        if nonce:
            claims["nonce"] = nonce
        return {
            "token_type": "Bearer", "scope": " ".join(sorted(scopes | {"openid", "profile"})),
            "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
            "access_token": access, "refresh_token": refresh,
            "id_token": f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.",
            "client_info": _b64({"uid": uid, "utid": self.tenant}),
        }


def _registered(redirect: str, registered: tuple[str, ...]) -> bool:
    """A registered redirect URI; for http://localhost any port matches (native clients)."""
    parts = urlsplit(redirect)
    for uri in registered:
        want = urlsplit(uri)
        if want.hostname == "localhost" and parts.scheme == "http" and parts.hostname == "localhost":
            return (parts.path or "/") == (want.path or "/")
        if redirect == uri:
            return True
    return False


def _respond(redirect: str, mode: str, params: dict[str, str]) -> tuple[int, Any]:
    """The authorization response: a redirect with a query, or the form_post page."""
    if mode == "form_post":
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                         for k, v in params.items())
        return 200, (f'<html><head><title>Working...</title></head><body onload="document.forms[0].submit()">'
                     f'<form method="POST" name="hiddenform" action="{html.escape(redirect)}">{fields}'
                     "<noscript><p>Script is disabled. Click Submit to continue.</p>"
                     '<input type="submit" value="Submit"/></noscript></form></body></html>')
    separator = "&" if "?" in redirect else "?"
    return 302, {"Location": f"{redirect}{separator}{urlencode(params)}"}


def _verifier_matches(verifier: str, entry: dict) -> bool:
    if entry["method"] == "plain":
        return verifier == entry["challenge"]
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") == entry["challenge"]


def _page(message: str) -> str:
    return f"<html><body><h1>Sign in</h1><p>{html.escape(message)}</p></body></html>"


def _scopes(text: str) -> frozenset[str]:
    """Requested resource scopes, without the OpenID ones and the Graph resource prefix."""
    names = set()
    for scope in text.split():
        scope = scope.rsplit("/", 1)[-1] if scope.startswith("https://") else scope
        if scope not in OIDC_SCOPES:
            names.add(scope)
    return frozenset(names)
