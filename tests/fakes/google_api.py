"""A stateful emulator of Google Calendar v3, Gmail (drafts, send) and Google's OAuth endpoints.

Plain HTTP on 127.0.0.1, driven by the real google-api-python-client through `api_endpoint`
(Calendar at ROOT/calendar/v3/, Gmail at ROOT/gmail/v1/) and by google-auth through the
token_uri saved with the token (ROOT/token). It speaks Google's wire format: JSON bodies,
`{"error": {"errors": [{"reason": ...}], "code", "message"}}` errors, paging with
nextPageToken (pages can be made short or empty on purpose), nextSyncToken only on the last
page, syncToken rejected together with timeMin/timeMax/q/..., 410 fullSyncRequired once a token
expires, 409 duplicate on a reused event id. It can inject 429 (with and without Retry-After),
500, 403 rateLimitExceeded / quotaExceeded and dropped connections, and it counts requests.
"""
from __future__ import annotations

import base64
import email
import hashlib
import itertools
import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from tests.fakes.google_calendar import (
    EVENT_ID, ApiError, FakeCalendar, matches, merge, minimal, parse_rfc3339, stamp,
)
from tests.fakes.google_routes import route

SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.events",
                                   "calendar.events.readonly")}
WRITE_SCOPES = {SCOPE + s for s in ("calendar", "calendar.events")}
FREEBUSY_SCOPES = {SCOPE + s for s in ("calendar", "calendar.readonly", "calendar.freebusy")}
GMAIL_SCOPES = {SCOPE + "gmail.compose", SCOPE + "gmail.modify", "https://mail.google.com/"}
ALL_SCOPES = [SCOPE + "calendar.events", SCOPE + "calendar.freebusy", SCOPE + "gmail.compose"]
NOT_WITH_SYNC_TOKEN = ("timeMin", "timeMax", "q", "iCalUID", "orderBy", "privateExtendedProperty",
                       "sharedExtendedProperty", "updatedMin")


@dataclass
class Fault:
    """An error to answer instead of the next matching request(s)."""

    status: int  # 0: drop the connection without an answer
    reason: str = ""
    retry_after: str | None = None
    method: str | None = None  # e.g. "events.list"; None: any API request
    times: int = 1
    style: str = "errors"
    after: bool = False  # do the work, then answer the error (a reply lost after a write)
    message: str = ""  # the human text (default: Google's usual one for the reason)


