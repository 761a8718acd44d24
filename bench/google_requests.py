"""Google connector: HTTP requests per sync and per touchbase, counted by the emulator.

Drives the real connector (googleapiclient over the emulator in tests/fakes/) and prints, for each
case, the requests made, the goal, and the ratio (1.00 = exactly the goal):
  - a sync with no change: exactly one events.list per calendar;
  - the first sync of N events: ceil(N / 2500) events.list requests;
  - a sync after k changes: one request (plus pages only when k > 2500);
  - writing a touchbase: one freeBusy.query and one events.insert.
The token refresh (one request to the token endpoint when the access token is new) is not a
Calendar request and is left out of the counts.

    python bench/google_requests.py
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from agent.configuration.loader import load_config  # noqa: E402
from agent.model import SeriesSpec  # noqa: E402
from agent.sources import open_connector  # noqa: E402
from agent.storage.store import Store  # noqa: E402
from agent.sync import sync_source  # noqa: E402
from tests.fakes.google_api import GoogleEmulator  # noqa: E402

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 1, 12, tzinfo=ZONE)
ME = "me@acme.example"
TEAM = "team@group.calendar.google.com"


def event(number: int, calendar_start: datetime, summary: str = "Sync") -> dict:
    start = calendar_start + timedelta(minutes=90 * number)  # 6000 events span 375 days
    end = start + timedelta(minutes=30)
    return {"id": f"bench{number:07d}", "summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": end.isoformat(), "timeZone": "Europe/Berlin"},
            "attendees": [{"email": ME, "responseStatus": "accepted"},
                          {"email": f"person{number % 40}@acme.example",
                           "responseStatus": "accepted"}]}


class Case:
    """One emulator, one config and one store in a temporary folder."""

    def __init__(self, folder: Path, calendars: list[str]) -> None:
        self.emulator = GoogleEmulator(owner=ME).start()
        data = folder / "data"
        (data / "tokens").mkdir(parents=True)
        token = data / "tokens" / "g.json"
        token.write_text(json.dumps(self.emulator.grant()))
        os.chmod(token, 0o600)
        config = folder / "config.toml"
        config.write_text(
            f'[user]\nemail = "{ME}"\ntimezone = "Europe/Berlin"\n\n'
            f'[store]\npath = "{data / "touchbase.db"}"\n\n'
            f'[[sources]]\nname = "g"\ntype = "google"\napi_endpoint = "{self.emulator.url}"\n'
            f'calendars = {json.dumps(calendars)}\n')
        self.config = load_config(config)
        self.store = Store(self.config.store_path)

    def sync(self) -> int:
        """Sync once; returns the Calendar requests it made."""
        self.emulator.reset_counts()
        result = sync_source(self.config, self.store, self.config.sources[0], NOW)
        assert result.ok, result.error
        return calendar_requests(self.emulator)

    def close(self) -> None:
        self.store.close()
        self.emulator.stop()


def calendar_requests(emulator: GoogleEmulator) -> int:
    return sum(n for method, n in emulator.counts.items() if not method.startswith("oauth."))


def report(label: str, measured: int, goal: int) -> None:
    ratio = measured / goal if goal else float("inf")
    print(f"{label:58} {measured:6d} requests   goal {goal:6d}   ratio {ratio:.2f}")


def main() -> None:
    print("Google connector: requests against the emulator (ratio 1.00 = the goal)\n")
    base = NOW - timedelta(days=360)  # every event lies inside the sync window
    with tempfile.TemporaryDirectory() as tmp:
        for n in (100, 2500, 2501, 6000):
            case = Case(Path(tmp) / f"first{n}", ["primary"])
            for number in range(n):
                case.emulator.put_event(event(number, base))
            report(f"first sync of {n} events", case.sync(), math.ceil(n / 2500))
            if n == 6000:
                report("sync with no change (1 calendar)", case.sync(), 1)
                for k in (1, 100, 2600):
                    for number in range(k):
                        case.emulator.put_event(event(number, base, summary=f"changed {k}"))
                    report(f"sync after {k} changes", case.sync(), max(1, math.ceil(k / 2500)))
            case.close()
        case = Case(Path(tmp) / "two", ["primary", TEAM])
        for number in range(50):
            case.emulator.put_event(event(number, base), calendar_id=TEAM if number % 2 else "primary")
        case.sync()
        report("sync with no change (2 calendars)", case.sync(), 2)
        connector = open_connector(case.config, case.config.sources[0], NOW)
        connector.busy(NOW, NOW + timedelta(days=28), ["person1@acme.example"])
        case.emulator.reset_counts()
        connector.busy(NOW, NOW + timedelta(days=28), ["person1@acme.example"])
        connector.create_series(SeriesSpec(
            series_id="bench-person1", colleague="person1@acme.example", colleague_name="",
            organizer=ME, title="Touchbase", description="", start=NOW + timedelta(days=9),
            duration_minutes=30, timezone="Europe/Berlin", weekday="TU", week_index=2, tag="bench"))
        counts = case.emulator.counts
        report("writing a touchbase (freeBusy + insert)", calendar_requests(case.emulator), 2)
        print(f"{'':58} freeBusy {counts['freebusy.query']}, insert {counts['events.insert']}")
        connector.close()
        case.close()


if __name__ == "__main__":
    main()
