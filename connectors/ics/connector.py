"""Local .ics files and calendar addresses: the embedded default, read-only input.

Where the bytes come from (files, https:// addresses with conditional requests) is
`connectors.ics.inputs`.

A file whose bytes did not change since the last sync costs no parsing (icalendar is not even
imported). When it changed, only the events (grouped by UID) whose text changed are looked at
again, and of those only the ones that can have an occurrence in the sync window are parsed
(`connectors.ics.window`); the others are remembered by their hash, judged against the window
kept in the state (the sync window plus WINDOW_SLACK past its end; a window the state does not
cover means a full re-read). Many groups are
parsed in chunks by worker processes (`connectors.ics.chunks`). A malformed event is skipped,
counted and named, and the rest of the file still syncs; an event that cannot fall in the window
is not checked.

The rules of reading (docs/rules.md): files are read whole, regular files only, up to
`max_bytes` (`connectors.ics.files`); an input that is not one complete calendar fails the
source and nothing of it is taken (`split_calendar`); the raw text is cut into events the way
the parser reads it (`connectors.ical.blocks`); VTIMEZONEs of zones tzdata knows are not parsed
at all, and one that cannot be read only affects its own events (`connectors.ical.zones`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from agent.configuration.options import CALENDAR_URL, ENV_NAME, PATH, Option, keyed
from agent.errors import SourceError
from agent.model import Changes, Occurrence
from connectors.base import Connector, ConnectorContext, Interval, Probe
from connectors.ical.blocks import ParsedFile, ends_complete, normalise, split_blocks, starts_calendar
from connectors.ical.zones import usable_timezones, used_zones
from connectors.ics.files import DEFAULT_MAX_BYTES, read_calendar_file
from connectors.ics.inputs import InputReader, source_inputs
from connectors.ics.window import may_overlap

if TYPE_CHECKING:
    from connectors.ics.http import FetchPolicy

log = logging.getLogger(__name__)

STATE_VERSION = 2
WINDOW_SLACK = timedelta(days=7)
"""Expand this far past the window's end, so that later syncs of an unchanged file (whose
window end moves with the clock) still read nothing."""
CHUNK_GROUPS = 200
"""At most this many UID groups are parsed together as one calendar text."""
PARALLEL_MIN_GROUPS = 300
"""Below this many groups left for icalendar (plain single events are read before, in this
process, and do not count), worker processes cost about what they save (measured: 300 groups
0.75 s with two workers vs 0.9 s in one process; 1,150 groups 2.0 s vs 3.3 s)."""
MAX_WORKERS = 2


class IcsConnector(Connector):
    """Reads one or more .ics files and calendar addresses as one calendar."""

    type_name = "ics"
    help = "calendar files or addresses"
    read_only = True
    config_options = keyed(
        path=Option("", "one .ics file", rule=PATH, example="~/calendar.ics"),
        paths=Option([], "or several .ics files", rule=PATH),
        url=Option("", "or a published calendar address (https:// or webcal://)", rule=CALENDAR_URL,
                   example="https://calendar.example/basic.ics"),
        urls=Option([], "or several calendar addresses, read together as one calendar", rule=CALENDAR_URL),
        url_env=Option("", "or an environment variable holding a secret address", rule=ENV_NAME,
                       example="TOUCHBASE_CALENDAR_URL"),
        url_file=Option("", "or a file holding a secret address", rule=PATH,
                        example="~/.config/touchbase/calendar-url"),
        max_bytes=Option(DEFAULT_MAX_BYTES, "read at most this many bytes of a file or address",
                         minimum=1024, maximum=1024 ** 3),
        deadline_seconds=Option(120, "give up on one read of an address after this long "
                                "(retries included)", minimum=1, maximum=3600, commented=True),
        calendar_name=Option("", "accepted for older files; has no effect"),
    )
    LOCATIONS: ClassVar[tuple[str, ...]] = ("path", "paths", "url", "urls", "url_env", "url_file")
    """An ics source takes exactly one of these."""

    @classmethod
    def option_problems(cls, entry: Mapping[str, Any]) -> list[str]:
        """Exactly one of the LOCATIONS."""
        given = [key for key in cls.LOCATIONS if entry.get(key)]
        if not given:
            return ["path: an ics source needs one of path, paths, url, urls, url_env or url_file"]
        if len(given) > 1:
            return [f"{' and '.join(given)}: an ics source takes only one of "
                    "path, paths, url, urls, url_env or url_file"]
        return []

    def __init__(self, source: Any, context: ConnectorContext, policy: FetchPolicy | None = None) -> None:
        super().__init__(source, context)
        self.policy = policy  # HTTP limits for calendar addresses (None: the defaults)

    @property
    def paths(self) -> list[Path]:
        """The configured files, `~` expanded."""
        names = list(self.source.options.get("paths") or [])
        if self.source.options.get("path"):
            names.insert(0, self.source.options["path"])
        return [Path(n).expanduser() for n in names]

    def fetch_changes(self, state: dict) -> tuple[Changes, dict]:
        """Re-read the files that changed; parse only the changed events that can be in the window."""
        known = state.get("version") == STATE_VERSION and self._window_covered(state)
        reader = self._reader()
        raw = reader.read(state.get("inputs") if known else None)
        if raw is None:  # every file as it was, every address answered 304
            return Changes(unchanged=True), {**state, "inputs": reader.state}
        changes, new_state = self.changes_from(raw, state if known else {})
        if changes.unchanged:
            return changes, {**state, "inputs": reader.state}
        return changes, {**new_state, "inputs": reader.state}

    def changes_from(self, raw: list[tuple[str, bytes]], state: dict) -> tuple[Changes, dict]:
        """The changes since `state` given the whole text of each input, by where it came from
        (a path, an address's scheme and host); the texts are taken out of `raw` as they are
        read. Raises SourceError when one is not a complete calendar: nothing is then taken
        from any of them (the previous state stays)."""
        digest = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for _, b in raw)).hexdigest()
        known = state.get("version") == STATE_VERSION and self._window_covered(state)
        if known and state.get("digest") == digest:
            return Changes(unchanged=True), state
        window = state["window"] if known else [
            self.context.window_start.isoformat(),
            (self.context.window_end + WINDOW_SLACK).isoformat(),
        ]
        parsed = []
        while raw:  # each text is dropped once normalised, and that once split: less memory at once
            where, data = raw.pop(0)
            text = normalise(data)
            del data
            parsed.append(split_normalised(where, text))
            del text
        groups = merge_groups(parsed)
        hashes = {uid: _group_hash(blocks) for uid, blocks in groups.items()}
        old = state.get("uids", {}) if known else {}
        changed = [uid for uid, h in hashes.items() if old.get(uid) != h]
        start, end = (datetime.fromisoformat(w) for w in window)
        wanted = {uid: groups[uid] for uid in changed if may_overlap(groups[uid], start, end)}
        notes = [note for p in parsed for note in p.notes]
        used = used_zones(block for blocks in wanted.values() for block in blocks)
        timezones, zone_notes = usable_timezones([tz for p in parsed for tz in p.timezones], used)
        del parsed
        changes, bad = self._parse_groups(timezones, wanted, start, end)
        for note in notes + zone_notes:
            log.info("%s: %s", self.name, note)
        # A changed event that cannot be in the window has no occurrences there (any it had go).
        failed = set(bad)
        changes.upserts = {uid: changes.upserts.get(uid, []) for uid in changed if uid not in failed}
        changes.full = not old
        changes.removed = [uid for uid in old if uid not in hashes or uid in failed]
        for uid in bad:
            hashes.pop(uid, None)
        new_state = {"version": STATE_VERSION, "digest": digest, "window": window, "uids": hashes}
        return changes, new_state

    def busy(self, start: datetime, end: datetime, emails: list[str]) -> list[Interval]:
        """The user's busy time in what the source reads, within the sync window (timed, not
        cancelled, not declined); nobody else's. Read in full, as by a first sync."""
        from connectors.ical.read import user_busy

        changes, _ = self.fetch_changes({})
        occurrences = [occ for items in changes.upserts.values() for occ in items]
        return user_busy(occurrences, start, end, self.context.user_emails)

    def _window_covered(self, state: dict) -> bool:
        window = state.get("window")
        if not window:
            return False
        start, end = (datetime.fromisoformat(w) for w in window)
        return start <= self.context.window_start and end >= self.context.window_end

    def _read(self, path: Path) -> bytes:
        return read_calendar_file(self.name, path, self.max_bytes)

    @classmethod
    def probe(cls, source: Any, context: ConnectorContext) -> Probe:
        """Read the source's files and addresses once (as `touchbase init` checks them) and say
        what was found, with the zone the first calendar declares; SourceError when one is
        missing or wrong, Unreachable when an address cannot be reached (no network)."""
        from connectors.ical.zones import declared_zone
        from connectors.ics.http import FetchPolicy

        connector = cls(source, context, policy=FetchPolicy(timeout=15, retries=1, max_wait=5, deadline=30))
        found, zones = [], []
        for where, data in connector_inputs(connector):
            if not data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper().startswith(b"BEGIN:VCALENDAR"):
                raise SourceError(source.name, f"{where}: this is not an iCalendar calendar (it does "
                                               "not start with BEGIN:VCALENDAR)")
            found.append(f"{where}: {data.count(b'BEGIN:VEVENT')} events")
            zones.append(declared_zone(data))
        return Probe("; ".join(found), next((zone for zone in zones if zone), None))

    @property
    def max_bytes(self) -> int:
        """The size cap of one file or address (the source's `max_bytes`)."""
        cap = self.source.options.get("max_bytes")
        return cap if isinstance(cap, int) and cap > 0 else DEFAULT_MAX_BYTES

    def _reader(self) -> InputReader:
        """The reader of this source's files and addresses; the HTTP client's module is loaded
        only for a source with an address."""
        inputs = source_inputs(self.name, self.source.options)
        policy = self._policy() if any(item.url for item in inputs) else None
        return InputReader(self.name, inputs, policy, self._read)

    def _policy(self) -> FetchPolicy:
        """The HTTP limits for this source's address: the given policy, or the defaults with the
        source's `max_bytes` and `deadline_seconds`."""
        from connectors.ics.http import FetchPolicy

        if self.policy is not None:
            return self.policy
        limits: dict[str, Any] = {}
        cap = self.source.options.get("max_bytes")
        if isinstance(cap, int) and cap > 0:
            limits["max_bytes"] = cap
        deadline = self.source.options.get("deadline_seconds")
        if isinstance(deadline, int) and deadline > 0:
            limits["deadline"] = float(deadline)
        return FetchPolicy(**limits)

    def _parse_groups(self, timezones: bytes, groups: dict[str, list[bytes]], start: datetime,
                      end: datetime) -> tuple[Changes, list[str]]:
        """Read the plain single events of `groups` here (`connectors.ical.plain`), then parse
        and expand the rest over [start, end) in chunks: worker processes when many."""
        from connectors.ical.groups import label
        from connectors.ics.chunks import occurrence_from_row, read_plain_groups

        changes = Changes()
        bad: list[str] = []
        plain, items = read_plain_groups(list(groups.items()), start, end, ZoneInfo(self.context.timezone))
        for uid, rows in plain:
            changes.upserts[uid] = [occurrence_from_row(uid, row) for row in rows]
        done, total = len(plain), len(groups)
        if self.context.progress and done:
            self.context.progress(done, total)
        workers = _worker_count(len(items))
        if workers < 2:
            chunks = [items[i:i + CHUNK_GROUPS] for i in range(0, len(items), CHUNK_GROUPS)]
        else:
            count = max(8, -(-len(items) // CHUNK_GROUPS))  # at least 8 chunks to share out
            # Dealt round-robin: a file often holds its long series together, and one chunk of
            # only series would keep one worker busy long after the other is done.
            chunks = [items[i::count] for i in range(min(count, len(items)))]
        results = self._run_chunks(timezones, chunks, start, end, workers)
        for chunk, (good, broken, notes) in zip(chunks, results, strict=True):
            for uid, rows in good:
                changes.upserts[uid] = [occurrence_from_row(uid, row) for row in rows]
            for uid, why in broken:
                changes.skipped.append(f"{self.name}: skipped event {label(uid, groups[uid])}: {why}")
                bad.append(uid)
            for uid, note in notes:
                log.info("%s: %s: %s", self.name, label(uid, groups[uid]), note)
            done += len(chunk)
            if self.context.progress:
                self.context.progress(done, total)
        return changes, bad

    def _run_chunks(self, timezones: bytes, chunks: list[list[tuple[str, list[bytes]]]],
                    start: datetime, end: datetime, workers: int) -> Iterator:
        """The result of `parse_chunk` for each chunk, in order; in `workers` processes when
        more than one (should they fail, the remaining chunks are read in this process)."""
        from connectors.ics.chunks import parse_chunk

        zone = self.context.timezone
        done = 0
        if workers >= 2:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            from concurrent.futures.process import BrokenProcessPool

            try:
                with ProcessPoolExecutor(max_workers=workers,
                                         mp_context=multiprocessing.get_context("fork")) as pool:
                    count = len(chunks)
                    for result in pool.map(parse_chunk, [timezones] * count, chunks,
                                           [start] * count, [end] * count, [zone] * count):
                        yield result
                        done += 1
            except (BrokenProcessPool, OSError) as exc:
                self.context.warn(f"{self.name}: worker processes failed ({exc or type(exc).__name__}); "
                                  "reading in this process")
        for chunk in chunks[done:]:
            yield parse_chunk(timezones, chunk, start, end, zone)


def connector_inputs(connector: IcsConnector) -> list[tuple[str, bytes]]:
    """Every input of `connector` read in full: (what may be shown, bytes)."""
    return connector._reader().read(None) or []


def _worker_count(groups: int) -> int:
    """Worker processes for parsing `groups` groups (1: parse in this process).

    Workers are forked, so only on Linux (where fork is the safe default) and while this process
    runs no other thread (a fork of a threaded process can deadlock).
    """
    if (groups < PARALLEL_MIN_GROUPS or not sys.platform.startswith("linux")
            or threading.active_count() > 1):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def split_calendar(where: str | Path, data: bytes) -> ParsedFile:
    """Check that `data` is one whole calendar and cut it into its VTIMEZONE blocks and its
    VEVENT blocks grouped by UID (`connectors.ical.blocks`).

    `where` names the input in messages: a file, or a calendar address's scheme and host.
    Raises SourceError when the text is not iCalendar, or does not end with END:VCALENDAR (cut
    short, or still being written).
    """
    return split_normalised(where, normalise(data))


def split_normalised(where: str | Path, text: bytes) -> ParsedFile:
    """`split_calendar` of a text `normalise` made."""
    if not starts_calendar(text):
        raise SourceError(str(where), "not an iCalendar file (it does not start with BEGIN:VCALENDAR)")
    if not ends_complete(text):
        raise SourceError(str(where), "the calendar is incomplete (it does not end with "
                          "END:VCALENDAR: cut short or still being written); the previous state "
                          "is kept and the next sync tries again")
    return split_blocks(str(where), text)


def merge_groups(parsed: list[ParsedFile]) -> dict[str, list[bytes]]:
    """The UID groups of several files together (the same UID twice is one event)."""
    merged: dict[str, list[bytes]] = {}
    for item in parsed:
        for uid, blocks in item.groups.items():
            target = merged.setdefault(uid, [])
            target.extend(b for b in blocks if b not in target)
    return merged


def parse_group(timezones: bytes, blocks: list[bytes], context: ConnectorContext, zone: ZoneInfo,
                uid: str) -> list[Occurrence]:
    """Parse and expand the events of one UID over the context's window."""
    from connectors.ical.groups import parse_group as parse_one

    return parse_one(timezones, blocks, context, zone, uid)


def _group_hash(blocks: list[bytes]) -> str:
    return hashlib.sha1(b"".join(blocks)).hexdigest()
