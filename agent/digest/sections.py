"""The sections of the morning email, each built by one small function.

A builder takes the shared `DigestContext` and returns a `Section` (or None to leave it out).
`SECTION_BUILDERS` is the ordered list the digest renders; a later part adds its own section by
inserting a builder there (`add_section`). Templates render every section the same way, so a
new section needs no template change.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from agent.colleague_figures import colleague_stats
from agent.configuration.loader import Config
from agent.contact_months import ContactMonths, contact_months
from agent.digest.invitations import invitation_filename, proposed_rows
from agent.followups import DRAFT_PROMPTS, waiting_drafts
from agent.inference import ColleagueStats, MeetingRules
from agent.landscape import reconnect
from agent.mail import queue_problems
from agent.own_bookings import booked_between, booked_series
from agent.planning.provenance import Provenance
from agent.planning.readback import occurrences_by_series
from agent.planning.recurrence import schedule_phrase
from agent.planning.touchbases import BOOKED, PROPOSED, Touchbase
from agent.planning.touchbases import load as load_touchbases
from agent.relationships import Relationship, relationships
from agent.storage import digests, instance_moves, job_runs
from agent.storage import notes as kept
from agent.storage.store import Store, parse_iso
from agent.sync import held_text

RECONNECT_LIMIT = 10
FRIDAY_LIMIT = reconnect.WEEKLY_LIMIT
PROBLEM, OK = "problem", "ok"


@dataclass
class Item:
    """One line of a section; `status` picks a colour (due, overdue, booked, on track, ok, problem)."""

    text: str
    status: str = ""
    details: list[str] = field(default_factory=list)


@dataclass
class Section:
    """A titled list of items. `actionable` False: it alone does not make the email worth sending."""

    key: str
    title: str
    items: list[Item]
    summary: str = ""  # a few words for the subject line ("2 meetings today")
    intro: str = ""
    more: int = 0  # items left out
    more_hint: str = ""
    actionable: bool = True
    bars: list[dict] = field(default_factory=list)  # HTML: a table with coloured bars, not the list
    footer: list[str] = field(default_factory=list)  # lines after the items


class DigestContext:
    """What the section builders read, computed once and shared."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self.config, self.store = config, store
        self.zone = config.zone
        self.now = now.astimezone(self.zone)
        self.today: date = self.now.date()

    @cached_property
    def stats(self) -> dict[str, ColleagueStats]:
        """Per colleague figures as of now."""
        return colleague_stats(self.config, self.store, self.now)

    @cached_property
    def relationships(self) -> list[Relationship]:
        """Tracked colleagues in priority order."""
        return relationships(self.config, self.store, self.now, stats=self.stats)

    @cached_property
    def tracked(self) -> dict[str, Relationship]:
        """Tracked colleagues by address."""
        return {r.email: r for r in self.relationships}

    @cached_property
    def proposed(self) -> set[str]:
        """Colleagues whose touchbase is still proposed with a slot ahead (an invitation is attached)."""
        return {row.email for row in proposed_rows(self.store, self.now)}

    @cached_property
    def touchbase_states(self) -> dict[str, set[str]]:
        """Colleague -> the states of their touchbases now (proposed, pending, active, ...)."""
        states: dict[str, set[str]] = {}
        for row in load_touchbases(self.store):
            states.setdefault(row.email, set()).add(row.state)
        return states

    @cached_property
    def drafts(self) -> list[dict]:
        """Follow-up drafts still waiting."""
        return waiting_drafts(self.config, self.store, self.now)

    @cached_property
    def _notes(self) -> dict[str, str]:
        return kept.newest_by_email(self.store)

    def last_note(self, email: str) -> str | None:
        """The newest note about `email` (all notes read in one query)."""
        return self._notes.get(email)

    @cached_property
    def previous_digest_at(self) -> datetime:
        """When the last morning email before today went out (default: a day ago)."""
        last = digests.last_sent_before(self.store, self.today)
        return parse_iso(last) if last else self.now - timedelta(days=1)

    def name(self, email: str) -> str:
        """The display name of a colleague (their address when unknown)."""
        rel = self.tracked.get(email)
        entry = self.stats.get(email)
        return (rel.name if rel else "") or (entry.name if entry else "") or email

    def when(self, moment: datetime | None) -> str:
        """A short local date, "Mon 5 Oct"."""
        if moment is None:
            return "never"
        local = moment.astimezone(self.zone)
        return f"{local:%a} {local.day} {local:%b}"

    def clock(self, moment: datetime) -> str:
        """Local time of day, "09:30"."""
        return f"{moment.astimezone(self.zone):%H:%M}"

    def moment(self, moment: datetime | None) -> str:
        """Local date and time."""
        return "never" if moment is None else f"{self.when(moment)} {self.clock(moment)}"

    def last_met(self, rel: Relationship) -> str:
        """ "last met Mon 5 Oct (12 days ago)" (or "last contact: email, Tue 3 Nov (...)" when
        two-way mail is the latest contact, "last contact ..., logged" when a logged interaction
        is), or that there was no contact in the window."""
        moment = rel.last_contact
        if moment is None:
            return "not met in the last months"
        days = (self.today - moment.astimezone(self.zone).date()).days
        ago = {0: "today", 1: "yesterday"}.get(days, f"{days} days ago")
        if moment == rel.stats.last_seen:
            return f"last met {self.when(moment)} ({ago})"
        if moment == rel.last_emailed:
            return f"last contact: email, {self.when(moment)} ({ago})"
        return f"last contact {self.when(moment)} ({ago}, logged)"


