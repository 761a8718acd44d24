"""Small builders shared by the tests: configs, .ics text, the CLI runner."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from agent.cli import main

USER = "me@acme.example"


def write_config(tmp_path: Path, ics_paths: list[Path] | None = None, extra: str = "",
                 user: str = USER, timezone: str = "Europe/Berlin",
                 internal: list[str] | None = None, user_keys: str = "",
                 colleague_keys: str = "", mode: str | None = "auto") -> Path:
    """A config file using the given .ics files, with a store and outbox under tmp_path.

    `user_keys` and `colleague_keys` are raw TOML lines added to [user] and [colleagues].
    `mode` is written into [touchbase] unless `extra` sets one: "auto" by default, so that the
    tests of booking mechanics book into the local calendar file (with only ics sources the
    agent's own default is "propose"); None leaves the agent's default.
    """
    touchbase = ""
    if mode and "mode =" not in extra:
        if "[touchbase]\n" in extra:
            extra = extra.replace("[touchbase]\n", f'[touchbase]\nmode = "{mode}"\n', 1)
        else:  # before the sources: tests append source keys at the end of the file
            touchbase = f'[touchbase]\nmode = "{mode}"\n\n'

    internal = ["acme.example"] if internal is None else internal
    sources = "".join(
        f'[[sources]]\nname = "work{"" if i == 0 else i}"\ntype = "ics"\npath = "{p}"\n\n'
        for i, p in enumerate(ics_paths or [])
    )
    text = (
        f'[user]\nemail = "{user}"\ntimezone = "{timezone}"\n{_lines(user_keys)}\n'
        f'[colleagues]\ninternal_domains = {json.dumps(internal)}\n{_lines(colleague_keys)}\n'
        f'[store]\npath = "{tmp_path / "data" / "touchbase.db"}"\n\n'
        f"{touchbase}{sources}{extra}\n"
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _lines(text: str) -> str:
    return "".join(line.strip() + "\n" for line in text.strip().splitlines() if line.strip())


def run_cli(config: Path | None, *args: str, now: str | None = None,
            input: str | None = None) -> Result:
    """Invoke `touchbase` in-process; returns click's Result (exit_code, output)."""
    argv: list[str] = []
    if config is not None:
        argv += ["--config", str(config)]
    if now:
        argv += ["--now", now]
    return CliRunner().invoke(main, argv + list(args), input=input, catch_exceptions=False)


@dataclass
class Ev:
    """One VEVENT, written as iCalendar text by `calendar()`."""

    uid: str
    start: str  # e.g. "20261005T100000" (floating), or with tzid
    end: str
    summary: str = "Meeting"
    organizer: str = USER
    attendees: tuple[str, ...] = ()  # raw ATTENDEE lines after "ATTENDEE" (params:value)
    tzid: str = "Europe/Berlin"
    extra: str = ""  # raw lines (RRULE:..., EXDATE..., STATUS:...)

    def text(self) -> str:
        zone = f";TZID={self.tzid}" if self.tzid and not self.start.endswith("Z") and "T" in self.start else ""
        kind = ";VALUE=DATE" if "T" not in self.start else ""
        lines = [
            "BEGIN:VEVENT", f"UID:{self.uid}", "DTSTAMP:20260101T000000Z",
            f"DTSTART{zone}{kind}:{self.start}", f"DTEND{zone}{kind}:{self.end}",
            f"SUMMARY:{self.summary}",
        ]
        if self.organizer:
            lines.append(f"ORGANIZER:mailto:{self.organizer}")
        lines += [f"ATTENDEE{a}" if a.startswith(";") else f"ATTENDEE:{a}" for a in self.attendees]
        lines += [line for line in self.extra.strip().splitlines() if line.strip()]
        lines.append("END:VEVENT")
        return "\r\n".join(lines) + "\r\n"


BENCH = Path(__file__).resolve().parent.parent / "bench"


def heavy_calendar(path: Path, now: str | None = None, **sizes: float) -> Path:
    """Write bench/heavy_calendar.py's realistic calendar at `path` (evaluated at `now`, else the
    bench's own instant), sized by `years`, `colleagues`, `density`; returns `path`."""
    import importlib.util
    import sys

    module = sys.modules.get("heavy_calendar")
    if module is None:
        spec = importlib.util.spec_from_file_location("heavy_calendar", BENCH / "heavy_calendar.py")
        assert spec is not None and spec.loader is not None
        module = sys.modules["heavy_calendar"] = importlib.util.module_from_spec(spec)  # its dataclasses need it
        spec.loader.exec_module(module)
    return module.generate(path, now=now or module.NOW, **sizes)


def flat(text: str) -> str:
    """`text` with every run of whitespace as one space: what `status`, `plan` and `person` say,
    whatever the lines were folded at (they fold at 80 columns)."""
    return " ".join(text.split())


def calendar(*events: Ev | str) -> str:
    """A VCALENDAR holding `events` (Ev objects or raw VEVENT text)."""
    body = "".join(e.text() if isinstance(e, Ev) else e for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//touchbase tests//EN\r\n{body}END:VCALENDAR\r\n"


def people_json(config: Path, now: str) -> dict[str, dict]:
    """`touchbase sync` then `people --json`, keyed by email."""
    synced = run_cli(config, "sync", now=now)
    assert synced.exit_code == 0, synced.output
    result = run_cli(config, "people", "--json", now=now)
    assert result.exit_code == 0, result.output
    return {row["email"]: row for row in json.loads(result.output)}
