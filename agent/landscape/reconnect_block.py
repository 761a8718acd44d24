"""The weekly "Reconnect hour": a block of the user's own time that the agent keeps in the calendar.

With `[landscape] reconnect_hour = true` the planner job keeps one weekly series, "Reconnect hour"
(60 minutes on `reconnect_day` at `reconnect_time` in the user's zone, from the next such day), in
the calendar touchbases are written to (`agent.planning.targets.target_source`: the local calendar
file when that source only reads). It has no attendee, so nobody is invited, and it carries the
agent's tag like every event the agent writes.

It is one of the agent's own series (`agent.storage.own_series`), of kind `reconnect_block`: it
never counts toward `max_active` or `max_new_per_day` and never shows as a colleague's touchbase.
The same state machine as a touchbase: `pending` (recorded just before the write; a crash is
reconciled by the backend's tag lookup), `active`, `ended` (the agent ended it because the
setting was turned off; turning it on again writes a new series), `deleted` (the user removed it:
it is never written again).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from agent.configuration.loader import WEEKDAYS, Config, SourceConfig
from agent.errors import ConfigError
from agent.model import OwnEvent, SeriesSpec
from agent.planning import readback
from agent.planning.provenance import Provenance
from agent.planning.readback import calendar_says, own_by_series
from agent.planning.recurrence import schedule_phrase
from agent.planning.targets import WriteTargets, configured_source, target_source, where_written
from agent.planning.touchbases import keyed_digest
from agent.storage import own_series
from agent.storage.installation_key import installation_key
from agent.storage.own_series import BOOKED, DELETED, ENDED, PENDING, RECONNECT_BLOCK, OwnSeries
from agent.storage.store import Store
from connectors.base import Connector

ID_PREFIX = "reconnect-hour"
TITLE = "Reconnect hour"
DESCRIPTION = ("Reserved by touchbase: send updates and reconnect notes; "
               "your Friday list is in the morning email.")
MINUTES = 60


Block = OwnSeries
"""The reconnect hour is an own series of kind `reconnect_block`, with nobody invited."""


def block_id(key: bytes, email: str, number: int = 1) -> str:
    """The series id of the user's `number`th reconnect hour (also the UID stem): the same on
    every run of this installation, not predictable without its key."""
    digest = keyed_digest(key, email.strip().lower())
    return f"{ID_PREFIX}-{digest}" + (f"-{number}" if number > 1 else "")


def load_blocks(store: Store) -> list[Block]:
    """Every reconnect hour the agent wrote, oldest first."""
    return own_series.load(store, RECONNECT_BLOCK)


def next_start(config: Config, now: datetime) -> datetime:
    """The first `reconnect_day` at `reconnect_time` (user's zone) after `now`."""
    zone = config.zone
    local = now.astimezone(zone)
    at = time.fromisoformat(config.landscape.reconnect_time)
    ahead = (WEEKDAYS.index(config.landscape.reconnect_day) - local.weekday()) % 7
    day = local.date() + timedelta(days=ahead)
    start = datetime.combine(day, at, zone)
    if start <= now:
        start = datetime.combine(day + timedelta(days=7), at, zone)
    return start


def ensure_reconnect_block(config: Config, store: Store, now: datetime) -> list[str]:
    """Keep the weekly Reconnect hour as configured; returns one line per thing done.

    On: write it once (idempotent across runs and crashes), notice when the user deleted it
    (never written again). Off: end the agent's own block once. A failing backend raises a
    SourceError after the row is recorded, so the next run picks up where this one stopped.
    """
    keeper = _Keeper(config, store, now)
    try:
        return keeper.run()
    finally:
        keeper.finish()


class _Keeper:
    """One pass over the reconnect hour; holds the open connectors."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self.config, self.store, self.now = config, store, now
        self.rows = load_blocks(store)
        self.targets = WriteTargets(config, store, now)

    def run(self) -> list[str]:
        latest = self.rows[-1] if self.rows else None
        if not self.config.landscape.reconnect_hour:
            return [self._end(latest)] if latest is not None and latest.state in BOOKED else []
        if not self.config.user.email:
            raise ConfigError(f"{self.config.path or 'config'}: [user] email is not set; "
                              "the reconnect hour needs an organiser")
        if latest is None or latest.state == ENDED:
            return [self._write(self._new_row())]
        if latest.state == DELETED:
            return []
        source = self._source_named(latest.target)
        if source is None:
            return [f"reconnect hour: {latest.target!r} is no longer configured; left as it is"]
        return self._follow(latest, source)

    def _follow(self, block: Block, source: SourceConfig) -> list[str]:
        """A booked block: what its calendar says of it, and what follows."""
        own = self._own(source, block)
        said = calendar_says(block, own)
        if said == readback.WRITTEN:
            assert own is not None
            return [self._recovered(block, source, own)]
        if said == readback.UNWRITTEN:
            return [self._write(block)]
        if said == readback.GONE:
            return [self._deleted(block, "no longer in the calendar")]
        if said == readback.ENDED_THERE:
            return [self._deleted(block, "ended in the calendar")]
        return []

    def finish(self) -> None:
        """Close connectors; re-read the local calendar file when this pass wrote it."""
        self.targets.close()

    # --- the steps -----------------------------------------------------------------------------

    def _new_row(self) -> Block:
        taken = {row.series_id for row in self.rows}
        number = len(self.rows) + 1
        key = installation_key(self.config.data_dir)
        while block_id(key, self.config.user.email, number) in taken:
            number += 1
        block = Block(series_id=block_id(key, self.config.user.email, number), email="", state=PENDING,
                      created_at=self.now, target=target_source(self.config).name, title=TITLE,
                      kind=RECONNECT_BLOCK)
        self.rows.append(block)
        return block

    def _write(self, block: Block) -> str:
        """Record the row as pending, write the series, then record it as active."""
        source = self._source_named(block.target)
        if source is None:  # a pending row whose target was removed from the config
            source = target_source(self.config)
            block.target = source.name
        if block.start is None or block.start <= self.now:
            block.start = next_start(self.config, self.now)
        spec = self._spec(block)
        block.booking()
        block.rrule = spec.rrule
        self._save(block)
        connector = self._connector(source)
        event_id = connector.create_series(spec)
        self.targets.wrote(source.name)
        block.written(event_id)
        detail = f"{self._describe(block)} {self._where(source)}"
        with self.store.atomic():
            self._save(block)
            self.store.log_action("reconnect-hour-created", "", detail, self.now)
        return f"reconnect hour created: {detail}"

    def _recovered(self, block: Block, source: SourceConfig, own: OwnEvent) -> str:
        block.written(own.event_id)
        detail = f"{self._describe(block)} {self._where(source)}"
        with self.store.atomic():
            self._save(block)
            self.store.log_action("reconnect-hour-created", "", detail, self.now)
        return f"reconnect hour found after an interrupted write: {detail}"

    def _deleted(self, block: Block, why: str) -> str:
        block.deleted(self.now)
        with self.store.atomic():
            self._save(block)
            self.store.log_action("reconnect-hour-deleted-by-user", "", why, self.now)
        return f"reconnect hour {why}: not written again"

    def _end(self, block: Block) -> str:
        """The setting was turned off: end the agent's own series once."""
        source = self._source_named(block.target)
        if source is None:
            return f"reconnect hour: {block.target!r} is no longer configured; left as it is"
        own = self._own(source, block)
        if own is None:
            return self._deleted(block, "no longer in the calendar")
        if not own.ended:
            connector = self._connector(source)
            connector.end_series(own.event_id or block.event_id, self.now)
            self.targets.wrote(source.name)
        block.ended(self.now)
        detail = f"reconnect_hour is off; ended {self._where(source)}"
        with self.store.atomic():
            self._save(block)
            self.store.log_action("reconnect-hour-ended", "", detail, self.now)
        return f"reconnect hour ended: {detail}"

    # --- helpers -------------------------------------------------------------------------------

    def _spec(self, block: Block) -> SeriesSpec:
        assert block.start is not None
        return SeriesSpec(
            series_id=block.series_id, colleague="", colleague_name="",
            organizer=self.config.user.email, title=TITLE, description=DESCRIPTION,
            start=block.start, duration_minutes=MINUTES, timezone=str(self.config.zone),
            weekday=self.config.landscape.reconnect_day, week_index=1, tag=block.series_id,
            frequency="weekly")

    def _own(self, source: SourceConfig, block: Block) -> OwnEvent | None:
        return own_by_series(self._connector(source).find_own_events(),
                             Provenance.of(self.config)).get(block.series_id)

    def _describe(self, block: Block) -> str:
        zone = self.config.zone
        start = (block.start or self.now).astimezone(zone)
        rule = block.rrule or f"FREQ=WEEKLY;BYDAY={self.config.landscape.reconnect_day}"
        return f"{schedule_phrase(rule, start, MINUTES, zone)}, starting {start:%Y-%m-%d}"

    def _where(self, source: SourceConfig) -> str:
        return where_written(self.config, source.name)

    def _source_named(self, name: str) -> SourceConfig | None:
        return configured_source(self.config, name)

    def _connector(self, source: SourceConfig) -> Connector:
        return self.targets.get(source)

    def _save(self, block: Block) -> None:
        own_series.save(self.store, block)
