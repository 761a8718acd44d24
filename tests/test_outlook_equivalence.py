"""The same calendar as an .ics file and in the Graph emulator gives the same per-colleague figures.

One spec list is written both ways: recurring meetings with moved, cancelled and removed
occurrences, declines (a colleague's and the user's own), rooms, all-day events, an all-hands,
an external guest. Both are synced through `touchbase sync` and compared with `people --json`,
then events are removed on both sides and compared again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.fakes.graph_fixtures import NOW, at, outlook_config, sign_in
from tests.fakes.graph_state import att, dtz
from tests.helpers import USER, Ev, calendar, people_json, write_config

_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentativelyAccepted": "TENTATIVE",
             "none": "NEEDS-ACTION"}
_DAYS = {"TU": "tuesday", "TH": "thursday"}


@dataclass
class Spec:
    """One event, written both as a VEVENT and as Graph data."""

    uid: str
    start: str
    minutes: int = 30
    attendees: list[tuple[str, str, str]] = field(default_factory=list)  # email, response, type
    organizer: str = USER
    user_response: str = ""  # the user's answer when someone else organises
    weekly: str = ""  # "TU" or "TH"
    interval: int = 1
    exdates: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)  # original start -> new start
    cancelled_on: list[str] = field(default_factory=list)
    declined_on: dict[str, str] = field(default_factory=dict)  # original start -> who declined
    all_day: bool = False
    cancelled: bool = False

    @property
    def begin(self) -> datetime:
        return at(self.start)

    def people(self, decliner: str = "") -> list[tuple[str, str, str]]:
        return [(e, "declined" if e == decliner else r, k) for e, r, k in self.attendees]


def _name(email: str) -> str:
    return email.split("@")[0].title()


def _ics_attendees(spec: Spec, people: list[tuple[str, str, str]]) -> tuple[str, ...]:
    lines = []
    if spec.user_response:
        lines.append(f";PARTSTAT={_PARTSTAT[spec.user_response]};CN={_name(USER)}:mailto:{USER}")
    for email, response, kind in people:
        cutype = "ROOM" if kind == "resource" else "INDIVIDUAL"
        role = "OPT-PARTICIPANT" if kind == "optional" else "REQ-PARTICIPANT"
        lines.append(f";CUTYPE={cutype};ROLE={role};PARTSTAT={_PARTSTAT[response]};CN={_name(email)}"
                     f":mailto:{email}")
    return tuple(lines)


def _stamp(text: str) -> str:
    return at(text).strftime("%Y%m%dT%H%M%S")


def to_ics(spec: Spec) -> list[Ev]:
    """The VEVENTs of a spec (master plus overrides)."""
    org = f"ORGANIZER;CN={_name(spec.organizer)}:mailto:{spec.organizer}"
    end = spec.begin + timedelta(minutes=spec.minutes)
    start_text = spec.begin.strftime("%Y%m%d") if spec.all_day else _stamp(spec.start)
    end_text = (spec.begin + timedelta(days=1)).strftime("%Y%m%d") if spec.all_day else end.strftime("%Y%m%dT%H%M%S")
    extra = [org]
    if spec.weekly:
        extra.append(f"RRULE:FREQ=WEEKLY;INTERVAL={spec.interval};BYDAY={spec.weekly}")
    extra += [f"EXDATE;TZID=Europe/Berlin:{_stamp(d)}" for d in spec.exdates]
    if spec.cancelled:
        extra.append("STATUS:CANCELLED")
    events = [Ev(spec.uid, start_text, end_text, summary=spec.uid, organizer="",
                 attendees=_ics_attendees(spec, spec.attendees), extra="\n".join(extra))]
    overrides = set(spec.moved) | set(spec.cancelled_on) | set(spec.declined_on)
    for original in sorted(overrides):
        new_start = at(spec.moved.get(original, original))
        lines = [org, f"RECURRENCE-ID;TZID=Europe/Berlin:{_stamp(original)}"]
        if original in spec.cancelled_on:
            lines.append("STATUS:CANCELLED")
        events.append(Ev(spec.uid, new_start.strftime("%Y%m%dT%H%M%S"),
                         (new_start + timedelta(minutes=spec.minutes)).strftime("%Y%m%dT%H%M%S"),
                         summary=spec.uid, organizer="",
                         attendees=_ics_attendees(spec, spec.people(spec.declined_on.get(original, ""))),
                         extra="\n".join(lines)))
    return events


def to_graph(spec: Spec, mailbox) -> str:
    """Put a spec into the emulator's mailbox; returns the event id."""
    def people(decliner: str = "") -> list[dict]:
        own = [att(USER, "none", name=_name(USER))] if spec.user_response else []
        return own + [att(e, r, k, _name(e)) for e, r, k in spec.people(decliner)]

    recurrence = None
    if spec.weekly:
        recurrence = {"pattern": {"type": "weekly", "interval": spec.interval,
                                  "daysOfWeek": [_DAYS[spec.weekly]], "firstDayOfWeek": "monday"},
                      "range": {"type": "noEnd", "startDate": spec.begin.date().isoformat()}}
    end = spec.begin + (timedelta(days=1) if spec.all_day else timedelta(minutes=spec.minutes))
    event_id = mailbox.add_event(spec.uid, spec.begin, end, attendees=people(), organizer=spec.organizer,
                                 response=spec.user_response or None, recurrence=recurrence,
                                 all_day=spec.all_day, cancelled=spec.cancelled)
    for original in spec.exdates:
        mailbox.delete_occurrence(event_id, at(original))
    for original, new in spec.moved.items():
        new_start = at(new)
        mailbox.modify_occurrence(event_id, at(original), start=dtz(new_start, "Europe/Berlin"),
                                  end=dtz(new_start + timedelta(minutes=spec.minutes), "Europe/Berlin"))
    for original in spec.cancelled_on:
        mailbox.modify_occurrence(event_id, at(original), isCancelled=True)
    for original, who in spec.declined_on.items():
        mailbox.modify_occurrence(event_id, at(original), attendees=people(who))
    return event_id


