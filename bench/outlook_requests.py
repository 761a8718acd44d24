"""Graph requests per operation of the Outlook connector, counted against the emulator.

Goals (issue "Outlook / Microsoft 365 connector"): a sync with no change costs one request; the
first sync of N occurrences costs the pages the server hands out and nothing else; writing a
touchbase costs one lookup, one getSchedule and one create (and a retry of it one lookup only).

Usage: python bench/outlook_requests.py [--series 40] [--page-size 50]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.configuration.loader import parse_config  # noqa: E402
from agent.model import SeriesSpec  # noqa: E402
from agent.sources import make_context  # noqa: E402
from agent.storage.store import Store  # noqa: E402
from agent.sync import sync_source  # noqa: E402
from connectors.outlook.connector import OutlookConnector  # noqa: E402
from tests.fakes.graph_api import GraphFake  # noqa: E402
from tests.fakes.graph_state import att  # noqa: E402

NOW = datetime.fromisoformat("2026-10-14T12:00:00+02:00")
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def build_calendar(fake: GraphFake, series: int) -> None:
    """`series` weekly meetings with colleagues since a year ago, plus one single event each."""
    first = NOW - timedelta(days=400)
    for i in range(series):
        start = (first + timedelta(days=i % 5, hours=i % 8)).replace(minute=0, second=0, microsecond=0)
        who = [att(f"colleague{i}@acme.example"), att(f"colleague{i + 1}@acme.example", "tentativelyAccepted")]
        fake.mailbox.add_event(f"Weekly {i}", start, start + timedelta(minutes=30), attendees=who,
                               recurrence={"pattern": {"type": "weekly", "interval": 1,
                                                       "daysOfWeek": [DAYS[start.weekday() % 5]]},
                                           "range": {"type": "noEnd", "startDate": start.date().isoformat()}})
        single = NOW - timedelta(days=3 + i)
        fake.mailbox.add_event(f"1:1 {i}", single, single + timedelta(minutes=30),
                               attendees=[att(f"colleague{i}@acme.example")])


def measure(series: int, page_size: int) -> list[tuple[str, int, int]]:
    """(operation, requests made, requests expected) for each measured operation."""
    folder = Path(tempfile.mkdtemp(prefix="outlook-bench-"))
    fake = GraphFake(folder / "tls").start()
    os.environ["REQUESTS_CA_BUNDLE"] = str(fake.tls.ca)
    fake.routes.max_page_size = page_size
    try:
        config = parse_config({
            "user": {"email": fake.user, "timezone": "Europe/Berlin"},
            "store": {"path": str(folder / "data" / "touchbase.db")},
            "sources": [{"name": "office", "type": "outlook", "client_id": fake.client_id,
                         "authority": fake.authority, "graph_endpoint": fake.graph_endpoint}],
        })
        source = config.sources[0]
        context = make_context(config, NOW)
        OutlookConnector.authorize(source, context, echo=lambda line: None, roles=["read", "write"])
        build_calendar(fake, series)
        store = Store(config.store_path)
        rows = []

        fake.reset_log()
        result = sync_source(config, store, source, NOW)
        occurrences = result.occurrences
        rows.append((f"first sync ({occurrences} occurrences, pages of {page_size})",
                     len(fake.graph_requests()), math.ceil(occurrences / page_size)))

        fake.reset_log()
        sync_source(config, store, source, NOW)
        rows.append(("sync with no change", len(fake.graph_requests()), 1))

        fake.mailbox.add_event("New 1:1", NOW + timedelta(days=2), NOW + timedelta(days=2, minutes=30),
                               attendees=[att("newcomer@acme.example")])
        fake.reset_log()
        sync_source(config, store, source, NOW)
        rows.append(("sync with one new event", len(fake.graph_requests()), 1))

        spec = SeriesSpec(series_id="tb-bench-1", colleague="colleague3@acme.example", colleague_name="",
                          organizer=fake.user, title="Touchbase", description="Prompts",
                          start=NOW + timedelta(days=27), duration_minutes=30, timezone="Europe/Berlin",
                          weekday="TU", week_index=2, tag="tb-bench-1")
        connector = OutlookConnector(source, context)
        fake.reset_log()
        connector.busy(NOW, NOW + timedelta(days=45), [spec.colleague])
        connector.create_series(spec)
        rows.append(("write a touchbase (getSchedule, lookup, create)", len(fake.graph_requests()), 3))

        fake.reset_log()
        connector.create_series(spec)
        rows.append(("retry of the same touchbase (lookup only)", len(fake.graph_requests()), 1))
        connector.close()
        store.close()
        return rows
    finally:
        fake.stop()


def main() -> None:
    """Print the table of request counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=40, help="weekly series on the calendar")
    parser.add_argument("--page-size", type=int, default=50, help="the most events the server puts in a page")
    args = parser.parse_args()
    rows = measure(args.series, args.page_size)
    width = max(len(name) for name, _, _ in rows)
    print(f"{'operation':<{width}}  requests  goal  ratio")
    for name, made, goal in rows:
        print(f"{name:<{width}}  {made:>8}  {goal:>4}  {made / goal:5.2f}")
    if any(made != goal for _, made, goal in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
