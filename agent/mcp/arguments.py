"""A tool call's arguments checked against the tool's schema, each problem as one line.

The SDK hands the arguments over unchecked; a refusal here names the tool, the argument and
what it accepts, in the words the command line uses (never a validation library's dump).
Values the domain checks itself (a date, a cadence) are passed on for it to judge.
"""
from __future__ import annotations

from typing import Any

from agent.errors import UserError
from agent.mcp.catalogue import ToolSpec

TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "boolean": (bool,)}
TYPE_WORDS = {"string": "a text", "integer": "a whole number", "boolean": "true or false"}


def check_arguments(tool: ToolSpec, arguments: dict[str, Any] | None) -> dict[str, Any]:
    """The arguments of a call to `tool`, with defaults filled in; a UserError names the first
    problem (an unknown or missing argument, a wrong type, a value outside the choices)."""
    given = dict(arguments or {})
    unknown = sorted(set(given) - set(tool.properties))
    if unknown:
        takes = ", ".join(tool.properties) or "no arguments"
        raise UserError(f"{tool.name}: unknown argument {unknown[0]!r} (it takes {takes})")
    for name in tool.required:
        if given.get(name) is None:
            raise UserError(f"{tool.name}: {name} is required")
    checked = {name: _checked(tool.name, name, schema, given.get(name, schema.get("default")))
               for name, schema in tool.properties.items()}
    return {name: value for name, value in checked.items() if value is not None}


def _checked(tool: str, name: str, schema: dict[str, Any], value: Any) -> Any:
    """`value` when it fits `schema` (None stays None: the argument was left out)."""
    if value is None:
        return None
    kind = schema["type"]
    if not isinstance(value, TYPES[kind]) or (kind == "integer" and isinstance(value, bool)):
        raise UserError(f"{tool}: {name} must be {TYPE_WORDS[kind]}, not {_shown(value)}")
    if "enum" in schema and value not in schema["enum"]:
        raise UserError(f"{tool}: {name} must be one of {', '.join(schema['enum'])}, not {_shown(value)}")
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{tool}: {name} must be from {low} to {high}, not {value}")
    if isinstance(value, str) and len(value.strip()) < schema.get("minLength", 0):
        raise UserError(f"{tool}: {name} is empty")
    return value


def _shown(value: Any) -> str:
    """A value as a refusal quotes it, at most 40 characters."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (dict, list)):
        text = "an object" if isinstance(value, dict) else "a list"
    else:
        text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"
