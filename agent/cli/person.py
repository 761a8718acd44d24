"""`touchbase person EMAIL`: everything about one colleague, as a page or as JSON."""
from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from zoneinfo import ZoneInfo

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.contact import colleague_address
from agent.cli.fold import fold
from agent.contact_months import ContactMonths, contact_months
from agent.interactions import Interaction, interactions_of
from agent.landscape.matrix import place, reciprocity_flags
from agent.notes import notes_of
from agent.planning import touchbases as tb
from agent.planning.planner import describe_touchbase
from agent.relationships import (
    LET_GO,
    NOT_TRACKED,
    PAUSED,
    Relationship,
    is_tracked,
    relationship_of,
    standing,
)
from agent.storage import people_records
from agent.storage.store import parse_iso

pass_app = click.make_pass_decorator(App)
SERIES_ONCE = "a recurring series counts once"


@main.command()
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def person(app: App, email: str, as_json: bool) -> None:
    """Everything about one colleague: figures, status, ratings, touchbases, contact, notes."""
    address = colleague_address(app, email)
    page = PersonPage.load(app, address)
    if as_json:
        click.echo(json.dumps(page.as_dict(), indent=2))
    elif page.empty:
        click.echo(f"Nothing known about {address} yet.")
    else:
        click.echo("\n".join(fold(page.lines())))


