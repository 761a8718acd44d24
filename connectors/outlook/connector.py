"""Outlook / Microsoft 365 through Microsoft Graph v1.0: calendar read and write, drafts, sending.

Reading is a calendarView delta round: the first sync pages through @odata.nextLink up to the
@odata.deltaLink, which is stored; later syncs call the deltaLink and apply what changed
(@removed items included). A 410 or syncStateNotFound means a full resync. The round's window
reaches `WINDOW_SLACK` past the agent's window so that the same deltaLink serves for weeks.

Writing is limited to the agent's own events, found by its single-value extended property:
a series is looked up by its tag before it is created (with a transactionId) so a retry or a
crash never duplicates it, and only a series carrying the tag is ever patched or deleted.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agent.configuration.options import HTTP_URL, PATH, TENANT, Option, keyed
from agent.errors import AuthError, NotFound, SourceError
from agent.model import Changes, Occurrence, OwnEvent, SeriesSpec, WorkingHours
from connectors.base import Connector, ConnectorContext, Interval, MailSink
from connectors.outlook import mapping as gm
from connectors.outlook.graph import DEFAULT_ENDPOINT, GraphClient, GraphError, RetryPolicy, SyncStateGone

if TYPE_CHECKING:  # msal and requests are imported on first use: reading the config never loads them
    import requests

    from connectors.outlook.auth import OutlookAuth

log = logging.getLogger(__name__)

STATE_VERSION = 1
WINDOW_SLACK = timedelta(days=30)
PAGE_SIZE = 100
SCHEDULE_MAX_ADDRESSES = 20
SCHEDULE_MAX_DAYS = 62
INSTANCE_REACH = timedelta(days=15)  # a moved instance stays within the same or the next week
DELTA_HEADERS = {"Prefer": f'odata.maxpagesize={PAGE_SIZE}, outlook.timezone="UTC"'}
NOT_PROCESSED = frozenset({429, 503})  # a non-idempotent POST is retried only on these


class OutlookConnector(Connector):
    """A Microsoft 365 / Outlook.com account: its primary calendar and its mailbox."""

    type_name = "outlook"
    help = "Microsoft 365 / Outlook (and its mail for drafts and mail)"
    config_options = keyed(
        client_id=Option("", "the public-client app registration", example="00000000-0000-0000-0000-000000000000"),
        tenant=Option("organizations", "common | organizations | a tenant id or domain", rule=TENANT,
                      optional=True),
        authority=Option("", "a full authority URL replacing login.microsoftonline.com/<tenant>",
                         rule=HTTP_URL),
        graph_endpoint=Option(DEFAULT_ENDPOINT, "the Graph root (emulators, proxies)",
                              rule=HTTP_URL, optional=True),
        token_cache=Option("", "default: data folder/tokens/<name>.bin", rule=PATH),
        mail=Option(False, "count two-way mail with colleagues as contact (metadata only, never a body)",
                    example=True, commented=True),
    )
    sees_attendee_busy = True
    is_mail_account = True

    def __init__(self, source: Any, context: ConnectorContext, *, auth: OutlookAuth | None = None,
                 policy: RetryPolicy | None = None) -> None:
        super().__init__(source, context)
        self.zone = ZoneInfo(context.timezone)
        self.endpoint = source.options.get("graph_endpoint") or ""
        self._auth = auth
        self._policy = policy
        self._session: requests.Session | None = None
        self._clients: dict[str, GraphClient] = {}
        self._hours: dict[str, WorkingHours | None] = {}  # address -> getSchedule workingHours

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def auth(self) -> OutlookAuth:
        """The source's msal application and token cache (opened on first use)."""
        if self._auth is None:
            from connectors.outlook.auth import OutlookAuth

            self._auth = OutlookAuth(self.source, self.context.data_dir)
        return self._auth

    def notices(self) -> list[str] | None:
        """The plain-file token cache (no OS keyring), once the cache was opened in this run."""
        from connectors.outlook.auth import keyring_notice

        if self._auth is None:
            return None
        return [] if self._auth.encrypted else [keyring_notice(self._auth.path)]

    @property
    def graph(self) -> GraphClient:
        """Graph with calendar permissions."""
        from connectors.outlook.auth import CALENDAR_SCOPES

        return self._client("calendar", CALENDAR_SCOPES)

    @property
    def drafts(self) -> GraphClient:
        """Graph with the permission to write drafts (Mail.ReadWrite)."""
        from connectors.outlook.auth import DRAFT_SCOPE

        return self._client("drafts", [DRAFT_SCOPE])

    @property
    def sender(self) -> GraphClient:
        """Graph with the permission to send (Mail.Send)."""
        from connectors.outlook.auth import SEND_SCOPE

        return self._client("send", [SEND_SCOPE])

    @property
    def sent_reader(self) -> GraphClient:
        """Graph with the permission to look in Sent Items (Mail.ReadBasic)."""
        from connectors.outlook.auth import SENT_LOOKUP_SCOPE

        return self._client("sent", [SENT_LOOKUP_SCOPE])

    @property
    def mail_reader(self) -> GraphClient:
        """Graph with the permission to read mail metadata (Mail.ReadBasic)."""
        from connectors.outlook.auth import SENT_LOOKUP_SCOPE

        return self._client("sent", [SENT_LOOKUP_SCOPE])

    def reads_mail(self) -> bool:
        """Whether `mail = true`: the mailbox is read for who wrote to whom."""
        return bool(self.source.options.get("mail"))

    def fetch_mail(self, state: dict, sink: MailSink) -> dict:
        """Mail metadata since `state` (see connectors.outlook.mail)."""
        from connectors.outlook.mail import GraphMailReader

        return GraphMailReader(self.mail_reader, self.context).read(state, sink)

    def _client(self, kind: str, scopes: list[str]) -> GraphClient:
        if kind not in self._clients:
            import requests

            from connectors.outlook.auth import ScopedTokens

            if self._session is None:
                self._session = requests.Session()
            self._clients[kind] = GraphClient(self.name, self.endpoint, ScopedTokens(self.auth, scopes),
                                              self._policy, self._session)
        return self._clients[kind]

    def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            self._session.close()
            self._session = None
        self._clients.clear()

    # --- reading -----------------------------------------------------------------------------

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """One delta round: from the stored deltaLink, or a full round when there is none."""
        window = _window_of(state)
        if (window is not None and state.get("version") == STATE_VERSION and state.get("delta_link")
                and window[0] <= self.context.window_start and window[1] >= self.context.window_end):
            try:
                return self._round(state["delta_link"], None, window, state, full=False)
            except SyncStateGone as exc:
                log.info("%s; starting a full resync", exc)
        window = (self.context.window_start, self.context.window_end + WINDOW_SLACK)
        params = {"startDateTime": _iso(window[0]), "endDateTime": _iso(window[1])}
        return self._round("me/calendarView/delta", params, window, state, full=True)

    def _round(self, url: str, params: dict | None, window: tuple[datetime, datetime],
               state: dict, full: bool) -> tuple[Changes, dict]:
        own = dict(state.get("own") or {}) if state.get("version") == STATE_VERSION else {}
        batch = _Batch(self, window, own)
        delta_link = ""
        for page in self.graph.pages(url, params=params, headers=DELTA_HEADERS):
            for item in page.get("value") or []:
                batch.add(item)
            delta_link = page.get("@odata.deltaLink") or delta_link
        if not delta_link:
            raise SourceError(self.name, "Graph ended a delta round without an @odata.deltaLink")
        if batch.unknown_own:
            own = self._own_map()
            batch.retag(own)
        changes = batch.changes(full)
        new_state = {"version": STATE_VERSION, "delta_link": delta_link,
                     "window": [_iso(window[0]), _iso(window[1])], "own": own}
        return changes, new_state

    def _own_map(self) -> dict[str, str]:
        return {event.event_id: event.tag for event in self.find_own_events()}

    def find_own_events(self) -> list[OwnEvent]:
        """The series (and single events) carrying the agent's tag property."""
        params = {"$filter": gm.tag_filter(), "$expand": gm.expand_tags(),
                  "$select": "id,subject,start,recurrence,type"}
        result = []
        for page in self.graph.pages("me/events", params=params):
            for event in page.get("value") or []:
                tag = gm.event_tag(event)
                if not tag:
                    continue
                recurrence = event.get("recurrence") or {}
                result.append(OwnEvent(
                    event_id=event["id"], tag=tag, series_id=gm.event_series(event),
                    title=str(event.get("subject") or ""),
                    start=gm.parse_time(event.get("start"), self.zone),
                    ended=bool(recurrence) and (recurrence.get("range") or {}).get("type") != "noEnd",
                    rrule=gm.rrule_of(recurrence)))
        return result

    # --- writing -----------------------------------------------------------------------------

    def create_series(self, spec: SeriesSpec) -> str:
        """Look the series up by its tag; create it (with a transactionId) only when absent."""
        existing = self._find_by_tag("me/events", spec.tag, self.graph)
        if existing:
            return existing
        response = self.graph.request("POST", "me/events", json=gm.series_event(spec))
        return str(response.json()["id"])

    def end_series(self, event_id: str, until: datetime) -> None:
        """End the agent's own series after `until` by patching its range (never foreign events)."""
        path = f"me/events/{quote(event_id, safe='')}"
        try:
            event = self.graph.get_json(path, params={"$select": "id,start,recurrence,type",
                                                      "$expand": gm.expand_tags()})
        except GraphError as exc:
            if exc.status == 404:
                return  # already gone: nothing to end
            raise
        if not gm.event_tag(event):
            raise SourceError(self.name, f"refusing to change event {event_id}: the agent did not create it")
        recurrence = event.get("recurrence")
        start = gm.parse_time(event.get("start"), self.zone)
        if not recurrence or start is None:
            return
        new = gm.ended_range(recurrence, until, start, self.zone)
        if new is None:
            self.graph.request("DELETE", path)
        elif _ends_by(recurrence, new):
            return
        else:
            self.graph.request("PATCH", path, json={"recurrence": new})

    def move_instance(self, series_id: str, original_start: datetime, new_start: datetime) -> None:
        """PATCH the occurrence of the agent's series that started at `original_start` (found
        among the master's instances by originalStart); one already there is left as it is."""
        instance = self._own_instance(series_id, original_start)
        if instance is None:
            raise NotFound(f"{self.name}: series {series_id} has no instance at "
                           f"{original_start.isoformat()} (cancelled, moved or removed outside the agent)")
        start = gm.parse_time(instance.get("start"), self.zone)
        end = gm.parse_time(instance.get("end"), self.zone)
        if start is None or end is None or start == new_start:
            return
        body = {"start": gm.local_time(new_start, self.zone),
                "end": gm.local_time(new_start + (end - start), self.zone)}
        self.graph.request("PATCH", f"me/events/{quote(instance['id'], safe='')}", json=body)

    def cancel_instance(self, series_id: str, original_start: datetime) -> None:
        """Delete one occurrence of the agent's series (Outlook tells the attendees); idempotent."""
        instance = self._own_instance(series_id, original_start)
        if instance is not None:
            try:
                self.graph.request("DELETE", f"me/events/{quote(instance['id'], safe='')}")
            except GraphError as exc:
                if exc.status != 404:
                    raise

    def _own_instance(self, series_id: str, original_start: datetime) -> dict | None:
        """The occurrence (or exception) that started at `original_start`, wherever it was
        moved since (moves stay within two weeks); None when it was cancelled."""
        path = f"me/events/{quote(series_id, safe='')}"
        try:
            master = self.graph.get_json(path, params={"$select": "id", "$expand": gm.expand_tags()})
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise
        if not gm.event_tag(master):
            raise SourceError(self.name, f"refusing to change event {series_id}: the agent did not create it")
        params = {"startDateTime": _iso(original_start - INSTANCE_REACH),
                  "endDateTime": _iso(original_start + INSTANCE_REACH),
                  "$select": "id,start,end,originalStart,isCancelled"}
        for page in self.graph.pages(f"{path}/instances", params=params):
            for item in page.get("value") or []:
                original = gm.parse_time({"dateTime": item.get("originalStart") or ""}, self.zone)
                if original == original_start and not item.get("isCancelled"):
                    return item
        return None

    def colleague_busy(self, start: datetime, end: datetime, email: str) -> list[Interval]:
        """The colleague's schedule items (getSchedule, unmerged); their workingHours are kept
        for `working_hours`."""
        intervals: list[Interval] = []
        for span_start, span_end in _spans(start, end, timedelta(days=SCHEDULE_MAX_DAYS)):
            intervals.extend(self._schedule([email.lower()], span_start, span_end))
        return intervals

    def working_hours(self, email: str) -> WorkingHours | None:
        """The colleague's workingHours from getSchedule (asked once per connector)."""
        key = email.lower()
        if key not in self._hours:
            now = datetime.now(UTC)
            self._schedule([key], now, now + timedelta(days=1))
        return self._hours.get(key)

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """Busy, tentative and out-of-office intervals of the user and `emails` (getSchedule)."""
        addresses = list(dict.fromkeys(a.lower() for a in [*self.context.user_emails[:1], *emails] if a))
        intervals: list[Interval] = []
        for chunk in _chunks(addresses, SCHEDULE_MAX_ADDRESSES):
            for span_start, span_end in _spans(start, end, timedelta(days=SCHEDULE_MAX_DAYS)):
                intervals.extend(self._schedule(chunk, span_start, span_end))
        return _merge(intervals)

    def _schedule(self, addresses: list[str], start: datetime, end: datetime) -> list[Interval]:
        body = {"schedules": addresses, "startTime": gm.graph_time(start),
                "endTime": gm.graph_time(end), "availabilityViewInterval": 30}
        response = self.graph.request("POST", "me/calendar/getSchedule", json=body,
                                      headers={"Prefer": 'outlook.timezone="UTC"'})
        result = []
        for info in response.json().get("value") or []:
            address = str(info.get("scheduleId") or "").lower()
            if address and address not in self._hours:
                self._hours[address] = gm.working_hours_of(info.get("workingHours"))
            for item in info.get("scheduleItems") or []:
                if str(item.get("status", "")).lower() not in gm.BUSY_STATUSES:
                    continue
                begin = gm.parse_time(item.get("start"), self.zone)
                finish = gm.parse_time(item.get("end"), self.zone)
                if begin and finish:
                    result.append((begin, finish))
        return result

    # --- mail --------------------------------------------------------------------------------

    def create_draft(self, message: EmailMessage) -> str:
        """Store `message` in Drafts once: a retry finds the draft by its tag instead of adding one."""
        key = gm.message_key(message)
        existing = self._find_by_tag("me/messages", key, self.drafts)
        if existing:
            return existing
        response = self.drafts.request("POST", "me/messages", json=gm.graph_message(message, key),
                                     retry_on=NOT_PROCESSED)
        return str(response.json()["id"])

    def send(self, message: EmailMessage) -> None:
        """Send `message` through POST /me/sendMail (202 Accepted, no body)."""
        body = {"message": gm.graph_message(message, sending=True), "saveToSentItems": True}
        self.sender.request("POST", "me/sendMail", json=body, retry_on=NOT_PROCESSED)

    def find_sent(self, message_id: str) -> bool | None:
        """Look the Message-ID up in Sent Items ($filter on internetMessageId)."""
        value = message_id.strip().replace("'", "''")
        try:
            page = self.sent_reader.get_json("me/mailFolders/sentitems/messages", params={
                "$filter": f"internetMessageId eq '{value}'", "$select": "id", "$top": "1"})
        except AuthError:
            return None  # a sign-in from before the lookup existed: cannot tell
        return bool(page.get("value"))

    def _find_by_tag(self, collection: str, value: str, client: GraphClient) -> str:
        page = client.get_json(collection, params={"$filter": gm.tag_filter(value), "$select": "id",
                                                   "$top": "1"})
        found = page.get("value") or []
        return str(found[0]["id"]) if found else ""

    # --- sign-in -----------------------------------------------------------------------------

    @classmethod
    def authorize(cls, source: Any, context: ConnectorContext, **options: Any) -> str:
        """Sign in: in the browser (authorization code + PKCE), or with `device_code=True` the
        device-code flow (print the code and URL, wait); then save the token cache."""
        import click

        from connectors.outlook.auth import OutlookAuth, scopes_for

        echo = options.get("echo") or click.echo
        auth = OutlookAuth(source, context.data_dir)
        scopes = scopes_for(options.get("roles") or ["read", "write", "drafts", "send"])
        if options.get("device_code"):
            auth.sign_in(scopes, echo)
        else:
            auth.sign_in_browser(scopes, echo)
        where = "encrypted" if auth.encrypted else "plain file, mode 0600: no OS keyring available"
        who = auth.username() or "your account"
        return (f"Signed in to {source.name!r} as {who} ({', '.join(scopes)}); "
                f"token cache: {auth.path} ({where}).")


