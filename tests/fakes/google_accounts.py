"""OAuth and Gmail endpoints of the Google emulator (a mixin of GoogleEmulator).

Token endpoint: refresh_token and authorization_code grants (client authentication in the form
or by HTTP Basic, PKCE S256 checked), `invalid_grant` for a revoked or unknown refresh token
(and for every code while `refuse_codes` is set).
Authorization endpoint: redirects at once to the loopback redirect_uri with a code (the user
"consents"). Gmail: users.drafts.create / drafts.list (q=rfc822msgid:) / users.messages.send with
a base64url `raw` RFC 822 message / users.messages.list (q=rfc822msgid:, labelIds; as Google
documents, it needs gmail.readonly, gmail.modify or mail.google.com, and gmail.metadata may not
use q). `after_send`, when set, is called with each message messages.send accepted, before the
answer goes back (a test kills the client there).
"""
from __future__ import annotations

import base64
import email
import hashlib
import secrets
from email import policy
from typing import Any
from urllib.parse import unquote, urlencode

from tests.fakes.google_calendar import ApiError

SCOPE = "https://www.googleapis.com/auth/"
GMAIL_SCOPES = {SCOPE + "gmail.compose", SCOPE + "gmail.modify", "https://mail.google.com/"}
GMAIL_READERS = {SCOPE + "gmail.readonly", SCOPE + "gmail.modify", "https://mail.google.com/"}


class AccountsMixin:
    """OAuth and Gmail state and handlers; GoogleEmulator supplies the attributes used."""

    client_id: str
    client_secret: str
    refresh_tokens: dict[str, list[str]]
    access_tokens: dict[str, list[str]]
    codes: dict[str, tuple[list[str], str]]
    refuse_codes: bool
    drafts: dict[str, dict]
    sent: list[dict]

    # --- OAuth ----------------------------------------------------------------------------

    def oauth_token(self, query: dict, body: Any, headers: dict) -> tuple[int, Any, dict[str, str]]:
        form = dict(body) if isinstance(body, dict) else {}
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):  # client authentication by HTTP Basic
            user, _, password = base64.b64decode(basic[6:]).decode("utf-8").partition(":")
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(password))
        grant = form.get("grant_type")
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Unauthorized"}, {}
        if grant == "refresh_token":
            scopes = self.refresh_tokens.get(form.get("refresh_token", ""))
            refresh = None
        elif grant == "authorization_code":
            if self.refuse_codes:
                return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}, {}
            scopes, challenge = self.codes.pop(form.get("code", ""), (None, ""))
            verifier = form.get("code_verifier", "")
            if challenge and _s256(verifier) != challenge:
                scopes = None  # PKCE: the verifier must match the challenge sent to /auth
            refresh = "1//refresh-" + secrets.token_hex(8)
            if scopes is not None:
                self.refresh_tokens[refresh] = scopes
        else:
            return 400, {"error": "unsupported_grant_type"}, {}
        if scopes is None:
            return 400, {"error": "invalid_grant",
                         "error_description": "Token has been expired or revoked."}, {}
        access = "ya29.access-" + secrets.token_hex(8)
        self.access_tokens[access] = scopes
        answer = {"access_token": access, "expires_in": 3599, "scope": " ".join(scopes),
                  "token_type": "Bearer"}
        if refresh:
            answer["refresh_token"] = refresh
        return 200, answer, {}

    def oauth_auth(self, query: dict, body: Any, headers: dict) -> tuple[int, Any, dict[str, str]]:
        first = {k: v[0] for k, v in query.items()}
        if first.get("client_id") != self.client_id or not first.get("redirect_uri"):
            return 400, {"error": "invalid_request"}, {}
        code = "4/code-" + secrets.token_hex(6)
        self.codes[code] = (first.get("scope", "").split(), first.get("code_challenge", ""))
        target = first["redirect_uri"] + "?" + urlencode(
            {"state": first.get("state", ""), "code": code, "scope": first.get("scope", "")})
        return 302, None, {"Location": target}

    # --- Gmail ----------------------------------------------------------------------------

    def api_drafts_create(self, scopes, query, body, user):
        self._need(scopes, GMAIL_SCOPES)
        raw = ((body or {}).get("message") or {}).get("raw")
        parsed = _decode_raw(raw)
        draft_id = f"r{self._next_id()}"
        message = {"id": f"m{self._next_id()}", "threadId": f"t{self._next_id()}",
                   "labelIds": ["DRAFT"]}
        self.drafts[draft_id] = {"id": draft_id, "message": message, "parsed": parsed,
                                 "raw": raw}
        return 200, {"id": draft_id, "message": message}

    def api_drafts_list(self, scopes, query, body, user):
        self._need(scopes, GMAIL_SCOPES)
        wanted = (query.get("q") or [""])[0]
        found = []
        for draft in self.drafts.values():
            if wanted.startswith("rfc822msgid:"):
                target = wanted.split(":", 1)[1].strip().strip("<>")
                if (draft["parsed"]["Message-ID"] or "").strip().strip("<>") != target:
                    continue
            found.append({"id": draft["id"], "message": {"id": draft["message"]["id"],
                                                         "threadId": draft["message"]["threadId"]}})
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if found:
            answer["drafts"] = found
        return 200, answer

    def api_messages_send(self, scopes, query, body, user):
        self._need(scopes, GMAIL_SCOPES | {SCOPE + "gmail.send"})
        raw = (body or {}).get("raw")
        parsed = _decode_raw(raw)
        message = {"id": f"m{self._next_id()}", "threadId": f"t{self._next_id()}",
                   "labelIds": ["SENT"]}
        self.sent.append({"message": message, "parsed": parsed, "raw": raw})
        if getattr(self, "after_send", None) is not None:
            self.after_send(parsed)
        return 200, message

    def api_messages_list(self, scopes, query, body, user):
        wanted = (query.get("q") or [""])[0].strip()
        if wanted.startswith("after:"):  # the mailbox the mail signal reads
            return self.list_mailbox(scopes, query)  # type: ignore[attr-defined]
        if wanted and set(scopes) & (GMAIL_READERS | {SCOPE + "gmail.metadata"}) == {SCOPE + "gmail.metadata"}:
            raise ApiError(403, "forbidden", "Metadata scope does not support 'q' parameter")
        self._need(scopes, GMAIL_READERS | {SCOPE + "gmail.metadata"})
        labels = set(query.get("labelIds") or [])
        found = []
        for kept in self.sent:
            if labels - set(kept["message"]["labelIds"]):
                continue
            if not _matches(kept["parsed"], wanted):
                continue
            found.append({"id": kept["message"]["id"], "threadId": kept["message"]["threadId"]})
        maximum = int((query.get("maxResults") or ["100"])[0])
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if found:
            answer["messages"] = found[:maximum]
        return 200, answer



def _matches(parsed: email.message.EmailMessage, query: str) -> bool:
    """The emulator's share of Gmail search: empty, or `rfc822msgid:<id>`."""
    if not query:
        return True
    if not query.startswith("rfc822msgid:"):
        raise ApiError(400, "invalidArgument", f"the emulator does not search {query!r}")
    target = query.split(":", 1)[1].strip().strip("<>")
    return (parsed["Message-ID"] or "").strip().strip("<>") == target


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _decode_raw(raw: Any) -> email.message.EmailMessage:
    if not isinstance(raw, str) or not raw:
        raise ApiError(400, "invalidArgument", "'raw' RFC822 payload message string or "
                                               "uploading message via /upload/* URL required")
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError):
        raise ApiError(400, "invalidArgument", "Invalid value for ByteString") from None
    return email.message_from_bytes(data, policy=policy.default)


