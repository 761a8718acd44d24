"""Gmail as a mail-signal source (`mail = true` on a google source): metadata only.

First read: users.getProfile for the historyId to resume from, then users.messages.list over
the window (`q=after:EPOCH`, ids and thread ids only), then users.threads.get for each thread
seen (format=metadata with the wanted metadataHeaders, and `fields` leaving out the snippet),
so a two-way thread is whole however old its first message is. Later reads:
users.history.list from the stored historyId (messageAdded); with no new mail that is exactly
one request. A 404 on an expired historyId means one full read again. Needs gmail.readonly,
which the agent already asks for to find its sent morning email (gmail.metadata cannot use
`q`, so it is not asked for).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from agent.model import MailMessage
from connectors.base import ConnectorContext, MailSink
from connectors.google.http import Caller
from connectors.mail.headers import message_from_fields

STATE_VERSION = 1
HEADERS = ["From", "To", "Cc", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
           "Precedence", "Auto-Submitted"]
THREAD_FIELDS = "messages(id,threadId,labelIds,internalDate,payload/headers)"
PAGE = 500
BATCH = 100


class GmailReader:
    """Reads one Gmail account's mail metadata through googleapiclient's `users()` resource."""

    def __init__(self, users: Any, caller: Caller, context: ConnectorContext) -> None:
        self.users = users
        self.caller = caller
        self.context = context

    def read(self, state: dict, sink: MailSink) -> dict:
        """Changes since `state` (empty or expired: a full read); returns the new state."""
        from googleapiclient.errors import HttpError

        if state.get("version") == STATE_VERSION and state.get("history_id"):
            try:
                return self._since(str(state["history_id"]), sink)
            except HttpError:  # 404: the history id expired
                self.context.warn(f"{self.caller.source}: Gmail no longer has the history "
                                  "from the last sync; reading the mail window again")
        return self._full(sink)

    def _full(self, sink: MailSink) -> dict:
        users = self.users
        profile = self.caller.run(lambda: users.getProfile(userId="me", fields="historyId")
                                  .execute(num_retries=0), "reading the Gmail profile")
        after = int(self.context.window_start.timestamp())
        threads = _unique(self._listed(f"after:{after}"))
        self._read_threads(threads, sink)
        return {"version": STATE_VERSION, "history_id": str(profile["historyId"])}

    def _listed(self, query: str) -> Iterator[str]:
        messages = self.users.messages()
        token = None
        while True:
            options: dict[str, Any] = {"userId": "me", "q": query, "maxResults": PAGE,
                       "fields": "messages(threadId),nextPageToken"}
            if token:
                options["pageToken"] = token
            page = self.caller.run(_call(messages.list, options), "listing Gmail messages")
            yield from (m["threadId"] for m in page.get("messages") or [])
            token = page.get("nextPageToken")
            if not token:
                return

    def _since(self, history_id: str, sink: MailSink) -> dict:
        history = self.users.history()
        token, latest = None, history_id
        threads: list[str] = []
        while True:
            options: dict[str, Any] = {"userId": "me", "startHistoryId": history_id, "maxResults": PAGE,
                       "historyTypes": "messageAdded"}
            if token:
                options["pageToken"] = token
            page = self.caller.run(_call(history.list, options), "reading Gmail history",
                                   passthrough=(404,))
            threads += [added["message"]["threadId"] for entry in page.get("history") or []
                        for added in entry.get("messagesAdded") or []]
            latest = str(page.get("historyId") or latest)
            token = page.get("nextPageToken")
            if not token:
                break
        self._read_threads(_unique(threads), sink)
        return {"version": STATE_VERSION, "history_id": latest}

    def _read_threads(self, threads: list[str], sink: MailSink) -> None:
        for start in range(0, len(threads), BATCH):
            chunk = threads[start:start + BATCH]
            sink([message for thread in chunk for message in self._thread(thread)])
            if self.context.progress is not None and len(threads) > BATCH:
                self.context.progress(min(start + BATCH, len(threads)), len(threads))

    def _thread(self, thread_id: str) -> list[MailMessage]:
        from googleapiclient.errors import HttpError

        threads = self.users.threads()
        try:
            answer = self.caller.run(lambda: threads.get(
                userId="me", id=thread_id, format="metadata", metadataHeaders=HEADERS,
                fields=THREAD_FIELDS).execute(num_retries=0), "reading a Gmail thread",
                passthrough=(404,))
        except HttpError:
            return []  # deleted since it was listed
        return [gmail_message(m) for m in answer.get("messages") or []
                if "DRAFT" not in (m.get("labelIds") or [])]  # a draft was never sent


def gmail_message(resource: dict) -> MailMessage:
    """A MailMessage from a format=metadata message resource."""
    fields: dict[str, str] = {}
    for header in (resource.get("payload") or {}).get("headers") or []:
        name, value = str(header.get("name", "")).lower(), str(header.get("value", ""))
        fields[name] = f"{fields[name]}, {value}" if name in fields and name in ("to", "cc") \
            else fields.get(name, value)
    received = datetime.fromtimestamp(int(resource.get("internalDate") or 0) / 1000, UTC)
    return message_from_fields(fields, str(resource.get("id", "")), "gmail", received,
                               thread=str(resource.get("threadId", "")))


def _call(method: Callable[..., Any], options: dict[str, Any]) -> Callable[[], Any]:
    """A request for Caller.run: `method(**options)` executed without the library's retries."""
    return lambda: method(**options).execute(num_retries=0)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
