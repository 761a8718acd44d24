"""The commented starter configuration `touchbase init` writes."""
from __future__ import annotations

from importlib import resources


def example_text() -> str:
    """The full commented example shipped with the package."""
    return resources.files("agent").joinpath("data/example.toml").read_text(encoding="utf-8")


def starter_config(email: str, calendar_path: str, timezone: str) -> str:
    """The example config with the user's address, calendar file and zone filled in."""
    text = example_text()
    return (
        text.replace('email = "me@acme.example"', f'email = "{_escape(email)}"', 1)
        .replace('to = "me@acme.example"', f'to = "{_escape(email)}"', 1)
        .replace('path = "~/calendar.ics"', f'path = "{_escape(calendar_path)}"', 1)
        .replace('timezone = "Europe/Berlin"', f'timezone = "{_escape(timezone)}"', 1)
        .replace('internal_domains = ["acme.example"]',
                 f'internal_domains = ["{_escape(email.rpartition("@")[2])}"]', 1)
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
