"""Mail folders of the Graph emulator for the mail signal: messages/delta per folder and the
conversation lookup, as Microsoft documents them.

`GET /me/mailFolders/{inbox|sentitems}/messages/delta`: $select (id always comes back), $filter
only `receivedDateTime ge|gt <instant>`, `Prefer: odata.maxpagesize`; a round pages through
@odata.nextLink ($skiptoken) to an @odata.deltaLink ($deltatoken) that keeps the round's query
options; a deltaLink call returns what was added or changed since (removed messages as
`@removed`); an unknown or expired token answers 410 SyncStateNotFound. With only Mail.ReadBasic
granted, body, bodyPreview, uniqueBody and attachments are never returned, whatever $select
asks. internetMessageHeaders is returned only when $select names it, and only for received mail
(a message the user sent has none). `GET /me/messages?$filter=conversationId eq '...'` lists a
conversation's messages in every folder.
"""
from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.graph_state import Mailbox

Result = tuple[int, Any, dict]
FOLDERS = ("inbox", "sentitems")
BASIC_HIDDEN = {"body", "bodyPreview", "uniqueBody", "attachments"}
_RECEIVED = re.compile(r"^receivedDateTime (?P<op>ge|gt) (?P<when>\S+)$")
_CONVERSATION = re.compile(r"^conversationId eq '(?P<id>(?:[^']|'')*)'$")


@dataclass
class Token:
    """What a deltaLink remembers: the folder, the round's query options, the revision seen."""

    folder: str
    select: str
    received: str
    revision: int


def _error(status: int, code: str, message: str) -> Result:
    return status, {"error": {"code": code, "message": message}}, {}


