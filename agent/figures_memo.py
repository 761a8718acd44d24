"""The per-colleague meeting figures, computed once per change of the store and kept there.

`compute_stats` reads every occurrence of the window; at 10,000 colleagues or on a heavy
calendar that is most of what `people`, `person`, `status`, `plan`, the morning email and the
planner cost. The sync computes the figures as of its own `now` and keeps them in the store
(agent/storage/figures_cache.py) with what they depend on, and `stored_stats` gives them back
as long as they are exactly what `compute_stats` would give:

- the occurrences did not change since (a version raised by triggers on any write to them);
- the counting rules did not change (a fingerprint of the config they read);
- `now` moved forward without any threshold crossing a stored start: the figures depend on
  `now` only through the instants `now`, the window's start, the tracking year's start and
  the sync window's start and end, and an occurrence changes sides only when one of them
  passes its start. Each threshold, and the first start at or after it, is kept.

Anything else: computed again, and not kept (a command that only reads, such as `plan`, writes
nothing to the store; the next sync keeps new figures).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta

from agent.configuration.loader import Config
from agent.inference import TRACKING_YEAR_DAYS, ColleagueStats, compute_stats, sync_window
from agent.storage import figures_cache, occurrences
from agent.storage.store import Store

_TIMES = ("last_met", "last_seen", "next_meeting")
_SETS = ("initiated_by_user", "initiated_by_them")
_FIELDS = tuple(f.name for f in fields(ColleagueStats))


def stored_stats(config: Config, store: Store, now: datetime) -> dict[str, ColleagueStats]:
    """`compute_stats` of the stored occurrences as of `now`, kept figures when still exact.

    Computed again, not kept, when they are not: a reader (`plan`, `people`, the MCP server
    beside the daemon) never writes the store; the next sync keeps fresh figures."""
    kept = figures_cache.load(store, _fingerprint(config))
    try:
        if kept is not None and _still_exact(json.loads(kept[0]), config, now):
            return _decoded(json.loads(kept[1]))
    except (ValueError, KeyError, TypeError):  # kept figures that do not read: computed again
        pass
    return _computed(config, store, now)


def ensure(config: Config, store: Store, now: datetime) -> None:
    """Compute and keep the figures as of `now` unless the kept ones are still exact (the sync
    calls this when it is done, so that the commands after it read them)."""
    kept = figures_cache.load(store, _fingerprint(config))
    try:
        if kept is not None and _still_exact(json.loads(kept[0]), config, now):
            return
    except (ValueError, KeyError, TypeError):
        pass
    refresh(config, store, now)


def refresh(config: Config, store: Store, now: datetime) -> dict[str, ColleagueStats]:
    """Compute the figures as of `now` and keep them (the sync calls this once it is done)."""
    stats = _computed(config, store, now)
    bounds = {name: [_instant(moment), occurrences.first_start_from(store, moment)]
              for name, moment in _thresholds(config, now).items()}
    figures_cache.save(store, _fingerprint(config), json.dumps(bounds), json.dumps(_encoded(stats)))
    return stats


def _computed(config: Config, store: Store, now: datetime) -> dict[str, ColleagueStats]:
    start, end = sync_window(config, now)
    return compute_stats(config, store.occurrences(start, end), now)


def _thresholds(config: Config, now: datetime) -> dict[str, datetime]:
    """The instants through which the figures depend on `now` (as compute_stats and
    colleague_stats compute them)."""
    local = now.astimezone(config.zone)
    selection = sync_window(config, now)
    return {"now": local, "window": local - timedelta(days=config.colleagues.window_days),
            "year": local - timedelta(days=TRACKING_YEAR_DAYS), "horizon": sync_window(config, local)[1],
            "from": selection[0], "to": selection[1]}


def _still_exact(bounds: dict[str, list], config: Config, now: datetime) -> bool:
    for name, moment in _thresholds(config, now).items():
        if name not in bounds:
            return False
        then, first = bounds[name]
        if _instant(moment) < then or (first is not None and _instant(moment) > first):
            return False
    return True


def _instant(moment: datetime) -> str:
    """UTC ISO 8601 to the microsecond: orders as the stored starts (`iso`) do."""
    return moment.astimezone(UTC).isoformat()


def _fingerprint(config: Config) -> str:
    """What the counting rules read of the config."""
    parts = [repr(config.colleagues), repr(sorted(config.user_emails)), str(config.zone),
             repr(sync_window(config, datetime(2000, 1, 1)))]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _encoded(stats: dict[str, ColleagueStats]) -> list[dict]:
    result = []
    for entry in stats.values():
        row = {name: getattr(entry, name) for name in _FIELDS}  # not asdict: it deep-copies
        for name in _TIMES:
            row[name] = _text(row[name])
        row["starts"] = [moment.isoformat() for moment in entry.starts]
        for name in _SETS:
            row[name] = sorted(row[name])
        result.append(row)
    return result


def _decoded(rows: list[dict]) -> dict[str, ColleagueStats]:
    names = set(_FIELDS)
    stats = {}
    for row in rows:
        values = {key: value for key, value in row.items() if key in names}
        for name in _TIMES:
            values[name] = _moment(values[name])
        values["starts"] = [datetime.fromisoformat(text) for text in values["starts"]]
        for name in _SETS:
            values[name] = set(values[name])
        stats[row["email"]] = ColleagueStats(**values)
    return stats


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None

