"""Private by default: without --with-notes no note text and no logged contact's note leaves
the server. What is withheld is named (`notes_withheld`), so an assistant can say why."""
from __future__ import annotations

from typing import Any


def withhold_from_person(data: dict[str, Any]) -> dict[str, Any]:
    """A `person --json` object without the notes' text and the interactions' notes."""
    return {**data, "notes": [_without(note, "text") for note in data.get("notes", [])],
            "interactions": [_without(item, "note") for item in data.get("interactions", [])],
            "notes_withheld": True}


def withhold_from_people(data: dict[str, Any]) -> dict[str, Any]:
    """{"people": rows} without the notes of each row's logged interactions."""
    rows = [{**row, "interactions": [_without(item, "note") for item in row.get("interactions", [])]}
            for row in data["people"]]
    return {**data, "people": rows, "notes_withheld": True}


def _without(item: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != key}
