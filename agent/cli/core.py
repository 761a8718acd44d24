"""Foundation commands: sync, people, status (init is in agent/cli/setup.py)."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from agent.cli import main
from agent.cli.app import App, reported_by_command
from agent.cli.fold import fold
from agent.colleague_figures import colleague_stats, people_rows
from agent.errors import UserError
from agent.ratings import ROLES
from agent.safe_text import one_line
from agent.storage import mail_contacts, notices
from agent.storage.store import parse_iso
from agent.sync import SourceResult, held_text, sync_all
from connectors import MAIL_ONLY_TYPES

if TYPE_CHECKING:
    from agent.configuration.loader import Config
    from agent.relationships import Relationship

pass_app = click.make_pass_decorator(App)

STATUSES = ("on-track", "booked", "due", "overdue")
"""The values of `people --status` (a status with its space as a hyphen)."""


def progress_printer() -> Callable[[int, int], None]:
    """A progress callback that shows a bar on stderr once a read is long."""
    state: dict = {"bar": None, "done": 0}

    def report(done: int, total: int) -> None:
        bar = state["bar"]
        if bar is None:
            if total < 2000:
                return
            bar = state["bar"] = click.progressbar(length=total, label="Reading events",
                                                   file=sys.stderr)
            bar.__enter__()
        bar.update(done - state["done"])
        state["done"] = done
        if done >= total:
            bar.__exit__(None, None, None)
            state["bar"], state["done"] = None, 0

    return report


@main.command()
@click.option("--accept-loss", is_flag=True,
              help="Believe a sudden loss at once: a source that answers empty, or with more than "
                   "[sync] max_loss_percent of its events gone, is taken as it is instead of held.")
@pass_app
def sync(app: App, accept_loss: bool) -> None:
    """Read every calendar source (and mail source) into the local store."""
    with reported_by_command(app.verbose, "agent.sync"):
        results = sync_all(app.config, app.store, app.now(), progress_printer(), accept_loss)
    if not results:
        raise UserError(f"{app.path}: no [[sources]] to sync; add one "
                        "(`touchbase init` writes an example)")
    for result in results:
        if not result.ok:
            error = (result.error or "").removeprefix(f"{result.name}: ")  # the source named once
            click.echo(f"{result.name}: FAILED: {error}", err=True)
            continue
        if result.calendar:
            click.echo(f"{result.name}: {_sync_outcome(result)}")
        if result.mail_messages is not None:
            click.echo(f"{result.name}: mail: {result.mail_messages} counted message(s) read")
        for line in result.skipped:
            click.echo(f"  {one_line(line)}", err=True)
        if result.skipped:
            click.echo(f"  {len(result.skipped)} malformed event(s) skipped", err=True)
    if not all(r.ok for r in results):
        raise SystemExit(1)  # any part of the work failed (a partial sync included)


def _sync_outcome(result: SourceResult) -> str:
    """What one source's sync did, in a few words."""
    if result.held:
        return (f"HELD: {result.held}; kept the previous state until a later answer confirms it "
                "(`touchbase sync --accept-loss` believes it now)")
    what = "unchanged" if result.unchanged else f"{result.occurrences} occurrences read"
    return what + (f" ({result.confirmed}: believed)" if result.confirmed else "")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option("--status", "status_filter", type=click.Choice(STATUSES),
              help="Only tracked colleagues with this status.")
@click.option("--role", type=click.Choice(ROLES),
              help="Only tracked colleagues with this role.")
@click.option("--quadrant", type=click.Choice(["start-here", "keep-strong", "maintain-lightly", "let-it-rest"]),
              help="Only tracked colleagues in this quadrant of the matrix.")
@click.option("--tracked", is_flag=True, help="Only tracked colleagues.")
@click.option("--sort", "sort_by", type=click.Choice(["meetings", "priority", "last-met", "name"]),
              default="meetings", show_default=True, help="Order of the list.")
@pass_app
def people(app: App, as_json: bool, status_filter: str | None, role: str | None,
           quadrant: str | None, tracked: bool, sort_by: str) -> None:
    """The colleagues you meet, with counts, last and next meeting, status and quadrant."""
    rows = people_json(app, status_filter, role, quadrant, tracked, sort_by)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("Nobody to show: run `touchbase sync` first, or loosen the filters.")
        return
    click.echo(format_people_table(rows))


