"""Ingest benchmark: a heavy calendar through `touchbase sync` + `people --json`, against the floor.

Generates a heavy calendar (bench/heavy_calendar.py: about 5 years, ~40,000 occurrences, 1,500
colleagues, ~10 MB), then measures as whole processes, one after the other on this machine:

  (a) the floor: a process that parses the file with icalendar and expands it with
      recurring-ical-events over the window the agent reads, nothing else;
  (b) the agent: `touchbase sync` into a fresh store, then `touchbase people --json`;
  (c) `touchbase sync` again with the file unchanged;
  (d) `touchbase sync` after one event in the window changed.

Times are wall-clock seconds of each process. Memory is the peak resident set size of the
largest single process (wait4's ru_maxrss, which covers waited-for children too) and the peak
of the whole process tree (the PSS of the process and its workers, summed, sampled every 5 ms).
Before timing, a correctness check runs on a small calendar: the per-colleague figures of the
agent (`people --json` after `sync`) must equal those computed from a naive full parse.

With --sizes: the CPU table instead. CPU time (user + system of each process and its worker
processes, from getrusage) of the floor, of `sync` + `people --json` into a fresh store, and of
`people --json` alone, on heavy calendars of 1, 2.5, 5, 10 and 20 MB (the lower of two runs of
each: the machine is shared, and CPU time swings less than wall time but still does).

Usage: python bench/ingest.py [--small | --sizes] [--keep DIR] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]  # this checkout's code, whatever is installed

GOALS = {"ratio": 1.0, "unchanged_s": 0.5, "changed_ratio": 0.10, "memory_ratio": 2.0}


@dataclass
class Run:
    """One measured process."""

    seconds: float
    max_rss_mb: float  # largest single process (ru_maxrss)
    tree_mb: float  # peak summed PSS of the process tree (sampled)
    stdout: str


def measure(argv: list[str]) -> Run:
    """Run `argv` to the end; its wall time, peak RSS (wait4) and sampled tree memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    tree_kb = sampler.peak_kb if sampler.seen else usage.ru_maxrss
    return Run(seconds, usage.ru_maxrss / 1024, tree_kb / 1024, stdout)


class TreeSampler(threading.Thread):
    """Samples the summed PSS of a process and its descendants (where /proc tells it)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.seen = False
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = sum(_memory_kb(pid) for pid in _tree(self.pid))
            if total:
                self.seen = True
            self.peak_kb = max(self.peak_kb, total)
            self._halt.wait(0.005)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue.extend(int(p) for p in handle.read().split())
        except OSError:
            continue
    return pids


def _memory_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            match = re.search(r"^Pss:\s+(\d+)", handle.read(), re.M)
            return int(match.group(1)) if match else 0
    except OSError:
        return 0


def cpu_seconds(argv: list[str]) -> tuple[float, str, str]:
    """Run `argv` to the end; the CPU seconds (user + system) of the process and every child
    it waited for (its worker processes), its output and its error output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return used, done.stdout, done.stderr


SIZES = {1: 0.45, 2.5: 1.15, 5: 2.35, 10: 5, 20: 10}
"""Calendar size in MB -> years of the heavy calendar that give it."""


def size_row(folder: Path, megabytes: float, now_text: str) -> dict:
    """CPU of the floor, of `sync` + `people --json` into a fresh store, and of `people --json`
    alone, on the heavy calendar of about `megabytes`; the fresh sync is run twice and the
    floor twice, the lower of each kept (the machine is shared)."""
    now = datetime.fromisoformat(now_text)
    folder.mkdir(parents=True, exist_ok=True)
    calendar = generate_in_subprocess(folder / "heavy.ics", now_text, SIZES[megabytes])
    config = write_config(folder, calendar)
    start, end = expansion_window(config, now)
    floor = min(cpu_seconds([sys.executable, str(Path(__file__).resolve()), "--floor", str(calendar),
                             start.isoformat(), end.isoformat()])[0] for _ in range(2))
    base = touchbase_command(folder) + ["--config", str(config), "--now", now_text]
    agent = []
    for _ in range(2):
        shutil.rmtree(folder / "data", ignore_errors=True)
        sync = cpu_seconds(base + ["sync"])[0]
        people, listed, _ = cpu_seconds(base + ["people", "--json"])
        agent.append((sync + people, sync, people, len(json.loads(listed))))
    total, sync, people, colleagues = min(agent)
    return {"mb": round(calendar.stat().st_size / 1e6, 1), "colleagues": colleagues,
            "floor_cpu_s": round(floor, 2), "sync_cpu_s": round(sync, 2), "people_cpu_s": round(people, 3),
            "ratio": round(total / floor, 3), "people_ratio": round(people / floor, 4)}


