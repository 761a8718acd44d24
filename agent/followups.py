"""Follow-up drafts: a draft after a small meeting with a tracked colleague, at most one per
colleague per `followups.min_days_between` days.

Rules (DESIGN.md "Follow-up drafts"): a counted meeting of at most `followups.max_attendees`
people besides the user, with at least one tracked colleague, that ended within the last
`followups.lookback_hours` (so a first run never floods the user with drafts for old meetings).
A touchbase that took place and the first meeting of a new recurring series always get one;
any other meeting only for colleagues who had no draft in the last `min_days_between` days (a
weekly 1:1 does not yield a weekly thank-you). Each occurrence gets one draft ever (the
`followups` table, keyed by source and occurrence key). The draft holds only text the user may
send: the last note and the prompts appear beside it in the morning email. It goes to the local
outbox's Drafts folder or a mail account's drafts; it is never sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.configuration.loader import Config
from agent.errors import TouchbaseError
from agent.inference import MeetingRules
from agent.mail import (
    DRAFTS_NOTICE,
    KEY_HEADER,
    OUTBOX,
    drafts_folder,
    enqueue,
    flush_outgoing,
    header_values,
    new_message,
    parse_raw,
    pending,
)
from agent.model import Occurrence
from agent.relationships import Relationship, relationships
from agent.safe_text import one_line
from agent.storage import drafts, occurrences
from agent.storage.store import Store, iso, parse_iso
from agent.templating import render

KIND = "followup"
WAITING_DAYS = 7
"""A draft counts as waiting in the morning email for this many days (while it is still there)."""
LONGEST_MEETING = timedelta(days=1)
DRAFT_PROMPTS = (
    "What did you take away, or what will you do next?",
    "Is there something useful you could share with them?",
    "Is there anything you could help them with?",
)
"""Shown beside a waiting draft in the morning email (never in the draft)."""


@dataclass
class FollowupMeeting:
    """An occurrence that qualifies for a draft, with the tracked colleagues it was with."""

    key: str
    occurrence: Occurrence
    people: list[Relationship]


def run_followups(config: Config, store: Store, now: datetime) -> list[str]:
    """Write a draft for every qualifying meeting that has none yet; one line per draft.

    Each draft is its own unit of work: one that cannot be written is skipped and named, the
    others are written, and the job then fails naming what it skipped (retried next run).
    """
    if not config.followups.enabled:
        return []
    lines, skipped = [], []
    for meeting in qualifying_meetings(config, store, now):
        try:
            lines.append(_write_draft(config, store, meeting, now))
        except (ValueError, TypeError, TouchbaseError) as exc:
            skipped.append(f"skipped the draft for {one_line(meeting.occurrence.title)!r}: "
                           f"{one_line(str(exc))}")
    if lines:
        flush_outgoing(config, store, now)
    if skipped:
        done = f" ({len(lines)} other draft(s) written)" if lines else ""
        raise TouchbaseError("; ".join(skipped) + done)
    return lines


def qualifying_meetings(config: Config, store: Store, now: datetime) -> list[FollowupMeeting]:
    """Meetings that ended within the lookback, small, with a tracked colleague, not drafted yet."""
    rules = MeetingRules(config)
    earliest_end = now - timedelta(hours=config.followups.lookback_hours)
    found: list[tuple[Occurrence, tuple[str, ...]]] = []
    for occ in store.occurrences(earliest_end - LONGEST_MEETING, now):
        if not earliest_end <= occ.end <= now:
            continue
        counted = rules.count(occ)
        if counted is None or counted.others > config.followups.max_attendees:
            continue
        if not drafts.exists(store, draft_key(occ)):
            found.append((occ, counted.colleagues))
    if not found:
        return []
    tracked = {r.email: r for r in relationships(config, store, now) if not r.let_go}
    spacing = Spacing(config, store)
    result: dict[tuple[str, str], FollowupMeeting] = {}
    for occ, colleagues in found:
        people = [tracked[email] for email in colleagues if email in tracked]
        people = spacing.due(occ, people)
        same = (iso(occ.start), _emails(people))  # one meeting seen in two calendars
        if people and same not in result and not _drafted_elsewhere(store, *same):
            result[same] = FollowupMeeting(draft_key(occ), occ, people)
            spacing.drafted(occ, people)
    return list(result.values())


class Spacing:
    """At most one draft per colleague per `min_days_between`, except for a touchbase that
    took place and the first meeting of a new recurring series."""

    def __init__(self, config: Config, store: Store) -> None:
        self.store = store
        self.gap = timedelta(days=config.followups.min_days_between)
        self.latest: dict[str, datetime] = {}

    def due(self, occ: Occurrence, people: list[Relationship]) -> list[Relationship]:
        """Those of `people` who get a draft for `occ`."""
        if occ.tag or self.first_of_series(occ):
            return people
        return [p for p in people if not self._recent(p.email, occ.start)]

    def drafted(self, occ: Occurrence, people: list[Relationship]) -> None:
        """Remember drafts decided in this run."""
        for person in people:
            self.latest[person.email] = max(occ.start, self.latest.get(person.email, occ.start))

    def first_of_series(self, occ: Occurrence) -> bool:
        """`occ` is the first stored, not cancelled occurrence of its recurring series."""
        if not occ.series_id:
            return False
        return not occurrences.series_held_before(self.store, occ.series_id, occ.start)

    def _recent(self, email: str, start: datetime) -> bool:
        last = self.latest.get(email) or last_drafted(self.store, email)
        return last is not None and start - last < self.gap


def last_drafted(store: Store, email: str) -> datetime | None:
    """The start of the latest meeting a follow-up draft to `email` was written for."""
    return drafts.last_meeting_to(store, email, KIND)


def draft_key(occ: Occurrence) -> str:
    """The key of an occurrence's draft: its source and occurrence key."""
    return f"{occ.source}|{occ.key}"


