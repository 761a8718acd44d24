"""The demo: a deterministic synthetic year of a work calendar, and a config to go with it.

Everything is placed relative to one instant ("now"), so the same instant always gives the same
calendar, byte for byte. docs/demo.md describes what the calendar contains and why.
"""
from __future__ import annotations

import json
import shutil
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import platformdirs

from agent.configuration.loader import APP_NAME, Config, parse_config
from agent.errors import UserError
from agent.notes import add_note
from agent.ratings import rate
from agent.storage.store import Store

ZONE_NAME = "Europe/Berlin"
ZONE = ZoneInfo(ZONE_NAME)
DEMO_NOW = datetime(2026, 3, 10, 9, 0, tzinfo=ZONE)
"""The demo's fixed "now": a Tuesday, 09:00 in Berlin (used unless --now is given)."""
DOMAIN = "northwind.example"
PARTNER_DOMAIN = "fabrikam.example"
USER_EMAIL = f"you@{DOMAIN}"
SOURCE_NAME = "northwind"
CALENDAR_FILE = "northwind-calendar.ics"
CONFIG_FILE = "config.toml"
MARKER_FILE = ".touchbase-demo"
PRODID = "-//touchbase//demo calendar//EN"


@dataclass(frozen=True)
class Person:
    """Someone in the demo calendar."""

    name: str
    email: str


def _person(name: str, domain: str = DOMAIN) -> Person:
    return Person(name, f"{name.lower().replace(' ', '.')}@{domain}")


YOU = Person("You", USER_EMAIL)
PRIYA, JONAS, AISHA = _person("Priya Shah"), _person("Jonas Weber"), _person("Aisha Okafor")
SOFIA, RAVI, ELENA, DANIEL = (_person("Sofia Rossi"), _person("Ravi Patel"),
                              _person("Elena Petrova"), _person("Daniel Kim"))
MEI, LUCAS, TOM = _person("Mei Chen"), _person("Lucas Moreau"), _person("Tom Becker")
HANNAH, OMAR, LENA = _person("Hannah Schmidt"), _person("Omar Haddad"), _person("Lena Braun")
GRACE = _person("Grace Holm")
TEAM = (PRIYA, JONAS, AISHA, SOFIA, RAVI, ELENA, DANIEL)
"""Your team: Priya runs the weekly team meeting."""
COLLEAGUES = TEAM + (MEI, LUCAS, TOM, HANNAH, OMAR, LENA, GRACE)
PARTNER = _person("Carla Mendes", PARTNER_DOMAIN)
ROOM = Person("Room Elbe (4th floor)", f"room.elbe@rooms.{DOMAIN}")
_FIRST = ("Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo", "Ines", "Jan",
          "Kira", "Leo", "Maja", "Nils", "Olga", "Paul", "Rosa", "Sven", "Tara", "Uwe",
          "Vera", "Will", "Xenia", "Yusuf", "Zoe")
_LAST = ("Berg", "Costa", "Dahl", "Engel", "Falk", "Gomez", "Horn", "Ito", "Jung", "Klein",
         "Lund", "Meyer", "Nowak", "Ortiz", "Park", "Quinn", "Roth", "Silva", "Tan", "Ueda",
         "Voss", "Wolf", "Xu", "Young", "Zimmer")
EVERYONE = (YOU, *COLLEAGUES, *(_person(f"{first} {last}") for first, last in zip(_FIRST, _LAST, strict=True)))
"""The 40 people invited to the all-hands."""


DEMO_RATINGS: dict[Person, dict[str, object]] = {
    PRIYA: {"vital": 5, "quality": 4, "trust": 5, "role": "sponsor"},
    MEI: {"vital": 5, "quality": 3, "trust": 3},
    OMAR: {"vital": 4, "quality": 2, "trust": 2, "role": "anti-sponsor"},
    AISHA: {"vital": 4, "quality": 5, "trust": 4},
    JONAS: {"vital": 3, "quality": 4, "trust": 4},
    LUCAS: {"vital": 3},
    TOM: {"vital": 2},
}
"""How the demo user rated some colleagues (1-5; sponsor / anti-sponsor)."""
DEMO_NOTES: tuple[tuple[Person, int, str], ...] = (
    (AISHA, 21, "Preparing the onboarding redesign; I offered to review her draft flow."),
    (PRIYA, 6, "Wants a one-page summary of the Fabrikam pilot before Q2 planning."),
    (MEI, 140, "Moving to the design system team; asked what components we need."),
    (OMAR, 150, "Worried the API migration lands on his team; wants a say in the timeline."),
    (SOFIA, 13, "Leads the onboarding flow review; wants feedback on the empty states."),
)
"""Notes the demo user kept: (colleague, days before now, text)."""


