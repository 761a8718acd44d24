"""The Gmail mailbox of the Google emulator (a mixin of GoogleEmulator): messages with labels
and threads, a history of additions, and the read endpoints the mail signal uses.

As Google documents them: users.getProfile (historyId); users.messages.list with `q=after:EPOCH`
(newest first, maxResults up to 500, nextPageToken); users.threads.get and users.messages.get
with format=metadata and metadataHeaders (only those headers, never a body; `snippet` is part
of the resource, so a client that does not want it must leave it out with `fields`, which the
emulator applies as Google's partial responses do); users.history.list from startHistoryId
(historyTypes=messageAdded; a response with no `history` when nothing changed; 404 when the id
is older than what Google keeps, see `expire_history`). Reading needs gmail.readonly (or
gmail.modify / mail.google.com); gmail.metadata may not use `q`.
"""
from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from typing import Any

from tests.fakes.google_calendar import ApiError

SCOPE = "https://www.googleapis.com/auth/"
READERS = {SCOPE + "gmail.readonly", SCOPE + "gmail.modify", "https://mail.google.com/"}


class GmailMailboxMixin:
    """Mailbox state and handlers; GoogleEmulator supplies `_need` and `_next_id`."""

    mail: dict[str, dict]
    mail_history: list[tuple[int, str]]
    history_id: int
    history_floor: int

    def init_mailbox(self) -> None:
        """Empty mailbox state (called from GoogleEmulator.__init__)."""
        self.mail = {}
        self.mail_history = []
        self.history_id = 1000
        self.history_floor = 0

    # --- test set-up ----------------------------------------------------------------------

    def add_mail(self, raw: bytes, labels: list[str] | None = None, thread_id: str = "",
                 received: datetime | None = None) -> dict:
        """Deliver (or file as sent) one RFC 822 message; returns its resource."""
        with self.lock:  # type: ignore[attr-defined]
            parsed = email.message_from_bytes(raw, policy=policy.compat32)
            self.history_id += 1
            number = self._next_id()  # type: ignore[attr-defined]
            when = received or datetime.now(UTC)
            message = {
                "id": f"{number:016x}", "threadId": thread_id or f"{number:016x}",
                "labelIds": list(labels or ["INBOX"]), "historyId": str(self.history_id),
                "internalDate": str(int(when.timestamp() * 1000)), "sizeEstimate": len(raw),
                "snippet": (parsed.get_payload() if not parsed.is_multipart() else "")[:100],
                "headers": [{"name": k, "value": str(v)} for k, v in parsed.items()],
            }
            self.mail[message["id"]] = message
            self.mail_history.append((self.history_id, message["id"]))
            return message

    def expire_history(self) -> None:
        """Every history id given out so far is too old: history.list answers 404."""
        with self.lock:  # type: ignore[attr-defined]
            self.history_floor = self.history_id + 1

    # --- endpoints ------------------------------------------------------------------------

    def api_users_getProfile(self, scopes, query, body, user):  # noqa: N802 - Google's name
        self._need(scopes, READERS | {SCOPE + "gmail.metadata", SCOPE + "gmail.compose"})  # type: ignore[attr-defined]
        answer = {"emailAddress": self.owner, "messagesTotal": len(self.mail),  # type: ignore[attr-defined]
                  "threadsTotal": len({m["threadId"] for m in self.mail.values()}),
                  "historyId": str(self.history_id)}
        return 200, partial(answer, _one(query, "fields"))

    def list_mailbox(self, scopes: list[str], query: dict) -> tuple[int, Any]:
        """users.messages.list over the mailbox (q = after:EPOCH or empty)."""
        self._need(scopes, READERS)  # type: ignore[attr-defined]
        wanted = _one(query, "q")
        after = int(wanted.split(":", 1)[1]) if wanted.startswith("after:") else 0
        found = sorted((m for m in self.mail.values() if int(m["internalDate"]) // 1000 > after),
                       key=lambda m: (-int(m["internalDate"]), m["id"]))
        size = min(int(_one(query, "maxResults") or 100), 500)
        start = int(_one(query, "pageToken") or 0)
        page = found[start:start + size]
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            answer["messages"] = [{"id": m["id"], "threadId": m["threadId"]} for m in page]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return 200, partial(answer, _one(query, "fields"))

    def api_messages_get(self, scopes, query, body, user, message_id):
        self._need(scopes, READERS | {SCOPE + "gmail.metadata"})  # type: ignore[attr-defined]
        message = self.mail.get(message_id)
        if message is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        return 200, partial(_shaped(message, query), _one(query, "fields"))

    def api_threads_get(self, scopes, query, body, user, thread_id):
        self._need(scopes, READERS | {SCOPE + "gmail.metadata"})  # type: ignore[attr-defined]
        members = sorted((m for m in self.mail.values() if m["threadId"] == thread_id),
                         key=lambda m: int(m["internalDate"]))
        if not members:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        answer = {"id": thread_id, "historyId": max(m["historyId"] for m in members),
                  "messages": [_shaped(m, query) for m in members]}
        return 200, partial(answer, _one(query, "fields"))

    def api_history_list(self, scopes, query, body, user):
        self._need(scopes, READERS | {SCOPE + "gmail.metadata"})  # type: ignore[attr-defined]
        start = int(_one(query, "startHistoryId") or 0)
        if not start:
            raise ApiError(400, "invalidArgument", "startHistoryId is required")
        if start < self.history_floor:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        newer = [(h, i) for h, i in self.mail_history if h > start]
        size = min(int(_one(query, "maxResults") or 100), 500)
        offset = int(_one(query, "pageToken") or 0)
        page = newer[offset:offset + size]
        answer: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            answer["history"] = [{"id": str(h), "messages": [self._ref(i)],
                                  "messagesAdded": [{"message": self._ref(i, labels=True)}]}
                                 for h, i in page]
        if offset + size < len(newer):
            answer["nextPageToken"] = str(offset + size)
        return 200, partial(answer, _one(query, "fields"))

    def _ref(self, message_id: str, labels: bool = False) -> dict:
        message = self.mail[message_id]
        ref = {"id": message_id, "threadId": message["threadId"]}
        if labels:
            ref["labelIds"] = list(message["labelIds"])
        return ref


def _shaped(message: dict, query: dict) -> dict:
    """A message resource in the requested format (metadata: only the metadataHeaders)."""
    form = _one(query, "format") or "full"
    result = {k: v for k, v in message.items() if k != "headers"}
    if form in ("full", "raw"):
        raise ApiError(400, "invalidArgument", "the emulator serves format=metadata or minimal only")
    if form == "metadata":
        wanted = {h.lower() for h in query.get("metadataHeaders") or []}
        headers = [h for h in message["headers"] if not wanted or h["name"].lower() in wanted]
        result["payload"] = {"mimeType": "text/plain", "headers": headers}
    return result


def partial(resource: Any, fields: str) -> Any:
    """Google's partial response: keep only the `fields` selection (a,b/c,d(e,f))."""
    if not fields:
        return resource
    return _select(resource, _parse_fields(fields))


def _parse_fields(text: str) -> dict:
    tree: dict = {}
    for part in _split(text):
        match = re.fullmatch(r"([^()]+?)(?:\((.*)\))?", part.strip())
        if match is None:
            raise ApiError(400, "invalidParameter", f"Invalid field selection {part}")
        path, inner = match.group(1).split("/"), match.group(2)
        node = tree
        for name in path[:-1]:
            node = node.setdefault(name, {})
        leaf = node.setdefault(path[-1], {})
        if inner:
            leaf.update(_parse_fields(inner))
    return tree


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current] if current else parts


def _select(value: Any, tree: dict) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [_select(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: _select(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def _one(query: dict, name: str) -> str:
    values = query.get(name) or [""]
    return values[0]