class GraphMail:
    """Delta rounds over the mail folders of one Mailbox."""

    def __init__(self, mailbox: Mailbox, base: str) -> None:
        self.mailbox = mailbox
        self.base = base
        self.revision = 0
        self.removed: list[tuple[int, str, str]] = []  # (revision, folder, id)
        self.tokens: dict[str, Token] = {}
        self.rounds: dict[str, list[dict]] = {}
        self.default_page_size = 10

    # --- test set-up -------------------------------------------------------------------------

    def deliver(self, folder: str, sender: str, to: list[str], *, cc: list[str] = (),
                when: datetime, conversation: str = "", message_id: str = "",
                headers: dict[str, str] | None = None, subject: str = "", body: str = "") -> dict:
        """Put one message into `folder` (inbox or sentitems)."""
        with self.mailbox.lock:
            self.revision += 1
            stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            item = {
                "id": self.mailbox.new_id("AAMkMail"), "parentFolderId": folder, "isDraft": False,
                "conversationId": conversation or self.mailbox.new_id("AAQkConv"),
                "internetMessageId": f"<{message_id or secrets.token_hex(8) + '@acme.example'}>",
                "from": _recipient(sender), "sender": _recipient(sender),
                "toRecipients": [_recipient(a) for a in to],
                "ccRecipients": [_recipient(a) for a in cc],
                "receivedDateTime": stamp, "sentDateTime": stamp, "subject": subject,
                "body": {"contentType": "text", "content": body}, "bodyPreview": body[:255],
                "_revision": self.revision,
            }
            if folder != "sentitems":
                item["internetMessageHeaders"] = [{"name": k, "value": v}
                                                  for k, v in (headers or {}).items()]
            self.mailbox.messages[item["id"]] = item
            return item

    def remove(self, message_id: str) -> None:
        """Delete a message (the next delta reports it as @removed)."""
        with self.mailbox.lock:
            item = self.mailbox.messages.pop(message_id)
            self.revision += 1
            self.removed.append((self.revision, item["parentFolderId"], message_id))

    def expire_tokens(self) -> None:
        """Every deltaLink given out so far answers 410."""
        self.tokens.clear()

    # --- endpoints ---------------------------------------------------------------------------

    def delta(self, folder: str, query: dict[str, str], prefer: dict[str, str],
              basic_only: bool) -> Result:
        """GET /me/mailFolders/{folder}/messages/delta."""
        folder = folder.lower()
        if folder not in FOLDERS:
            return _error(404, "ErrorItemNotFound", "The specified folder was not found.")
        if "$skiptoken" in query:
            pages = self.rounds.get(query["$skiptoken"])
            if not pages:
                return _error(410, "SyncStateNotFound", "The sync state is not found or has expired.")
            return self._next(query["$skiptoken"], pages)
        if "$deltatoken" in query:
            token = self.tokens.get(query["$deltatoken"])
            if token is None or token.folder != folder:
                return _error(410, "SyncStateNotFound", "The sync state is not found or has expired.")
            return self._round(token, self._changed(token, basic_only), prefer)
        problem = _unsupported(query)
        if problem:
            return _error(400, "ErrorInvalidUrlQuery", problem)
        token = Token(folder, query.get("$select", ""), query.get("$filter", ""), 0)
        return self._round(token, self._changed(token, basic_only), prefer)

    def conversation(self, query: dict[str, str], basic_only: bool) -> Result | None:
        """GET /me/messages?$filter=conversationId eq '...' (None: not such a request)."""
        match = _CONVERSATION.match((query.get("$filter") or "").strip())
        if match is None:
            return None
        wanted = match["id"].replace("''", "'")
        with self.mailbox.lock:
            found = [m for m in self.mailbox.messages.values()  # drafts included, as Graph does
                     if m.get("conversationId") == wanted]
        return 200, {"value": [_shaped(m, query.get("$select", ""), basic_only) for m in found]}, {}

    def _changed(self, token: Token, basic_only: bool) -> list[dict]:
        with self.mailbox.lock:
            items = [m for m in self.mailbox.messages.values()
                     if m.get("parentFolderId") == token.folder and m.get("_revision", 0) > token.revision
                     and _received_ok(m, token.received)]
            items.sort(key=lambda m: m["receivedDateTime"], reverse=True)
            shaped = [_shaped(m, token.select, basic_only) for m in items]
            shaped += [{"id": i, "@removed": {"reason": "deleted"}} for r, f, i in self.removed
                       if f == token.folder and r > token.revision and token.revision > 0]
        return shaped

    def _round(self, token: Token, items: list[dict], prefer: dict[str, str]) -> Result:
        size = int(prefer.get("odata.maxpagesize", self.default_page_size))
        pages = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
        final = Token(token.folder, token.select, token.received, self.revision)
        key = secrets.token_hex(8)
        self.rounds[key] = pages + [final]  # type: ignore[list-item]
        return self._next(key, self.rounds[key])

    def _next(self, key: str, pages: list) -> Result:
        page = pages.pop(0)
        link = f"{self.base}/me/mailFolders/{pages[-1].folder}/messages/delta"
        if len(pages) > 1:
            return 200, {"value": page, "@odata.nextLink": f"{link}?$skiptoken={key}"}, {}
        final = pages.pop()
        del self.rounds[key]
        token = secrets.token_hex(12)
        self.tokens[token] = final
        return 200, {"value": page, "@odata.deltaLink": f"{link}?$deltatoken={token}"}, {}


def _unsupported(query: dict[str, str]) -> str:
    if "$filter" in query and not _RECEIVED.match(query["$filter"].strip()):
        return "only receivedDateTime ge|gt is supported in $filter on messages delta"
    if "$orderby" in query and query["$orderby"].strip() != "receivedDateTime desc":
        return "only receivedDateTime desc is supported in $orderby on messages delta"
    if "$search" in query:
        return "$search is not supported on messages delta"
    return ""


def _received_ok(item: dict, text: str) -> bool:
    match = _RECEIVED.match(text.strip()) if text else None
    if match is None:
        return True
    limit = datetime.fromisoformat(match["when"].replace("Z", "+00:00"))
    received = datetime.fromisoformat(item["receivedDateTime"].replace("Z", "+00:00"))
    return received >= limit if match["op"] == "ge" else received > limit


def _shaped(item: dict, select: str, basic_only: bool) -> dict:
    public = {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")
              and k != "singleValueExtendedProperties"}
    if select:
        keep = {s.strip() for s in select.split(",")} | {"id"}
        public = {k: v for k, v in public.items() if k in keep}
    else:
        public.pop("internetMessageHeaders", None)  # only on $select
    if basic_only:
        public = {k: v for k, v in public.items() if k not in BASIC_HIDDEN}
    return public


def _recipient(address: str) -> dict:
    return {"emailAddress": {"address": address, "name": address.split("@")[0].title()}}