SPECS = [
    Spec("bob-weekly", "2026-06-02 09:00", attendees=[("bob@acme.example", "accepted", "required")],
         weekly="TU", exdates=["2026-10-13 09:00"], moved={"2026-09-29 09:00": "2026-09-30 14:00"},
         cancelled_on=["2026-10-06 09:00"], declined_on={"2026-09-15 09:00": "bob@acme.example"}),
    Spec("team-biweekly", "2026-07-02 11:00", 60, organizer="carol@acme.example", user_response="accepted",
         attendees=[("dan@acme.example", "accepted", "required"),
                    ("erin@acme.example", "tentativelyAccepted", "optional"),
                    ("room-3@acme.example", "accepted", "resource")], weekly="TH", interval=2),
    Spec("declined-by-me", "2026-10-01 15:00", organizer="frank@acme.example", user_response="declined",
         attendees=[("gus@acme.example", "accepted", "required")]),
    Spec("offsite", "2026-09-10 00:00", all_day=True, attendees=[("gina@acme.example", "accepted", "required")]),
    Spec("all-hands", "2026-10-02 16:00",
         attendees=[(f"p{i}@acme.example", "accepted", "required") for i in range(12)]),
    Spec("hank-future", "2026-10-20 10:00", attendees=[("hank@acme.example", "none", "required")]),
    Spec("with-guest", "2026-09-21 13:00", attendees=[("ivy@acme.example", "accepted", "required"),
                                                      ("ext@other.example", "accepted", "required")]),
    Spec("cancelled", "2026-09-24 10:00", cancelled=True, attendees=[("jack@acme.example", "accepted", "required")]),
    Spec("leo-optional", "2026-08-12 10:00", attendees=[("leo@acme.example", "tentativelyAccepted", "optional")]),
]


def _write_ics(path, specs) -> None:
    path.write_text(calendar(*[ev for spec in specs for ev in to_ics(spec)]), encoding="utf-8")


def test_outlook_and_ics_give_the_same_figures(tmp_path, graph):
    ics_dir, graph_dir = tmp_path / "ics", tmp_path / "graph"
    ics_dir.mkdir()
    graph_dir.mkdir()
    ics_file = ics_dir / "cal.ics"
    _write_ics(ics_file, SPECS)
    ics_config = write_config(ics_dir, [ics_file])
    graph_config = outlook_config(graph_dir, graph)
    sign_in(graph_config)
    ids = {spec.uid: to_graph(spec, graph.mailbox) for spec in SPECS}

    from_ics, from_graph = people_json(ics_config, NOW), people_json(graph_config, NOW)
    assert from_graph == from_ics
    assert from_graph["bob@acme.example"]["meetings"] == 17
    assert from_graph["bob@acme.example"]["last_met"] == "2026-09-30T14:00:00+02:00"
    assert {"dan@acme.example", "erin@acme.example", "hank@acme.example", "ivy@acme.example",
            "leo@acme.example"} <= set(from_graph)
    for absent in ("room-3@acme.example", "gus@acme.example", "gina@acme.example", "p0@acme.example",
                   "ext@other.example", "jack@acme.example"):
        assert absent not in from_graph

    remaining = [s for s in SPECS if s.uid != "with-guest"]
    remaining[0] = Spec(**{**SPECS[0].__dict__, "exdates": ["2026-10-13 09:00", "2026-09-22 09:00"]})
    _write_ics(ics_file, remaining)
    graph.mailbox.delete_event(ids["with-guest"])
    graph.mailbox.delete_occurrence(ids["bob-weekly"], at("2026-09-22 09:00"))
    from_ics, from_graph = people_json(ics_config, NOW), people_json(graph_config, NOW)
    assert from_graph == from_ics
    assert "ivy@acme.example" not in from_graph
    assert from_graph["bob@acme.example"]["meetings"] == 16
