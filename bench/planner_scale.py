"""Touchbase planner at scale: 2,000 tracked colleagues.

Fills a store in a temporary folder with a year of small meetings (four 1:1s each with 2,000
colleagues, so every one is tracked and most drift) and a busy week ahead for the user (six
meetings a working day), then runs the real planner once per simulated day: each run reads back
every series booked so far (the local calendar file and the tagged occurrences), ranks all 2,000
relationships, finds free slots and books `max_new_per_day` new monthly touchbases in the local
calendar file. Prints the median run and the median of `touchbase plan` (apply=False), the goal
(< 0.5 s each) and the ratios.

    python bench/planner_scale.py [--colleagues 2000] [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_data import busy_weeks, meeting, scale_config, timed  # noqa: E402

from agent.figures_memo import ensure  # noqa: E402
from agent.model import Changes, Occurrence  # noqa: E402
from agent.planning.planner import Planner, run_planner  # noqa: E402
from agent.storage.store import Store  # noqa: E402

GOAL_SECONDS = 0.5
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 10, 5, 7, 30, tzinfo=ZONE)  # a Monday, at the daemon's planner time


def occurrences(colleagues: int) -> list[Occurrence]:
    """Four past 1:1s per colleague over the year; six meetings a working day for six weeks."""
    result = []
    for i in range(colleagues):
        email, name = f"person{i}@acme.example", f"Person {i}"
        for n in range(4):
            start = NOW - timedelta(days=35 + (i * 7 + n * 61) % 300, hours=i % 6)
            result.append(meeting(f"p{i}-{n}", start, email, name))
    return result + busy_weeks(NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colleagues", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = scale_config(folder, touchbase={"mode": "auto", "max_active": 100, "max_new_per_day": 2})
        store = Store(config.store_path)
        items = occurrences(args.colleagues)
        store.apply_changes("work", Changes(full=True, upserts={o.resource: [o] for o in items}))
        runs, dry, walls, booked = [], [], [], 0
        for day in range(args.runs):
            now = NOW + timedelta(days=day)
            ensure(config, store, now - timedelta(minutes=5))  # the daemon's sync before it
            _, cpu, _ = timed(lambda: Planner(config, store, now, apply=False).run())  # noqa: B023
            dry.append(cpu)
            report, cpu, wall = timed(lambda: run_planner(config, store, now))  # noqa: B023
            runs.append(cpu)
            walls.append(wall)
            booked += len(report.created)
        store.close()
    run, plan = statistics.median(runs), statistics.median(dry)
    print(f"planner for {args.colleagues} tracked colleagues ({booked} touchbases booked over "
          f"{args.runs} runs, each run reading back the earlier ones): median {run:.3f} s CPU "
          f"(wall {statistics.median(walls):.3f} s) "
          f"(best {min(runs):.3f} s); goal < {GOAL_SECONDS} s; ratio {run / GOAL_SECONDS:.2f}")
    print(f"touchbase plan (changes nothing): median {plan:.3f} s CPU (best {min(dry):.3f} s); "
          f"goal < {GOAL_SECONDS} s; ratio {plan / GOAL_SECONDS:.2f}")


if __name__ == "__main__":
    main()