SectionBuilder = Callable[[DigestContext], "Section | None"]


# --- today's meetings ----------------------------------------------------------------------

def today_section(ctx: DigestContext) -> Section | None:
    """Today's meetings with tracked colleagues: last met, last note, open follow-ups. The
    touchbases the agent booked are among them whether a sync has read them back or not (a
    touchbase in the local calendar file invites nobody, so it never counts as a meeting)."""
    start = datetime.combine(ctx.today, time(0), ctx.zone)
    end = start + timedelta(days=1)
    rules = MeetingRules(ctx.config)
    booked = booked_between(ctx.config, ctx.store, start, end)
    synced = list(ctx.store.occurrences(start, end))
    believed = Provenance.of(ctx.config, instance_moves.load(ctx.store))
    own = {id(occ) for items in occurrences_by_series(synced, booked_series(ctx.store), believed).values()
           for occ in items}  # read back from the calendar: listed once, from the agent's record
    meetings = []
    for occ in synced:
        counted = rules.count(occ)
        if counted and id(occ) not in own:
            meetings.append((occ.start, occ.end, occ.title, list(counted.colleagues)))
    meetings += [(item.start, item.end, item.title or "Touchbase", [item.email]) for item in booked]
    items = [item for meeting in sorted(meetings, key=lambda m: m[0])
             if (item := _today_item(ctx, *meeting)) is not None]
    if not items:
        return None
    n = len(items)
    return Section("today", "Today's meetings", items,
                   summary=f"{n} meeting{'s' if n != 1 else ''} today")


def _today_item(ctx: DigestContext, start: datetime, end: datetime, title: str,
                emails: list[str]) -> Item | None:
    people = [ctx.tracked[e] for e in emails if e in ctx.tracked]
    if not people:
        return None
    names = ", ".join(ctx.name(p.email) for p in people)
    text = f"{ctx.clock(start)}-{ctx.clock(end)} {title or '(no title)'} ({names})"
    return Item(text, details=[d for p in people for d in _prep(ctx, p)])


