"""Healing: single instances of the agent's own series moved off conflicts and single declines.

After every sync (store only: no request unless something needs healing) and in every planner
run (which also asks the backend whether the colleague is busy), each instance of a live series
that starts within `[touchbase] heal_days` and more than `HEAL_MARGIN` from now is checked:

- it overlaps a busy event of the user (timed, not cancelled, not declined by the user, not one
  of the agent's own events);
- the colleague declined that one instance (not the series: see `readback.count_declines`), and
  it was not moved before (a declined moved instance counts toward `decline_limit` instead);
- the colleague is busy then, where the backend tells (`Connector.colleague_busy`).

Such an instance is moved to the nearest slot free for both, inside working hours (the user's,
and the colleague's where known), in the same or the next week, more than `HEAL_MARGIN` ahead,
on a day with room under `max_per_day`; with no such slot it is cancelled. Each move is recorded
`pending` with its slot before the write and `done` after (agent.storage.instance_moves), so a crash never
moves an instance twice. docs/touchbases.md "Healing" says the same for users.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from agent.configuration.loader import WEEKDAYS
from agent.errors import NotFound, SourceError
from agent.model import Occurrence, WorkingHours
from agent.planning import slots
from agent.planning import touchbases as tb
from agent.planning.hours import colleague_hours
from agent.planning.readback import counts_as_series, declined_starts, occurrences_by_series
from agent.planning.series_run import RunState
from agent.storage import instance_moves as moves
from connectors.base import Connector

HEAL_MARGIN = timedelta(hours=2)
"""Instances closer than this are left alone (too late to move politely), and never moved into."""
WHY = {"conflict": "it clashed with another meeting of yours",
       "declined": "{who} declined it",
       "busy": "{who} is busy then"}


@dataclass
class Instance:
    """One upcoming instance of a live series, as the store shows it."""

    row: tb.Touchbase
    original: datetime
    start: datetime
    end: datetime
    declined: bool = False
    moved: bool = False


@dataclass
class Trouble:
    """An instance that needs healing, and why."""

    instance: Instance
    why: str  # conflict | declined | busy


class Healer:
    """The healing step of a run (the planner runs it after the read-back; a sync runs it alone)."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self._finished: set[str] = set()
        """Series whose interrupted move this run finished (the store shows them as before)."""
        self._instances: list[Instance] | None = None

    def heal(self, ask_backend: bool = True) -> None:
        """Finish interrupted moves, then move or cancel every instance in trouble."""
        self._finished = set()
        if self.run.config.touchbase.heal_days <= 0:
            return
        self.finish_pending()
        troubles = self.store_troubles()
        if ask_backend:
            troubles += self._busy_troubles(troubles)
        for trouble in troubles:
            self._heal_one(trouble)

    def needs_healing(self) -> bool:
        """True when a move was interrupted or the store shows an instance in trouble (no request)."""
        self._finished = set()
        if self.run.config.touchbase.heal_days <= 0:
            return False
        return any(m.state == moves.PENDING for m in self.run.moves.values()) or bool(self.store_troubles())

    # --- finding trouble (store only) ----------------------------------------------------------

    def window(self) -> tuple[datetime, datetime]:
        """Instances starting in this span are checked."""
        return self.run.now + HEAL_MARGIN, self.run.now + timedelta(days=self.run.config.touchbase.heal_days)

    def instances(self) -> list[Instance]:
        """Upcoming instances in the window of every live series (moves applied), from the store."""
        if self._instances is None:
            self._instances = self._load_instances()
        return self._instances

    def _load_instances(self) -> list[Instance]:
        rows = [r for r in self.run.rows if r.state == tb.ACTIVE and r.event_id]
        if not rows:
            return []
        low, high = self.window()
        ids = [key for row in rows for key in (row.series_id, row.event_id)]
        synced = occurrences_by_series(self.run.store.tagged_occurrences(ids, low - timedelta(days=1), high),
                                       rows, self.run.provenance)
        result = []
        for row in rows:
            result += self._instances_of(row, synced.get(row.series_id, []), low, high)
        return result

    def _instances_of(self, row: tb.Touchbase, synced: list[Occurrence], low: datetime,
                      high: datetime) -> list[Instance]:
        mine = {m.original_start: m for m in self.run.moves.values() if m.series_id == row.series_id}
        moved_to = {m.new_start: m for m in mine.values() if m.new_start}
        declined = declined_starts(synced, row.email, self.run.rules)
        found: dict[datetime, Instance] = {}
        for occ in synced:
            if occ.cancelled or not low <= occ.start < high or occ.start in found:
                continue
            earlier = mine.get(occ.start)
            if earlier is not None and (earlier.state == moves.LEFT or earlier.new_start != occ.start):
                continue  # changed outside the agent, or a copy synced before the agent moved it
            move = moved_to.get(occ.start)
            found[occ.start] = Instance(row, move.original_start if move else occ.start, occ.start,
                                        occ.end, declined.get(occ.start, False), move is not None)
        return list(found.values())

    def store_troubles(self) -> list[Trouble]:
        """Instances that overlap the user's busy time or that the colleague declined alone."""
        instances = self.instances()
        if not instances:
            return []
        busy = slots.BusyIndex(self._user_busy_in(*self.window()))
        troubles = []
        for inst in instances:
            if inst.row.series_id in self._finished:
                continue
            if not busy.is_free(inst.start, inst.end):
                troubles.append(Trouble(inst, "conflict"))
            elif inst.declined and not inst.moved and self._single_decline(inst):
                troubles.append(Trouble(inst, "declined"))
        return troubles

    def _single_decline(self, inst: Instance) -> bool:
        """True when a later instance of the series is not declined: the colleague declined this
        one, not the series."""
        ids = [inst.row.series_id, inst.row.event_id]
        synced = occurrences_by_series(self.run.store.tagged_occurrences(ids), [inst.row], self.run.provenance)
        declined = declined_starts(synced.get(inst.row.series_id, []), inst.row.email, self.run.rules)
        return not counts_as_series(declined, inst.start)

    def _user_busy_in(self, start: datetime, end: datetime) -> list[slots.Interval]:
        """The user's busy time from the store, without the agent's own events."""
        return [(occ.start, occ.end)
                for occ in self.run.store.occurrences(start - timedelta(days=1), end, untagged=True)
                if slots.blocks_user(occ, self.run.rules) and occ.end > start]

    # --- the colleague's busy time (one request per series with instances in the window) -------

    def _busy_troubles(self, known: list[Trouble]) -> list[Trouble]:
        """Instances the colleague is busy for, asked once a day per series where the backend
        shows other people's busy time (Google, Outlook)."""
        taken = {id(t.instance) for t in known}
        by_row: dict[str, list[Instance]] = {}
        for inst in self.instances():
            if id(inst) not in taken and inst.row.series_id not in self._finished:
                by_row.setdefault(inst.row.series_id, []).append(inst)
        troubles = []
        low, high = self.window()
        today = self.run.now.astimezone(self.run.config.zone).date().isoformat()
        checked = moves.busy_checked(self.run.store)
        for group in by_row.values():
            row = group[0].row
            connector = self.run.target_connector(row) if checked.get(row.series_id) != today else None
            if connector is None or not connector.sees_attendee_busy:
                continue
            if self.run.apply:
                moves.record_busy_check(self.run.store, row.series_id, today)
            try:
                theirs = slots.BusyIndex(iv for iv in connector.colleague_busy(low, high, row.email)
                                         if not any(iv == (i.start, i.end) for i in group))
            except SourceError as exc:
                self.run.fail(exc)
                continue
            troubles += [Trouble(i, "busy") for i in group if not theirs.is_free(i.start, i.end)]
        return troubles

    # --- healing one instance ------------------------------------------------------------------

    def finish_pending(self) -> None:
        """Write again the moves a crash interrupted (the same slot: idempotent), then record them."""
        rows = {row.series_id: row for row in self.run.rows}
        for move in [m for m in self.run.moves.values() if m.state == moves.PENDING]:
            row = rows.get(move.series_id)
            if row is None or row.state != tb.ACTIVE:
                if self.run.apply:  # the series ended or is gone: nothing left to finish
                    moves.remove(self.run.store, move.key)
                continue
            connector = self.run.target_connector(row)
            if connector is None:
                continue
            self._finished.add(row.series_id)  # the store shows it as before: checked next sync
            try:
                self._write(connector, row, move)
            except NotFound:
                self._leave(row, Instance(row, move.original_start, move.original_start,
                                          move.original_start))
            except SourceError as exc:
                self.run.fail(exc)

    def _heal_one(self, trouble: Trouble) -> None:
        inst, row = trouble.instance, trouble.instance.row
        connector = self.run.target_connector(row)
        if connector is None:
            return
        try:
            slot = self._heal_slot(connector, inst, other_day=trouble.why == "declined")
            earlier = self.run.moves.get(moves.move_key(row.series_id, inst.original))
            move = moves.Move(row.series_id, row.email, inst.original, slot, moves.PENDING,
                              self._reason(trouble, slot), self.run.now,
                              (earlier.moves + 1) if earlier else 1)
            self._write(connector, row, move)
        except NotFound:
            self._leave(row, inst)
        except SourceError as exc:
            self.run.fail(exc)

    def _leave(self, row: tb.Touchbase, inst: Instance) -> None:
        """The backend has no such instance: you changed it yourself; it is left alone from now on."""
        move = moves.Move(row.series_id, row.email, inst.start, inst.start, moves.LEFT,
                          "changed outside the agent: left alone", self.run.now)
        if self.run.apply:
            moves.save(self.run.store, move)
        self.run.moves[move.key] = move
        self.run.report.notes.append(f"One touchbase with {self.run.name(row.email) or row.email} on "
                                 f"{inst.start.astimezone(self.run.config.zone):%a %d %b %H:%M} was changed "
                                 "outside the agent: left as it is")

    def _write(self, connector: Connector, row: tb.Touchbase, move: moves.Move) -> None:
        """Record the move pending, write it, record it done with its line for the morning email."""
        kind = "moved" if move.new_start else "instance-cancelled"
        if self.run.apply:
            moves.save(self.run.store, move)
            if move.new_start is not None:
                connector.move_instance(row.event_id, move.original_start, move.new_start)
            else:
                connector.cancel_instance(row.event_id, move.original_start)
            self.run.targets.wrote(connector.name)
            move.state = moves.DONE
            with self.run.store.atomic():
                moves.save(self.run.store, move)
                self.run.log(f"touchbase-{kind}", row.email, move.reason)
        self.run.moves[move.key] = move
        self.run.report.add(kind, row.email, self.run.name(row.email), move.reason)

    def _reason(self, trouble: Trouble, slot: datetime | None) -> str:
        """'moved your touchbase with Mei from Wed 11 to Thu 12 10:30: Mei declined it'."""
        inst, zone = trouble.instance, self.run.config.zone
        who = self.run.name(inst.row.email) or inst.row.email
        old = inst.start.astimezone(zone)
        why = WHY[trouble.why].format(who=who.split(" ")[0])
        if slot is None:
            return (f"cancelled your touchbase with {who} on {old:%a} {old.day} {old:%H:%M}: {why}, "
                    "and no slot free for both was left in this or the next week")
        new = slot.astimezone(zone)
        return f"moved your touchbase with {who} from {old:%a} {old.day} to {new:%a} {new.day} {new:%H:%M}: {why}"

    # --- the new slot --------------------------------------------------------------------------

    def _heal_slot(self, connector: Connector, inst: Instance, other_day: bool) -> datetime | None:
        """The nearest start free for both in the instance's week or the next, or None; on
        another day when `other_day` (a colleague who declined may be away all that day)."""
        zone, length = self.run.config.zone, inst.end - inst.start
        monday = inst.start.astimezone(zone).date() - timedelta(days=inst.start.astimezone(zone).weekday())
        low = datetime.combine(monday, time(0), zone)
        high = low + timedelta(days=14)
        busy = slots.BusyIndex([*self._user_busy_in(low, high), *self._other_touchbases(inst, low, high),
                                *connector.busy(low, high, [inst.row.email]), *self.run.taken])
        hours = self._colleague_hours(connector, inst.row.email)
        load = self.run.day_load()
        load.remove(inst.start)
        day = inst.start.astimezone(zone).date()
        candidates = [start for start in self._candidate_starts(monday, length, hours)
                      if start != inst.start and load.has_room(start)
                      and not (other_day and start.astimezone(zone).date() == day)
                      and busy.is_free(start, start + length)]
        if not candidates:
            load.add([inst.start])
            return None
        best = min(candidates, key=lambda s: (abs(s - inst.start), -s.timestamp()))
        load.add([best])
        self.run.taken.append((best, best + length))
        return best

    def _candidate_starts(self, monday: date, length: timedelta,
                          hours: WorkingHours | None) -> list[datetime]:
        zone, earliest = self.run.config.zone, self.run.now + HEAL_MARGIN
        opens, closes = slots.working_hours(self.run.config)
        days = set(self.run.config.touchbase.working_days)
        result = []
        for offset in range(14):
            day = monday + timedelta(days=offset)
            if WEEKDAYS[day.weekday()] not in days:
                continue
            moment, closing = datetime.combine(day, opens, zone), datetime.combine(day, closes, zone)
            while moment + length <= closing:
                if moment > earliest and (hours is None or hours.contains(moment, moment + length)):
                    result.append(moment)
                moment += timedelta(minutes=slots.STEP_MINUTES)
        return result

    def _other_touchbases(self, inst: Instance, low: datetime, high: datetime) -> list[slots.Interval]:
        """Every other touchbase instance in [low, high): two never overlap."""
        return [(i.start, i.end) for i in self.instances()
                if i is not inst and i.end > low and i.start < high]

    def _colleague_hours(self, connector: Connector, email: str) -> WorkingHours | None:
        try:
            return colleague_hours(self.run.config, self.run.store, connector, email)
        except SourceError:
            return None