def size_table(folder: Path, now_text: str) -> list[dict]:
    """`size_row` for each size of SIZES, printed as it goes."""
    rows = []
    print("MB    colleagues  floor CPU  sync CPU  people CPU  (sync+people)/floor  people/floor")
    for megabytes in SIZES:
        row = size_row(folder / f"{megabytes}mb", megabytes, now_text)
        rows.append(row)
        print(f"{row['mb']:<5} {row['colleagues']:<11} {row['floor_cpu_s']:<10} {row['sync_cpu_s']:<9} "
              f"{row['people_cpu_s']:<11} {row['ratio']:<19} {row['people_ratio']}", flush=True)
    return rows


# --- the floor ------------------------------------------------------------------------------

def floor_main(path: str, start: str, end: str) -> None:
    """The floor process: parse the whole file and expand it over [start, end), nothing else."""
    import icalendar
    import recurring_ical_events

    calendar = icalendar.Calendar.from_ical(Path(path).read_bytes())
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    count = sum(1 for _ in query.between(datetime.fromisoformat(start), datetime.fromisoformat(end)))
    print(count)


# --- the setup ------------------------------------------------------------------------------

def write_config(folder: Path, calendar: Path) -> Path:
    """A config reading `calendar`, with its store in `folder`/data."""
    from heavy_calendar import USER

    path = folder / "config.toml"
    path.write_text(
        f'[user]\nemail = "{USER}"\ntimezone = "Europe/Berlin"\n\n'
        '[colleagues]\ninternal_domains = ["acme.example"]\n\n'
        f'[store]\npath = "{folder / "data" / "touchbase.db"}"\n\n'
        f'[[sources]]\nname = "work"\ntype = "ics"\npath = "{calendar}"\n', encoding="utf-8")
    return path


def generate_in_subprocess(path: Path, now_text: str, years: float, colleagues: int = 1500,
                           density: float = 1.0) -> Path:
    """Write a calendar with bench/heavy_calendar.py in its own process.

    The benchmark process stays small: a child's ru_maxrss starts from its parent's peak (fork
    and exec copy it), so everything big happens in children.
    """
    subprocess.run([sys.executable, str(HERE / "heavy_calendar.py"), str(path), "--years", str(years),
                    "--now", now_text, "--colleagues", str(colleagues), "--density", str(density)],
                   check=True, capture_output=True)
    return path


LAUNCHER = """#!{python}
import sys
sys.path.insert(0, {repo!r})
from agent.cli import main
sys.exit(main())
"""


def touchbase_command(folder: Path) -> list[str]:
    """A `touchbase` program running this checkout's code, like the installed console script.

    It is a script named `touchbase` (the CLI loads less for some commands when run as that
    program), so that the figures do not depend on which checkout an editable install points to.
    """
    script = folder / "touchbase"
    script.write_text(LAUNCHER.format(python=sys.executable, repo=str(REPO)), encoding="utf-8")
    script.chmod(0o755)
    return [str(script)]


def expansion_window(config_path: Path, now: datetime) -> tuple[datetime, datetime]:
    """The span the ICS connector expands over for a first sync at `now`."""
    from agent.configuration.loader import load_config
    from agent.inference import sync_window
    from connectors.ics.connector import WINDOW_SLACK

    start, end = sync_window(load_config(config_path), now)
    return start, end + WINDOW_SLACK


