"""Outlook mail as a mail-signal source (`mail = true` on an outlook source): metadata only.

Per folder (inbox, sentitems): a `messages/delta` round with `$select` naming only metadata
(never body, bodyPreview or uniqueBody) and `$filter=receivedDateTime ge <window start>`,
paged through @odata.nextLink to the @odata.deltaLink, which is stored; later reads call the
deltaLink (one request per folder when nothing changed). A 410 (SyncStateNotFound) means that
folder is read again. A conversation whose messages read so far do not go both ways is looked
up whole (`/me/messages?$filter=conversationId eq '...'`), so its first message counts however
old it is. Permission: Mail.ReadBasic. The list and machine markers come from
internetMessageHeaders, which Mail.ReadBasic returns when $select names it (it withholds only
body, bodyPreview, uniqueBody, attachments, extensions and extended properties); a message
without them (sent mail has none) is judged by the other rules (docs/rules.md).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from agent.model import MailMessage
from connectors.base import ConnectorContext, MailSink
from connectors.mail.headers import is_bulk
from connectors.outlook.graph import GraphClient, SyncStateGone

STATE_VERSION = 1
FOLDERS = ("inbox", "sentitems")
SELECT = ("id,conversationId,internetMessageId,from,toRecipients,ccRecipients,"
          "receivedDateTime,sentDateTime,isDraft,internetMessageHeaders")
PAGE = 200
HEADERS = {"Prefer": f"odata.maxpagesize={PAGE}"}


class GraphMailReader:
    """Reads one mailbox's mail metadata through a GraphClient holding Mail.ReadBasic."""

    def __init__(self, graph: GraphClient, context: ConnectorContext) -> None:
        self.graph = graph
        self.context = context
        self.users = {e.lower() for e in context.user_emails}

    def read(self, state: dict, sink: MailSink) -> dict:
        """Changes since `state` in each folder; returns the new state (deltaLinks)."""
        links = state.get("folders", {}) if state.get("version") == STATE_VERSION else {}
        result, seen = {}, []
        for folder in FOLDERS:
            try:
                link, read = self._round(folder, links.get(folder), sink)
            except SyncStateGone:
                self.context.warn(f"{self.graph.source}: the {folder} delta token expired; "
                                  "reading that folder again")
                link, read = self._round(folder, None, sink)
            result[folder] = link
            seen += read
        self._complete(seen, sink)
        return {"version": STATE_VERSION, "folders": result}

    def _round(self, folder: str, link: str | None, sink: MailSink) -> tuple[str, list[MailMessage]]:
        start = self.context.window_start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = None if link else {"$select": SELECT, "$filter": f"receivedDateTime ge {start}"}
        path = link or f"me/mailFolders/{folder}/messages/delta"
        read: list[MailMessage] = []
        for page in self.graph.pages(path, params=params, headers=HEADERS):
            batch = [graph_message(i, folder) for i in page.get("value") or []
                     if "@removed" not in i and not i.get("isDraft")]
            if batch:
                sink(batch)
                read += batch
            if page.get("@odata.deltaLink"):
                return str(page["@odata.deltaLink"]), read
        return link or "", read

    def _complete(self, seen: list[MailMessage], sink: MailSink) -> None:
        """Look up whole every conversation whose messages read here go one way only."""
        wanted = one_way_threads(seen, self.users)
        for done, thread in enumerate(wanted, 1):
            conversation = thread.removeprefix("graph:").replace("'", "''")
            params = {"$filter": f"conversationId eq '{conversation}'", "$select": SELECT}
            for page in self.graph.pages("me/messages", params=params, headers=HEADERS):
                sink([graph_message(i, "") for i in page.get("value") or [] if not i.get("isDraft")])
            if self.context.progress is not None and len(wanted) > 20:
                self.context.progress(done, len(wanted))


def one_way_threads(messages: Iterable[MailMessage], users: set[str]) -> list[str]:
    """Threads whose messages, among `messages`, are all from the user or all to the user."""
    ways: dict[str, set[bool]] = {}
    for message in messages:
        if message.bulk:
            continue
        ways.setdefault(message.thread, set()).add(message.sender in users)
    return [thread for thread, kinds in ways.items() if len(kinds) == 1]


def graph_message(item: dict, folder: str) -> MailMessage:
    """A MailMessage from a Graph message selected with SELECT."""
    headers = {str(h.get("name", "")).lower(): str(h.get("value", ""))
               for h in item.get("internetMessageHeaders") or []}
    key = str(item.get("internetMessageId") or "").strip().strip("<>") or str(item.get("id", ""))
    when = item.get("sentDateTime") or item.get("receivedDateTime") or ""
    return MailMessage(
        key=key,
        thread=f"graph:{item.get('conversationId') or key}",
        sender=_address(item.get("from")),
        recipients=tuple(a for a in (_address(r) for r in [*(item.get("toRecipients") or []),
                                                             *(item.get("ccRecipients") or [])]) if a),
        instant=_instant(str(when)),
        folder=folder,
        bulk=is_bulk(lambda name: headers.get(name.lower())),
    )


def _address(recipient: object) -> str:
    if not isinstance(recipient, dict):
        return ""
    return str((recipient.get("emailAddress") or {}).get("address") or "").strip().lower()


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
