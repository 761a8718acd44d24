"""Morning email at scale: build the digest for 2,000 tracked colleagues.

Fills a store in a temporary folder with a year of small meetings (four 1:1s each with 2,000
colleagues, so every one is tracked and most are due or overdue), a note for every second
person, today's meetings and waiting follow-up drafts, then times `build_digest` on a Friday
(every section, the Friday reconnect list included). Prints the median of several runs, the
goal (< 0.5 s) and the ratio.

    python bench/digest_scale.py [--colleagues 2000] [--runs 5]
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

from scale_data import meeting, scale_config, timed  # noqa: E402

from agent.digest.morning import build_digest  # noqa: E402
from agent.figures_memo import ensure  # noqa: E402
from agent.model import Changes, Occurrence  # noqa: E402
from agent.storage.store import Store, iso  # noqa: E402

GOAL_SECONDS = 0.5
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 10, 9, 9, 0, tzinfo=ZONE)  # a Friday


def occurrences(colleagues: int) -> list[Occurrence]:
    """Four past 1:1s per colleague spread over the year, and a few meetings today."""
    result = []
    for i in range(colleagues):
        email, name = f"person{i}@acme.example", f"Person {i}"
        for n in range(4):
            start = NOW - timedelta(days=20 + (i * 7 + n * 61) % 330, hours=i % 6)
            result.append(meeting(f"p{i}-{n}", start, email, name))
        if i % 200 == 0:
            result.append(meeting(f"today-{i}", NOW + timedelta(hours=1 + i // 200 % 6), email, name))
    return result


def fill(store: Store, colleagues: int) -> None:
    """Occurrences, notes, actions and waiting drafts for `colleagues` people."""
    items = occurrences(colleagues)
    store.apply_changes("work", Changes(full=True, upserts={o.resource: [o] for o in items}))
    store.record_sync("work", "ics", {}, NOW - timedelta(minutes=10), 0)
    with store.atomic():
        store.db["notes"].insert_all(
            {"email": f"person{i}@acme.example", "created": iso(NOW - timedelta(days=i % 90)),
             "text": f"Note {i}: asked about the roadmap"} for i in range(0, colleagues, 2))
        for i in range(0, min(colleagues, 50)):
            store.log_action("touchbase-created", f"person{i}@acme.example", "second Tuesday",
                             NOW - timedelta(hours=2))
        store.db["followups"].insert_all(
            {"key": f"work|p{i}", "email": f"person{i}@acme.example", "created_at": iso(NOW - timedelta(hours=3)),
             "meeting_start": iso(NOW - timedelta(hours=5)), "title": "1:1", "location": "gmail",
             "kind": "followup"} for i in range(0, min(colleagues, 20)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colleagues", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = scale_config(folder)
        store = Store(config.store_path)
        fill(store, args.colleagues)
        ensure(config, store, NOW - timedelta(minutes=10))  # as the sync before it does
        timings, walls, digest = [], [], None
        for _ in range(args.runs):
            digest, cpu, wall = timed(lambda: build_digest(config, store, NOW))
            timings.append(cpu)
            walls.append(wall)
        store.close()
    tracked = next((s for s in digest.sections if s.key == "reconnect"), None)
    shown = (len(tracked.items) + tracked.more) if tracked else 0
    median = statistics.median(timings)
    print(f"digest for {args.colleagues} tracked colleagues ({shown} to reconnect with, "
          f"{len(digest.text.splitlines())} text lines): median {median:.3f} s CPU (wall "
          f"{statistics.median(walls):.3f} s) over {args.runs} runs; "
          f"goal < {GOAL_SECONDS} s; ratio {median / GOAL_SECONDS:.2f}")


if __name__ == "__main__":
    main()
