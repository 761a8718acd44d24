"""The tools `touchbase mcp` offers: names, what each is for, and the arguments it takes.

Argument values mirror the command line: the same names, choices and bounds as the options
of `people`, `log`, `note`, `rate` and `approve`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.cli.core import STATUSES
from agent.interactions import DEFAULT_KIND, KINDS
from agent.ratings import ROLES

EMAIL = {"type": "string", "description": "The colleague's email address, e.g. priya@acme.example."}
SCORE = {"type": "integer", "minimum": 1, "maximum": 5}
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, a description an assistant can act on, and its arguments."""

    name: str
    description: str
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    writes: bool = False

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the arguments (an object; nothing beyond the named properties)."""
        return {"type": "object", "properties": self.properties, "required": list(self.required),
                "additionalProperties": False}

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of a result: an object; `people` wraps the CLI's list in "people"."""
        if self.name != "people":
            return {"type": "object"}
        return {"type": "object", "required": ["people"],
                "properties": {"people": {"type": "array", "items": {"type": "object",
                                                                     "required": ["email"]}},
                               "notes_withheld": {"type": "boolean"}}}


READ_TOOLS = (
    ToolSpec("people", (
        "List the user's work colleagues from their calendar, most meetings first: meetings and "
        "1:1s in the window, two-way email threads, last and next meeting, last contact "
        "(a meeting, logged contact or two-way email), and for tracked colleagues "
        "status (on track, booked, due, overdue), role, quadrant and priority. Use it to answer "
        "'who should I catch up with?' (status due or overdue). The result is "
        '{"people": [...]}, the list `touchbase people --json` prints.'),
        {"status": {"type": "string", "enum": list(STATUSES),
                    "description": "Only tracked colleagues with this status."},
         "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                   "description": "Only the first N colleagues of the list."}}),
    ToolSpec("person", (
        "Everything the agent knows about one colleague: meetings, two-way email threads, last "
        "and next meeting, last contact, "
        "status and cadence, ratings and role, quadrant, touchbase series, logged contact, and "
        "(only when the server runs with --with-notes) the user's private notes. Use it before "
        "a 1:1. The result is the object `touchbase person EMAIL --json` prints."),
        {"email": EMAIL}, ("email",)),
    ToolSpec("plan", (
        "What the touchbase planner would do now (book, propose, end or move recurring "
        "touchbases), changing nothing, and the proposals waiting for approval. The result is "
        "the object `touchbase plan --json` prints.")),
    ToolSpec("status", (
        "The agent's own health: each calendar source and its last successful sync, errors, the "
        "daemon and its jobs, touchbases against capacity, mail. The result is the object "
        "`touchbase status --json` prints.")),
)

WRITE_TOOLS = (
    ToolSpec("log_contact", (
        "Log contact with a colleague outside the calendar (a call, a coffee, a chat): it counts "
        "for status, strength and last contact, never as a meeting. Same as `touchbase log`."),
        {"email": EMAIL,
         "when": {"type": "string", "description": (
             "When it took place: today (the default), yesterday, a date such as 2026-03-09 "
             "(noon that day) or a date-time such as 2026-03-09T15:30 (the user's zone unless "
             "it has an offset). Not in the future.")},
         "kind": {"type": "string", "enum": list(KINDS), "default": DEFAULT_KIND,
                  "description": "What kind of contact it was."},
         "note": {"type": "string", "description": "A private note about it (optional)."}},
        ("email",), writes=True),
    ToolSpec("add_note", (
        "Keep a private note about a colleague (shown to the user before the next meeting, "
        "never put in anything sent). Same as `touchbase note EMAIL TEXT`."),
        {"email": EMAIL, "text": {"type": "string", "minLength": 1, "description": "The note."}},
        ("email", "text"), writes=True),
    ToolSpec("rate", (
        "Rate a colleague: how vital the relationship is to the user's mission, the quality of "
        "communication and the trust (1-5 each), their role, the wanted cadence. Only the given "
        "fields change. Same as `touchbase rate`."),
        {"email": EMAIL,
         "vital": {**SCORE, "description": "How vital the relationship is to the mission (1-5)."},
         "quality": {**SCORE, "description": "How good the communication is (1-5)."},
         "trust": {**SCORE, "description": "How much trust there is (1-5)."},
         "role": {"type": "string", "enum": list(ROLES),
                  "description": "Sponsor (supportive), anti-sponsor (likely to resist) or neutral."},
         "cadence": {"type": "string", "pattern": r"^\s*[0-9]+\s*[dwm]?\s*$",
                     "description": "How often to meet: 30d, 2w or 1m."},
         "motivators": {"type": "string", "description": "What motivates them."},
         "demotivators": {"type": "string", "description": "What demotivates them."},
         "name": {"type": "string", "description": "Their name, when the calendar does not say it."}},
        ("email",), writes=True),
    ToolSpec("approve", (
        "Book the touchbase proposed for a colleague (or a new one with a colleague the user "
        "names): a recurring event in the user's calendar. Same as `touchbase approve`."),
        {"email": EMAIL}, ("email",), writes=True),
)

TOOLS = {tool.name: tool for tool in READ_TOOLS + WRITE_TOOLS}
"""Every tool by name (the write tools are listed and run only with --allow-writes)."""


def listed(allow_writes: bool) -> tuple[ToolSpec, ...]:
    """The tools a server lists: the read tools, and the write tools when writes are allowed."""
    return READ_TOOLS + (WRITE_TOOLS if allow_writes else ())
