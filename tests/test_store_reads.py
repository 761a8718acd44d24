"""Reading occurrences back: the agent's own left out on request, attendee lists read once."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.model import Attendee, Changes, Occurrence
from agent.storage.store import Store

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 2, 9, 0, tzinfo=ZONE)


def occurrence(uid: str, hours: int, tag: str = "") -> Occurrence:
    start = START + timedelta(hours=hours)
    return Occurrence(resource=uid, key=f"{uid}|{hours}", title=uid, start=start,
                      end=start + timedelta(minutes=30), organizer="me@acme.example", tag=tag,
                      series_id=uid, attendees=(Attendee("ann@acme.example", "Ann", "accepted"),))


def test_untagged_leaves_out_exactly_the_agents_own_and_instances_share_their_attendees(tmp_path):
    store = Store(tmp_path / "store.db")
    items = [occurrence("weekly", h) for h in range(0, 48, 6)] + [
        occurrence("own", h, tag="touchbase-series-1") for h in range(3, 48, 12)]
    store.apply_changes("work", Changes(full=True, upserts={"weekly": items[:8], "own": items[8:]}))
    everything = list(store.occurrences(START, START + timedelta(days=3)))
    untagged = list(store.occurrences(START, START + timedelta(days=3), untagged=True))
    assert untagged == [o for o in everything if not o.tag]
    assert len(untagged) == 8 and len(everything) == 12
    assert len({id(o.attendees) for o in untagged}) == 1  # one decoded list for the series
    store.close()
