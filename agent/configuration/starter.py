"""Texts generated from the config schema: the commented example config, the starter config
`touchbase init` writes, and the reference page docs/config-reference.md.

`python -m agent.configuration.schema` (or `python -m agent.configuration.starter`) rewrites the shipped copies;
`--check` only says whether they are current.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from agent.configuration.options import Option, options_of
from agent.configuration.schema import CROSS_RULES, SECTIONS, SOURCE_COMMON, source_types

COMMENT_COLUMN = 38
HEADER = """\
# touchbase configuration (TOML).
# Found at --config PATH, else $TOUCHBASE_CONFIG, else the platform config dir
# (~/.config/touchbase/config.toml on Linux). Unknown keys are errors.
# Secrets never go in this file: passwords come from an environment variable or a file.
# Every key, its bounds and its default: docs/config-reference.md.
"""
EXAMPLE_SOURCES: tuple[dict[str, Any], ...] = ({"name": "work", "type": "ics", "path": "~/calendar.ics"},)
ROOT = Path(__file__).resolve().parent.parent.parent
GENERATED = {
    "config/touchbase.example.toml": "example",
    "agent/data/example.toml": "example",
    "docs/config-reference.md": "reference",
}
"""Files in a checkout that are generated from the schema, and what each holds."""

Values = Mapping[str, Mapping[str, Any]]


# --- TOML values --------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    """A key, bare when TOML allows it, else quoted."""
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: Any) -> str:
    """A bool, int, float, string, list or table as TOML text (one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


# --- the commented config -----------------------------------------------------------------


def _line(key: str, value: Any, help_text: str, commented: bool) -> str:
    text = f"{'# ' if commented else ''}{toml_key(key)} = {toml_value(value)}"
    gap = max(COMMENT_COLUMN - len(text), 2)
    return f"{text}{' ' * gap}# {help_text}" if help_text else text


def _section_lines(name: str, options: Iterable[Option], values: Mapping[str, Any]) -> list[str]:
    cls = SECTIONS[name]
    lines = [f"# {(cls.__doc__ or '').strip()}", f"[{name}]"]
    for option in options:
        given = option.key in values
        value = values[option.key] if given else option.shown
        lines.append(_line(option.key, value, option.help, option.commented and not given))
    return lines


def _source_lines(entry: Mapping[str, Any], template: bool) -> list[str]:
    kind = source_types()[entry["type"]]
    mark = "# " if template else ""
    about = f"{entry['type']}: {kind.help}" + (" (read-only)" if kind.read_only else "")
    lines = [f"{mark}[[sources]]".ljust(COMMENT_COLUMN) + f"# {about}"]
    for option in (*SOURCE_COMMON, *kind.config_options):
        given = option.key in entry
        value = entry[option.key] if given else option.shown
        lines.append(_line(option.key, value, option.help, template or not given))
    return lines


def render_config(values: Values | None = None, sources: Sequence[Mapping[str, Any]] = EXAMPLE_SOURCES,
                  header: str = HEADER) -> str:
    """A commented config: every section with `values` (section -> key -> value) or the schema's
    example values, the given `sources` (each a dict with name, type and its keys), and a commented
    template of every other source type."""
    values = values or {}
    blocks = [header.rstrip("\n")]
    for name, cls in SECTIONS.items():
        blocks.append("\n".join(_section_lines(name, options_of(cls), values.get(name, {}))))
        if name == "store":
            blocks.append(_sources_block(sources))
    return "\n\n".join(blocks) + "\n"


def _sources_block(sources: Sequence[Mapping[str, Any]]) -> str:
    lines = ["# Calendars: one [[sources]] table each (uncomment a template below to add one)."]
    for entry in sources:
        lines += _source_lines(entry, template=False)
    used = {entry["type"] for entry in sources}
    for type_name in source_types():
        if type_name not in used:
            lines += ["#", *_source_lines({"name": type_name, "type": type_name}, template=True)]
    return "\n".join(lines)


def example_text() -> str:
    """The full commented example: what config/touchbase.example.toml and the packaged copy hold."""
    return render_config()


def packaged_example() -> str:
    """The example shipped inside the package (agent/data/example.toml)."""
    return resources.files("agent").joinpath("data/example.toml").read_text(encoding="utf-8")


def starter_config(email: str, calendar_path: str = "", timezone: str = "", *,
                   sources: Sequence[Mapping[str, Any]] | None = None, values: Values | None = None) -> str:
    """The commented config `touchbase init` writes: the user's address (also as the morning email's
    recipient and, by its domain, the internal domain), zone and calendar.

    `sources` replaces the single ics source made from `calendar_path`; `values` (section -> key ->
    value) sets any other key, e.g. {"touchbase": {"write_to": "google"}}.
    """
    domain = email.rpartition("@")[2]
    chosen: dict[str, dict[str, Any]] = {
        "user": {"email": email, "timezone": timezone},
        "colleagues": {"internal_domains": [domain] if domain else []},
        "digest": {"to": email},
    }
    for section, keys in (values or {}).items():
        chosen.setdefault(section, {}).update(keys)
    if sources is None:
        sources = [{"name": "work", "type": "ics", "path": calendar_path or "~/calendar.ics"}]
    return render_config(chosen, sources)


# --- the reference page -------------------------------------------------------------------

_KIND_NAMES = {"bool": "true/false", "int": "integer", "str": "string", "list": "list of strings",
               "table": "table of strings"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _allowed(option: Option) -> str:
    parts: list[str] = []
    if option.choices:
        parts.append(", ".join(f"`{c}`" for c in option.choices))
    if option.minimum is not None and option.maximum is not None:
        parts.append(f"{option.minimum} to {option.maximum}")
    if option.rule:
        parts.append(("each: " if option.kind in ("list", "table") else "") + option.rule.describe)
    if option.nonempty:
        parts.append("at least one")
    if option.required:
        parts.append("required")
    elif option.kind == "str" and option.may_be_empty() and (option.rule or option.choices):
        parts.append("or empty")
    return _cell("; ".join(parts))


def _table(options: Iterable[Option]) -> list[str]:
    lines = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for option in options:
        default = _cell(toml_value(option.default))
        lines.append(f"| `{option.key}` | {_KIND_NAMES[option.kind]} | `{default}` | {_allowed(option)} | "
                     f"{_cell(option.help)} |")
    return lines


def reference_text() -> str:
    """docs/config-reference.md: every section and source type with each key's type, default,
    allowed values and meaning."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `agent/configuration/schema.py` (a source type's keys: its connector class's "
        "`config_options`) by `python -m agent.configuration.schema`; do not edit by hand.",
        "An annotated example: [config/touchbase.example.toml](../config/touchbase.example.toml).",
        "",
        "The file is TOML, found at `--config PATH`, else `$TOUCHBASE_CONFIG`, else the platform config",
        "folder (`~/.config/touchbase/config.toml` on Linux). Only a regular file of at most 1 MiB in",
        "UTF-8 is read. Unknown sections and keys are errors; every problem is reported at once, one line",
        "each naming the file, the section and the key, and the command exits with status 2. Strings hold",
        "no control characters. Secrets are never written here: `password`, `secret`, `client_secret` and",
        "`token` are refused everywhere; use `password_env` or `password_file`.",
    ]
    for name, cls in SECTIONS.items():
        lines += ["", f"## [{name}]", "", (cls.__doc__ or "").strip(), "", *_table(options_of(cls))]
        if name == "store":
            lines += _sources_reference()
    lines += ["", "## Rules across keys", "", *(f"- {rule}" for rule in CROSS_RULES)]
    return "\n".join(lines) + "\n"


def _sources_reference() -> list[str]:
    lines = ["", "## [[sources]]", "", "One table per calendar; every source has these keys:", "",
             *_table(SOURCE_COMMON)]
    for type_name, kind in source_types().items():
        writes = "read-only: touchbases go to the local calendar file" if kind.read_only else "can take touchbases"
        lines += ["", f'### type = "{type_name}"', "", f"{kind.help}; {writes}.", "",
                  *_table(kind.config_options)]
    return lines


# --- regenerating the shipped copies ------------------------------------------------------


def generated_files(root: Path = ROOT) -> dict[Path, str]:
    """Each generated file of a checkout with the text the schema gives it."""
    texts = {"example": example_text(), "reference": reference_text()}
    return {root / relative: texts[kind] for relative, kind in GENERATED.items()}


def stale_files(root: Path = ROOT) -> list[Path]:
    """The generated files whose content differs from what the schema gives."""
    stale = []
    for path, text in generated_files(root).items():
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            stale.append(path)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated files (or, with --check, list the stale ones and exit 1)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--check"]:
        stale = stale_files()
        for path in stale:
            print(f"{path}: differs from the schema; run `python -m agent.configuration.schema`")
        return 1 if stale else 0
    if args:
        print("usage: python -m agent.configuration.schema [--check]", file=sys.stderr)
        return 2
    for path, text in generated_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
