"""Landscape commands: rate, map, let-go, resume."""
from __future__ import annotations

from pathlib import Path

import click

from agent.cli import main
from agent.cli.app import App
from agent.colleague_check import checked_colleague
from agent.contact_months import contact_months
from agent.landscape.letting_go import let_go_now, resume_now
from agent.landscape.map import render_map
from agent.landscape.matrix import matrix, reciprocity_flags
from agent.own_bookings import booked_schedules
from agent.ratings import ROLES, parse_cadence, rate
from agent.relationships import relationships
from agent.storage.private_files import private_folder, write_private

pass_app = click.make_pass_decorator(App)
_SCORE = click.IntRange(1, 5)


@main.command("rate")
@click.argument("email")
@click.option("--vital", type=_SCORE, help="How vital the relationship is to your mission (1-5).")
@click.option("--quality", type=_SCORE, help="How good your communication is (1-5).")
@click.option("--trust", type=_SCORE, help="How much trust there is (1-5).")
@click.option("--role", type=click.Choice(ROLES),
              help="Sponsor (supportive), anti-sponsor (likely to resist) or neutral.")
@click.option("--cadence", help="How often you want to meet: 30d, 2w, 1m (default: [touchbase] cadence_days).")
@click.option("--motivators", help="What motivates them.")
@click.option("--demotivators", help="What demotivates them.")
@click.option("--name", help="Their name, when the calendar does not say it.")
@click.option("--new", "--force", "new", is_flag=True,
              help="Rate someone seen in no source yet, on purpose (--force: the same).")
@pass_app
def rate_command(app: App, email: str, vital: int | None, quality: int | None, trust: int | None,
                 role: str | None, cadence: str | None, motivators: str | None,
                 demotivators: str | None, name: str | None, new: bool) -> None:
    """Rate a colleague (frequency is never rated: it is inferred from the calendar).

    Refused: your own addresses, rooms and resources, addresses outside internal_domains, and
    addresses seen in no source (unless --new)."""
    address = checked_colleague(app.config, app.store, email, new)
    _, line = rate_colleague(app, address, vital=vital, quality=quality, trust=trust, role=role,
                             cadence=cadence, motivators=motivators, demotivators=demotivators,
                             name=name)
    click.echo(line)


RATED = ("vital", "quality", "trust", "role", "cadence_days")
"""The fields `rate` reports back."""


def rate_colleague(app: App, address: str, cadence: str | None = None,
                   **fields: int | str | None) -> tuple[dict, str]:
    """Rate `address` (checked already): `fields` as `rate` takes them, `cadence` as text
    (30d, 2w, 1m); returns the stored row and the line `rate` prints."""
    row = rate(app.store, address, app.now(), cadence_days=parse_cadence(cadence) if cadence else None,
               **fields)
    shown = ", ".join(f"{k}={row[k]}" for k in RATED if row.get(k) is not None)
    return row, f"Rated {row['email']}: {shown or 'tracked'}"


@main.command("map")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), required=True,
              help="Write the map as one self-contained HTML page to this file.")
@pass_app
def map_command(app: App, html_path: str) -> None:
    """Write the relationship matrix, reconnect list and reciprocity flags as HTML."""
    now = app.now()
    rels = relationships(app.config, app.store, now)
    placements = matrix(app.config, rels)
    months = contact_months(app.config, app.store, [p.relationship.email for p in placements], now)
    page = render_map(app.config, placements, reciprocity_flags(rels), now,
                      booked_schedules(app.config, app.store), months=months)
    target = Path(html_path).expanduser()
    private_folder(target.parent)
    write_private(target, page, "map")
    click.echo(f"Wrote the map of {len([r for r in rels if not r.let_go])} colleagues to {target}")


@main.command("let-go")
@click.argument("email")
@pass_app
def let_go_command(app: App, email: str) -> None:
    """Let a relationship go: the agent's touchbase series with them ends now, no reconnect
    reminders, no drafts (undo with resume)."""
    address = checked_colleague(app.config, app.store, email)
    result = let_go_now(app.config, app.store, address, app.now())
    for line in result.lines:
        click.echo(line)
    click.echo(f"Let go of {address}; `touchbase resume {address}` brings them back.")
    if result.still_live:
        raise SystemExit(1)  # part of the work failed: a series could not be ended yet


@main.command("resume")
@click.argument("email")
@pass_app
def resume_command(app: App, email: str) -> None:
    """End a pause or a let-go for a colleague (says what it changed)."""
    click.echo(resume_now(app.store, checked_colleague(app.config, app.store, email), app.now()))