def _prep(ctx: DigestContext, rel: Relationship) -> list[str]:
    lines = [f"{ctx.name(rel.email)}: {ctx.last_met(rel)}"]
    note = ctx.last_note(rel.email)
    if note:
        lines.append(f"last note: {note}")
    for draft in ctx.drafts:
        if rel.email in draft["emails"]:
            lines.append(f"open follow-up: {draft['title'] or 'meeting'} of {ctx.when(draft['meeting_start'])}")
    return lines


# --- who to reconnect with -----------------------------------------------------------------

def _reconnect_candidates(ctx: DigestContext) -> list[Relationship]:
    return [r for r in ctx.relationships
            if r.drifting and not r.let_go and not r.paused(ctx.now)]


def reconnect_section(ctx: DigestContext) -> Section | None:
    """Drifting colleagues in priority order, coloured due / overdue."""
    people = _reconnect_candidates(ctx)
    if not people:
        return None
    shown = people[:RECONNECT_LIMIT]
    months = contact_months(ctx.config, ctx.store, [rel.email for rel in shown], ctx.now)
    items = [_reconnect_item(ctx, rel, months[rel.email]) for rel in shown]
    return Section("reconnect", "Who to reconnect with", items,
                   summary=f"{len(people)} to reconnect with",
                   more=max(0, len(people) - RECONNECT_LIMIT), more_hint="touchbase people")


def _reconnect_item(ctx: DigestContext, rel: Relationship, months: ContactMonths) -> Item:
    text = ctx.name(rel.email) + (f" <{rel.email}>" if ctx.name(rel.email) != rel.email else "")
    details = [f"{ctx.last_met(rel)}; aim: every {rel.cadence_days} days",
               f"contact by month: {months.sparkline()} ({months.span()})"]
    if rel.stats.next_meeting is not None:
        details.append(f"next meeting {ctx.when(rel.stats.next_meeting)}")
    return Item(text, status=rel.status, details=details)


# --- touchbases ----------------------------------------------------------------------------

_STILL = {"touchbase-proposed": (PROPOSED,), "touchbase-created": BOOKED}
"""A line of these kinds is shown only while the colleague has a touchbase in one of the states."""
TOUCHBASE_KINDS = {
    "touchbase-created": "Booked a touchbase with",
    "touchbase-proposed": "Proposed a touchbase with",
    "touchbase-declined": "Declined a touchbase:",
    "touchbase-paused": "Paused (declined repeatedly; left alone for now):",
    "touchbase-ended": "Ended the touchbase with",
    "touchbase-deleted-by-user": "You deleted the touchbase with (it will not be re-created):",
}


def touchbase_section(ctx: DigestContext) -> Section | None:
    """Touchbases created, proposed, declined, paused since the last morning email. Each line
    says what holds now: a proposal booked since (approved, or by a later run) is not listed as
    a proposal, a series ended since is not listed as booked."""
    latest: dict[tuple[str, str], dict] = {}
    for action in ctx.store.actions_since(ctx.previous_digest_at):
        if action["kind"] in TOUCHBASE_KINDS:
            latest[(action["kind"], action["email"])] = action
    for kind, email in list(latest):
        if kind in _STILL and ctx.touchbase_states.get(email, set()).isdisjoint(_STILL[kind]):
            del latest[(kind, email)]
    new_proposals = {email for kind, email in latest if kind == "touchbase-proposed"}
    waiting = [row for row in proposed_rows(ctx.store, ctx.now) if row.email not in new_proposals]
    if not latest and not waiting:
        return None
    order = list(TOUCHBASE_KINDS)
    items = [_touchbase_item(ctx, action) for action in
             sorted(latest.values(), key=lambda a: (order.index(a["kind"]), a["at"], a["id"]))]
    items += [_waiting_proposal_item(ctx, row) for row in waiting]
    proposed = len(new_proposals) + len(waiting)
    intro = "Approve a proposal with: touchbase approve EMAIL" if proposed else ""
    return Section("touchbases", "Touchbases", items, intro=intro,
                   summary=f"{len(items)} touchbase update{'s' if len(items) != 1 else ''}")


