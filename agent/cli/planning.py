"""Touchbase commands: plan, approve, note, person."""
from __future__ import annotations

import json
from dataclasses import dataclass

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.core import STATUS_HOOKS, StatusReport
from agent.cli.fold import fold
from agent.colleague_check import checked_colleague
from agent.planning import touchbases as tb
from agent.planning.planner import Planner, approve, describe_touchbase
from agent.planning.report import PlannerReport

pass_app = click.make_pass_decorator(App)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def plan(app: App, as_json: bool) -> None:
    """Show what the touchbase planner would do now; changes nothing."""
    view = plan_view(app)
    report, active, waiting = view.report, view.active, view.waiting
    limits = app.config.touchbase
    if as_json:
        click.echo(json.dumps(plan_json(app, view), indent=2))
    else:
        lines = [f"mode: {limits.mode}; {active} touchbase(s) active of max_active {limits.max_active}, "
                 f"at most {limits.max_new_per_day} new a day (`touchbase plan` changes nothing)"]
        if report.actions or report.notes or report.errors or not waiting:
            lines += report.lines()
        lines += [f"Proposed earlier: {row.email}: {describe_touchbase(app.config, row)} "
                  f"(book it with: touchbase approve {row.email})" for row in waiting]
        click.echo("\n".join(fold(lines)))
    if report.errors:
        raise SystemExit(1)


@dataclass
class PlanView:
    """What `plan` reports: the dry run, the touchbases booked, the proposals still waiting."""

    report: PlannerReport
    active: int
    waiting: list[tb.Touchbase]


def plan_view(app: App) -> PlanView:
    """Run the planner as of the app's now without changing anything."""
    app.require_user()
    report = Planner(app.config, app.store, app.now(), apply=False).run()
    rows = tb.load(app.store)
    active = sum(1 for r in rows if r.state in tb.BOOKED)
    waiting = [r for r in rows if r.state == tb.PROPOSED and r.email not in
               {a.email for a in report.actions}]
    return PlanView(report, active, waiting)


def plan_json(app: App, view: PlanView) -> dict:
    """The `plan --json` object: what the planner would do, and the proposals still waiting."""
    report, active, waiting = view.report, view.active, view.waiting
    limits = app.config.touchbase
    return {
        "mode": limits.mode, "changes_nothing": True, "active": active,
        "max_active": limits.max_active, "max_new_per_day": limits.max_new_per_day,
        "actions": [{"kind": a.kind, "email": a.email, "name": a.name, "detail": a.detail,
                     "text": a.line(applied=False)} for a in report.actions],
        "proposed_earlier": [{"email": r.email, "when": describe_touchbase(app.config, r)} for r in waiting],
        "notes": report.notes, "errors": report.errors,
    }


@main.command("approve")
@click.argument("email")
@click.option("--new", "--force", "new", is_flag=True,
              help="Book someone seen in no source yet, on purpose (--force: the same).")
@pass_app
def approve_command(app: App, email: str, new: bool) -> None:
    """Book the touchbase proposed for EMAIL (or a new one for a colleague you name).

    Refused: your own addresses, rooms and resources, addresses outside internal_domains, and
    addresses seen in no source (unless --new)."""
    app.require_user()
    address = checked_colleague(app.config, app.store, email, new)
    click.echo(approve(app.config, app.store, address, app.now()))


def status_touchbases(app: App, report: StatusReport) -> None:
    """`touchbase status`: how many touchbases are live against the capacity."""
    rows = tb.load(app.store)
    counts = {state: sum(1 for r in rows if r.state == state) for state in tb.LIVE}
    limits = app.config.touchbase
    report.add("touchbases", {**counts, "max_active": limits.max_active, "mode": limits.mode},
               f"touchbases: {counts[tb.ACTIVE]} active, {counts[tb.PROPOSED]} proposed"
               + (f", {counts[tb.PENDING]} being written" if counts[tb.PENDING] else "")
               + f" (max_active {limits.max_active}, mode {limits.mode})")


STATUS_HOOKS.append(status_touchbases)