class GoogleEmulator:
    """The fake Google account of `owner`: calendars, Gmail, OAuth clients and tokens."""

    def __init__(self, owner: str = "me@acme.example", timezone_name: str = "Europe/Berlin") -> None:
        self.owner = owner
        self.zone = ZoneInfo(timezone_name)
        self.lock = threading.RLock()
        self.seq = 0
        self.calendars: dict[str, FakeCalendar] = {}
        self.calendar(owner)
        self.tokens: dict[str, dict] = {}  # sync token -> what it remembers
        self.pages: dict[str, dict] = {}  # page token -> snapshot
        self.page_plan: list[int] = []  # sizes of the next pages served (short or empty pages)
        self.deleted_series_style = "master"
        self.faults: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, int]] = []
        self.queries: list[tuple[str, dict[str, list[str]]]] = []
        self.visible_busy: dict[str, list[tuple[datetime, datetime]]] = {}
        self.drafts: dict[str, dict] = {}
        self.sent: list[dict] = []
        self.client_id, self.client_secret = "test-client.apps.example", "test-secret"
        self.refresh_tokens: dict[str, list[str]] = {}  # refresh token -> scopes
        self.access_tokens: dict[str, list[str]] = {}
        self.codes: dict[str, tuple[list[str], str]] = {}  # code -> (scopes, PKCE challenge)
        self.modified: list[tuple[str, str]] = []  # (method, event id) of every API write
        self._ids = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        """Serve on a free loopback port in a background thread."""
        handler = type("Handler", (_Handler,), {"emulator": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        """The root URL to configure as `api_endpoint`."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- test set-up ----------------------------------------------------------------------

    def calendar(self, calendar_id: str) -> FakeCalendar:
        """The calendar `calendar_id` ("primary" is the owner's), created when new."""
        key = self.owner if calendar_id == "primary" else calendar_id
        with self.lock:
            if key not in self.calendars:
                self.calendars[key] = FakeCalendar(key, self.zone)
            return self.calendars[key]

    def grant(self, scopes: list[str] | None = None) -> dict:
        """A refresh token for `scopes`, as the authorized-user JSON google-auth reads."""
        refresh = "1//refresh-" + secrets.token_hex(8)
        chosen = list(scopes or ALL_SCOPES)
        self.refresh_tokens[refresh] = chosen
        return {"refresh_token": refresh, "client_id": self.client_id,
                "client_secret": self.client_secret, "token_uri": f"{self.url}/token",
                "scopes": chosen, "type": "authorized_user"}

    def client_secrets(self) -> dict:
        """An OAuth desktop client file pointing at this emulator."""
        return {"installed": {
            "client_id": self.client_id, "client_secret": self.client_secret,
            "auth_uri": f"{self.url}/o/oauth2/auth", "token_uri": f"{self.url}/token",
            "redirect_uris": ["http://localhost"]}}

    def revoke_all(self) -> None:
        """Every refresh and access token stops working (invalid_grant from now on)."""
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Access tokens stop working (401); refresh tokens still do."""
        with self.lock:
            self.access_tokens.clear()

    def expire_sync_tokens(self) -> None:
        """Every sync token issued so far answers 410 fullSyncRequired."""
        with self.lock:
            for token in self.tokens.values():
                token["expired"] = True

    def inject(self, status: int, reason: str = "", retry_after: str | None = None,
               method: str | None = None, times: int = 1, style: str = "errors",
               after: bool = False, message: str = "") -> None:
        """Answer the next `times` matching requests with an error (status 0: drop the
        connection); with `after`, the request is carried out first and only its answer lost."""
        with self.lock:
            self.faults.append(Fault(status, reason, retry_after, method, times, style, after,
                                     message))

    def reset_counts(self) -> None:
        """Forget the request counts."""
        with self.lock:
            self.counts.clear()
            self.log.clear()
            self.queries.clear()

    def put_event(self, body: dict, calendar_id: str = "primary") -> dict:
        """Create or replace an event (master, single, or an exception with recurringEventId)."""
        with self.lock:
            return self._store(self.calendar(calendar_id), copy_of(body))

    def delete_event(self, event_id: str, calendar_id: str = "primary") -> None:
        """Delete an event as a user would (a series deletes with all its instances)."""
        with self.lock:
            cal = self.calendar(calendar_id)
            event = copy_of(cal.events[event_id])
            event["status"] = "cancelled"
            self._store(cal, event)

    def cancel_instance(self, master_id: str, original_start: str,
                        calendar_id: str = "primary") -> str:
        """Delete one instance of a series (an exception with status cancelled)."""
        return self.edit_instance(master_id, original_start, {"status": "cancelled"}, calendar_id)

    def edit_instance(self, master_id: str, original_start: str, changes: dict,
                      calendar_id: str = "primary") -> str:
        """Change one instance (found by its original start, ISO text) of a series."""
        with self.lock:
            cal = self.calendar(calendar_id)
            master = cal.events[master_id]
            wanted = datetime.fromisoformat(original_start)
            for inst in cal.expand(master, wanted - timedelta(days=1), wanted + timedelta(days=1)):
                if inst.start == wanted:
                    item = copy_of(cal.instance_resource(master, inst))
                    item.update(copy_of(changes))
                    self._store(cal, item)
                    return inst.event_id
            raise KeyError(f"{master_id} has no instance at {original_start}")

    def respond(self, event_id: str, attendee: str, status: str,
                calendar_id: str = "primary") -> None:
        """Set one attendee's responseStatus on an event (or an instance id)."""
        with self.lock:
            cal = self.calendar(calendar_id)
            event = cal.events.get(event_id)
            if event is None:  # an instance without an exception yet
                master_id, _, _ = event_id.rpartition("_")
                master = cal.events[master_id]
                inst = next(i for i in cal.expand(master, *self._wide()) if i.event_id == event_id)
                event = cal.instance_resource(master, inst)
            event = copy_of(event)
            for entry in event.get("attendees") or []:
                if entry.get("email", "").lower() == attendee.lower():
                    entry["responseStatus"] = status
            self._store(cal, event)

    def _wide(self) -> tuple[datetime, datetime]:
        return (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))

    # --- storage --------------------------------------------------------------------------

    def _store(self, cal: FakeCalendar, event: dict) -> dict:
        self.seq += 1
        now = datetime.now(timezone.utc)
        previous = cal.events.get(event["id"])
        event.setdefault("kind", "calendar#event")
        event.setdefault("status", "confirmed")
        event.setdefault("eventType", "default")
        event.setdefault("created", previous.get("created") if previous else stamp(now))
        event.setdefault("iCalUID", f"{event.get('recurringEventId') or event['id']}@google.com")
        event.setdefault("organizer", {"email": self.owner, "self": True})
        event.setdefault("creator", {"email": self.owner, "self": True})
        event["etag"] = f'"{self.seq}"'
        event["updated"] = stamp(now)
        for entry in event.get("attendees") or []:
            entry.setdefault("responseStatus", "needsAction")
            if entry.get("email", "").lower() == self.owner:
                entry["self"] = True
        if (event.get("organizer") or {}).get("email", "").lower() == self.owner:
            event["organizer"]["self"] = True
        cal.events[event["id"]] = event
        cal.changed[event["id"]] = self.seq
        if not event.get("recurringEventId"):
            cal.history.setdefault(event["id"], []).append((self.seq, copy_of(event)))
        return event

    # --- requests (called by the handler, under the lock) ----------------------------------

    def handle(self, verb: str, path: str, query: dict[str, list[str]], body: Any,
               headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON body or None, extra headers)."""
        try:
            method, args = route(verb, path)
        except ApiError as exc:
            return exc.status, exc.body(), {}
        self.counts[method] += 1
        self.queries.append((method, {k: list(v) for k, v in query.items()}))
        fault = self._fault_for(method)
        if fault is not None and not fault.after:
            return self._fault_answer(fault, method)
        answer = self._answer(method, args, verb, path, query, body, headers)
        if fault is not None:  # carried out, but the answer is lost
            self.log.pop()
            return self._fault_answer(fault, method)
        return answer

    def _answer(self, method: str, args: dict, verb: str, path: str, query: dict, body: Any,
                headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            if method in ("oauth.token", "oauth.auth"):
                return getattr(self, method.replace(".", "_"))(query, body, headers)
            scopes = self._authorised(headers)
            handler = getattr(self, "api_" + method.replace(".", "_"), None)
            if handler is None:
                raise ApiError(404, "notFound", f"No such method {verb} {path}")
            status, answer = handler(scopes, query, body, **args)
        except ApiError as exc:
            self.log.append((method, exc.status))
            return exc.status, exc.body(), exc.headers
        self.log.append((method, status))
        return status, answer, {}

    def _fault_for(self, method: str) -> Fault | None:
        if method.startswith("oauth."):
            return None
        for fault in self.faults:
            if fault.method in (None, method) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_answer(self, fault: Fault, method: str) -> tuple[int, Any, dict[str, str]]:
        self.log.append((method, fault.status))
        if fault.status == 0:
            return 0, None, {}
        reason = fault.reason or {429: "rateLimitExceeded", 500: "backendError",
                                  503: "backendError"}.get(fault.status, "unknown")
        domain = "usageLimits" if "Exceeded" in reason else "global"
        message = {"rateLimitExceeded": "Rate Limit Exceeded",
                   "userRateLimitExceeded": "User Rate Limit Exceeded",
                   "quotaExceeded": "Calendar usage limits exceeded.",
                   "backendError": "Backend Error"}.get(reason, reason)
        message = fault.message or message
        error = ApiError(fault.status, reason, message, domain)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return fault.status, error.body(fault.style), headers

    def _authorised(self, headers: dict[str, str]) -> list[str]:
        value = headers.get("authorization", "")
        token = value[7:] if value.lower().startswith("bearer ") else ""
        if token not in self.access_tokens:
            raise ApiError(401, "authError", "Invalid Credentials",
                           headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        return self.access_tokens[token]

    @staticmethod
    def _need(scopes: list[str], allowed: set[str]) -> None:
        if not set(scopes) & allowed:
            raise ApiError(403, "insufficientPermissions",
                           "Request had insufficient authentication scopes.")

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

    # --- Calendar -------------------------------------------------------------------------

    def api_events_list(self, scopes, query, body, calendar_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        size = min(int(_one(query, "maxResults", "250")), 2500)
        page_token = _one(query, "pageToken")
        if page_token:
            snapshot = self.pages.get(page_token)
            if snapshot is None or snapshot["calendar"] != cal.calendar_id:
                raise ApiError(400, "invalid", "Invalid page token value.")
        else:
            snapshot = self._snapshot(cal, query)
        return 200, self._page(snapshot, size)

    def _snapshot(self, cal: FakeCalendar, query: dict) -> dict:
        single = _one(query, "singleEvents") == "true"
        show_deleted = _one(query, "showDeleted") == "true"
        sync = _one(query, "syncToken")
        if sync:
            bad = [name for name in NOT_WITH_SYNC_TOKEN if name in query]
            if bad:
                raise ApiError(400, "invalid", f"Sync token cannot be used with {', '.join(bad)}.")
            remembered = self.tokens.get(sync)
            if remembered is None or remembered["calendar"] != cal.calendar_id:
                raise ApiError(400, "invalid", "Invalid sync token value.")
            if remembered["expired"]:
                raise ApiError(410, "fullSyncRequired",
                               "Sync token is no longer valid, a full sync is required.", "calendar")
            low, high = remembered["low"], remembered["high"]
            items = cal.changes_since(remembered["seq"], low, high, single, self.deleted_series_style)
        else:
            low = parse_rfc3339(_one(query, "timeMin")) if "timeMin" in query else \
                datetime(1970, 1, 1, tzinfo=timezone.utc)
            high = parse_rfc3339(_one(query, "timeMax")) if "timeMax" in query else \
                datetime(2100, 1, 1, tzinfo=timezone.utc)
            if high <= low:
                raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.",
                               "calendar")
            items = [i for i in cal.current(low, high, single, show_deleted) if matches(i, query)]
            if _one(query, "orderBy") == "startTime":
                if not single:
                    raise ApiError(400, "badRequest", "The requested ordering is not available "
                                                      "for the particular query.")
                items.sort(key=lambda i: (cal.span(i)[0] if i.get("start") else low, i["id"]))
            elif single:
                items.sort(key=lambda i: (cal.span(i)[0] if i.get("start") else low, i["id"]))
        return {"calendar": cal.calendar_id, "items": items, "offset": 0, "seq": self.seq,
                "low": low, "high": high, "single": single}

    def _page(self, snapshot: dict, size: int) -> dict:
        planned = self.page_plan.pop(0) if self.page_plan else None
        if planned is not None:
            size = min(size, planned)
        start = snapshot["offset"]
        chunk = snapshot["items"][start:start + size]
        answer: dict[str, Any] = {"kind": "calendar#events", "summary": snapshot["calendar"],
                                  "timeZone": self.zone.key, "items": [copy_of(i) for i in chunk]}
        rest = start + len(chunk)
        if rest < len(snapshot["items"]) or planned == 0:
            token = "page-" + secrets.token_hex(6)
            self.pages[token] = dict(snapshot, offset=rest)
            answer["nextPageToken"] = token
        else:
            token = "sync-" + secrets.token_hex(6)
            self.tokens[token] = {"calendar": snapshot["calendar"], "seq": snapshot["seq"],
                                  "low": snapshot["low"], "high": snapshot["high"],
                                  "expired": False}
            answer["nextSyncToken"] = token
        return answer

    def api_events_insert(self, scopes, query, body, calendar_id):
        self._need(scopes, WRITE_SCOPES)
        cal = self._existing(calendar_id)
        event = copy_of(body or {})
        if "id" in event:
            if not EVENT_ID.match(event["id"]):
                raise ApiError(400, "invalid", "Invalid resource id value.")
            if event["id"] in cal.events:
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
        else:
            event["id"] = f"ev{next(self._ids):06d}x"
        _check_times(event)
        event.pop("organizer", None)
        self.modified.append(("events.insert", event["id"]))
        return 200, copy_of(self._store(cal, event))

    def api_events_get(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return 200, copy_of(event)

    def api_events_patch(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, WRITE_SCOPES)
        cal = self._existing(calendar_id)
        event = cal.events.get(event_id)
        if event is None or event.get("status") == "cancelled":
            raise ApiError(404 if event is None else 410, "notFound" if event is None else "deleted",
                           "Not Found" if event is None else "Resource has been deleted")
        updated = copy_of(event)
        for key, value in (body or {}).items():
            if key == "extendedProperties":
                for kind, props in value.items():
                    updated.setdefault("extendedProperties", {}).setdefault(kind, {}).update(props)
            else:
                updated[key] = value
        _check_times(updated)
        self.modified.append(("events.patch", event_id))
        return 200, copy_of(self._store(cal, updated))

    def api_events_instances(self, scopes, query, body, calendar_id, event_id):
        self._need(scopes, READ_SCOPES)
        cal = self._existing(calendar_id)
        master = cal.events.get(event_id)
        if master is None or not master.get("recurrence"):
            raise ApiError(404, "notFound", "Not Found")
        low = parse_rfc3339(_one(query, "timeMin")) if "timeMin" in query else self._wide()[0]
        high = parse_rfc3339(_one(query, "timeMax")) if "timeMax" in query else \
            datetime.now(timezone.utc) + timedelta(days=730)
        items = cal.instances_of(master, low, high, _one(query, "showDeleted") == "true")
        snapshot = {"calendar": cal.calendar_id, "items": items, "offset": 0, "seq": self.seq,
                    "low": low, "high": high, "single": True}
        answer = self._page(snapshot, min(int(_one(query, "maxResults", "250")), 2500))
        answer.pop("nextSyncToken", None)
        return 200, answer

    def api_freebusy_query(self, scopes, query, body, **_):
        self._need(scopes, FREEBUSY_SCOPES)
        body = body or {}
        low, high = parse_rfc3339(body.get("timeMin", "")), parse_rfc3339(body.get("timeMax", ""))
        answer: dict[str, Any] = {"kind": "calendar#freeBusy", "timeMin": stamp(low),
                                  "timeMax": stamp(high), "calendars": {}}
        for item in body.get("items") or []:
            key = item.get("id", "")
            own = self.owner if key == "primary" else key
            if own in self.calendars:
                blocks = self.calendars[own].busy(low, high)
            elif key.lower() in self.visible_busy:
                blocks = merge([(max(s, low), min(e, high)) for s, e in self.visible_busy[key.lower()]
                                if e > low and s < high])
            else:
                answer["calendars"][key] = {"errors": [{"domain": "global", "reason": "notFound"}],
                                            "busy": []}
                continue
            answer["calendars"][key] = {"busy": [{"start": stamp(s), "end": stamp(e)}
                                                 for s, e in blocks]}
        return 200, answer

    def _existing(self, calendar_id: str) -> FakeCalendar:
        key = self.owner if calendar_id == "primary" else calendar_id
        if key not in self.calendars:
            raise ApiError(404, "notFound", "Not Found")
        return self.calendars[key]

    # --- Gmail ----------------------------------------------------------------------------

    def api_drafts_create(self, scopes, query, body, user):
        self._need(scopes, GMAIL_SCOPES)
        raw = ((body or {}).get("message") or {}).get("raw")
        parsed = _decode_raw(raw)
        draft_id = f"r{next(self._ids)}"
        message = {"id": f"m{next(self._ids)}", "threadId": f"t{next(self._ids)}",
                   "labelIds": ["DRAFT"]}
        self.drafts[draft_id] = {"id": draft_id, "message": message, "parsed": parsed,
                                 "raw": raw}
        return 200, {"id": draft_id, "message": message}

    def api_drafts_list(self, scopes, query, body, user):
        self._need(scopes, GMAIL_SCOPES)
        wanted = _one(query, "q")
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
        message = {"id": f"m{next(self._ids)}", "threadId": f"t{next(self._ids)}",
                   "labelIds": ["SENT"]}
        self.sent.append({"message": message, "parsed": parsed, "raw": raw})
        return 200, message


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


def _check_times(event: dict) -> None:
    if event.get("status") == "cancelled":
        return
    for key in ("start", "end"):
        if not isinstance(event.get(key), dict) or not (event[key].get("dateTime")
                                                        or event[key].get("date")):
            raise ApiError(400, "required", f"Missing {key} time.")
    if event.get("recurrence") and event["start"].get("dateTime") and not event["start"].get("timeZone"):
        raise ApiError(400, "invalid", "Missing time zone definition for start time.")


def _one(query: dict, name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def copy_of(value: Any) -> Any:
    """A deep copy of JSON-like data."""
    return json.loads(json.dumps(value))


class _Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: parse the request, ask the emulator, write the answer."""

    emulator: GoogleEmulator

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _serve(self, verb: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            kind = self.headers.get("Content-Type", "")
            if "application/x-www-form-urlencoded" in kind:
                body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
            else:
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.emulator.lock:
            status, answer, extra = self.emulator.handle(verb, unquote(parts.path), query, body,
                                                         headers)
        if status == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        data = b"" if answer is None else json.dumps(answer).encode("utf-8")
        self.send_response(status)
        if answer is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")
