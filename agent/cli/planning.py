"""Touchbase commands: plan, approve, note, person."""
from __future__ import annotations

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.core import STATUS_HOOKS
from agent.planning import touchbases as tb
from agent.planning.planner import Planner, approve, describe_touchbase

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
