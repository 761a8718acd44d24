"""Healing at scale: 2,000 colleagues' live weekly touchbases, after a sync that changed nothing.

Fills a store in a temporary folder with 2,000 active weekly series (their synced occurrences
from four weeks back to thirteen weeks ahead, every colleague accepted) and a busy six weeks for
the user (six meetings a working day, none over a touchbase), then runs the post-sync healing
step (`heal_after_sync`) several times. It must open no connector at all (so it sends no
request to any backend) and take under 0.2 s. Prints the connectors opened, the median time,
the goal and the ratio.

    python bench/heal_scale.py [--colleagues 2000] [--runs 7]
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

from scale_data import USER, busy_weeks, scale_config, timed  # noqa: E402

from agent.model import Attendee, Changes, Occurrence  # noqa: E402
from agent.planning import touchbases as tb  # noqa: E402
from agent.planning.planner import heal_after_sync  # noqa: E402
from agent.storage.store import Store  # noqa: E402

GOAL_SECONDS = 0.2
KEY = b"bench-installation-key-32-bytes!"
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 10, 5, 7, 30, tzinfo=ZONE)  # a Monday


def series_rows(colleagues: int) -> list[tb.Touchbase]:
    """One active weekly series per colleague, on weekdays at 16:00, written to `work`."""
    rows = []
    for i in range(colleagues):
        email = f"person{i}@acme.example"
        first = datetime(2026, 9, 7, 16, 0, tzinfo=ZONE) + timedelta(days=i % 5)
        rows.append(tb.Touchbase(series_id=tb.series_id_for(KEY, email, 1), email=email, state=tb.ACTIVE,
                                 created_at=NOW - timedelta(days=30), target="work",
                                 event_id=f"ev-{i}", start=first, rrule="FREQ=WEEKLY;BYDAY=MO"))
    return rows


def synced(rows: list[tb.Touchbase]) -> list[Occurrence]:
    """The series' occurrences as a sync stores them, and the user's busy weeks."""
    result = []
    for row in rows:
        assert row.start is not None
        for week in range(17):
            start = row.start + timedelta(weeks=week)
            result.append(Occurrence(
                resource=row.event_id, key=f"{row.event_id}|{week}", title="Touchbase", start=start,
                end=start + timedelta(minutes=30), organizer=USER, series_id=row.event_id,
                tag=row.series_id, attendees=(Attendee(row.email, response="accepted"),)))
    return result + busy_weeks(NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--colleagues", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    opened: list[str] = []

    def opener(config, source, now):  # noqa: ANN001, ANN202 - counts, never opens
        opened.append(source.name)
        raise RuntimeError("healing opened a connector after a sync that changed nothing")

    with tempfile.TemporaryDirectory() as folder:
        config = scale_config(folder)
        store = Store(config.store_path)
        rows = series_rows(args.colleagues)
        with store.atomic():
            for row in rows:
                tb.save(store, row)
        items = synced(rows)
        upserts: dict[str, list[Occurrence]] = {}
        for occ in items:
            upserts.setdefault(occ.resource, []).append(occ)
        store.apply_changes("work", Changes(full=True, upserts=upserts))
        times, walls = [], []
        for run in range(args.runs):
            moment = NOW + timedelta(minutes=run)
            report, cpu, wall = timed(lambda: heal_after_sync(config, store, moment, open_connector=opener))  # noqa: B023
            times.append(cpu)
            walls.append(wall)
            assert report is None, report
        store.close()
    median = statistics.median(times)
    print(f"healing after a sync with no change, {args.colleagues} live weekly series "
          f"({len(items)} synced occurrences): {len(opened)} connectors opened, 0 requests; "
          f"median {median:.3f} s CPU (best {min(times):.3f} s, wall {statistics.median(walls):.3f} s); "
          f"goal < {GOAL_SECONDS} s; "
          f"ratio {median / GOAL_SECONDS:.2f}")


if __name__ == "__main__":
    main()