def change_one_event(calendar: Path, now: datetime) -> str:
    """Move one single meeting about a month before `now` by 30 minutes and rename it."""
    data = calendar.read_bytes()
    day = f"{now.year:04d}{now.month - 1 if now.month > 1 else 12:02d}".encode()
    pattern = re.compile(rb"^BEGIN:VEVENT\r\n(?:(?!END:VEVENT).)*?^SUMMARY:([^\r\n]*)\r\n"
                         rb"DTSTART;TZID=Europe/Berlin:" + day + rb"(\d\d)T(\d\d)(\d\d)00\r\n"
                         rb"DTEND;TZID=Europe/Berlin:" + day + rb"\d\dT(\d\d)(\d\d)00\r\n"
                         rb"SEQUENCE:0", re.M | re.S)
    match = pattern.search(data)
    if match is None:
        raise SystemExit("no single meeting to change found")
    block = match.group(0)
    changed = block.replace(b"SUMMARY:" + match.group(1), b"SUMMARY:" + match.group(1) + b" (moved)")
    changed = re.sub(rb"(DT(?:START|END);TZID=Europe/Berlin:\d{8}T\d\d)(\d\d)",
                     lambda m: m.group(1) + (b"30" if m.group(2) == b"00" else b"00"), changed)
    calendar.write_bytes(data.replace(block, changed, 1))
    return match.group(1).decode()


# --- the correctness check ------------------------------------------------------------------

def naive_store(config_path: Path, calendar: Path, now: datetime) -> None:
    """Fill the store of `config_path` from a naive full parse: the whole file at once, expanded."""
    import icalendar
    import recurring_ical_events

    from agent.configuration.loader import load_config
    from agent.model import Changes
    from agent.storage.store import Store
    from connectors.ical import read as ical
    config = load_config(config_path)
    start, end = expansion_window(config_path, now)
    parsed = icalendar.Calendar.from_ical(calendar.read_bytes())
    upserts: dict[str, list] = {}
    for component in recurring_ical_events.of(parsed, skip_bad_series=True).between(start, end):
        occ = ical.to_occurrence(component, config.zone)
        if occ is not None:
            upserts.setdefault(occ.resource, []).append(occ)
    store = Store(config.store_path)
    store.apply_changes("work", Changes(full=True, upserts=upserts))
    store.record_sync("work", "ics", {}, now, 0)
    store.close()


