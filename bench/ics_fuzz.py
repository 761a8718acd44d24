"""Mutation run of the ICS reader: 1,000 seeded damaged calendars, read through `touchbase sync`.

Each case applies one to three mutations (byte flips, removed or duplicated lines, case changes,
a cut) to a valid calendar (tests/ics_mutations.py), then syncs it twice: over the store synced
from the intact calendar, and into a fresh store, and reads `people --json`. Printed, all goals 0:

  tracebacks              a traceback or an "unexpected error" anywhere
  runs over 30 s          one sync + people taking longer (a hang is cut at 120 s and counted)
  runs over 1 GB          the process's peak resident memory passing 1 GB during a run
  untouched lost a meeting  colleagues the damage did not touch whose meeting count dropped

Usage: python bench/ics_fuzz.py [--cases 1000] [--seed 10]
"""
from __future__ import annotations

import argparse
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO)]  # this checkout's code and its tests' helpers

from tests.ics_mutations import Bench, Case, mutate, random_ops  # noqa: E402

SLOW_SECONDS = 30
HANG_SECONDS = 120
MEMORY_KB = 1_000_000  # 1 GB, as ru_maxrss counts (KiB on Linux)


class Hang(Exception):
    """A run went past HANG_SECONDS."""


def _hung(signum: int, frame: object) -> None:
    raise Hang


def run(cases: int, seed: int) -> Counter:
    """Run the cases; the counts of every outcome."""
    counts: Counter = Counter()
    signal.signal(signal.SIGALRM, _hung)
    with tempfile.TemporaryDirectory(prefix="touchbase-fuzz-") as folder:
        bench = Bench(Path(folder))
        for number in range(cases):
            rng = random.Random(seed * 1_000_003 + number)
            mutated = mutate(random_ops(rng))
            for fresh in (False, True):
                _one(bench, mutated, fresh, counts, f"case {number} ({'fresh' if fresh else 'over'})")
            counts["cases"] += 1
    return counts


def _one(bench: Bench, mutated: object, fresh: bool, counts: Counter, name: str) -> None:
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    signal.alarm(HANG_SECONDS)
    case: Case | None = None
    try:
        case = bench.read(mutated, fresh=fresh)  # type: ignore[arg-type]
    except Hang:
        counts["runs over 30 s"] += 1
        print(f"{name}: hung: {mutated.what}", file=sys.stderr)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a traceback is what is counted
        counts["tracebacks"] += 1
        print(f"{name}: {mutated.what}\n{traceback.format_exc()}", file=sys.stderr)  # type: ignore[attr-defined]
    finally:
        signal.alarm(0)
    seconds = time.monotonic() - started
    counts["runs"] += 1
    counts["seconds"] += seconds
    counts["max seconds"] = max(counts["max seconds"], seconds)
    if seconds > SLOW_SECONDS:
        counts["runs over 30 s"] += 1
    memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if memory > MEMORY_KB >= memory_before:
        counts["runs over 1 GB"] += 1
    counts["peak RSS MB"] = memory // 1024
    if case is None:
        return
    if "Traceback" in case.output or "unexpected error" in case.output:
        counts["tracebacks"] += 1
        print(f"{name}: {mutated.what}\n{case.output}", file=sys.stderr)  # type: ignore[attr-defined]
    counts["refused (previous state kept)" if not case.synced else "read"] += 1
    counts["events skipped and named"] += case.output.count("skipped event")
    for who, (before, after) in case.lost.items():
        counts["untouched colleagues with a changed figure"] += 1
        if after is None or after[0] < before[0]:
            counts["untouched colleagues losing a meeting"] += 1
        print(f"{name}: {who} {before} -> {after} after {mutated.what}", file=sys.stderr)  # type: ignore[attr-defined]


def main() -> int:
    """Run and print the figures; non-zero exit when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, resource.getrlimit(resource.RLIMIT_AS)[1]))
    started = time.monotonic()
    counts = run(args.cases, args.seed)
    goals = ("tracebacks", "runs over 30 s", "runs over 1 GB", "untouched colleagues losing a meeting")
    print(f"{counts['cases']} damaged calendars (seed {args.seed}), {counts['runs']} syncs "
          f"in {time.monotonic() - started:.0f} s")
    for key in goals:
        print(f"  {key:<45} {counts[key]:>6}   goal 0: {'yes' if counts[key] == 0 else 'NO'}")
    for key in ("untouched colleagues with a changed figure", "refused (previous state kept)",
                "read", "events skipped and named"):
        print(f"  {key:<45} {counts[key]:>6}")
    print(f"  {'slowest run':<45} {counts['max seconds']:>6.2f} s")
    print(f"  {'mean run':<45} {counts['seconds'] / max(counts['runs'], 1):>6.2f} s")
    print(f"  {'peak RSS of the whole run':<45} {counts['peak RSS MB']:>6} MB")
    return 0 if all(counts[key] == 0 for key in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
