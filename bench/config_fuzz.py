"""Random configs through the whole agent: each trial takes a working config (an .ics calendar with
a few colleagues, store and outbox in a scratch folder), changes a few keys of the schema to values
near their bounds or of random types, and runs `touchbase run --once` and `digest --preview` in
process. Prints how the runs ended; any exception other than a clean exit is a finding.

    python bench/config_fuzz.py [TRIALS] [SEED]
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.cli import main  # noqa: E402
from agent.configuration.options import Option, options_of  # noqa: E402
from agent.configuration.schema import SECTIONS, source_types  # noqa: E402
from agent.configuration.starter import toml_key, toml_value  # noqa: E402

NOW = "2026-10-05T09:00:00+02:00"
USER = "me@acme.example"
COLLEAGUES = [f"c{i}@acme.example" for i in range(6)]
FIXED = {("store", "path"), ("outbox", "path"), ("smtp", "host"), ("smtp", "port"), ("smtp", "ca_file"),
         ("smtp", "password_file")}
"""Keys left alone: they would write outside the scratch folder or wait on the network."""
SOURCE_KEYS = [o for o in source_types()["ics"].config_options if o.key in ("max_bytes", "calendar_name")]
ODD = [None, True, -1, 0, 2 ** 31, 2 ** 63 - 1, 1.5, float("inf"), "", " ", "x" * 300, "\u202e", "MO",
       "00:00-24:00", "23:59", "24:00", [], [""], ["MO"], ["SU", "SU"], {}, {"a": "b"}, [[1]], "work", "outbox",
       "smtp", "nobody", "me@acme.example", "acme.example", "UTC", "Pacific/Kiritimati", "Etc/GMT+12"]


def calendar_text(now: datetime) -> str:
    """Weekly 1:1s and a few small group meetings over the past half year and the next month."""
    events = []
    for week in range(-26, 5):
        for index, email in enumerate(COLLEAGUES):
            if (week + index) % (index + 1) or week > 4 - 6 * index:
                continue
            start = now + timedelta(weeks=week, days=index % 5, hours=2 + index)
            stamp = start.strftime("%Y%m%dT%H%M%SZ")
            end = (start + timedelta(minutes=30)).strftime("%Y%m%dT%H%M%SZ")
            events.append(
                f"BEGIN:VEVENT\r\nUID:w{week}-{index}\r\nDTSTAMP:{stamp}\r\nDTSTART:{stamp}\r\nDTEND:{end}\r\n"
                f"SUMMARY:1:1\r\nORGANIZER:mailto:{USER}\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{USER}\r\n"
                f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{email}\r\nEND:VEVENT\r\n")
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"


def value_for(option: Option, rng: random.Random) -> Any:
    """A value near the option's bounds and choices, or an odd one of any type."""
    near: list[Any] = [option.default, option.shown, *option.choices]
    if option.minimum is not None and option.maximum is not None:
        near += [option.minimum, option.maximum, option.minimum - 1, option.maximum + 1,
                 rng.randint(option.minimum, option.maximum)]
    valid = [v for v in near if not isinstance(v, int) or option.minimum is None
             or option.minimum <= v <= (option.maximum or v)]
    roll = rng.random()
    return rng.choice(valid) if roll < 0.75 else rng.choice(near) if roll < 0.85 else rng.choice(ODD)


def trial_config(folder: Path, rng: random.Random) -> str:
    """A working config with a few keys changed, as TOML text."""
    doc: dict[str, dict[str, Any]] = {
        "user": {"email": USER, "timezone": "Europe/Berlin"},
        "colleagues": {"internal_domains": ["acme.example"]},
        "store": {"path": str(folder / "touchbase.db")},
        "outbox": {"path": str(folder / "outbox")},
        "smtp": {"host": "127.0.0.1", "port": 9, "timeout_seconds": 1},
    }
    source: dict[str, Any] = {"name": "work", "type": "ics", "path": str(folder / "cal.ics")}
    choices = [(name, o) for name, cls in SECTIONS.items() for o in options_of(cls) if (name, o.key) not in FIXED]
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.15:
            option = rng.choice(SOURCE_KEYS)
            source[option.key] = value_for(option, rng)
            continue
        name, option = rng.choice(choices)
        value = value_for(option, rng)
        if value is not None:
            doc.setdefault(name, {})[option.key] = value
    lines = []
    for name, keys in doc.items():
        lines.append(f"[{name}]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in keys.items()]
    lines.append("[[sources]]")
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in source.items()]
    return "\n".join(lines) + "\n"


def run(config: Path, *args: str) -> tuple[str, str]:
    """('exit N', '') or ('exception', its traceback) for one in-process command."""
    result = CliRunner().invoke(main, ["--config", str(config), "--now", NOW, *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "exception", "".join(traceback.format_exception(result.exception))
    return f"exit {result.exit_code}", ""


def main_bench(trials: int, seed: int) -> int:
    """Run the trials; print the outcomes; 1 when any run ended in an exception."""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    findings: list[tuple[str, str]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="touchbase-config-fuzz-") as scratch:
        for index in range(trials):
            folder = Path(scratch) / f"t{index}"
            folder.mkdir()
            (folder / "cal.ics").write_text(calendar_text(datetime.fromisoformat(NOW)), encoding="utf-8")
            config = folder / "config.toml"
            config.write_text(trial_config(folder, rng), encoding="utf-8")
            for args in (("run", "--once"), ("digest", "--preview")):
                outcome, trace = run(config, *args)
                outcomes[f"{args[0]}: {outcome}"] += 1
                if trace:
                    findings.append((config.read_text(encoding="utf-8"), trace))
    elapsed = time.perf_counter() - began
    print(f"config fuzz: {trials} trials (seed {seed}), {elapsed / max(trials, 1):.2f} s a trial")
    for outcome, count in sorted(outcomes.items()):
        print(f"  {outcome}: {count}")
    print(f"  exceptions: {len(findings)}")
    for text, trace in findings[:3]:
        print("---- config\n" + text + "---- traceback\n" + trace)
    return 1 if findings else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    raise SystemExit(main_bench(int(arguments[0]) if arguments else 200,
                                int(arguments[1]) if len(arguments) > 1 else 7))