class _Batch:
    """The items of one delta round, reduced to upserts and removals (replays are harmless)."""

    def __init__(self, connector: OutlookConnector, window: tuple[datetime, datetime],
                 own: dict[str, str]) -> None:
        self.connector = connector
        self.window = window
        self.own = own
        self.upserts: dict[str, list[Occurrence]] = {}
        self.removed: dict[str, None] = {}
        self.skipped: list[str] = []
        self.unknown_own = False
        self.seen = 0

    def add(self, item: dict) -> None:
        """Apply one delta item: a removal, an instance inside the window, or one outside it."""
        self.seen += 1
        event_id = str(item.get("id") or "")
        if not event_id:
            return
        if "@removed" in item:
            self._remove(event_id)
            return
        try:
            occ = gm.to_occurrence(item, self.connector.zone, self.connector.context.user_emails)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.skipped.append(f"{self.connector.name}: skipped event {item.get('subject', '')!r} "
                                f"(id {event_id}): {exc}")
            self._remove(event_id)
            return
        if occ is None or occ.start >= self.window[1] or occ.end <= self.window[0]:
            self._remove(event_id)
            return
        owner = occ.series_id or occ.resource
        occ.tag = occ.tag or self.own.get(owner, "")
        if not occ.tag and str(item.get("transactionId") or "").startswith(gm.TRANSACTION_PREFIX):
            self.unknown_own = True
        self.removed.pop(event_id, None)
        self.upserts[event_id] = [occ]

    def _remove(self, event_id: str) -> None:
        self.upserts.pop(event_id, None)
        self.removed[event_id] = None

    def retag(self, own: dict[str, str]) -> None:
        """Fill in the agent's tag from a fresh lookup of its own events."""
        for items in self.upserts.values():
            for occ in items:
                occ.tag = occ.tag or own.get(occ.series_id or occ.resource, "")

    def changes(self, full: bool) -> Changes:
        """The Changes of this round."""
        if full:
            return Changes(full=True, upserts=self.upserts, skipped=self.skipped)
        if not self.seen:
            return Changes(unchanged=True)
        return Changes(upserts=self.upserts, removed=list(self.removed), skipped=self.skipped)


def _window_of(state: dict) -> tuple[datetime, datetime] | None:
    window = state.get("window")
    if not window or len(window) != 2:
        return None
    try:
        return datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])
    except (TypeError, ValueError):
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _ends_by(current: dict, new: dict) -> bool:
    """True when the current range already ends on or before the new end date."""
    rng = current.get("range") or {}
    return rng.get("type") == "endDate" and str(rng.get("endDate", "")) <= new["range"]["endDate"]


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _spans(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into spans of at most `step` of real time (in UTC: DST cannot stretch them)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    spans = []
    while start < end:
        spans.append((start, min(end, start + step)))
        start += step
    return spans


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
