"""A deterministic generator of a heavy, realistic work calendar (.ics) for the ingest benchmark.

About five years of a busy person's calendar as an Outlook / Google export would hold it:
VTIMEZONE blocks (IANA and Windows names, zones far from UTC), weekly / biweekly / monthly /
daily RRULE series ending by UNTIL, by COUNT or never, with EXDATEs and RECURRENCE-ID overrides
(moved and cancelled), single meetings in several zones, all-day events, declines (by the user and
by others), rooms, external guests, large meetings, long DESCRIPTIONs and alarms. The default
scale is about 40,000 occurrences after expansion, 1,500 colleagues and about 10 MB of text.

Usage: python bench/heavy_calendar.py OUT.ics [--years 5] [--now ISO8601] [--seed N]
       [--colleagues 1500] [--density 1.0]
"""
from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

USER = "me@acme.example"
USER_NAME = "Morgan Example"
NOW = "2026-03-02T08:00:00+01:00"
"""The instant the benchmark evaluates at; the calendar ends about three months after it."""

FIRST = ("Anna Ben Carla David Eva Felix Greta Hugo Ines Jonas Kira Lukas Mia Noah Olga Paul Quinn "
         "Rosa Sam Tara Uwe Vera Will Xenia Yusuf Zoe Amir Bea Chen Dana Emil Fatima Gil Hana Ivan "
         "Jana Kofi Lea Marco Nina Omar Priya Raj Sofia Tom Ulla Victor Wen Yara Zeynep José Jürgen "
         "Ana Björn Chloé Dmitri Elif Farah Goran").split()
LAST = ("Müller Schmidt Rossi Garcia Smith Jones Nguyen Kim Patel Singh Haddad Novak Kowalski "
        "Jensen Larsen Dubois Martin Silva Costa Tanaka Sato Ito Okafor Mensah Cohen Levi Ali Khan "
        "Yilmaz Demir Petrov Ivanova Horvat Weber Wagner Becker Hoffmann Koch Richter Klein Wolf "
        "Brown Taylor Wilson Evans Walker Clarke Lopez Fernandez Moreau Laurent Bianchi Romano "
        "Berg Holm Lindqvist Virtanen Korhonen").split()
EXTERNAL_DOMAINS = ("partner.example", "bigclient.example", "agency.example", "supplier.example",
                    "consult.example", "univ.example")
WORDS = ("roadmap quarterly planning review sync budget hiring launch migration incident retro "
         "design api platform customer onboarding metrics security compliance release backlog "
         "pricing partner integration data pipeline infra cost forecast offsite training feedback "
         "strategy architecture mobile web search billing support vendor contract audit").split()

# (TZID, standard offset, daylight offset or None, daylight start, standard start) as
# (month, "nth weekday" rule, local hour); Windows names as Outlook writes them.
ZONES = {
    "Europe/Berlin": ("+0100", "+0200", (3, "-1SU", 2), (10, "-1SU", 3)),
    "W. Europe Standard Time": ("+0100", "+0200", (3, "-1SU", 2), (10, "-1SU", 3)),
    "Europe/London": ("+0000", "+0100", (3, "-1SU", 1), (10, "-1SU", 2)),
    "America/New_York": ("-0500", "-0400", (3, "2SU", 2), (11, "1SU", 2)),
    "Pacific Standard Time": ("-0800", "-0700", (3, "2SU", 2), (11, "1SU", 2)),
    "Asia/Kolkata": ("+0530", None, None, None),
    "Asia/Tokyo": ("+0900", None, None, None),
    "Australia/Sydney": ("+1000", "+1100", (10, "1SU", 2), (4, "1SU", 3)),
    "Pacific/Auckland": ("+1200", "+1300", (9, "-1SU", 2), (4, "1SU", 3)),
    "Pacific/Honolulu": ("-1000", None, None, None),
}
IANA = {"W. Europe Standard Time": "Europe/Berlin", "Pacific Standard Time": "America/Los_Angeles"}
SINGLE_ZONES = (["Europe/Berlin"] * 10 + ["W. Europe Standard Time"] * 4
                + ["America/New_York", "Pacific Standard Time", "Asia/Kolkata", "Europe/London",
                   "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "Pacific/Honolulu",
                   "UTC", "floating"])


