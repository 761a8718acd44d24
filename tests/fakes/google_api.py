"""A stateful emulator of Google Calendar v3, Gmail (drafts, send) and Google's OAuth endpoints.

Plain HTTP on 127.0.0.1, driven by the real google-api-python-client through `api_endpoint`
(Calendar at ROOT/calendar/v3/, Gmail at ROOT/gmail/v1/) and by google-auth through the
token_uri saved with the token (ROOT/token). It speaks Google's wire format: JSON bodies,
`{"error": {"errors": [{"reason": ...}], "code", "message"}}` errors, paging with
nextPageToken (pages can be made short or empty on purpose), nextSyncToken only on the last
page, syncToken rejected together with timeMin/timeMax/q/..., 410 fullSyncRequired once a token
expires, 409 duplicate on a reused event id. It can inject 429 (with and without Retry-After),
500, 403 rateLimitExceeded / quotaExceeded and dropped connections, and it counts requests.
The Gmail mailbox the mail signal reads (messages, threads, history) is tests.fakes.gmail_mailbox.
"""
from __future__ import annotations

import itertools
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.gmail_mailbox import GmailMailboxMixin
from tests.fakes.google_accounts import SCOPE, AccountsMixin
from tests.fakes.google_calendar import ApiError, FakeCalendar, copy_of, stamp
from tests.fakes.google_calendar_api import CalendarApiMixin
from tests.fakes.google_routes import Handler, route
from tests.fakes.quiet_http import QuietHTTPServer

ALL_SCOPES = [SCOPE + "calendar.events", SCOPE + "calendar.freebusy", SCOPE + "gmail.compose",
              SCOPE + "gmail.readonly"]


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


class GoogleEmulator(CalendarApiMixin, AccountsMixin, GmailMailboxMixin):
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
        self.after_send: Callable[[Any], None] | None = None  # called once messages.send accepted
        self.after: dict[str, Callable[[], None]] = {}  # method -> called once it succeeded
        self.client_id, self.client_secret = "test-client.apps.example", "test-secret"
        self.refresh_tokens: dict[str, list[str]] = {}  # refresh token -> scopes
        self.access_tokens: dict[str, list[str]] = {}
        self.codes: dict[str, tuple[list[str], str]] = {}  # code -> (scopes, PKCE challenge)
        self.refuse_codes = False  # the token endpoint refuses every authorization code
        self.modified: list[tuple[str, str]] = []  # (method, event id) of every API write
        self._ids = itertools.count(1)
        self.init_mailbox()
        self.server: QuietHTTPServer | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        """Serve on a free loopback port in a background thread."""
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        self.server = QuietHTTPServer(("127.0.0.1", 0), handler)
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

    def _next_id(self) -> int:
        return next(self._ids)

    def _wide(self) -> tuple[datetime, datetime]:
        return (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

    # --- storage --------------------------------------------------------------------------

    def _store(self, cal: FakeCalendar, event: dict) -> dict:
        self.seq += 1
        now = datetime.now(UTC)
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
        hook = self.after.get(method)
        if hook is not None and 200 <= answer[0] < 300:
            hook()  # e.g. a test kills the client the moment Google accepted the write
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
