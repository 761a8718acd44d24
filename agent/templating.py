"""The jinja2 templates shipped in agent/templates: HTML autoescaped, text as written."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2


def _autoescape(name: str | None) -> bool:
    """Escape every HTML template (names, titles and notes are user data)."""
    return name is not None and name.endswith((".html.j2", ".html"))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared template environment (strict: a missing value is an error, not blank)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("agent", "templates"),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: Any) -> str:
    """Render the template `name` with `context`."""
    return environment().get_template(name).render(**context)