@dataclass
class Person:
    """One colleague or guest."""

    email: str
    name: str
    kind: str = "INDIVIDUAL"


def fold(line: str) -> str:
    """One content line folded at 75 octets (never inside a UTF-8 character), CRLF ended."""
    data = line.encode("utf-8")
    parts, limit = [], 75
    while len(data) > limit:
        cut = limit
        while cut and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(data[:cut])
        data = b" " + data[cut:]
        limit = 75
    parts.append(data)
    return "\r\n".join(p.decode("utf-8") for p in parts) + "\r\n"


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def vtimezone(tzid: str) -> str:
    """A VTIMEZONE block as Outlook and Google write them (yearly rules)."""
    std, dst, dst_rule, std_rule = ZONES[tzid]
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    if dst is None:
        lines += ["BEGIN:STANDARD", "DTSTART:16010101T000000", f"TZOFFSETFROM:{std}",
                  f"TZOFFSETTO:{std}", "END:STANDARD"]
    else:
        for kind, rule, off_from, off_to in (("DAYLIGHT", dst_rule, std, dst),
                                             ("STANDARD", std_rule, dst, std)):
            month, byday, hour = rule
            lines += [f"BEGIN:{kind}", f"DTSTART:16010101T{hour:02d}0000",
                      f"RRULE:FREQ=YEARLY;BYDAY={byday};BYMONTH={month}",
                      f"TZOFFSETFROM:{off_from}", f"TZOFFSETTO:{off_to}", f"END:{kind}"]
    lines.append("END:VTIMEZONE")
    return "".join(fold(line) for line in lines)


