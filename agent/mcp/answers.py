"""The answer to each tool call, built by the functions behind the matching CLI command.

Each answer takes a fresh `App` (the store opened for this call only, so a daemon running
beside the server is never held up) and the checked arguments, and returns a JSON object.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.cli.app import App
from agent.cli.contact import colleague_address, keep_note, log_contact
from agent.cli.core import people_json, status_report
from agent.cli.landscape import RATED, rate_colleague
from agent.cli.person import PersonPage
from agent.cli.planning import plan_json, plan_view
from agent.mcp.private_notes import withhold_from_people, withhold_from_person
from agent.planning.booking_checks import check_booking_target
from agent.planning.planner import approve as approve_touchbase

UNKNOWN_HINT = "check the spelling; on the command line `touchbase rate EMAIL --force` adds someone on purpose"
"""How the refusal of an address seen nowhere ends here (an assistant cannot pass --force)."""


@dataclass(frozen=True)
class Options:
    """How `touchbase mcp` was started: the global options and the server's own flags."""

    config_path: str | None = None
    now: datetime | None = None
    verbose: bool = False
    with_notes: bool = False
    allow_writes: bool = False

    def app(self) -> App:
        """A fresh App for one call (its store opens on first use; close it after the call)."""
        return App(config_path=self.config_path, now=self.now, verbose=self.verbose)


Answer = Callable[[App, dict[str, Any], Options], dict[str, Any]]


def people(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`people --json [--status S]`, the first `limit` rows, as {"people": [...]}."""
    rows = people_json(app, args.get("status"))
    result = {"people": rows[:args["limit"]] if "limit" in args else rows}
    return result if options.with_notes else withhold_from_people(result)


def person(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`person EMAIL --json`; an address nothing is known about is refused like `rate` does."""
    address = colleague_address(app, args["email"])
    page = PersonPage.load(app, address)
    if page.empty:
        check_booking_target(app.config, app.store, address, hint=UNKNOWN_HINT)
    data = page.as_dict()
    return data if options.with_notes else withhold_from_person(data)


def plan(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`plan --json`: what the planner would do now, changing nothing."""
    return plan_json(app, plan_view(app))


def status(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`status --json`."""
    return status_report(app).data


def named_colleague(app: App, email: str) -> str:
    """The address a write names, aliases mapped; the user's own addresses, rooms, addresses
    outside internal_domains and addresses seen nowhere (with the near miss) are refused."""
    address = colleague_address(app, email)
    check_booking_target(app.config, app.store, address, hint=UNKNOWN_HINT)
    return address


def log_contact_answer(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`log EMAIL [--when] [--kind] [--note]`."""
    address = named_colleague(app, args["email"])
    logged, line = log_contact(app, address, args.get("when"), args["kind"], args.get("note", ""))
    return {"email": address, "logged": logged.as_dict(app.config.zone), "message": line}


def add_note_answer(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`note EMAIL TEXT`."""
    address = named_colleague(app, args["email"])
    note_id, line = keep_note(app, address, args["text"])
    return {"email": address, "note_id": note_id, "message": line}


def rate_answer(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`rate EMAIL` with the given fields."""
    address = named_colleague(app, args["email"])
    fields = {key: value for key, value in args.items() if key != "email"}
    row, line = rate_colleague(app, address, **fields)
    shown = (*RATED, "motivators", "demotivators", "name")
    return {"email": address, "ratings": {key: row.get(key) for key in shown}, "message": line}


def approve_answer(app: App, args: dict[str, Any], options: Options) -> dict[str, Any]:
    """`approve EMAIL`: book the proposed touchbase (or a new one)."""
    app.require_user()
    address = named_colleague(app, args["email"])
    return {"email": address, "message": approve_touchbase(app.config, app.store, address, app.now())}


ANSWERS: dict[str, Answer] = {
    "people": people, "person": person, "plan": plan, "status": status,
    "log_contact": log_contact_answer, "add_note": add_note_answer, "rate": rate_answer,
    "approve": approve_answer,
}
"""The answer of every tool in `catalogue.TOOLS`, by name."""
