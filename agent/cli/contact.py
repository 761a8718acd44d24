"""Contact commands: log an interaction, keep, list, edit and delete notes."""
from __future__ import annotations

import json

import click

from agent.cli import main
from agent.cli.app import App
from agent.colleague_check import checked_colleague
from agent.errors import UserError
from agent.interactions import DEFAULT_KIND, KINDS, Interaction, log_interaction, parse_when
from agent.notes import add_note, delete_note, edit_note, notes_of
from agent.relationships import relationship_of
from agent.storage.store import parse_iso

pass_app = click.make_pass_decorator(App)


def colleague_address(app: App, email: str, new: bool = False) -> str:
    """A typed address as the agent keys colleagues, checked (agent/colleague_check.py)."""
    return checked_colleague(app.config, app.store, email, new)


@main.command("log")
@click.argument("email")
@click.option("--when", "when_text", metavar="DATE_OR_ISO",
              help="When it took place: today (default), yesterday, 2026-03-09 (noon), "
                   "or 2026-03-09T15:30 (your zone unless an offset is given).")
@click.option("--kind", type=click.Choice(KINDS), default=DEFAULT_KIND, show_default=True,
              help="What kind of contact it was.")
@click.option("--note", "note_text", metavar="TEXT", default="", help="A private note about it.")
@click.option("--new", "new", is_flag=True, help="Name someone seen in no source yet, on purpose.")
@pass_app
def log_command(app: App, email: str, when_text: str | None, kind: str, note_text: str, new: bool) -> None:
    """Log contact outside the calendar (a call, a coffee, a chat): it counts for status,
    strength and last contact, never as a calendar meeting."""
    _, line = log_contact(app, colleague_address(app, email, new), when_text, kind, note_text)
    click.echo(line)


def log_contact(app: App, address: str, when_text: str | None, kind: str,
                note_text: str) -> tuple[Interaction, str]:
    """Record contact with `address` (checked already); returns it and the line `log` prints."""
    now = app.now()
    at = parse_when(when_text, app.config.zone, now)
    logged = log_interaction(app.store, address, at, kind, note_text, now)
    rel = relationship_of(app.config, app.store, address, now)
    local = at.astimezone(app.config.zone)
    return logged, (f"Logged a {kind} with {address} on {local:%a %d %b %Y %H:%M}; "
                    f"status: {rel.status} (aim: every {rel.cadence_days} days).")


@main.command("note")
@click.argument("args", nargs=-1, metavar="EMAIL TEXT... | --edit ID TEXT... | --delete ID")
@click.option("--edit", "edit_id", type=int, metavar="ID", help="Replace the text of note ID.")
@click.option("--delete", "delete_id", type=int, metavar="ID", help="Delete note ID.")
@click.option("--new", "new", is_flag=True, help="Name someone seen in no source yet, on purpose.")
@pass_app
def note_command(app: App, args: tuple[str, ...], edit_id: int | None, delete_id: int | None,
                 new: bool) -> None:
    """Keep a private note about a colleague; edit or delete one by its id (`touchbase notes`).

    Notes show in `person`, `notes` and your morning email, never in a draft."""
    if edit_id is not None and delete_id is not None:
        raise UserError("give --edit or --delete, not both")
    if delete_id is not None:
        if args:
            raise UserError("--delete takes only the note's id")
        row = delete_note(app.store, delete_id)
        click.echo(f"Deleted note {delete_id} about {row['email']}.")
        return
    if edit_id is not None:
        row = edit_note(app.store, edit_id, " ".join(args))
        click.echo(f"Changed note {edit_id} about {row['email']}.")
        return
    if len(args) < 2:
        raise UserError("usage: touchbase note EMAIL TEXT... (or --edit ID TEXT..., --delete ID)")
    _, line = keep_note(app, colleague_address(app, args[0], new), " ".join(args[1:]))
    click.echo(line)


def keep_note(app: App, address: str, text: str) -> tuple[int, str]:
    """Keep a note about `address` (checked already); returns its id and the line `note` prints."""
    note_id = add_note(app.store, address, text, app.now())
    return note_id, f"Noted for {address} (note {note_id})."


@main.command("notes")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_app
def notes_command(app: App, email: str, as_json: bool) -> None:
    """List your notes about a colleague, newest first, with ids and dates."""
    address = colleague_address(app, email)
    rows = notes_of(app.store, address)
    zone = app.config.zone
    if as_json:
        click.echo(json.dumps([{"id": r["id"], "created": parse_iso(r["created"]).astimezone(zone).isoformat(),
                                "text": r["text"]} for r in rows], indent=2))
        return
    if not rows:
        click.echo(f"No notes about {address}. Add one: touchbase note {address} TEXT")
        return
    for row in rows:
        click.echo(f"{row['id']:>4}  {parse_iso(row['created']).astimezone(zone):%Y-%m-%d}  {row['text']}")
