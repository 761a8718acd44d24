"""Google Calendar (read and write) and Gmail (drafts, sending) behind the connector interface.

Reading: connectors.google.sync (events.list with sync tokens). Writing: touchbase series with a
client-chosen event id (a retried insert answers 409: already created), tagged in
extendedProperties.private, found again by privateExtendedProperty, ended by setting UNTIL on
the agent's own event only. Free/busy through freebusy.query. Gmail: drafts.create for follow-ups
(found again by Message-ID first, so a retry after a crash never makes a second draft) and
messages.send for the morning email. Requests and errors: connectors.google.http. Sign-in and
the token file: connectors.google.auth.
"""
from __future__ import annotations

import base64
import copy
import hashlib
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.configuration.options import HTTP_URL, PATH, Option, keyed
from agent.errors import AuthError, NotFound, SourceError, UserError
from agent.model import Changes, OwnEvent, SeriesSpec
from connectors.base import Connector, ConnectorContext, Interval, MailSink
from connectors.google import auth as google_auth
from connectors.google.http import Caller, RetryPolicy, list_request, rfc3339
from connectors.google.mapping import (
    OWNER_PROPERTY,
    OWNER_VALUE,
    event_id_for,
    is_own,
    moved_instance_body,
    own_event,
    parse_moment,
    send_updates_for,
    series_body,
    until_of,
    with_until,
)
from connectors.google.sync import CalendarSync

SEND_UPDATES = ("all", "externalOnly", "none")