@dataclass
class DemoSetup:
    """What `create_demo` wrote: the folder, its files and the config to run with."""

    folder: Path
    calendar_path: Path
    config_path: Path
    config: Config
    events: int


def default_demo_dir() -> Path:
    """The demo's data folder unless --dir is given: the platform data dir / demo."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "demo"


def create_demo(folder: Path, now: datetime) -> DemoSetup:
    """Start afresh in `folder`: write the demo calendar and config, return the config."""
    folder = prepare_folder(folder)
    calendar = build_calendar(now)
    calendar_path = folder / CALENDAR_FILE
    calendar_path.write_bytes(calendar.to_ical())
    config_path = folder / CONFIG_FILE
    text = config_text(folder, calendar_path)
    config_path.write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), config_path)
    events = sum(1 for c in calendar.subcomponents if c.name == "VEVENT")
    return DemoSetup(folder, calendar_path, config_path, config, events)


def seed_store(store: Store, now: datetime) -> None:
    """Put the demo user's ratings and notes into a fresh store."""
    for person, fields in DEMO_RATINGS.items():
        rate(store, person.email, now, name=person.name, **fields)
    for person, days, text in DEMO_NOTES:
        add_note(store, person.email, text, now - timedelta(days=days))


def prepare_folder(folder: Path) -> Path:
    """An empty demo folder; an earlier demo's folder is wiped, any other non-empty one refused."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER_FILE).exists():
            raise UserError(f"{folder}: not empty and not a touchbase demo folder; "
                            "choose an empty or new folder with --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER_FILE).write_text("made by `touchbase demo`; wiped on every run\n",
                                      encoding="utf-8")
    return folder


def config_text(folder: Path, calendar_path: Path) -> str:
    """The demo's TOML config: the demo user, the demo calendar, everything in `folder`."""
    def quote(value: object) -> str:
        return json.dumps(str(value))

    return (
        "# Written by `touchbase demo`: a synthetic calendar, the store and the outbox all live\n"
        "# in this folder. Try: touchbase --config THIS_FILE people\n\n"
        f"[user]\nemail = {quote(USER_EMAIL)}\ntimezone = {quote(ZONE_NAME)}\n\n"
        f"[colleagues]\ninternal_domains = [{quote(DOMAIN)}]\n\n"
        f"[store]\npath = {quote(folder / 'touchbase.db')}\n\n"
        f"[[sources]]\nname = {quote(SOURCE_NAME)}\ntype = \"ics\"\npath = {quote(calendar_path)}\n\n"
        "[touchbase]\nmode = \"auto\"\nmax_active = 3  # touchbases you can sustain at once\n\n"
        f"[digest]\nto = {quote(USER_EMAIL)}\ntransport = \"outbox\"\n"
    )


# --- the calendar ---------------------------------------------------------------------------


class _Builder:
    """Collects the demo's events; every date is relative to `now`'s day."""

    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(ZONE)
        self.today = self.now.date()
        self.stamp = now.astimezone(UTC).replace(microsecond=0)
        self.events: list[icalendar.Event] = []

    def at(self, day: date, hhmm: str) -> datetime:
        """`day` at `hhmm` in the demo zone."""
        hour, minute = (int(x) for x in hhmm.split(":"))
        return datetime.combine(day, time(hour, minute), ZONE)

    def days(self, offset: int) -> date:
        """The day `offset` days from today."""
        return self.today + timedelta(days=offset)

    def weekday(self, weeks: int, weekday: int) -> date:
        """The given weekday (0 = Monday) of the week `weeks` weeks from this one."""
        monday = self.today - timedelta(days=self.today.weekday())
        return monday + timedelta(weeks=weeks, days=weekday)

    def event(self, uid: str, summary: str, start: datetime, minutes: int, organizer: Person,
              attendees: list[tuple[Person, str]], **extra: object) -> icalendar.Event:
        """Add a VEVENT; attendees are (person, PARTSTAT); `extra` holds more properties."""
        event = icalendar.Event()
        event.add("UID", f"{uid}@{DOMAIN}")
        event.add("DTSTAMP", self.stamp)
        event.add("DTSTART", start)
        event.add("DTEND", start + timedelta(minutes=minutes))
        event.add("SUMMARY", summary)
        event.add("ORGANIZER", f"mailto:{organizer.email}", parameters={"CN": organizer.name})
        for person, partstat in attendees:
            kind = "ROOM" if person is ROOM else "INDIVIDUAL"
            role = "NON-PARTICIPANT" if person is ROOM else "REQ-PARTICIPANT"
            event.add("ATTENDEE", f"mailto:{person.email}", parameters={
                "CN": person.name, "CUTYPE": kind, "ROLE": role, "PARTSTAT": partstat})
        for name, value in extra.items():
            if value == []:
                continue
            event.add(name.replace("_", "-").upper(), value)
        self.events.append(event)
        return event

    def calendar(self) -> icalendar.Calendar:
        """The VCALENDAR with the zone and every event."""
        cal = icalendar.Calendar()
        cal.add("PRODID", PRODID)
        cal.add("VERSION", "2.0")
        cal.add("X-WR-CALNAME", "Northwind work calendar (touchbase demo)")
        cal.add_component(icalendar.Timezone.from_tzid(ZONE_NAME))
        for event in self.events:
            cal.add_component(event)
        return cal


