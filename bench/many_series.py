"""The many-series stress calendar: thousands of recurring series, one sync, then `people`.

Writes a calendar of about 5,800 recurring series (weekly, biweekly and every-weekday meetings
with two to five of 4,900 colleagues, some with an EXDATE or a moved instance, each running for
a few months inside the window: about 127,000 occurrences), then runs `touchbase sync` into a
fresh store and `touchbase people --json`, as whole processes, measuring CPU time (the process
and its workers). The same at a quarter and half of the series shows whether the sync costs in
proportion to the occurrences (CPU per 1,000 occurrences about constant), and the sync's own
output shows its progress lines.

    python bench/many_series.py [--series 5800] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from ingest import cpu_seconds, touchbase_command, write_config  # noqa: E402

NOW = "2026-03-02T08:00:00+01:00"
ZONE = ZoneInfo("Europe/Berlin")
USER = "me@acme.example"
PEOPLE_GOAL_S = 2.0


def series_block(rng: random.Random, index: int, colleagues: int, now: datetime) -> str:
    """One recurring series as VEVENT text (with one moved instance now and then)."""
    kind = rng.choice(("WEEKLY", "WEEKLY", "BIWEEKLY", "WEEKDAYS"))
    first = (now - timedelta(days=rng.randint(0, 420))).replace(hour=rng.randint(8, 17), minute=0,
                                                               second=0, microsecond=0)
    rule = {"WEEKLY": "FREQ=WEEKLY;COUNT=22", "BIWEEKLY": "FREQ=WEEKLY;INTERVAL=2;COUNT=22",
            "WEEKDAYS": "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=22"}[kind]
    who = rng.sample(range(colleagues), rng.randint(2, 5))
    stamp = f"{first:%Y%m%dT%H%M%S}"
    lines = ["BEGIN:VEVENT", f"UID:series-{index}@bench.example", "DTSTAMP:20260101T000000Z",
             f"DTSTART;TZID=Europe/Berlin:{stamp}",
             f"DTEND;TZID=Europe/Berlin:{first + timedelta(minutes=30):%Y%m%dT%H%M%S}",
             f"RRULE:{rule}", f"SUMMARY:Sync {index}", f"ORGANIZER;CN=Me:mailto:{USER}",
             f"ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:{USER}"]
    lines += [f"ATTENDEE;CN=Person {p};PARTSTAT=ACCEPTED:mailto:person{p}@acme.example" for p in who]
    if index % 7 == 0:
        lines.append(f"EXDATE;TZID=Europe/Berlin:{first + timedelta(weeks=2):%Y%m%dT%H%M%S}")
    lines.append("END:VEVENT")
    if index % 11 == 0 and kind == "WEEKLY":
        moved = first + timedelta(weeks=3)
        lines += ["BEGIN:VEVENT", f"UID:series-{index}@bench.example", "DTSTAMP:20260101T000000Z",
                  f"RECURRENCE-ID;TZID=Europe/Berlin:{moved:%Y%m%dT%H%M%S}",
                  f"DTSTART;TZID=Europe/Berlin:{moved + timedelta(hours=1):%Y%m%dT%H%M%S}",
                  f"DTEND;TZID=Europe/Berlin:{moved + timedelta(hours=1, minutes=30):%Y%m%dT%H%M%S}",
                  f"SUMMARY:Sync {index} (moved)", f"ORGANIZER;CN=Me:mailto:{USER}",
                  f"ATTENDEE;CN=Person {who[0]};PARTSTAT=ACCEPTED:mailto:person{who[0]}@acme.example",
                  "END:VEVENT"]
    return "\r\n".join(lines) + "\r\n"


def write_calendar(path: Path, series: int, colleagues: int = 4900, seed: int = 5) -> Path:
    """The stress calendar (the same bytes for the same arguments)."""
    rng = random.Random(seed)
    now = datetime.fromisoformat(NOW).astimezone(ZONE)
    body = "".join(series_block(rng, i, colleagues, now) for i in range(series))
    path.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//touchbase bench//EN\r\n" + body
                    + "END:VCALENDAR\r\n", encoding="utf-8")
    return path


def run(folder: Path, series: int) -> dict:
    """Sync the calendar of `series` series into a fresh store, then `people --json`."""
    folder.mkdir(parents=True, exist_ok=True)
    calendar = write_calendar(folder / "series.ics", series)
    config = write_config(folder, calendar)
    base = touchbase_command(folder) + ["--config", str(config), "--now", NOW]
    sync, said, progress = cpu_seconds(base + ["sync"])
    people, listed, _ = cpu_seconds(base + ["people", "--json"])
    count = int(said.split(" occurrences read")[0].rsplit(" ", 1)[-1])
    return {"series": series, "mb": round(calendar.stat().st_size / 1e6, 1), "occurrences": count,
            "colleagues": len(json.loads(listed)), "sync_cpu_s": round(sync, 2),
            "per_1000_s": round(1000 * sync / count, 3), "people_cpu_s": round(people, 2),
            "progress": progress.count("Reading events"), "sync_output": said}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=5800)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="touchbase-series-"))
    try:
        rows = [run(folder / str(n), n) for n in (args.series // 4, args.series // 2, args.series)]
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print("series  MB    occurrences  colleagues  sync CPU  CPU per 1,000 occ.  people CPU")
    for r in rows:
        print(f"{r['series']:<7} {r['mb']:<5} {r['occurrences']:<12} {r['colleagues']:<11} "
              f"{r['sync_cpu_s']:<9} {r['per_1000_s']:<19} {r['people_cpu_s']}")
    print(f"people goal < {PEOPLE_GOAL_S} s: {'yes' if rows[-1]['people_cpu_s'] < PEOPLE_GOAL_S else 'NO'}; "
          f"progress bar of the largest sync on stderr ('Reading events'): "
          f"{'shown' if rows[-1]['progress'] else 'NOT shown'}")
    print("sync output of the largest:\n" + rows[-1]["sync_output"].rstrip())


if __name__ == "__main__":
    main()