class GoogleConnector(Connector):
    """One Google account: its calendars, and its Gmail when the config sends mail through it."""

    type_name = "google"
    help = "Google Calendar (and Gmail for drafts and mail)"
    config_options = keyed(
        calendars=Option(["primary"], "calendar ids to read", nonempty=True),
        client_secrets=Option("", "the OAuth desktop client from Google Cloud", rule=PATH,
                              example="~/client_secret.json"),
        token_file=Option("", "default: data folder/tokens/<name>.json", rule=PATH),
        api_endpoint=Option("", "a root URL replacing Google's hosts (emulators, proxies)", rule=HTTP_URL),
        send_updates=Option("all", f"{' | '.join(SEND_UPDATES)}, for touchbase invitations",
                            choices=SEND_UPDATES),
        mail=Option(False, "count two-way mail with colleagues as contact (metadata only, never a body)",
                    example=True, commented=True),
    )
    sees_attendee_busy = True
    is_mail_account = True
    retry_policy: RetryPolicy = RetryPolicy()

    def __init__(self, source: Any, context: ConnectorContext) -> None:
        super().__init__(source, context)
        self.fix = google_auth.reauth_command(self.name)
        self.token_file = google_auth.token_path(source, context.data_dir)
        self.caller = Caller(self.name, self.fix, self.retry_policy)
        self.zone = ZoneInfo(context.timezone)
        self._credentials: Any = None
        self._saved_token: str | None = None
        self._services: dict[str, Any] = {}
        self._http: Any = None
        send_updates = self.options.get("send_updates") or "all"
        if send_updates not in SEND_UPDATES:
            raise UserError(f"source {self.name!r}: send_updates must be one of "
                            f"{', '.join(SEND_UPDATES)}, got {send_updates!r}")
        self.send_updates = send_updates

    @property
    def options(self) -> dict:
        """The source's type-specific config keys."""
        return getattr(self.source, "options", {}) or {}

    @property
    def calendars(self) -> list[str]:
        """The calendar ids to read (the first is where touchbases are written)."""
        return list(self.options.get("calendars") or ["primary"])

    # --- clients ----------------------------------------------------------------------------

    def _service(self, api: str) -> Any:
        """A googleapiclient resource for "calendar" or "gmail" (static discovery, no network)."""
        if api in self._services:
            return self._services[api]
        import google_auth_httplib2
        from googleapiclient.discovery import build

        from connectors.google.transport import RequestsHttp

        if self._credentials is None:
            self._credentials = google_auth.load_credentials(self.name, self.token_file)
            self._saved_token = self._credentials.token
        if self._http is None:
            self._http = google_auth_httplib2.AuthorizedHttp(self._credentials, http=RequestsHttp())
        version = {"calendar": "v3", "gmail": "v1"}[api]
        options = {}
        root = (self.options.get("api_endpoint") or "").rstrip("/")
        if root:
            # Calendar's discovery servicePath is calendar/v3/; Gmail's method paths already
            # start with gmail/v1/, so its base URL is the root itself.
            options["api_endpoint"] = f"{root}/calendar/v3/" if api == "calendar" else f"{root}/"
        self._services[api] = build(api, version, http=self._http, static_discovery=True,
                                    cache_discovery=False, client_options=options or None)
        return self._services[api]

    def _require_scope(self, scope: str, what: str) -> None:
        granted = google_auth.granted_scopes(self._credentials)
        if granted and scope not in granted:
            raise AuthError(self.name, f"{what} needs the {scope.rsplit('/', 1)[-1]} permission, "
                                       "which the saved sign-in does not have.", fix=self.fix)

    def close(self) -> None:
        """Save a refreshed access token (atomically, 0600) so the next cycle needs no refresh."""
        creds = self._credentials
        if creds is not None and creds.token and creds.token != self._saved_token:
            try:
                google_auth.save_credentials(self.token_file, creds)
                self._saved_token = creds.token
            except OSError as exc:
                self.context.warn(f"{self.name}: cannot save the refreshed token to "
                                  f"{self.token_file}: {exc.strerror}")
        self._services.clear()
        if self._http is not None:
            self._http.close()
            self._http = None

    # --- reading ----------------------------------------------------------------------------

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """Events created, changed or removed since `state` (empty: a full read)."""
        events = self._service("calendar").events()
        sync = CalendarSync(events, self.caller, self.calendars, self.zone,
                            (self.context.window_start, self.context.window_end),
                            self.context.user_emails, self.context.warn, self.context.progress)
        return sync.fetch(state)

    def reads_mail(self) -> bool:
        """Whether `mail = true`: Gmail is read for who wrote to whom (connectors.google.mail)."""
        return bool(self.options.get("mail"))

    def fetch_mail(self, state: dict, sink: MailSink) -> dict:
        """Gmail metadata since `state` (see connectors.google.mail); needs gmail.readonly."""
        from connectors.google.mail import GmailReader

        gmail = self._service("gmail")
        granted = google_auth.granted_scopes(self._credentials)
        if granted and not set(granted) & google_auth.SCOPES_READING_MAIL:
            raise AuthError(self.name, "reading Gmail needs the gmail.readonly permission, which "
                                       "the saved sign-in does not have.", fix=self.fix)
        return GmailReader(gmail.users(), self.caller, self.context).read(state, sink)

    def find_own_events(self) -> list[OwnEvent]:
        """The agent's series masters, found by the private extended property (never by title)."""
        events = self._service("calendar").events()
        own: list[OwnEvent] = []
        page_token = None
        while True:
            query = {"calendarId": self.calendars[0], "singleEvents": False, "maxResults": 2500,
                     "privateExtendedProperty": f"{OWNER_PROPERTY}={OWNER_VALUE}"}
            if page_token:
                query["pageToken"] = page_token
            page = self.caller.run(list_request(events, query),
                                   "finding the agent's own events")
            for item in page.get("items") or []:
                if item.get("status") != "cancelled" and not item.get("recurringEventId") \
                        and is_own(item):
                    own.append(own_event(item, self.zone))
            page_token = page.get("nextPageToken")
            if not page_token:
                return own

    # --- writing (the agent's own series only) ----------------------------------------------

    def create_series(self, spec: SeriesSpec) -> str:
        """Insert the series under its deterministic id; a 409 means it already exists."""
        events = self._service("calendar").events()
        event_id = event_id_for(spec.series_id)
        body = series_body(spec, event_id)
        from googleapiclient.errors import HttpError

        try:
            self.caller.run(lambda: events.insert(
                calendarId=self.calendars[0], body=body,
                sendUpdates=send_updates_for(body.get("attendees"), self.send_updates),
            ).execute(num_retries=0), f"creating {spec.title!r}",
                passthrough=(409,))
        except HttpError:
            pass  # 409: created by an earlier attempt (or deleted by the user: never again)
        return event_id

    def end_series(self, event_id: str, until: datetime) -> None:
        """Set UNTIL on the agent's own series `event_id`; any other event is left untouched."""
        from googleapiclient.errors import HttpError

        events = self._service("calendar").events()
        calendar = self.calendars[0]
        try:
            item = self.caller.run(lambda: events.get(calendarId=calendar, eventId=event_id)
                                   .execute(num_retries=0), f"reading event {event_id}",
                                   passthrough=(404, 410))
        except HttpError:
            return  # gone already: nothing left to end
        if not is_own(item):
            raise SourceError(self.name, f"event {event_id} was not created by touchbase; "
                                         "left untouched")
        if item.get("status") == "cancelled" or not item.get("recurrence"):
            return
        current = until_of(item)
        if current is not None and current <= until:
            return  # already ends by then
        recurrence = with_until(item["recurrence"], until)
        self.caller.run(lambda: events.patch(
            calendarId=calendar, eventId=event_id, body={"recurrence": recurrence},
            sendUpdates=send_updates_for(item.get("attendees"), self.send_updates),
        ).execute(num_retries=0), f"ending the touchbase series {event_id}")

    def move_instance(self, series_id: str, original_start: datetime, new_start: datetime) -> None:
        """PATCH the instance of the agent's series that started at `original_start` (found with
        events.instances originalStart); an instance already there is left as it is."""
        instance = self._own_instance(series_id, original_start)
        if instance is None:
            raise NotFound(f"{self.name}: series {series_id} has no instance at "
                           f"{original_start.isoformat()} (cancelled, moved or removed outside the agent)")
        start, end = parse_moment(instance["start"], self.zone)[0], parse_moment(instance["end"], self.zone)[0]
        if start == new_start:
            return
        body = moved_instance_body(instance, new_start, new_start + (end - start))
        self._patch_instance(instance, body, f"moving one touchbase of {series_id}")

    def cancel_instance(self, series_id: str, original_start: datetime) -> None:
        """Cancel one instance of the agent's series (PATCH status cancelled); idempotent."""
        instance = self._own_instance(series_id, original_start)
        if instance is None:
            return  # cancelled already
        self._patch_instance(instance, {"status": "cancelled"},
                             f"cancelling one touchbase of {series_id}")

    def _own_instance(self, series_id: str, original_start: datetime) -> dict | None:
        from googleapiclient.errors import HttpError

        events = self._service("calendar").events()
        try:
            page = self.caller.run(lambda: events.instances(
                calendarId=self.calendars[0], eventId=series_id, originalStart=rfc3339(original_start),
                maxResults=5).execute(num_retries=0), f"reading one instance of {series_id}",
                passthrough=(404, 410))
        except HttpError:
            return None
        items = [i for i in page.get("items") or [] if i.get("status") != "cancelled"]
        if items and not is_own(items[0]):
            raise SourceError(self.name, f"event {series_id} was not created by touchbase; "
                                         "left untouched")
        return items[0] if items else None

    def _patch_instance(self, instance: dict, body: dict, what: str) -> None:
        events = self._service("calendar").events()
        self.caller.run(lambda: events.patch(
            calendarId=self.calendars[0], eventId=instance["id"], body=body,
            sendUpdates=send_updates_for(instance.get("attendees"), self.send_updates),
        ).execute(num_retries=0), what)

    def colleague_busy(self, start: datetime, end: datetime, email: str) -> list[Interval]:
        """The colleague's busy blocks alone (freebusy.query; none when Google shows none)."""
        return self._freebusy(start, end, [{"id": email}])

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """Busy intervals of the user's calendar and of `emails` where Google shows them."""
        return self._freebusy(start, end, [{"id": self.calendars[0]}] + [{"id": e} for e in emails])

    def _freebusy(self, start: datetime, end: datetime, items: list[dict]) -> list[Interval]:
        service = self._service("calendar")
        body = {"timeMin": rfc3339(start), "timeMax": rfc3339(end), "items": items}
        answer = self.caller.run(lambda: service.freebusy().query(body=body)
                                 .execute(num_retries=0), "reading free/busy")
        intervals: list[Interval] = []
        for info in (answer.get("calendars") or {}).values():
            if info.get("errors"):
                continue  # not visible to the user: nothing known
            for block in info.get("busy") or []:
                intervals.append((parse_moment({"dateTime": block["start"]}, self.zone)[0],
                                  parse_moment({"dateTime": block["end"]}, self.zone)[0]))
        return sorted(intervals)

    # --- Gmail ------------------------------------------------------------------------------

    def create_draft(self, message: EmailMessage) -> str:
        """Store `message` in Gmail's Drafts (never sent); an existing draft with the same
        Message-ID is returned instead of a second one."""
        gmail = self._service("gmail")
        self._require_scope(google_auth.SCOPE_GMAIL_COMPOSE, "writing Gmail drafts")
        message = _with_message_id(message)
        existing = self._draft_with_id(gmail, message["Message-ID"])
        if existing:
            return existing
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        drafts = gmail.users().drafts()
        answer = self.caller.run(lambda: drafts.create(userId="me", body={"message": {"raw": raw}})
                                 .execute(num_retries=0), "writing a Gmail draft")
        return str(answer.get("id", ""))

    def _draft_with_id(self, gmail: Any, message_id: str) -> str:
        bare = message_id.strip().strip("<>")
        drafts = gmail.users().drafts()
        answer = self.caller.run(lambda: drafts.list(userId="me", q=f"rfc822msgid:{bare}",
                                                     maxResults=10).execute(num_retries=0),
                                 "looking for an earlier Gmail draft")
        found = answer.get("drafts") or []
        return str(found[0].get("id", "")) if found else ""

    def send(self, message: EmailMessage) -> None:
        """Send `message` from the Gmail account (the morning email)."""
        gmail = self._service("gmail")
        self._require_scope(google_auth.SCOPE_GMAIL_COMPOSE, "sending mail through Gmail")
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")
        messages = gmail.users().messages()
        self.caller.run(lambda: messages.send(userId="me", body={"raw": raw})
                        .execute(num_retries=0), "sending mail through Gmail")

    def find_sent(self, message_id: str) -> bool | None:
        """Look the Message-ID up among the sent messages (messages.list, q=rfc822msgid:,
        label SENT); None when the sign-in lacks the gmail.readonly permission to look."""
        gmail = self._service("gmail")
        granted = google_auth.granted_scopes(self._credentials)
        if granted and not set(granted) & google_auth.SCOPES_READING_MAIL:
            return None
        bare = message_id.strip().strip("<>")
        messages = gmail.users().messages()
        answer = self.caller.run(lambda: messages.list(userId="me", q=f"rfc822msgid:{bare}",
                                                       labelIds=["SENT"], maxResults=1)
                                 .execute(num_retries=0), "looking for the mail in Gmail's sent mail")
        return bool(answer.get("messages"))

    # --- sign-in ----------------------------------------------------------------------------

    @classmethod
    def authorize(cls, source: Any, context: ConnectorContext, **options: Any) -> str:
        """The installed-app loopback sign-in; saves the token (0600) and returns a summary.

        Options: client_secrets (a path; else the source's `client_secrets` key), no_browser,
        roles (what the config uses this source for: read, write, drafts, send; default all).
        """
        secrets = options.get("client_secrets") or (getattr(source, "options", {}) or {}).get(
            "client_secrets", "")
        if not secrets:
            raise UserError(f"source {source.name!r}: give --client-secrets FILE or set "
                            "client_secrets in its [[sources]] entry (see docs/connect-google.md)")
        roles = set(options.get("roles") or google_auth.ROLES)
        return google_auth.run_installed_app_flow(
            source.name, Path(secrets).expanduser(), roles,
            google_auth.token_path(source, context.data_dir),
            no_browser=bool(options.get("no_browser")),
        )


def _with_message_id(message: EmailMessage) -> EmailMessage:
    """`message` with a Message-ID (a deterministic one from its content when it has none)."""
    if message["Message-ID"]:
        return message
    copied = copy.deepcopy(message)
    digest = hashlib.sha256(message.as_bytes()).hexdigest()[:32]
    copied["Message-ID"] = f"<{digest}@touchbase.local>"
    return copied