def build_calendar(now: datetime) -> icalendar.Calendar:
    """The demo calendar: a year before `now` and a quarter after it."""
    b = _Builder(now)
    _team_meeting(b)
    _one_on_ones(b)
    _faded_one_on_ones(b)
    _other_meetings(b)
    _declined_and_cancelled(b)
    _today(b)
    return b.calendar()


def _accepted(*people: Person) -> list[tuple[Person, str]]:
    return [(p, "ACCEPTED") for p in people]


def holidays(year: int) -> set[date]:
    """Days the team does not meet: German public holidays on weekdays and the winter break."""
    easter = _easter(year)
    days = {date(year, 1, 1), date(year, 5, 1), date(year, 10, 3),
            easter - timedelta(days=2), easter + timedelta(days=1),
            easter + timedelta(days=39), easter + timedelta(days=50)}
    days |= {date(year, 12, d) for d in range(24, 32)}
    return days


def _easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _holiday_exdates(b: _Builder, first: date, step_days: int, hhmm: str) -> list[datetime]:
    """EXDATEs for the dates of a series (first, first + step, ...) that fall on a holiday."""
    last = b.days(120)
    off = set().union(*(holidays(y) for y in range(first.year, last.year + 1)))
    count = (last - first).days // step_days + 1
    dates = (first + timedelta(days=step_days * n) for n in range(count))
    return [b.at(d, hhmm) for d in dates if d in off]


def _team_meeting(b: _Builder) -> None:
    """Weekly team meeting on Mondays in a room, with holidays off, one moved, one cancelled."""
    first = b.weekday(-52, 0)
    people = [(YOU, "ACCEPTED"), *_accepted(*TEAM[1:]), (ROOM, "ACCEPTED")]
    b.event("team-weekly", "Team weekly", b.at(first, "10:00"), 60, PRIYA, people,
            rrule={"FREQ": "WEEKLY", "BYDAY": "MO"},
            exdate=_holiday_exdates(b, first, 7, "10:00"), location=ROOM.name)
    moved_from = b.weekday(-3, 0)
    b.event("team-weekly", "Team weekly (moved: offsite on Monday)",
            b.at(moved_from + timedelta(days=1), "15:00"), 60, PRIYA, people,
            recurrence_id=b.at(moved_from, "10:00"), sequence=1, location=ROOM.name)
    cancelled = b.weekday(-8, 0)
    b.event("team-weekly", "Team weekly", b.at(cancelled, "10:00"), 60, PRIYA, people,
            recurrence_id=b.at(cancelled, "10:00"), sequence=1, status="CANCELLED")


def _one_on_ones(b: _Builder) -> None:
    """The living 1:1 series: Priya weekly, Aisha and Jonas every two weeks."""
    wd = b.today.weekday()
    first = b.weekday(-52, wd)
    b.event("priya-1on1", "Priya / You 1:1", b.at(first, "14:00"), 30, PRIYA,
            [(YOU, "ACCEPTED")], rrule={"FREQ": "WEEKLY"},
            exdate=_holiday_exdates(b, first, 7, "14:00"))
    b.event("aisha-coffee", "Coffee 1:1 with Aisha", b.at(first, "08:00"), 30, YOU,
            [(YOU, "ACCEPTED"), (AISHA, "ACCEPTED")], rrule={"FREQ": "WEEKLY", "INTERVAL": 2})
    jonas_first = b.weekday(-51, 2)
    b.event("jonas-1on1", "Jonas / You 1:1", b.at(jonas_first, "10:30"), 30, JONAS,
            [(YOU, "ACCEPTED")], rrule={"FREQ": "WEEKLY", "INTERVAL": 2})
    skipped = jonas_first + timedelta(weeks=46)
    b.event("jonas-1on1", "Jonas / You 1:1", b.at(skipped, "10:30"), 30, JONAS,
            [(YOU, "ACCEPTED")], recurrence_id=b.at(skipped, "10:30"), sequence=1,
            status="CANCELLED")


