"""Touchbase commands: plan, approve, note, person."""
from __future__ import annotations

from datetime import datetime

import click

from agent.addresses import normalise_email
from agent.cli import main
from agent.cli.app import App
from agent.cli.core import STATUS_HOOKS
from agent.notes import add_note, notes_of
from agent.planning import touchbases as tb
from agent.planning.planner import Planner, approve, describe_touchbase
from agent.relationships import is_tracked, relationship_of
from agent.store import parse_iso

pass_app = click.make_pass_decorator(App)


@main.command()
@pass_app
def plan(app: App) -> None:
    """Show what the touchbase planner would do now; changes nothing."""
    app.require_user()
    report = Planner(app.config, app.store, app.now(), apply=False).run()
    limits = app.config.touchbase
    rows = tb.load(app.store)
    active = sum(1 for r in rows if r.state in tb.BOOKED)
    click.echo(f"mode: {limits.mode}; {active} touchbase(s) active of max_active {limits.max_active}, "
               f"at most {limits.max_new_per_day} new a day (`touchbase plan` changes nothing)")
    waiting = [r for r in rows if r.state == tb.PROPOSED and r.email not in
               {a.email for a in report.actions}]
    if report.actions or report.notes or report.errors or not waiting:
        for line in report.lines():
            click.echo(line)
    for row in waiting:
        click.echo(f"Proposed earlier: {row.email}: {describe_touchbase(app.config, row)} "
                   f"(book it with: touchbase approve {row.email})")
    if report.errors:
        raise SystemExit(1)


@main.command("approve")
@click.argument("email")
@pass_app
def approve_command(app: App, email: str) -> None:
    """Book the touchbase proposed for EMAIL (or a new one for a colleague you name)."""
    app.require_user()
    click.echo(approve(app.config, app.store, email, app.now()))


@main.command()
@click.argument("email")
@click.argument("text", nargs=-1, required=True)
@pass_app
def note(app: App, email: str, text: tuple[str, ...]) -> None:
    """Keep a note about EMAIL (shown before your next meeting and in follow-up drafts)."""
    add_note(app.store, email, " ".join(text), app.now())
    click.echo(f"Noted for {normalise_email(email)}.")


@main.command()
@click.argument("email")
@pass_app
def person(app: App, email: str) -> None:
    """Everything about one colleague: figures, status, ratings, touchbases, notes."""
    address = normalise_email(email)
    now = app.now()
    rel = relationship_of(app.config, app.store, address, now)
    rows = tb.of_person(app.store, address)
    notes = notes_of(app.store, address)
    if not rel.stats.meetings and rel.stats.last_seen is None and not rows and not notes and not rel.rated:
        click.echo(f"Nothing known about {address} yet.")
        return
    for line in person_lines(app, rel, rows, notes):
        click.echo(line)


def person_lines(app: App, rel, rows: list[tb.Touchbase], notes: list[dict]) -> list[str]:  # noqa: ANN001
    """The `person` page as lines."""
    zone, now, stats = app.config.zone, app.now(), rel.stats

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "-"

    tracked = "tracked" if is_tracked(app.config, rel) else "not tracked"
    lines = [
        f"{rel.name} <{rel.email}> ({tracked})" if rel.name else f"{rel.email} ({tracked})",
        f"  status:       {rel.status} (aim: every {rel.cadence_days} days)",
        f"  meetings:     {stats.meetings} in the last {app.config.colleagues.window_days} days, "
        f"{stats.one_on_ones} one-on-one; {stats.meetings_past_year} in the past year",
        f"  last met:     {when(stats.last_seen)}",
        f"  next meeting: {when(stats.next_meeting)}",
        f"  organised:    {stats.organised_by_user} by you, {stats.organised_by_them} by them",
    ]
    lines += landscape_lines(app, rel)
    if stats.typical_gap_days is not None:
        lines.append(f"  typical gap:  {stats.typical_gap_days} days")
    if rel.rated:
        ratings = ", ".join(f"{k} {getattr(rel, k)}" for k in ("vital", "quality", "trust")
                            if getattr(rel, k) is not None)
        lines.append(f"  rated:        {ratings or '-'}; role {rel.role}")
        row = app.store.db["people"].get(rel.email)
        for key in ("motivators", "demotivators"):
            if row.get(key):
                lines.append(f"  {key + ':':13} {row[key]}")
    if rel.paused(now):
        lines.append(f"  paused until: {when(rel.paused_until)}")
    if rel.let_go:
        lines.append("  let go:       yes (`touchbase resume` brings them back)")
    lines.append("  touchbases:" + ("" if rows else " none"))
    lines += [f"    {_touchbase_line(app, row, when)}" for row in reversed(rows)]
    lines.append("  notes:" + ("" if notes else " none"))
    lines += [f"    {parse_iso(n['created']).astimezone(zone):%Y-%m-%d}  {n['text']}" for n in notes]
    return lines


def landscape_lines(app: App, rel) -> list[str]:  # noqa: ANN001
    """Inferred frequency, reciprocity and the matrix quadrant of one colleague."""
    from agent.landscape.matrix import place, reciprocity_flags

    window = app.config.colleagues.window_days
    per_month = rel.stats.meetings / window * 30
    stats = rel.stats
    sent, received = len(stats.initiated_by_user), len(stats.initiated_by_them)
    lines = [f"  frequency:    {per_month:.1f} meetings a month (inferred over {window} days)",
             f"  reciprocity:  you sent {sent} invitation(s), they sent {received}"]
    for flag in reciprocity_flags([rel]):
        lines.append(f"                runs one way ({flag.direction}): {flag.suggestion}")
    placed = place(rel, app.config)
    lines.append(f"  quadrant:     {placed.quadrant}: {placed.advice}")
    return lines


def _touchbase_line(app: App, row: tb.Touchbase, when) -> str:  # noqa: ANN001
    text = f"{row.state:9} {row.title or 'touchbase'}"
    if row.start is not None:
        text += f": {describe_touchbase(app.config, row)}"
    if row.declines:
        text += f"; {row.declines} decline(s)"
    if row.ended_at:
        text += f"; ended {when(row.ended_at)}"
    return text


def status_touchbases(app: App) -> None:
    """`touchbase status`: how many touchbases are live against the capacity."""
    rows = tb.load(app.store)
    counts = {state: sum(1 for r in rows if r.state == state) for state in tb.LIVE}
    limits = app.config.touchbase
    click.echo(f"touchbases: {counts[tb.ACTIVE]} active, {counts[tb.PROPOSED]} proposed"
               + (f", {counts[tb.PENDING]} being written" if counts[tb.PENDING] else "")
               + f" (max_active {limits.max_active}, mode {limits.mode})")


STATUS_HOOKS.append(status_touchbases)