def people_json(app: App, status_filter: str | None = None, role: str | None = None,
                quadrant: str | None = None, tracked: bool = False, sort_by: str = "meetings") -> list[dict]:
    """The `people --json` list: every colleague in `sort_by` order, filtered as the options of
    `people` say (a filter on status, role or quadrant keeps tracked colleagues only)."""
    app.require_user()  # without it no meeting can count
    rows = annotated_people(app, sort_by)
    wanted = {"status": status_filter, "role": role, "quadrant": quadrant}
    for key, value in wanted.items():
        if value:
            rows = [r for r in rows if (r.get(key) or "").replace(" ", "-") == value]
    if tracked or any(wanted.values()):
        rows = [r for r in rows if r.get("tracked")]
    return rows


def annotated_people(app: App, sort_by: str = "meetings") -> list[dict]:
    """`people_rows` plus, for tracked colleagues, status, role, quadrant and priority."""
    from agent.landscape.matrix import place
    from agent.relationships import NOT_TRACKED, relationships, standing

    now = app.now()
    stats = colleague_stats(app.config, app.store, now)  # once: it reads every occurrence
    rows = {r["email"]: r for r in people_rows(app.config, app.store, now, stats)}
    for rank, rel in enumerate(relationships(app.config, app.store, now, stats), start=1):
        row = rows.setdefault(rel.email, _empty_row(rel))
        placed = place(rel, app.config)
        row.update(tracked=True, status=rel.status, role=rel.role, quadrant=placed.quadrant,
                   priority=rank, let_go=rel.let_go, paused=rel.paused(now),
                   tracking=standing(app.config, rel, now))
    for row in rows.values():
        row.setdefault("tracking", NOT_TRACKED)
    ordered = list(rows.values())
    keys = {
        "meetings": lambda r: (-r["meetings"], r["email"]),
        "priority": lambda r: (r.get("priority") or 10**9, r["email"]),
        "last-met": lambda r: (r["last_met"] or "", r["email"]),
        "name": lambda r: ((r["name"] or r["email"]).lower(), r["email"]),
    }
    ordered.sort(key=keys[sort_by])
    return ordered


def _empty_row(rel: Relationship) -> dict:
    return {"email": rel.email, "name": rel.name, "meetings": 0, "one_on_ones": 0,
            "last_met": None, "next_meeting": None, "organised_by_user": 0, "organised_by_them": 0,
            "typical_gap_days": None, "meetings_past_year": 0, "last_contact": None,
            "interactions": [], "email_threads": 0, "last_emailed": None}


TABLE_COLUMNS = (("name", 13, "<"), ("email", 29, "<"), ("mtgs", 4, ">"), ("last", 10, "<"),
                 ("status", 8, "<"), ("quadrant", 11, "<"))
"""The `people` table: 80 columns wide at most (the full figures are in `people --json`)."""
SHORT_QUADRANTS = {"maintain lightly": "maintain"}


def format_people_table(rows: list[dict]) -> str:
    """A readable fixed-width table of `people_rows`, at most 80 columns wide."""
    from agent.planning.prompts import display_name

    header = " ".join(_cell(name, width, "<") for name, width, _ in TABLE_COLUMNS).rstrip()
    lines = [header, "-" * len(header)]
    for row in rows:
        values = (row["name"] or display_name(row["email"]), row["email"], str(row["meetings"]),
                  (row.get("last_contact") or row["last_met"] or "-")[:10], _status_cell(row),
                  SHORT_QUADRANTS.get(row.get("quadrant") or "-", row.get("quadrant") or "-"))
        cells = [_cell(v, width, align) for v, (_, width, align) in zip(values, TABLE_COLUMNS, strict=True)]
        lines.append(" ".join(cells).rstrip())
    if any(_status_cell(row) == "-" for row in rows):
        lines.append("status -: not tracked (`touchbase rate EMAIL` tracks someone)")
    return "\n".join(lines)


def _status_cell(row: dict) -> str:
    """The status of a tracked colleague; "let go" or "paused" (the standing) for those left
    alone; "-" for one not tracked (the table's legend says so)."""
    tracking = row.get("tracking") or "not tracked"
    if tracking in ("let go", "paused"):
        return tracking
    return (row.get("status") or "-") if tracking == "tracked" else "-"


def _cell(text: str, width: int, align: str) -> str:
    """`text` in `width` columns, cut with an ellipsis when longer."""
    if len(text) > width:
        text = text[:width - 1] + "\u2026"
    return f"{text:{align}{width}}"