def _emails(people: list[Relationship]) -> str:
    """The `followups.email` value: the tracked addresses, sorted, comma-separated."""
    return ",".join(sorted(p.email for p in people))


def _drafted_elsewhere(store: Store, start: str, emails: str) -> bool:
    """A draft exists for the same meeting (start and people) read from another calendar."""
    return drafts.exists_for_meeting(store, start, emails)


def _write_draft(config: Config, store: Store, meeting: FollowupMeeting, now: datetime) -> str:
    """Queue the draft and record it, in one transaction; returns a line describing it."""
    occ = meeting.occurrence
    transport = config.followups.transport
    message = new_message(
        config, to=[(p.name, p.email) for p in meeting.people],
        subject=f"Thanks: {occ.title or 'our conversation'}",
        text=draft_text(config, store, meeting, now), kind=KIND, key=meeting.key, when=now,
    )
    emails = _emails(meeting.people)
    with store.atomic():
        enqueue(store, message, KIND, transport, now)
        drafts.record(store, meeting.key, emails, now, occ.start, occ.title, transport, KIND)
    who = ", ".join(f"{p.name} <{p.email}>" if p.name else p.email for p in meeting.people)
    start = occ.start.astimezone(config.zone)
    where = f"the outbox's Drafts folder, {DRAFTS_NOTICE}" if transport == OUTBOX else f"{transport} drafts"
    return f"follow-up draft to {who} for {occ.title!r} ({start:%a %d %b %H:%M}) in {where}"


def draft_text(config: Config, store: Store, meeting: FollowupMeeting, now: datetime) -> str:
    """The body: thanks, a line to fill in, an offer to help. Only text the user may send:
    notes and prompts are shown beside the draft in the morning email instead."""
    return render(
        "followup.txt.j2",
        greeting=_join([_first_name(p) for p in meeting.people]),
        title=" ".join(meeting.occurrence.title.split()) or "our conversation",
        when=_when(meeting.occurrence.end, now, config),
    )


def _first_name(person: Relationship) -> str:
    if person.name.strip():
        return person.name.split()[0]
    return person.email.partition("@")[0].split(".")[0].capitalize()


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _when(moment: datetime, now: datetime, config: Config) -> str:
    day, today = moment.astimezone(config.zone).date(), now.astimezone(config.zone).date()
    if day == today:
        return "today"
    if day == today - timedelta(days=1):
        return "yesterday"
    return f"on {moment.astimezone(config.zone):%A}"


# --- what the morning email shows ---------------------------------------------------------

def waiting_drafts(config: Config, store: Store, now: datetime) -> list[dict]:
    """Drafts of the last WAITING_DAYS still waiting: queued, or still in the outbox Drafts.

    Each item: key, emails (list), title, meeting_start (aware), created_at, location.
    Drafts in a mail account count until they are WAITING_DAYS old (the agent cannot see
    whether they were sent).
    """
    since = now - timedelta(days=WAITING_DAYS)
    rows = drafts.written_since(store, since, KIND)
    if not rows:
        return []
    present = _outbox_draft_keys(config, store) if any(r["location"] == OUTBOX for r in rows) else set()
    return [_waiting_item(row) for row in rows
            if row["location"] != OUTBOX or row["key"] in present]


def _outbox_draft_keys(config: Config, store: Store) -> set[str]:
    keys = header_values(drafts_folder(config), KEY_HEADER)
    for row in pending(store):
        if row["kind"] == KIND:
            keys.add(str(parse_raw(row["raw"])[KEY_HEADER]).strip())
    return keys


def _waiting_item(row: dict) -> dict:
    return {
        "key": row["key"], "emails": [e for e in row["email"].split(",") if e],
        "title": row["title"], "location": row["location"], "created_at": row["created_at"],
        "meeting_start": parse_iso(row["meeting_start"]) if row["meeting_start"] else None,
    }