def _waiting_proposal_item(ctx: DigestContext, row: Touchbase) -> Item:
    """A proposal of an earlier day still waiting: listed each morning, with its invitation."""
    assert row.start is not None  # proposed_rows only gives proposals with a slot
    start = row.start.astimezone(ctx.zone)
    schedule = schedule_phrase(row.rrule, start, ctx.config.touchbase.duration_minutes, ctx.zone)
    return Item(f"Still proposed: a touchbase with {ctx.name(row.email)}", details=[
        f"{schedule}, first on {ctx.when(start)}; book it with: touchbase approve {row.email}",
        f"or book it in one step: open the attached {invitation_filename(row.email)} in your calendar "
        "app and send the invitation"])


def _touchbase_item(ctx: DigestContext, action: dict) -> Item:
    status = PROBLEM if action["kind"] in ("touchbase-declined", "touchbase-paused") else ""
    details = [action["detail"]] if action["detail"] else []
    upcoming = ctx.stats.get(action["email"])
    if action["kind"] == "touchbase-created" and upcoming and upcoming.next_meeting:
        details.append(f"next meeting {ctx.moment(upcoming.next_meeting)}")
    if action["kind"] == "touchbase-proposed" and action["email"] in ctx.proposed:
        details.append(f"or book it in one step: open the attached {invitation_filename(action['email'])} "
                       "in your calendar app and send the invitation")
    return Item(f"{TOUCHBASE_KINDS[action['kind']]} {ctx.name(action['email'])}", status, details)


MOVE_KINDS = ("touchbase-moved", "touchbase-instance-cancelled")


def moves_section(ctx: DigestContext) -> Section | None:
    """Single touchbase instances the agent moved or cancelled since the last morning email,
    each with where it went and why ("moved your touchbase with Mei from Wed 11 to Thu 12
    10:30: Mei declined it")."""
    actions = [a for a in ctx.store.actions_since(ctx.previous_digest_at) if a["kind"] in MOVE_KINDS]
    if not actions:
        return None
    items = [Item(a["detail"][:1].upper() + a["detail"][1:]) for a in actions]
    return Section("moves", "Touchbases moved", items,
                   summary=f"{len(items)} touchbase{'s' if len(items) != 1 else ''} moved or cancelled")


# --- follow-up drafts ----------------------------------------------------------------------

def drafts_section(ctx: DigestContext) -> Section | None:
    """Follow-up drafts waiting to be finished and sent by the user."""
    if not ctx.drafts:
        return None
    items = []
    for draft in ctx.drafts:
        names = ", ".join(ctx.name(e) for e in draft["emails"])
        where = "outbox Drafts" if draft["location"] == "outbox" else f"{draft['location']} drafts"
        details = [f"in {where}"]
        details += [f"your last note about {ctx.name(e)} (not in the draft): {note}"
                    for e in draft["emails"] if (note := ctx.last_note(e))]
        items.append(Item(f"{draft['title'] or 'Meeting'} ({names}), {ctx.when(draft['meeting_start'])}",
                          details=details))
    n = len(items)
    return Section("drafts", "Follow-up drafts waiting", items,
                   intro="Add a line about what you took away, then send them yourself. "
                         "To write it: " + " ".join(DRAFT_PROMPTS),
                   summary=f"{n} draft{'s' if n != 1 else ''} waiting")


# --- the Friday reconnect list -------------------------------------------------------------

