"""The per-colleague view the CLI and the other parts read: stats from the store."""
from __future__ import annotations

from datetime import datetime

from agent.config import Config
from agent.inference import ColleagueStats, compute_stats, sync_window
from agent.store import Store


def colleague_stats(config: Config, store: Store, now: datetime) -> dict[str, ColleagueStats]:
    """Per colleague figures as of `now`, from the stored occurrences."""
    start, end = sync_window(config, now)
    return compute_stats(config, store.occurrences(start, end), now)


def people_rows(config: Config, store: Store, now: datetime,
                stats: dict[str, ColleagueStats] | None = None) -> list[dict]:
    """The `people --json` list: most meetings first, then by address (`stats`: already
    computed `colleague_stats`, to read the store once)."""
    zone = config.zone
    stats = colleague_stats(config, store, now) if stats is None else stats
    rows = []
    for entry in stats.values():
        if not entry.meetings and entry.next_meeting is None:
            continue
        row = entry.as_dict()
        for key in ("last_met", "next_meeting"):
            value = getattr(entry, key)
            row[key] = value.astimezone(zone).isoformat() if value else None
        rows.append(row)
    rows.sort(key=lambda r: (-r["meetings"], r["email"]))
    return rows
