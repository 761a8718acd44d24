"""What a planner run did (or, for `touchbase plan`, would do), as lines for people."""
from __future__ import annotations

from dataclasses import dataclass, field

# kind -> (what was done, what would be done)
VERBS: dict[str, tuple[str, str]] = {
    "created": ("Booked a touchbase with", "Would book a touchbase with"),
    "recovered": ("Found the touchbase written before an interruption with",
                  "Would record the touchbase written before an interruption with"),
    "retried": ("Planning again (the interrupted write never reached the calendar):",
                "Would plan again (the interrupted write never reached the calendar):"),
    "proposed": ("Proposed a touchbase with", "Would propose a touchbase with"),
    "withdrawn": ("Withdrew the proposal for", "Would withdraw the proposal for"),
    "declined": ("Declined by", "Would record a decline by"),
    "ended": ("Ended the touchbase with", "Would end the touchbase with"),
    "paused": ("Paused", "Would pause"),
    "deleted": ("You deleted the touchbase with (it will not be re-created):",
                "Would record that you deleted the touchbase with"),
    "skipped": ("Skipped", "Would skip"),
    "moved": ("Moved one touchbase with", "Would move one touchbase with"),
    "instance-cancelled": ("Cancelled one touchbase with", "Would cancel one touchbase with"),
}


@dataclass
class PlanAction:
    """One thing the planner did or would do about one colleague."""

    kind: str
    email: str
    name: str
    detail: str = ""

    def line(self, applied: bool) -> str:
        """For example "Booked a touchbase with Alice <alice@x>: second Tuesday ..."."""
        verb = VERBS[self.kind][0 if applied else 1]
        who = f"{self.name} <{self.email}>" if self.name and self.name != self.email else self.email
        return f"{verb} {who}" + (f": {self.detail}" if self.detail else "")


@dataclass
class PlannerReport:
    """The outcome of one planner run."""

    mode: str
    apply: bool = True
    actions: list[PlanAction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, kind: str, email: str, name: str = "", detail: str = "") -> None:
        """Record an action."""
        self.actions.append(PlanAction(kind, email, name, detail))

    def of(self, kind: str) -> list[PlanAction]:
        """The actions of one kind."""
        return [a for a in self.actions if a.kind == kind]

    @property
    def created(self) -> list[str]:
        """Addresses of colleagues whose touchbase was booked in this run."""
        return [a.email for a in self.of("created")]

    @property
    def proposed(self) -> list[str]:
        """Addresses of colleagues proposed in this run."""
        return [a.email for a in self.of("proposed")]

    def lines(self) -> list[str]:
        """Human-readable lines: actions, then notes, then errors."""
        lines = [a.line(self.apply) for a in self.actions]
        lines += self.notes
        lines += [f"error: {e}" for e in self.errors]
        if not lines:
            lines.append("Nothing to do: no drifting colleague needs a new touchbase."
                         if self.mode != "off" else "Touchbases are off ([touchbase] mode = \"off\").")
        return lines

    def summary(self) -> str:
        """A short count, for the daemon's job log."""
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action.kind] = counts.get(action.kind, 0) + 1
        parts = [f"{n} {kind}" for kind, n in counts.items()]
        parts += [f"{len(self.errors)} error(s)"] if self.errors else []
        return ", ".join(parts) or "nothing to do"
