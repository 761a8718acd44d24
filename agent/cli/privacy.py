"""Privacy commands: forget a person, export your own data."""
from __future__ import annotations

import json
from pathlib import Path

import click

from agent.cli import main
from agent.cli.app import App
from agent.colleague_check import checked_to_forget
from agent.errors import UserError
from agent.landscape.letting_go import end_live_series
from agent.planning import touchbases as tb
from agent.privacy import export, forget, forget_beyond_the_store
from agent.storage.private_files import write_private

pass_app = click.make_pass_decorator(App)


@main.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget_command(app: App, email: str, yes: bool) -> None:
    """End the agent's touchbase series with a person, then erase everything about them from
    the store (events keep what others need)."""
    address = checked_to_forget(app.config, app.store, email)
    if not yes and not click.confirm(f"Erase everything about {address}?", default=False):
        raise UserError("nothing erased")
    booked = {row.series_id for row in tb.of_person(app.store, address) if row.state in tb.BOOKED}
    ended: set[str] = set()
    for line in end_live_series(app.config, app.store, address, app.now(), ended):
        click.echo(line)
    for line in forget_beyond_the_store(app.config, app.store, address, app.now()):
        click.echo(line)
    counts = forget(app.store, address, app.now())
    touched = ", ".join(f"{table} {n}" for table, n in counts.items() if n)
    click.echo(f"Forgot {address} ({touched or 'nothing stored'}).")
    if booked - ended:
        raise SystemExit(1)  # erased, but a series is still in a calendar: the line above says where


@main.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@pass_app
def export_command(app: App, output: str | None) -> None:
    """Write your own data (ratings, notes, touchbases, figures) as JSON."""
    text = json.dumps(export(app.config, app.store, app.now()), indent=2, default=str)
    if output:
        write_private(Path(output).expanduser(), text + "\n", "export")
        click.echo(f"Wrote {output}")
    else:
        click.echo(text)
