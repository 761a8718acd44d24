"""Which events are the agent's own: only what a stranger cannot forge (docs/touchbases.md,
"Whose events count").

Anyone can send the user an invitation, and a calendar address (Google's secret address
included) shows invitations from anyone, with whatever UID and X- properties the sender chose.
So a tag or UID alone never makes an event the agent's:

- an event the write target's connector finds by the agent's tag counts only when its organiser
  is the user (where the backend names one: the local file and CalDAV, whose X- tag travels in
  invitations; Google and Outlook keep the tag in a property only the calendar's owner can set);
- a synced copy of a series counts as read-back of attendance only when no one but the user
  organised it: in the write target, organised by the user (or by no one named: an instance you
  changed there yourself); anywhere else, organised by the user and the series as stored: it
  starts on the stored rule from the stored first start (or where the agent moved an instance to).

A copy that fails this is ignored: never a decline, never an instance to heal, never a reason to
end, pause or move anything. Series ids carry the installation's secret key besides
(`agent.storage.installation_key`), so they cannot be guessed in the first place.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from agent.configuration.loader import Config
from agent.inference import MeetingRules
from agent.model import Occurrence, OwnEvent
from agent.storage import instance_moves as moves
from agent.storage.own_series import OwnSeries

SAME_MOMENT = timedelta(minutes=1)


class Provenance:
    """The checks for one run: the user's addresses, the user's zone, the recorded moves."""

    def __init__(self, rules: MeetingRules, zone: ZoneInfo, moved: dict[str, moves.Move]) -> None:
        self.rules, self.zone, self.moved = rules, zone, moved
        self._rules: dict[str, rrule | None] = {}

    @classmethod
    def of(cls, config: Config, moved: dict[str, moves.Move] | None = None) -> Provenance:
        """The checks for `config`'s user (with the moves recorded so far, when given)."""
        return cls(MeetingRules(config), config.zone, moved if moved is not None else {})

    def by_user(self, address: str) -> bool:
        """True when `address` is one of the user's own (aliases included)."""
        return bool(address) and self.rules.normalise(address) in self.rules.user

    def own_event(self, event: OwnEvent) -> bool:
        """True when the write target's event may be the agent's: organised by the user, or by
        nobody the backend names (its tag is then private to the user's calendar)."""
        return not event.organizer or self.by_user(event.organizer)

    def believes(self, occ: Occurrence, row: OwnSeries) -> bool:
        """True when a synced copy matched to `row` by id is the agent's series as stored."""
        if occ.source == row.target:  # an override you wrote there may name no organiser
            return not occ.organizer or self.by_user(occ.organizer)
        if not self.by_user(occ.organizer):
            return False
        return self._on_rule(row, occ.start) or occ.start in moves.moved_starts(self.moved, row.series_id)

    def _on_rule(self, row: OwnSeries, start: datetime) -> bool:
        """True when `start` is an occurrence of the stored rule from the stored first start."""
        rule = self._rule_of(row)
        if rule is None:
            return False
        local = start.astimezone(self.zone).replace(tzinfo=None)
        return bool(rule.between(local - SAME_MOMENT, local + SAME_MOMENT, inc=True))

    def _rule_of(self, row: OwnSeries) -> rrule | None:
        if row.series_id not in self._rules:
            rule = None
            if row.start is not None and row.rrule:
                local = row.start.astimezone(self.zone).replace(tzinfo=None)
                try:
                    parsed = rrulestr(row.rrule, dtstart=local)
                except ValueError:
                    parsed = None
                rule = parsed if isinstance(parsed, rrule) else None
            self._rules[row.series_id] = rule
        return self._rules[row.series_id]