class Generator:
    """Builds the calendar text; every choice comes from one seeded random source."""

    def __init__(self, now: datetime, years: float, seed: int, colleagues: int,
                 density: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.start = (now - timedelta(days=round(365.25 * (years - 0.25)))).date()
        self.end = (now + timedelta(days=91)).date()
        self.scale = years / 5 * density
        self.people = self._people(colleagues)
        self.rooms = [Person(f"room-{b}{n:02d}@resource.acme.example", f"Room {b}{n:02d}", "ROOM")
                      for b in "ABCD" for n in range(1, 11)]
        weights = [1 / (i + 1) ** 0.9 for i in range(len(self.people))]
        self.weights = weights
        self.events: list[str] = []
        self.uid_count = 0
        self.google = False

    def _people(self, count: int) -> list[Person]:
        names = [(f, last) for last in LAST for f in FIRST]
        self.rng.shuffle(names)
        people = []
        for index, (first, last) in enumerate(names[:count]):
            local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() + f"{index % 7 or ''}"
            domain = "acme.example" if index % 8 else self.rng.choice(EXTERNAL_DOMAINS)
            people.append(Person(f"{local}@{domain}", f"{first} {last}"))
        return people

    # --- building blocks ---------------------------------------------------------------------

    def pick(self, count: int) -> list[Person]:
        """`count` distinct people, the user's frequent contacts more likely."""
        chosen: dict[str, Person] = {}
        while len(chosen) < count:
            person = self.rng.choices(self.people, self.weights)[0]
            chosen[person.email] = person
        return list(chosen.values())

    def uid(self) -> str:
        """An Outlook-style or Google-style UID."""
        self.uid_count += 1
        self.google = self.rng.random() < 0.4
        if not self.google:
            return "040000008200E00074C5B7101A82E00800000000" + f"{self.rng.getrandbits(128):032X}"
        return f"{self.rng.getrandbits(80):020x}{self.uid_count}@google.com"

    def description(self, title: str) -> str:
        """An agenda and a video-call block, as real invitations carry them."""
        agenda = "\n".join(f"- {' '.join(self.rng.choices(WORDS, k=self.rng.randint(3, 8)))}"
                           for _ in range(self.rng.randint(1, 2)))
        meeting = self.rng.randint(10**11, 10**12 - 1)
        return (f"Agenda for {title}:\n{agenda}\n\n" + "_" * 64 + "\nMicrosoft Teams meeting\n"
                "Join on your computer, mobile app or room device\nClick here to join the meeting"
                f"<https://teams.example/l/meetup-join/19%3ameeting_{self.rng.getrandbits(96):024x}"
                f"%40thread.v2/0>\nMeeting ID: {meeting // 10**8} {meeting // 10**4 % 10**4} "
                f"{meeting % 10**4}\nPasscode: {self.rng.getrandbits(24):06x}\n" + "_" * 64)

    def stamp(self, when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def when(self, name: str, moment: datetime, all_day: bool = False) -> str:
        """`DTSTART...` style value text: TZID, UTC, floating or a date."""
        if all_day:
            return f";VALUE=DATE:{moment:%Y%m%d}"
        if name == "UTC":
            return ":" + self.stamp(moment)
        if name == "floating":
            return f":{moment:%Y%m%dT%H%M%S}"
        return f";TZID={name}:{moment:%Y%m%dT%H%M%S}"

    def local(self, name: str, day: date, minutes: int) -> datetime:
        zone = ZoneInfo(IANA.get(name, name if name not in ("floating",) else "Europe/Berlin"))
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)

    def attendee(self, name: str, email: str, status: str, role: str) -> str:
        """An ATTENDEE line, Google style (more parameters) or Outlook style."""
        if self.google:
            return (f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE={role};PARTSTAT={status};RSVP=TRUE;"
                    f"CN={name};X-NUM-GUESTS=0:mailto:{email}")
        return f"ATTENDEE;ROLE={role};PARTSTAT={status};CN={name}:mailto:{email}"

    def attendee_lines(self, organizer: Person | None, guests: list[Person], user_status: str,
                       room: Person | None) -> list[str]:
        lines = []
        if organizer is None:
            lines.append(f"ORGANIZER;CN={USER_NAME}:mailto:{USER}")
        else:
            lines.append(f"ORGANIZER;CN={organizer.name}:mailto:{organizer.email}")
            lines.append(self.attendee(USER_NAME, USER, user_status, "REQ-PARTICIPANT"))
        for guest in guests:
            status = self.rng.choices(["ACCEPTED", "TENTATIVE", "NEEDS-ACTION", "DECLINED"],
                                      [70, 8, 14, 8])[0]
            role = "OPT-PARTICIPANT" if self.rng.random() < 0.05 else "REQ-PARTICIPANT"
            lines.append(self.attendee(guest.name, guest.email, status, role))
        if room is not None:
            lines.append(f"ATTENDEE;CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED;"
                         f"CN={room.name}:mailto:{room.email}")
        return lines

    def vevent(self, uid: str, title: str, zone: str, start: datetime, minutes: int,
               people: list[str], extra: list[str], all_day: bool = False,
               with_description: bool = True) -> str:
        created = start - timedelta(days=self.rng.randint(1, 40), minutes=self.rng.randint(0, 900))
        end = start + (timedelta(days=1) if all_day else timedelta(minutes=minutes))
        lines = ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{self.stamp(created)}",
                 f"SUMMARY:{escape(title)}", f"DTSTART{self.when(zone, start, all_day)}",
                 f"DTEND{self.when(zone, end, all_day)}"]
        lines += extra + people
        if with_description:
            lines.append(f"DESCRIPTION:{escape(self.description(title))}")
            lines.append(f"LOCATION:{escape('Microsoft Teams Meeting')}")
        if self.google:
            lines += ["TRANSP:OPAQUE", "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder",
                      "TRIGGER:-PT10M", "END:VALARM", "END:VEVENT"]
        else:
            lines += ["CLASS:PUBLIC", "TRANSP:OPAQUE", "X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "END:VEVENT"]
        return "".join(fold(line) for line in lines)

    def user_status(self) -> str:
        return self.rng.choices(["ACCEPTED", "TENTATIVE", "NEEDS-ACTION", "DECLINED"], [80, 6, 8, 6])[0]

    def workday(self, first: date, last: date) -> date:
        while True:
            day = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))
            if day.weekday() < 5:
                return day

    # --- events ------------------------------------------------------------------------------

    def singles(self, count: int) -> None:
        """One-off meetings: mostly small, some large, some all-day, some cancelled."""
        for _ in range(count):
            uid = self.uid()
            zone = self.rng.choice(SINGLE_ZONES)
            day = self.workday(self.start, self.end)
            size = self.rng.choices([1, 2, 3, 4, 6, 10, 25], [40, 22, 15, 10, 8, 3, 2])[0]
            guests = self.pick(size)
            mine = self.rng.random() < 0.4
            organizer = None if mine else guests.pop(0)
            all_day = self.rng.random() < 0.03
            title = f"{' '.join(self.rng.choices(WORDS, k=2)).title()} {'1:1' if size == 1 else 'sync'}"
            room = self.rng.choice(self.rooms) if self.rng.random() < 0.3 else None
            people = self.attendee_lines(organizer, guests, "ACCEPTED" if mine else self.user_status(), room)
            extra = ["SEQUENCE:0", "STATUS:CANCELLED" if self.rng.random() < 0.03 else "STATUS:CONFIRMED"]
            start = self.local(zone, day, self.rng.randrange(7 * 4, 19 * 4) * 15)
            minutes = self.rng.choice([15, 25, 30, 30, 45, 60, 60, 90, 120])
            self.events.append(self.vevent(uid, title, zone, start, minutes, people, extra, all_day,
                                           self.rng.random() < 0.25))

    def series(self, count: int, freq: str, interval: int, size: tuple[int, int],
               months: tuple[int, int], byday: str = "") -> None:
        """Recurring series with EXDATEs and moved or cancelled overrides."""
        for _ in range(count):
            uid = self.uid()
            zone = self.rng.choice(["Europe/Berlin"] * 6 + ["W. Europe Standard Time"] * 3
                                   + ["America/New_York", "Asia/Kolkata", "Australia/Sydney"])
            length = timedelta(days=30 * self.rng.randint(*months))
            first = self.workday(self.start - timedelta(days=200), self.end - timedelta(days=14))
            start = self.local(zone, first, self.rng.randrange(8 * 2, 17 * 2) * 30)
            minutes = self.rng.choice([25, 30, 30, 45, 60])
            guests = self.pick(self.rng.randint(*size))
            mine = self.rng.random() < 0.5
            organizer = None if mine else guests.pop(0)
            room = self.rng.choice(self.rooms) if self.rng.random() < 0.4 else None
            people = self.attendee_lines(organizer, guests, "ACCEPTED" if mine else self.user_status(), room)
            rule = f"FREQ={freq};INTERVAL={interval}"
            weekday = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][start.weekday()]
            workday = ['MO', 'TU', 'WE', 'TH', 'FR'][start.weekday() % 5]
            rule += f";BYDAY={byday or workday}" if freq != "MONTHLY" else ""
            if freq == "MONTHLY":
                rule += f";BYDAY={min(4, (start.day - 1) // 7 + 1)}{weekday}"
            ending = self.rng.random()
            last = start + length
            if ending < 0.55:
                rule += f";UNTIL={self.stamp(last)}"
            elif ending < 0.75:
                step = {"DAILY": 1.4, "WEEKLY": 7 * interval, "MONTHLY": 30.5 * interval}[freq]
                rule += f";COUNT={max(2, int(length.days / step))}"
            else:
                last = datetime.combine(self.end, start.timetz())
            title = f"{self.rng.choice(WORDS).title()} {'1:1' if len(guests) <= 1 else 'weekly'}"
            instants = self._instants(start, min(last, datetime.combine(self.end, start.timetz())), freq, interval)
            extra = [f"RRULE:{rule}", "SEQUENCE:1", "STATUS:CONFIRMED"]
            skipped = [i for i in instants[1:] if self.rng.random() < 0.03]
            if skipped:
                extra.append(f"EXDATE{self.when(zone, skipped[0])[:-16]}:" + ",".join(
                    f"{s:%Y%m%dT%H%M%S}" for s in skipped))
            self.events.append(self.vevent(uid, title, zone, start, minutes, people, extra))
            for instant in instants[1:]:
                if instant in skipped or self.rng.random() > 0.05:
                    continue
                recurrence = [f"RECURRENCE-ID{self.when(zone, instant)}", "SEQUENCE:2"]
                moved = instant + timedelta(hours=self.rng.choice([-2, -1, 1, 2, 24, 48]))
                if self.rng.random() < 0.35:
                    recurrence.append("STATUS:CANCELLED")
                    moved = instant
                else:
                    recurrence.append("STATUS:CONFIRMED")
                over_people = self.attendee_lines(organizer, guests, self.user_status(), room)
                self.events.append(self.vevent(uid, title, zone, moved, minutes, over_people,
                                               recurrence, with_description=False))

    def _instants(self, start: datetime, last: datetime, freq: str, interval: int) -> list[datetime]:
        """Instants of a simple series (for picking EXDATEs and overrides; need not be exact)."""
        step = {"DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=interval)}.get(freq)
        result, moment, month = [], start, 0
        while moment <= last and len(result) < 2000:
            result.append(moment)
            if step is not None:
                moment = moment + step
                while freq == "DAILY" and moment.weekday() >= 5:
                    moment += step
            else:
                month += interval
                year, mon = divmod(start.month - 1 + month, 12)
                week = min(4, (start.day - 1) // 7 + 1)
                first = date(start.year + year, mon + 1, 1)
                day = first + timedelta(days=(start.weekday() - first.weekday()) % 7 + 7 * (week - 1))
                moment = datetime.combine(day, start.timetz())
        return result

    def build(self) -> str:
        s = self.scale
        self.series(round(130 * s), "WEEKLY", 1, (1, 1), (6, 20))   # 1:1s
        self.series(round(130 * s), "WEEKLY", 1, (3, 7), (4, 16))   # team meetings
        self.series(round(175 * s), "WEEKLY", 2, (1, 6), (6, 24))   # biweekly
        self.series(round(130 * s), "MONTHLY", 1, (4, 12), (10, 30))  # monthly reviews
        self.series(round(12 * s), "DAILY", 1, (4, 8), (4, 9), byday="MO,TU,WE,TH,FR")  # stand-ups
        self.singles(round(9000 * s))
        head = ("BEGIN:VCALENDAR\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n"
                "VERSION:2.0\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Calendar\r\n")
        zones = "".join(vtimezone(name) for name in ZONES)
        return head + zones + "".join(self.events) + "END:VCALENDAR\r\n"


def generate(path: Path, years: float = 5, now: str = NOW, seed: int = 2,
             colleagues: int = 1500, density: float = 1.0) -> Path:
    """Write the heavy calendar to `path` (the same bytes for the same arguments).

    `density` scales the number of events per year (1.0: about 8,000 occurrences a year).
    """
    moment = datetime.fromisoformat(now)
    text = Generator(moment, years, seed, colleagues, density).build()
    path.write_bytes(text.encode("utf-8"))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the .ics file to write")
    parser.add_argument("--years", type=float, default=5, help="span of the calendar (default 5)")
    parser.add_argument("--now", default=NOW, help="the instant the calendar ends ~3 months after")
    parser.add_argument("--seed", type=int, default=2, help="random seed (default 2)")
    parser.add_argument("--colleagues", type=int, default=1500, help="people to meet (default 1500)")
    parser.add_argument("--density", type=float, default=1.0, help="events per year, x (default 1)")
    args = parser.parse_args()
    path = generate(args.out, args.years, args.now, args.seed, args.colleagues, args.density)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
