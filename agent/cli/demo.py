"""`touchbase demo`: a synthetic year of a team's calendar, synced and explained, no setup needed."""
from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.core import pass_app
from agent.config import Config
from agent.demo import DEMO_NOW, DemoSetup, create_demo, default_demo_dir
from agent.errors import SourceError
from agent.people import people_rows
from agent.relationships import Relationship, relationships
from agent.store import Store, parse_iso
from agent.sync import sync_all

TOP = 5
MAIL_LINES = 22
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
    results = sync_all(config, store, now)
    failed = [r for r in results if not r.ok]
    if failed:
        raise SourceError(failed[0].name, failed[0].error)
    occurrences = sum(r.occurrences for r in results)
    rels = relationships(config, store, now)
    echo_header(setup, now, occurrences)
    echo_top(people_rows(config, store, now), config.colleagues.window_days)
    echo_drifting(rels, now)
    echo_next(rels, setup)
    echo_agent(config, store, now, rels)
    click.echo(f"\nLook around:  touchbase --config {setup.config_path} people")


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
    drifting = [r for r in rels if r.drifting and not r.let_go]
    click.echo(f"\nWho is drifting ({len(drifting)} of {len(rels)} tracked colleagues)")
    if not drifting:
        click.echo("  nobody: every tracked colleague is on track")
    width = max((len(r.name or r.email) for r in drifting), default=10)
    for rel in drifting:
        last = rel.stats.last_met.astimezone(now.tzinfo) if rel.stats.last_met else None
        since = f"last met {int(rel.days_since)} days ago ({_day(last, year=True)})" if last else "never met"
        click.echo(f"  {rel.status:8} {(rel.name or rel.email):{width}}  {since}")


def echo_next(rels: list[Relationship], setup: DemoSetup) -> None:
    """What the user could do next, naming only commands that exist."""
    drifting = [r for r in rels if r.drifting and not r.let_go]
    click.echo("\nWhat to do next")
    if drifting:
        names = " and ".join(_first(r) for r in drifting[:2])
        click.echo(f"  - Reconnect with {names} first: a 30-minute touchbase a month is enough.")
    cfg = f"touchbase --config {setup.config_path}"
    hints = [
        ("person", f"See one colleague in detail:  {cfg} person {drifting[0].email}"
         if drifting else ""),
        ("plan", f"Preview what the agent would book:  {cfg} plan"),
        ("map", f"See the whole landscape:  {cfg} map"),
        ("init", "Run it on your own calendar:  touchbase init"),
    ]
    for command, text in hints:
        if text and command in main.commands:
            click.echo(f"  - {text}")


# --- what the agent did (shown once the agent loop exists) ------------------------------------


def echo_agent(config: Config, store: Store, now: datetime, rels: list[Relationship]) -> None:
    """Run the agent loop once and show its touchbases, a draft and the morning email."""
    try:
        jobs = importlib.import_module("agent.jobs")
    except ImportError:
        return
    with _quiet("agent"):
        results = jobs.run_once(config, store, now)
    for result in results:
        if not result.ok and _MISSING not in result.error:
            click.echo(f"\n(the {result.name} step failed: {result.error})")
    names = {r.email: r.name for r in rels}
    echo_touchbases(config, store, names)
    echo_mail("Follow-up draft (never sent; waiting in your drafts)",
              _maildir_messages(config.outbox_path / "Drafts"))
    echo_mail(f"Morning email of {_day(now)}", _maildir_messages(config.outbox_path))


def echo_touchbases(config: Config, store: Store, names: dict[str, str]) -> None:
    """The touchbase series the planner wrote, and the calendar file that holds them."""
    if "touchbases" not in store.db.table_names():
        return
    rows = sorted(store.db["touchbases"].rows_where("ended_at IS NULL"),
                  key=lambda r: (r.get("start") or "", r["email"]))
    if not rows:
        return
    where = config.local_calendar_path
    click.echo(f"\nTouchbases planned ({len(rows)}), in {where}" if where.exists()
               else f"\nTouchbases planned ({len(rows)})")
    zone = config.zone
    for row in rows:
        start = parse_iso(row["start"]).astimezone(zone) if row.get("start") else None
        when = f"from {_day(start)} {start:%H:%M}" if start else ""
        state = f" [{row['state']}]" if row.get("state") not in (None, "", "active") else ""
        click.echo(f"  {names.get(row['email']) or row['email']}: {row.get('title') or 'touchbase'}"
                   f", monthly ({row.get('rrule') or ''}) {when}{state}".rstrip())


def echo_mail(heading: str, messages: list[tuple[Path, EmailMessage]]) -> None:
    """One message of a Maildir folder: where it is, its subject and its text part."""
    if not messages:
        return
    path, message = messages[0]
    more = f", and {len(messages) - 1} more" if len(messages) > 1 else ""
    click.echo(f"\n{heading}: in {path.parent}{more}")
    click.echo(f"  To: {message['To']}")
    click.echo(f"  Subject: {message['Subject']}")
    lines = _text_of(message).strip("\n").splitlines()
    for line in lines[:MAIL_LINES]:
        click.echo(f"  | {line}".rstrip())
    if len(lines) > MAIL_LINES:
        click.echo(f"  | ... ({len(lines) - MAIL_LINES} more lines in the file)")


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


def _day(moment: datetime | None, year: bool = False) -> str:
    if moment is None:
        return "-"
    text = f"{moment:%a} {moment.day} {moment:%b}"
    return f"{text} {moment.year}" if year else text


def _first(rel: Relationship) -> str:
    return rel.name or rel.email

