"""`touchbase demo`: a synthetic year of a team's calendar, synced and explained, no setup needed."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.core import pass_app
from agent.colleague_figures import people_rows
from agent.configuration.loader import Config
from agent.contact_months import contact_months
from agent.demo import DEMO_NOW, DemoSetup, create_demo, default_demo_dir, seed_store
from agent.errors import SourceError
from agent.landscape.map import render_map
from agent.landscape.matrix import KEEP_STRONG, MAINTAIN, START_HERE, WATCH, matrix, reciprocity_flags
from agent.planning.recurrence import schedule_phrase
from agent.relationships import Relationship, relationships
from agent.storage import own_series
from agent.storage.store import Store, parse_iso
from agent.sync import sync_all

TOP = 5
MAIL_LINES = 18
MAP_FILE = "map.html"
_MISSING = "is not available in this installation"


@main.command()
@click.option("--dir", "folder", metavar="PATH",
              help="Demo data folder (default: the platform data dir / demo). It is wiped "
                   "and rebuilt on every run; a non-empty folder not made by the demo is refused.")
@pass_app
def demo(app: App, folder: str | None) -> None:
    """Try touchbase on a synthetic year of a team's calendar: no accounts, no config.

    Uses the instant given with --now, else a fixed Tuesday 09:00 in Berlin, so the
    output is the same on every run.
    """
    now = app.fixed_now or DEMO_NOW
    setup = create_demo(Path(folder) if folder else default_demo_dir(), now)
    app.use_config(setup.config)
    app.fixed_now = now
    config, store, now = setup.config, app.store, app.now()
    seed_store(store, now)
    results = sync_all(config, store, now)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SourceError(failed[0].name, failed[0].error)
    rels = relationships(config, store, now)
    echo_header(setup, now, sum(r.occurrences for r in results))
    echo_top(people_rows(config, store, now), config.colleagues.window_days)
    echo_drifting(rels, now)
    echo_landscape(config, rels, setup.folder / MAP_FILE)
    shown = echo_agent(config, store, now, rels)
    write_map(config, store, now, setup.folder / MAP_FILE)  # as things stand after the agent acted
    echo_next(rels, setup, shown)


def echo_header(setup: DemoSetup, now: datetime, occurrences: int) -> None:
    """Where the demo is and what it read."""
    click.echo(f"touchbase demo: the Northwind team, as of {_day(now, year=True)} "
               f"{now:%H:%M} ({now.tzinfo})")
    click.echo(f"A synthetic year of your calendar: {setup.events} events, "
               f"{occurrences} occurrences synced.")
    click.echo(f"Demo folder: {setup.folder}")


def echo_top(rows: list[dict], window_days: int) -> None:
    """Who the user meets most, with counts."""
    click.echo(f"\nWho you meet most (last {window_days} days)")
    width = max((len(r["name"] or r["email"]) for r in rows[:TOP]), default=10)
    for row in rows[:TOP]:
        last = _day(parse_iso(row["last_met"])) if row["last_met"] else "-"
        click.echo(f"  {(row['name'] or row['email']):{width}}  {row['meetings']:>3} meetings"
                   f"  {row['one_on_ones']:>3} 1:1s   last met {last}")


def echo_drifting(rels: list[Relationship], now: datetime) -> None:
    """Tracked colleagues who are due or overdue, most urgent first."""
    drifting = _drifting(rels)
    click.echo(f"\nWho is drifting ({len(drifting)} of {len(rels)} tracked colleagues)")
    if not drifting:
        click.echo("  nobody: every tracked colleague is on track")
    width = max((len(_name(r)) for r in drifting), default=10)
    for rel in drifting:
        last = rel.stats.last_met.astimezone(now.tzinfo) if rel.stats.last_met else None
        since = (f"last met {_days_ago(last, now)} days ago ({_day(last, year=True)})"
                 if last else "never met")
        click.echo(f"  {rel.status:8} {_name(rel):{width}}  {since}")


def echo_landscape(config: Config, rels: list[Relationship], map_path: Path) -> None:
    """The matrix as four lines of names (the HTML map is written at `map_path` once the agent
    has acted)."""
    placements = matrix(config, rels)
    click.echo(f"\nYour landscape (how vital x how strong); map: {map_path}")
    for quadrant in (START_HERE, KEEP_STRONG, MAINTAIN, WATCH):
        names = [_name(p.relationship) + _role(p.relationship)
                 for p in placements if p.quadrant == quadrant]
        click.echo(f"  {quadrant:16}  {', '.join(names) or '-'}")
    first = next((p for p in placements if p.quadrant == START_HERE), None)
    if first is not None:
        click.echo(f"  {_name(first.relationship)}: {first.advice}")


def write_map(config: Config, store: Store, now: datetime, map_path: Path) -> None:
    """The HTML map next to the demo's files, from the store as it is now: a colleague the
    agent just booked reads booked there, as in `person` and the morning email."""
    rels = relationships(config, store, now)
    placements = matrix(config, rels)
    months = contact_months(config, store, [p.relationship.email for p in placements], now)
    map_path.write_text(render_map(config, placements, reciprocity_flags(rels), now, months=months),
                        encoding="utf-8")


def echo_next(rels: list[Relationship], setup: DemoSetup, shown: Shown) -> None:
    """What the user could do next, naming only commands that exist."""
    drifting = _drifting(rels)
    waiting = [r for r in drifting if r.email not in shown.booked]
    click.echo("\nWhat to do next")
    if shown.calendar:
        click.echo(f"  - Import or subscribe to {shown.calendar} to see the touchbases in your calendar.")
    if shown.draft_to:
        click.echo(f"  - Add a line of your own to the draft for {shown.draft_to} and send it yourself.")
    names = " and ".join(_name(r) for r in waiting[:2])
    if waiting and shown.booked:
        click.echo(f"  - {names} come next: the agent books at most "
                   f"{setup.config.touchbase.max_new_per_day} new touchbases a day.")
    elif waiting:
        click.echo(f"  - Reconnect with {names} first: a 30-minute touchbase a month is enough.")
    cfg = f"touchbase --config {setup.config_path}"
    hints = [
        ("people", f"Everyone, with figures:  {cfg} people"),
        ("person", f"One colleague in detail:  {cfg} person {(waiting or drifting)[0].email}"
         if drifting else ""),
        ("init", "Your own calendar:  touchbase init"),
    ]
    for command, text in hints:
        if text and command in main.commands:
            click.echo(f"  - {text}")


# --- what the agent did (shown once the agent loop exists) ------------------------------------


@dataclass
class Shown:
    """What the agent section showed, for the next steps."""

    booked: list[str] = field(default_factory=list)  # emails with a touchbase
    calendar: Path | None = None
    draft_to: str = ""


def echo_agent(config: Config, store: Store, now: datetime, rels: list[Relationship]) -> Shown:
    """Run the agent loop once and show its touchbases, a draft and the morning email."""
    try:
        jobs = importlib.import_module("agent.daemon.jobs")
    except ImportError:
        return Shown()
    with _quiet("agent"):
        results = jobs.run_once(config, store, now)
    for result in results:
        if not result.ok and _MISSING not in result.error:
            click.echo(f"\n(the {result.name} step failed: {result.error})")
    names = {r.email: _name(r) for r in rels}
    shown = Shown(booked=echo_touchbases(config, store, names))
    if shown.booked and config.local_calendar_path.exists():
        shown.calendar = config.local_calendar_path
    drafts = _maildir_messages(config.outbox_path / "Drafts")
    if drafts:
        shown.draft_to = _recipient(drafts[0][1])
        echo_mail(f"Follow-up draft to {shown.draft_to}, never sent", drafts)
    echo_mail("Morning email", _maildir_messages(config.outbox_path), outline=True)
    return shown


def echo_touchbases(config: Config, store: Store, names: dict[str, str]) -> list[str]:
    """The touchbase series the planner wrote, and the calendar file that holds them."""
    rows = sorted((row for row in own_series.rows(store) if row["ended_at"] is None),
                  key=lambda r: (r.get("start") or "", r["email"]))
    if not rows:
        return []
    where = config.local_calendar_path
    click.echo(f"\nTouchbases booked by the agent ({len(rows)})"
               + (f", in {where}" if where.exists() else ""))
    zone, minutes = config.zone, config.touchbase.duration_minutes
    for row in rows:
        start = parse_iso(row["start"]).astimezone(zone) if row.get("start") else None
        when = (f"{schedule_phrase(row.get('rrule') or '', start, minutes, zone)}, "
                f"first on {_day(start)}") if start else "not yet placed"
        state = f" [{row['state']}]" if row.get("state") not in (None, "", "active") else ""
        click.echo(f"  {names.get(row['email']) or row['email']}: {when}{state}")
    return [row["email"] for row in rows]


def echo_mail(heading: str, messages: list[tuple[Path, EmailMessage]], outline: bool = False) -> None:
    """One message of a Maildir folder: where it is, its subject and its text (or its outline)."""
    if not messages:
        return
    path, message = messages[0]
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    click.echo(f"\n{heading}: in {path.parent}{more}")
    click.echo(f"  Subject: {message['Subject']}")
    text = _text_of(message)
    lines = (outline and outline_of(text)) or [line for line in text.splitlines() if line.strip()]
    for line in lines[:MAIL_LINES]:
        click.echo(f"  | {line}".rstrip())
    if len(lines) > MAIL_LINES:
        click.echo(f"  | ... ({len(lines) - MAIL_LINES} more lines in the file)")


def outline_of(text: str) -> list[str]:
    """The headings (underlined with dashes) and top-level "- " items of a text mail.

    Empty when the text has no such headings; the details stay in the file.
    """
    lines = text.split("\n-- \n")[0].splitlines()
    headings = {i for i in range(len(lines) - 1)
                if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}}
    if not headings:
        return []
    result = []
    for i, line in enumerate(lines):
        if i in headings:
            result.append(line)
        elif line.startswith("- ") and any(h < i for h in headings):
            result.append(f"  {line}")
    return result


def _maildir_messages(folder: Path) -> list[tuple[Path, EmailMessage]]:
    """The messages in folder/new and folder/cur, in a stable order (subject, recipient)."""
    found = []
    for sub in ("new", "cur"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if path.is_file() and not path.name.startswith("."):
                with path.open("rb") as handle:
                    message = BytesParser(policy=policy.default).parse(handle)
                found.append((path, message))
    found.sort(key=lambda item: (str(item[1]["Subject"]), str(item[1]["To"]), item[0].name))
    return found


def _recipient(message: EmailMessage) -> str:
    header = message["To"]
    addresses = getattr(header, "addresses", ())
    return (addresses[0].display_name or addresses[0].addr_spec) if addresses else str(header or "")


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Keep a logger's errors off the terminal: the demo reports failures in its own words."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _days_ago(moment: datetime, now: datetime) -> int:
    """Calendar days between `moment` and `now` (in `now`'s zone)."""
    return (now.date() - moment.astimezone(now.tzinfo).date()).days


def _drifting(rels: list[Relationship]) -> list[Relationship]:
    return [r for r in rels if r.drifting and not r.let_go]


def _name(rel: Relationship) -> str:
    return rel.name or rel.email


def _role(rel: Relationship) -> str:
    return f" ({rel.role})" if rel.role in ("sponsor", "anti-sponsor") else ""


def _day(moment: datetime | None, year: bool = False) -> str:
    if moment is None:
        return "-"
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return f"{text} {moment.year}" if year else text