def friday_section(ctx: DigestContext) -> Section | None:
    """On the reconnect day (Fridays by default): who to send an update or reconnect note to,
    each with the draft the follow-ups job wrote this week (agent/landscape/reconnect.py)."""
    if not reconnect.is_reconnect_day(ctx.config, ctx.now):
        return None
    drafted = reconnect.drafted_this_week(ctx.config, ctx.store, ctx.now)
    people = reconnect.friday_list(ctx.relationships, ctx.now, drafted)
    if not people:
        return None
    items = []
    for rel in people[:FRIDAY_LIMIT]:
        details = [ctx.last_met(rel)]
        if rel.stats.next_meeting is not None:
            details.append(f"next meeting {ctx.when(rel.stats.next_meeting)}")
        if note := ctx.last_note(rel.email):
            details.append(f"last note: {note}")
        details += reconnect.private_lines(ctx.store, rel.email)
        if rel.email in drafted:
            details.append(f"{reconnect.note_kind(rel)} note drafted in {reconnect.where(drafted[rel.email])}")
        items.append(Item(ctx.name(rel.email), status=rel.status, details=details))
    n = min(len(people), FRIDAY_LIMIT)
    return Section("friday", "Friday reconnect list", items,
                   intro="A short note to each: share something useful, ask how things are going, "
                         "offer help. Finish the drafts and send them yourself.",
                   summary=f"{n} reconnect note{'s' if n != 1 else ''}",
                   more=max(0, len(people) - FRIDAY_LIMIT), more_hint="touchbase people")


# --- the agent's own health ----------------------------------------------------------------

def health_section(ctx: DigestContext) -> Section:
    """Last successful sync per source, accounts to re-authorise, failing jobs, stuck mail."""
    items = _source_items(ctx) + _job_items(ctx) + [
        Item(line, PROBLEM) for line in queue_problems(ctx.store)]
    problems = sum(1 for item in items if item.status == PROBLEM)
    return Section("health", "Agent health", items, actionable=bool(problems),
                   summary=f"{problems} problem{'s' if problems != 1 else ''}" if problems else "")


def _source_items(ctx: DigestContext) -> list[Item]:
    rows = {row["name"]: row for row in ctx.store.sources()}
    names = [s.name for s in ctx.config.sources] + sorted(set(rows) - {s.name for s in ctx.config.sources})
    return [_source_item(ctx, name, rows.get(name, {})) for name in names]


def _source_item(ctx: DigestContext, name: str, row: dict) -> Item:
    success = parse_iso(row["last_success"]) if row.get("last_success") else None
    text = f"{name}: last synced {ctx.moment(success)}"
    details = []
    if row.get("needs_reauth"):
        details.append(f"needs re-authorising: {row['needs_reauth']}")
    if row.get("suspect"):
        details.append(held_text(ctx.config, name, row["suspect"], ctx.moment(success)))
    if row.get("last_error") and (row.get("last_error_at") or "") >= (row.get("last_success") or ""):
        details.append(f"last error {ctx.moment(parse_iso(row['last_error_at']))}: {row['last_error']}")
    return Item(text, PROBLEM if details or success is None else OK, details)


def _job_items(ctx: DigestContext) -> list[Item]:
    items = []
    for row in job_runs.every_job(ctx.store):
        if row.get("last_error") and (row.get("last_error_at") or "") >= (row.get("last_success") or ""):
            failures = row.get("failures") or 1
            items.append(Item(f"job {row['name']} failing ({failures} time{'s' if failures != 1 else ''})",
                              PROBLEM, [row["last_error"]]))
    return items


SECTION_BUILDERS: list[SectionBuilder] = [
    today_section, reconnect_section, touchbase_section, moves_section, drafts_section, friday_section,
    health_section,
]


def add_section(builder: SectionBuilder, before: SectionBuilder | None = health_section) -> None:
    """Insert `builder` into the morning email (default: just before the health section)."""
    if builder in SECTION_BUILDERS:
        return
    index = SECTION_BUILDERS.index(before) if before in SECTION_BUILDERS else len(SECTION_BUILDERS)
    SECTION_BUILDERS.insert(index, builder)


def build_sections(ctx: DigestContext) -> list[Section]:
    """Every section that has something to show, in order."""
    return [section for builder in SECTION_BUILDERS if (section := builder(ctx)) is not None]

