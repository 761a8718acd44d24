"""Local .ics files: the embedded default, read-only input.

A file whose bytes did not change since the last sync costs no parsing. When it changed, only
the events (grouped by UID) whose text changed are parsed again; a malformed event is skipped,
counted and named, and the rest of the file still syncs.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from agent.errors import SourceError
from agent.model import Changes, Occurrence
from connectors import ical
from connectors.base import Connector

_EVENT_BLOCK = re.compile(rb"^BEGIN:VEVENT\r?\n.*?^END:VEVENT\r?$\n?", re.M | re.S)
_TZ_BLOCK = re.compile(rb"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE\r?$\n?", re.M | re.S)
_UID_LINE = re.compile(rb"^UID[;:][^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.M)
_FOLD = re.compile(rb"\r?\n[ \t]")
STATE_VERSION = 1
WINDOW_SLACK = timedelta(days=7)
"""Expand this far past the window's end, so that later syncs of an unchanged file (whose
window end moves with the clock) still read nothing."""


@dataclass
class ParsedFile:
    """An .ics file split into its time zones and its events grouped by UID."""

    timezones: bytes
    groups: dict[str, list[bytes]]
    calendar_names: str = ""


class IcsConnector(Connector):
    """Reads one or more local .ics files."""

    type_name = "ics"
    read_only = True

    @property
    def paths(self) -> list[Path]:
        """The configured files, `~` expanded."""
        names = list(self.source.options.get("paths") or [])
        if self.source.options.get("path"):
            names.insert(0, self.source.options["path"])
        return [Path(n).expanduser() for n in names]

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """Re-read the files that changed; parse only the events whose text changed."""
        raw = {path: self._read(path) for path in self.paths}
        digest = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in raw.values())).hexdigest()
        known = state.get("version") == STATE_VERSION and self._window_covered(state)
        if known and state.get("digest") == digest:
            return Changes(unchanged=True), state
        window = state["window"] if known else [
            self.context.window_start.isoformat(),
            (self.context.window_end + WINDOW_SLACK).isoformat(),
        ]
        parsed = [split_calendar(path, data) for path, data in raw.items()]
        groups = merge_groups(parsed)
        hashes = {uid: _group_hash(blocks) for uid, blocks in groups.items()}
        old = state.get("uids", {}) if known else {}
        changed = [uid for uid, h in hashes.items() if old.get(uid) != h]
        timezones = b"".join(p.timezones for p in parsed)
        span = [datetime.fromisoformat(w) for w in window]
        changes, bad = self._parse_groups(timezones, {uid: groups[uid] for uid in changed}, span)
        changes.full = not old
        changes.removed = [uid for uid in old if uid not in hashes or uid in bad]
        for uid in bad:
            hashes.pop(uid, None)
        new_state = {"version": STATE_VERSION, "digest": digest, "window": window, "uids": hashes}
        return changes, new_state

    def _window_covered(self, state: dict) -> bool:
        window = state.get("window")
        if not window:
            return False
        start, end = (datetime.fromisoformat(w) for w in window)
        return start <= self.context.window_start and end >= self.context.window_end

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise SourceError(self.name, f"{path}: file not found") from None
        except OSError as exc:
            raise SourceError(self.name, f"{path}: cannot read: {exc.strerror}") from None

    def _parse_groups(self, timezones: bytes, groups: dict[str, list[bytes]],
                      span: list[datetime]) -> tuple[Changes, list[str]]:
        zone = ZoneInfo(self.context.timezone)
        context = replace(self.context, window_start=span[0], window_end=span[1])
        changes = Changes()
        bad: list[str] = []
        total = len(groups)
        for done, (uid, blocks) in enumerate(groups.items(), start=1):
            try:
                changes.upserts[uid] = parse_group(timezones, blocks, context, zone, uid)
            except Exception as exc:  # noqa: BLE001 - one bad event must not stop the file
                changes.skipped.append(f"{self.name}: skipped event {_label(uid, blocks)}: {_reason(exc)}")
                bad.append(uid)
            if self.context.progress and (done % 500 == 0 or done == total):
                self.context.progress(done, total)
        return changes, bad


def split_calendar(path: Path, data: bytes) -> ParsedFile:
    """Cut the raw text into VTIMEZONE blocks and VEVENT blocks grouped by UID."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper()
    if not head.startswith(b"BEGIN:VCALENDAR"):
        raise SourceError(str(path), "not an iCalendar file (it does not start with BEGIN:VCALENDAR)")
    groups: dict[str, list[bytes]] = {}
    for number, match in enumerate(_EVENT_BLOCK.finditer(data)):
        block = match.group(0)
        uid_match = _UID_LINE.search(block)
        if uid_match:
            uid = _FOLD.sub(b"", uid_match.group(0)).split(b":", 1)[-1].strip().decode("utf-8", "replace")
        else:
            uid = f"no-uid-{path.name}-{number}"
        groups.setdefault(uid, []).append(block)
    timezones = b"".join(m.group(0) for m in _TZ_BLOCK.finditer(data))
    return ParsedFile(timezones=timezones, groups=groups)


def merge_groups(parsed: list[ParsedFile]) -> dict[str, list[bytes]]:
    """The UID groups of several files together (the same UID twice is one event)."""
    merged: dict[str, list[bytes]] = {}
    for item in parsed:
        for uid, blocks in item.groups.items():
            target = merged.setdefault(uid, [])
            target.extend(b for b in blocks if b not in target)
    return merged


def parse_group(timezones: bytes, blocks: list[bytes], context: object, zone: ZoneInfo,
                uid: str) -> list[Occurrence]:
    """Parse and expand the events of one UID over the context's window."""
    text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + timezones + b"".join(blocks) + b"END:VCALENDAR\r\n"
    calendar = icalendar.Calendar.from_ical(text)
    _reject_broken(calendar)
    occurrences = ical.expand(calendar, context.window_start, context.window_end, zone)  # type: ignore[attr-defined]
    for occ in occurrences:
        occ.resource = uid
    return occurrences


def _reject_broken(calendar: icalendar.Calendar) -> None:
    for event in calendar.walk("VEVENT"):
        if event.errors:
            raise ValueError("; ".join(f"{name}: {err}" for name, err in event.errors))
        if event.get("DTSTART") is None:
            raise ValueError("no DTSTART")
        event.decoded("DTSTART")


def _group_hash(blocks: list[bytes]) -> str:
    return hashlib.sha1(b"".join(blocks)).hexdigest()


def _label(uid: str, blocks: list[bytes]) -> str:
    summary = re.search(rb"^SUMMARY[;:]([^\r\n]*)", blocks[0], re.M)
    title = summary.group(1).decode("utf-8", "replace").split(":")[-1] if summary else ""
    return f"{title!r} (UID {uid})" if title else f"UID {uid}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