class PersonPage:
    """What `person` shows about one colleague."""

    def __init__(self, app: App, rel: Relationship, touchbases: list[tb.Touchbase],
                 notes: list[dict], logged: list[Interaction]) -> None:
        self.app, self.rel, self.touchbases, self.notes, self.logged = app, rel, touchbases, notes, logged
        self.zone: ZoneInfo = app.config.zone
        self.window = app.config.colleagues.window_days

    @classmethod
    def load(cls, app: App, address: str) -> PersonPage:
        """Read everything about `address` as of the app's now."""
        now = app.now()
        return cls(app, relationship_of(app.config, app.store, address, now),
                   tb.of_person(app.store, address), notes_of(app.store, address),
                   interactions_of(app.store, address, until=now))

    @cached_property
    def months(self) -> ContactMonths:
        """Contact per month over the last twelve months."""
        address = self.rel.email
        return contact_months(self.app.config, self.app.store, [address], self.app.now())[address]

    @property
    def empty(self) -> bool:
        """Nothing at all is known about the colleague."""
        rel = self.rel
        return not (rel.stats.meetings or rel.stats.last_seen or rel.stats.next_meeting
                    or self.touchbases or self.notes or self.logged or rel.rated
                    or rel.email_threads)

    def when(self, moment: datetime | None) -> str:
        """A local date and time, or "-"."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "-"

    def lines(self) -> list[str]:
        """The page as lines."""
        rel, stats = self.rel, self.rel.stats
        where = standing(self.app.config, rel, self.app.now())
        lines = [
            f"{rel.name} <{rel.email}> ({where})" if rel.name else f"{rel.email} ({where})",
            f"  status:       {self._status(where)}",
            f"  meetings:     {stats.meetings} in the last {self.window} days, "
            f"{stats.one_on_ones} one-on-one; {stats.meetings_past_year} in the past year",
            f"  last met:     {self.when(stats.last_seen)}",
        ]
        if rel.email_threads:
            lines.append(f"  email:        {rel.email_threads} two-way thread(s) in the last "
                         f"{self.window} days, last {self.when(rel.last_emailed)}")
        if rel.last_contact is not None and rel.last_contact != stats.last_seen:
            how = "email" if rel.last_contact == rel.last_emailed else "logged"
            lines.append(f"  last contact: {self.when(rel.last_contact)} ({how})")
        lines.append(f"  next meeting: {self.when(stats.next_meeting)}")
        lines.append(f"  by month:     {self.months.sparkline()}  {self.months.span()}: meetings, logged, "
                     "email")
        lines += self._landscape_lines()
        lines += self._rating_lines()
        lines += self._touchbase_lines()
        lines += self._logged_lines()
        lines.append("  notes:" + ("" if self.notes else " none"))
        lines += [f"    {n['id']:>3}  {self._day(n['created'])}  {n['text']}" for n in self.notes]
        return lines

    def _status(self, where: str) -> str:
        """The status line in the one vocabulary of people, the email and the map."""
        rel = self.rel
        if where == LET_GO:
            return f"let go (`touchbase resume {rel.email}` brings them back)"
        if where == PAUSED:
            return (f"paused until {self.when(rel.paused_until)} "
                    f"(`touchbase resume {rel.email}` ends the pause)")
        if where == NOT_TRACKED:
            return (f"not tracked (fewer than {self.app.config.landscape.track_min_meetings} meetings "
                    f"in the past year, not rated: `touchbase rate {rel.email}` tracks them)")
        return f"{rel.status} (aim: every {rel.cadence_days} days)"

    def _day(self, text: str) -> str:
        return f"{parse_iso(text).astimezone(self.zone):%Y-%m-%d}"

    def _landscape_lines(self) -> list[str]:
        rel = self.rel
        per_month = rel.stats.meetings / self.window * 30
        lines = [f"  frequency:    {per_month:.1f} meetings a month (inferred over {self.window} days)",
                 f"  reciprocity:  {invitations_text(rel, self.window)}"]
        lines += [f"                runs one way ({flag.direction}): {flag.suggestion}"
                  for flag in reciprocity_flags([rel])]
        if rel.stats.typical_gap_days is not None:
            lines.append(f"  typical gap:  {rel.stats.typical_gap_days} days")
        placed = place(rel, self.app.config)
        lines.append(f"  quadrant:     {placed.quadrant}: {placed.advice}")
        return lines

    def _rating_lines(self) -> list[str]:
        rel, lines = self.rel, []
        if rel.rated:
            ratings = ", ".join(f"{k} {getattr(rel, k)}" for k in ("vital", "quality", "trust")
                                if getattr(rel, k) is not None)
            lines.append(f"  rated:        {ratings or '-'}; role {rel.role}")
            motives = people_records.motives(self.app.store, rel.email)
            lines += [f"  {key + ':':13} {value}" for key, value in
                      zip(("motivators", "demotivators"), motives, strict=True) if value]
        return lines

    def _touchbase_lines(self) -> list[str]:
        lines = ["  touchbases:" + ("" if self.touchbases else " none")]
        return lines + [f"    {self._touchbase_line(row)}" for row in reversed(self.touchbases)]

    def _touchbase_line(self, row: tb.Touchbase) -> str:
        text = f"{row.state:9} {row.title or 'touchbase'}"
        if row.start is not None:
            text += f": {describe_touchbase(self.app.config, row)}"
        if row.declines:
            text += f"; {row.declines} decline(s)"
        if row.ended_at:
            text += f"; ended {self.when(row.ended_at)}"
        return text

    def _logged_lines(self) -> list[str]:
        lines = ["  logged contact:" + ("" if self.logged else " none")]
        for item in self.logged:
            note = f"  {item.note}" if item.note else ""
            lines.append(f"    {item.id:>3}  {self.when(item.at)}  {item.kind}{note}")
        return lines

    def as_dict(self) -> dict:
        """The `person --json` object (times: ISO 8601 in the user's zone, or null)."""
        rel, stats = self.rel, self.rel.stats
        placed = place(rel, self.app.config)

        def iso(moment: datetime | None) -> str | None:
            return moment.astimezone(self.zone).isoformat() if moment else None

        return {
            "email": rel.email, "name": rel.name, "tracked": is_tracked(self.app.config, rel),
            "tracking": standing(self.app.config, rel, self.app.now()),
            "status": rel.status if is_tracked(self.app.config, rel) else None,
            "cadence_days": rel.cadence_days,
            "meetings": stats.meetings, "one_on_ones": stats.one_on_ones,
            "meetings_past_year": stats.meetings_past_year, "last_met": iso(stats.last_seen),
            "last_contact": iso(rel.last_contact), "next_meeting": iso(stats.next_meeting),
            "email_threads": rel.email_threads, "last_emailed": iso(rel.last_emailed),
            "invitations": {"by_you": len(stats.initiated_by_user),
                            "by_them": len(stats.initiated_by_them)},
            "quadrant": placed.quadrant, "strength": placed.strength, "importance": placed.importance,
            "vital": rel.vital, "quality": rel.quality, "trust": rel.trust, "role": rel.role,
            "paused_until": iso(rel.paused_until) if rel.paused(self.app.now()) else None,
            "let_go": rel.let_go,
            "touchbases": [{"state": r.state, "title": r.title, "start": iso(r.start),
                            "rrule": r.rrule, "declines": r.declines, "ended_at": iso(r.ended_at)}
                           for r in self.touchbases],
            "interactions": [i.as_dict(self.zone) for i in self.logged],
            "contact_by_month": self.months.as_dict(),
            "notes": [{"id": n["id"], "created": iso(parse_iso(n["created"])), "text": n["text"]}
                      for n in self.notes],
        }


def invitations_text(rel: Relationship, window: int) -> str:
    """Reciprocity in the project's one vocabulary: invitations sent by each side."""
    sent, received = len(rel.stats.initiated_by_user), len(rel.stats.initiated_by_them)
    return (f"invitations in the last {window} days: you sent {sent}, they sent {received} "
            f"({SERIES_ONCE})")