def check(folder: Path, now_text: str) -> int:
    """The agent's per-colleague figures equal the naive ones on a smaller calendar.

    Both stores are read by the same `touchbase people --json`; only the way the occurrences got
    into the store differs (the optimised connector, or one parse of the whole file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    # Five years, so that most events lie outside the window; dense enough for worker processes.
    calendar = generate_in_subprocess(folder / "check.ics", now_text, 5, colleagues=600, density=0.5)
    results = []
    for name in ("agent", "naive"):
        (folder / name).mkdir(exist_ok=True)
        config = write_config(folder / name, calendar)
        base = touchbase_command(folder) + ["--config", str(config), "--now", now_text]
        if name == "agent":
            subprocess.run(base + ["sync"], check=True, capture_output=True)
        else:
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--naive", str(config),
                            str(calendar), now_text], check=True, capture_output=True)
        results.append(json.loads(subprocess.run(base + ["people", "--json"], check=True,
                                                 capture_output=True, text=True).stdout))
    agent, naive = results
    if agent != naive:
        differ = [a["email"] for a, b in zip(agent, naive, strict=False) if a != b]
        raise SystemExit(f"correctness check FAILED: {len(agent)} vs {len(naive)} colleagues; "
                         f"first differences: {differ[:5]}")
    return len(agent)


# --- the benchmark --------------------------------------------------------------------------

def bench(folder: Path, years: float, now_text: str) -> dict:
    """Every figure of the issue, measured in `folder`."""
    now = datetime.fromisoformat(now_text)
    folder.mkdir(parents=True, exist_ok=True)
    calendar = generate_in_subprocess(folder / "heavy.ics", now_text, years)
    config = write_config(folder, calendar)
    start, end = expansion_window(config, now)
    floor = measure([sys.executable, str(Path(__file__).resolve()), "--floor", str(calendar),
                     start.isoformat(), end.isoformat()])
    base = touchbase_command(folder) + ["--config", str(config), "--now", now_text]
    sync = measure(base + ["sync"])
    people = measure(base + ["people", "--json"])
    unchanged = measure(base + ["sync"])
    if "unchanged" not in unchanged.stdout:
        raise SystemExit(f"the re-sync of the unchanged file read it again: {unchanged.stdout}")
    title = change_one_event(calendar, now)
    changed = measure(base + ["sync"])
    agent_s = sync.seconds + people.seconds
    agent_tree = max(sync.tree_mb, people.tree_mb)
    agent_rss = max(sync.max_rss_mb, people.max_rss_mb)
    return {
        "calendar_mb": round(calendar.stat().st_size / 1e6, 1),
        "occurrences_in_window": int(floor.stdout.strip()),
        "colleagues": len(json.loads(people.stdout)),
        "floor_s": round(floor.seconds, 2),
        "sync_s": round(sync.seconds, 2),
        "people_s": round(people.seconds, 2),
        "agent_s": round(agent_s, 2),
        "ratio": round(agent_s / floor.seconds, 3),
        "unchanged_s": round(unchanged.seconds, 3),
        "changed_s": round(changed.seconds, 3),
        "changed_ratio": round(changed.seconds / floor.seconds, 3),
        "changed_event": title,
        "floor_rss_mb": round(floor.max_rss_mb),
        "agent_rss_mb": round(agent_rss),
        "rss_ratio": round(agent_rss / floor.max_rss_mb, 2),
        "floor_tree_mb": round(floor.tree_mb),
        "agent_tree_mb": round(agent_tree),
        "memory_ratio": round(agent_tree / floor.tree_mb, 2),
        "bench_process_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def report(figures: dict, checked: int) -> str:
    """The figures as the table docs/performance.md shows."""
    def goal(ok: bool) -> str:
        return "yes" if ok else "NO"

    f = figures
    rows = [
        ("calendar", f"{f['calendar_mb']} MB, {f['occurrences_in_window']} occurrences in the window, "
                     f"{f['colleagues']} colleagues listed", ""),
        ("(a) floor: icalendar parse + recurring-ical-events expand", f"{f['floor_s']:.2f} s", ""),
        ("(b) agent: sync + people --json, fresh store",
         f"{f['agent_s']:.2f} s ({f['sync_s']:.2f} + {f['people_s']:.2f})", ""),
        ("ratio b/a", f"{f['ratio']:.2f}", goal(f["ratio"] <= GOALS["ratio"]) + " (<= 1.0)"),
        ("re-sync, file unchanged", f"{f['unchanged_s']:.3f} s",
         goal(f["unchanged_s"] < GOALS["unchanged_s"]) + " (< 0.5 s)"),
        ("re-sync, one event changed", f"{f['changed_s']:.3f} s = {f['changed_ratio']:.1%} of (a)",
         goal(f["changed_ratio"] < GOALS["changed_ratio"]) + " (< 10% of a)"),
        ("peak memory, process tree (PSS)", f"floor {f['floor_tree_mb']} MB, agent {f['agent_tree_mb']} MB "
         f"= {f['memory_ratio']:.2f}x", goal(f["memory_ratio"] < GOALS["memory_ratio"]) + " (< 2x)"),
        ("peak RSS, largest process", f"floor {f['floor_rss_mb']} MB, agent {f['agent_rss_mb']} MB "
         f"= {f['rss_ratio']:.2f}x", goal(f["rss_ratio"] < GOALS["memory_ratio"]) + " (< 2x)"),
        ("correctness check (smaller calendar)", f"{checked} colleagues: same figures as a naive parse", ""),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value:<48} {ok}".rstrip() for name, value, ok in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run on a 1-year calendar")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--now", default=None, help="the instant to evaluate at (ISO 8601)")
    parser.add_argument("--sizes", action="store_true",
                        help="the CPU table: 1, 2.5, 5, 10 and 20 MB against the floor")
    parser.add_argument("--floor", nargs=3, metavar=("ICS", "START", "END"), help=argparse.SUPPRESS)
    parser.add_argument("--naive", nargs=3, metavar=("CONFIG", "ICS", "NOW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor_main(*args.floor)
        return
    if args.naive:
        naive_store(Path(args.naive[0]), Path(args.naive[1]), datetime.fromisoformat(args.naive[2]))
        return
    from heavy_calendar import NOW

    now_text = args.now or NOW
    folder = args.keep or Path(tempfile.mkdtemp(prefix="touchbase-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.sizes:
        try:
            rows = size_table(folder / "sizes", now_text)
        finally:
            if args.keep is None:
                shutil.rmtree(folder, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        return
    try:
        checked = check(folder / "check", now_text)
        figures = bench(folder / "run", 1 if args.small else 5, now_text)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(report(figures, checked))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