class StatusReport:
    """What `status` shows: lines of text, and the same facts as one JSON object (`--json`).

    Times are shown in the user's zone; in JSON as ISO 8601 with the offset.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.lines: list[str] = []
        self.data: dict[str, Any] = {}

    def add(self, key: str, value: Any, *lines: str) -> None:
        """Record `value` under `key` in the JSON, and `lines` in the text."""
        self.data[key] = value
        self.lines.extend(lines)

    def when(self, text: str | None) -> str:
        """A stored UTC time as local "2026-03-10 09:00", or "never"."""
        return f"{parse_iso(text).astimezone(self.zone):%Y-%m-%d %H:%M}" if text else "never"

    def iso(self, text: str | None) -> str | None:
        """A stored UTC time as local ISO 8601 with offset, or None."""
        return parse_iso(text).astimezone(self.zone).isoformat() if text else None


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def status(app: App, as_json: bool) -> None:
    """Sources, last successful sync, errors and counts (times in your zone)."""
    report = status_report(app)
    click.echo(json.dumps(report.data, indent=2) if as_json else "\n".join(fold(report.lines)))


def status_report(app: App) -> StatusReport:
    """What `status` shows (its text lines, and in `report.data` the `status --json` object)."""
    config, store = app.config, app.store
    report = StatusReport(config.zone)
    count = store.occurrence_count()
    report.add("config", str(config.path), f"config: {config.path}")
    report.add("store", {"path": str(config.store_path), "occurrences": count},
               f"store:  {config.store_path} ({count} occurrences)")
    rows = {row["name"]: row for row in store.sources()}
    calendars = [s.name for s in config.sources if s.type not in MAIL_ONLY_TYPES]
    names = calendars + [n for n in rows if n not in {s.name for s in config.sources}]
    report.add("sources", [_source_status(report, config, name, rows.get(name, {}),
                                          notices.of_source(store, name)) for name in names])
    mail = {row["source"]: row for row in mail_contacts.health(store)}
    readers = [s.name for s in config.sources if s.type in MAIL_ONLY_TYPES or s.options.get("mail")]
    report.add("mail", [_mail_status(report, name, mail.get(name, {})) for name in readers])
    for hook in STATUS_HOOKS:
        hook(app, report)
    return report


def _source_status(report: StatusReport, config: Config, name: str, row: dict, told: list[str]) -> dict:
    """One source's lines (added to `report`) and its JSON object; `told`: its standing notices."""
    failing = bool(row.get("last_error")) and (row.get("last_error_at") or "") >= (row.get("last_success") or "")
    line = f"source {name}: last sync {report.when(row.get('last_success'))}"
    if row.get("occurrences") is not None:
        line += f", {row.get('occurrences', 0)} occurrences"
    if row.get("skipped"):
        line += f", {row['skipped']} skipped"
    report.lines.append(line + (", FAILED" if failing else "") + (", SUSPECT" if row.get("suspect") else ""))
    if row.get("suspect"):
        held = held_text(config, name, row["suspect"], report.when(row.get("last_success")))
        report.lines.append(f"  held since {report.when(row.get('suspect_since'))}: {held}")
    if failing:
        report.lines.append(f"  last error {report.when(row['last_error_at'])}: {row['last_error']}")
    if row.get("needs_reauth"):
        report.lines.append(f"  needs re-authorising: {row['needs_reauth']}")
    report.lines.extend(f"  note: {text}" for text in told)
    return {"name": name, "last_success": report.iso(row.get("last_success")),
            "occurrences": row.get("occurrences"), "skipped": row.get("skipped") or 0,
            "failed": failing, "last_error": row.get("last_error") if failing else None,
            "last_error_at": report.iso(row.get("last_error_at")) if failing else None,
            "needs_reauth": row.get("needs_reauth") or None,
            "suspect": bool(row.get("suspect")), "suspect_reason": row.get("suspect") or None,
            "suspect_since": report.iso(row.get("suspect_since")), "notices": told}


def _mail_status(report: StatusReport, name: str, row: dict) -> dict:
    """One mail source's lines (added to `report`) and its JSON object."""
    failing = bool(row.get("last_error")) and (row.get("last_error_at") or "") >= (row.get("last_success") or "")
    line = f"mail {name}: last read {report.when(row.get('last_success'))}"
    line += f", {row.get('messages') or 0} counted messages" + (", FAILED" if failing else "")
    report.lines.append(line)
    if failing:
        report.lines.append(f"  last error {report.when(row['last_error_at'])}: {row['last_error']}")
    if row.get("needs_reauth"):
        report.lines.append(f"  needs re-authorising: {row['needs_reauth']}")
    return {"name": name, "last_success": report.iso(row.get("last_success")),
            "counted_messages": row.get("messages") or 0, "failed": failing,
            "last_error": row.get("last_error") if failing else None,
            "needs_reauth": row.get("needs_reauth") or None}


STATUS_HOOKS: list[Callable[[App, StatusReport], None]] = []
"""Other command modules add to `status` (jobs, touchbases, mail) by appending here: each hook
calls `report.add(key, json_value, *text_lines)`."""


def resolve_path(text: str) -> Path:
    """A user-given path, `~` expanded."""
    return Path(text).expanduser()
