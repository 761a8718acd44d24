"""The Friday reconnect: who to send an update or reconnect note to this week, with a draft each.

On `[landscape] reconnect_day` (Friday by default, in the user's zone) the list is the drifting
colleagues with nothing booked, without the paused and the let go, in priority order. Each of
them gets one draft per ISO week (at most `WEEKLY_LIMIT` drafts a week), written by the
follow-ups job into the same place as follow-up drafts (`[followups] transport`) through the
same draft path of agent/mail.py, and recorded in the `followups` table (kind "reconnect", key
"reconnect|<email>|<ISO week>") so it is written exactly once. Drafts are never sent.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import datetime

from agent import followups
from agent.configuration.loader import WEEKDAYS, Config
from agent.landscape.matrix import reconnect_list
from agent.mail import OUTBOX, enqueue, flush_outgoing, new_message
from agent.planning.prompts import display_name
from agent.relationships import Relationship, relationships
from agent.storage import drafts, people_records
from agent.storage.store import Store
from agent.templating import render

KIND = "reconnect"
"""The `followups.kind` of a reconnect draft (follow-up drafts are "followup")."""
DRAFT_KIND = followups.KIND
"""The queue kind agent/mail.py stores as a draft and never sends (the follow-up drafts' path)."""
WEEKLY_LIMIT = 10
"""At most this many people (and drafts) a week: about an hour of notes."""
UPDATE, RECONNECT = "update", "reconnect"


def is_reconnect_day(config: Config, now: datetime) -> bool:
    """`now` falls on `[landscape] reconnect_day` in the user's zone."""
    return WEEKDAYS[now.astimezone(config.zone).weekday()] == config.landscape.reconnect_day


def iso_week(config: Config, now: datetime) -> str:
    """The ISO week of `now` in the user's zone, e.g. "2026-W41"."""
    year, week, _ = now.astimezone(config.zone).isocalendar()
    return f"{year}-W{week:02d}"


def draft_key(email: str, week: str) -> str:
    """The `followups` key of the reconnect draft to `email` in `week`."""
    return f"{KIND}|{email}|{week}"


def friday_list(rels: list[Relationship], now: datetime,
                drafted: Collection[str] = ()) -> list[Relationship]:
    """Everyone to write to this week, in priority order (not capped; see WEEKLY_LIMIT).

    Drifting colleagues who are neither paused nor let go (`landscape.reconnect_list`) and have
    no meeting booked (a note is for those the calendar will not bring back by itself), plus
    those already `drafted` this week who are still neither paused nor let go (a touchbase
    booked after the draft does not hide the draft).
    """
    due = {rel.email for rel in reconnect_list(rels, now) if rel.stats.next_meeting is None}
    return [rel for rel in rels if rel.email in due
            or (rel.email in drafted and not rel.let_go and not rel.paused(now))]


def note_kind(rel: Relationship) -> str:
    """"update" for vital people, sponsors and anti-sponsors; "reconnect" for the others."""
    if rel.vital_one or rel.role in ("sponsor", "anti-sponsor"):
        return UPDATE
    return RECONNECT


def drafted_this_week(config: Config, store: Store, now: datetime) -> dict[str, str]:
    """Reconnect drafts written in `now`'s week: address -> where the draft is."""
    suffix = f"|{iso_week(config, now)}"
    return drafts.locations_by_email(store, KIND, suffix)


def where(location: str) -> str:
    """Where a draft stored through `location` can be found, in words."""
    return "the outbox's Drafts folder" if location == OUTBOX else f"your {location} drafts"


def run_reconnect_drafts(config: Config, store: Store, now: datetime) -> list[str]:
    """On the reconnect day, write this week's missing drafts; one line per draft written.

    Nothing on other days, nor when `[followups] enabled` is false (drafts are off).
    """
    if not config.followups.enabled or not is_reconnect_day(config, now):
        return []
    week = iso_week(config, now)
    drafted = drafted_this_week(config, store, now)
    room = WEEKLY_LIMIT - len(drafted)
    people = [rel for rel in friday_list(relationships(config, store, now), now)
              if rel.email not in drafted][:max(0, room)]
    lines = [line for rel in people if (line := _write_draft(config, store, rel, week, now))]
    if lines:
        flush_outgoing(config, store, now)
    return lines


def _write_draft(config: Config, store: Store, rel: Relationship, week: str,
                 now: datetime) -> str:
    """Queue one draft and record it in one transaction; "" when another run was first."""
    transport = config.followups.transport
    key = draft_key(rel.email, week)
    subject = draft_subject(rel)
    message = new_message(config, to=[(rel.name, rel.email)], subject=subject,
                          text=draft_text(config, store, rel), kind=KIND, key=key, when=now)
    try:
        with store.atomic():
            enqueue(store, message, DRAFT_KIND, transport, now)
            drafts.record(store, key, rel.email, now, None, subject, transport, KIND)
    except sqlite3.IntegrityError:
        return ""
    who = f"{rel.name} <{rel.email}>" if rel.name else rel.email
    return f"{note_kind(rel)} note draft to {who} in {where(transport)}"


def draft_subject(rel: Relationship) -> str:
    """The draft's subject line."""
    return "A quick update from my side" if note_kind(rel) == UPDATE else "Catching up"


def draft_text(config: Config, store: Store, rel: Relationship) -> str:
    """The body: a greeting, a line to fill in, a question and an offer to help. Only text the
    user may send: the last note, motivators and demotivators are shown beside the draft in the
    morning email's Friday list (`private_lines`), never in it."""
    last = rel.stats.last_seen
    return render(
        "reconnect.txt.j2",
        kind=note_kind(rel), anti_sponsor=rel.role == "anti-sponsor",
        greeting=_first_name(rel),
        since=f"{last.astimezone(config.zone):%B %Y}" if last else "",
    )


def private_lines(store: Store, email: str) -> list[str]:
    """What motivates and demotivates `email`, for the user's eyes only (the morning email)."""
    row = people_records.motives(store, email)
    labels = ("what motivates them", "what demotivates them")
    return [f"{label}: {value}" for label, value in zip(labels, row, strict=True) if (value or "").strip()]


def _first_name(rel: Relationship) -> str:
    if rel.name.strip():
        return rel.name.split()[0]
    return display_name(rel.email).split()[0]