def _faded_one_on_ones(b: _Builder) -> None:
    """1:1 series that ended: Mei (months ago), Lucas (weeks ago), Tom (just over a month)."""
    mei_first = b.weekday(-50, 3)
    b.event("mei-1on1", "Mei / You design sync", b.at(mei_first, "15:00"), 30, YOU,
            [(YOU, "ACCEPTED"), (MEI, "ACCEPTED")],
            rrule={"FREQ": "WEEKLY", "INTERVAL": 2, "COUNT": 16})
    lucas_first = b.weekday(-48, 2)
    b.event("lucas-1on1", "Lucas / You: customer pulse", b.at(lucas_first, "16:00"), 45, LUCAS,
            [(YOU, "ACCEPTED")], rrule={"FREQ": "WEEKLY", "INTERVAL": 4, "COUNT": 10})
    tom_last = b.weekday(-5, 3)
    b.event("tom-1on1", "Budget check-in with Tom", b.at(tom_last - timedelta(weeks=40), "11:00"),
            30, TOM, [(YOU, "ACCEPTED")], rrule={"FREQ": "WEEKLY", "INTERVAL": 4, "COUNT": 11})


def _other_meetings(b: _Builder) -> None:
    """All-hands, the partner sync, the platform sync, a few one-off meetings."""
    b.event("all-hands", "Northwind all-hands", b.at(b.weekday(-52, 3), "16:00"), 60, GRACE,
            _accepted(*EVERYONE), rrule={"FREQ": "MONTHLY", "BYDAY": "1TH"})
    b.event("fabrikam-sync", "Northwind x Fabrikam partner sync", b.at(b.weekday(-46, 4), "11:00"),
            45, PARTNER, _accepted(YOU, PRIYA, PARTNER), rrule={"FREQ": "WEEKLY", "INTERVAL": 4})
    b.event("platform-sync", "Platform sync", b.at(b.weekday(-38, 2), "13:00"), 45, HANNAH,
            _accepted(YOU, HANNAH, DANIEL), rrule={"FREQ": "WEEKLY", "INTERVAL": 4})
    b.event("api-kickoff", "API migration kickoff", b.at(b.weekday(-30, 1), "11:00"), 60, OMAR,
            _accepted(YOU, OMAR, HANNAH))
    b.event("api-review", "API migration review", b.at(b.weekday(-26, 1), "11:00"), 60, OMAR,
            _accepted(YOU, OMAR, HANNAH))
    b.event("api-timeline", "API migration: timeline check", b.at(b.weekday(-25, 4), "10:00"), 30,
            OMAR, _accepted(YOU, OMAR))
    b.event("api-rollout", "API migration: rollout plan", b.at(b.weekday(-24, 1), "15:00"), 45,
            OMAR, _accepted(YOU, OMAR))
    b.event("api-cutover", "API migration: cutover dry run", b.at(b.weekday(-23, 2), "10:00"), 30,
            OMAR, _accepted(YOU, OMAR))
    b.event("api-retro", "API migration: retro", b.at(b.weekday(-23, 4), "14:00"), 30,
            OMAR, _accepted(YOU, OMAR))
    b.event("omar-coffee", "Coffee with Omar", b.at(b.weekday(-22, 4), "09:30"), 30, YOU,
            _accepted(YOU, OMAR))
    b.event("lena-onboarding", "Onboarding buddy chat", b.at(b.weekday(-36, 2), "12:00"), 30, LENA,
            _accepted(YOU, LENA))


def _declined_and_cancelled(b: _Builder) -> None:
    """A review you declined, a critique Mei declined, a lunch that was called off."""
    b.event("roadmap-q1", "Quarterly roadmap review", b.at(b.weekday(-3, 3), "13:00"), 60, LUCAS,
            [(YOU, "DECLINED"), *_accepted(OMAR, TOM, MEI)])
    b.event("design-critique", "Design critique", b.at(b.weekday(-2, 4), "14:00"), 45, YOU,
            [(YOU, "ACCEPTED"), (MEI, "DECLINED"), (SOFIA, "ACCEPTED")])
    b.event("lucas-lunch", "Lunch with Lucas", b.at(b.weekday(-1, 2), "12:00"), 60, YOU,
            _accepted(YOU, LUCAS), status="CANCELLED")


def _today(b: _Builder) -> None:
    """Today besides the 1:1s: a design review in the room."""
    b.event("design-review", "Design review: onboarding flow", b.at(b.today, "11:00"), 60, SOFIA,
            [*_accepted(YOU, SOFIA, ELENA), (ROOM, "ACCEPTED")], location=ROOM.name)
