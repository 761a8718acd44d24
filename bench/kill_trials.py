"""kill -9 trials: `touchbase run --once` killed at a random moment (and at the moment a mail or
an event is accepted), then run again to the end; the result must equal an uninterrupted run.

For each target (the local calendar file with the Maildir outbox, CalDAV on a real Radicale,
the Google and the Outlook emulators) a clean run gives the baseline: how many touchbase series
per colleague, morning emails and follow-up drafts exist afterwards. Each trial starts afresh,
kills the first run with SIGKILL after a seeded random delay within the clean run's duration
(aimed trials: from inside the emulator, the instant it accepted the write), runs again, and
compares. Printed per target: trials, duplicates (more than the baseline), losses (fewer),
corruption (the store fails PRAGMA integrity_check, a calendar file does not parse, or the
second run fails).

    python bench/kill_trials.py [--seed 2026] [--local 100] [--remote 30] [--aimed 10]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import icalendar  # noqa: E402

from agent.configuration.loader import load_config  # noqa: E402
from connectors.ical.read import TAG_PROPERTY  # noqa: E402
from tests.helpers import Ev, calendar, write_config  # noqa: E402

LOCAL_NOW = "2026-10-05T10:45:00+02:00"  # a Monday: the morning email is due, a meeting just ended
REMOTE_NOW = "2026-10-14T12:00:00+02:00"  # a Wednesday, as the Google and Outlook agent tests use
ME = "me@acme.example"
AUTO = '[touchbase]\nmode = "auto"\n'


def ics_history() -> str:
    """Alice overdue, Bob due, Carol on track; a 1:1 with Alice that ended this morning."""
    def one(uid: str, day: str, who: str, start: str = "1000", end: str = "1030") -> Ev:
        return Ev(uid=uid, start=f"{day}T{start}00", end=f"{day}T{end}00", summary=f"1:1 {who}",
                  attendees=(f";CN={who.title()};PARTSTAT=ACCEPTED:mailto:{who}@acme.example",))
    events = [one(f"a{i}", d, "alice") for i, d in enumerate(("20260601", "20260615", "20260701"))]
    events += [one(f"b{i}", d, "bob", "1100", "1130") for i, d in enumerate(("20260820", "20260827", "20260903"))]
    events += [one(f"c{i}", d, "carol", "1400", "1430") for i, d in enumerate(("20260921", "20260928", "20261002"))]
    events.append(one("today", "20261005", "alice"))
    return calendar(*events)


@dataclass
class Outcome:
    """What one run left behind, in counts comparable with the baseline."""

    counts: Counter = field(default_factory=Counter)
    corrupt: list[str] = field(default_factory=list)


class Target:
    """One kind of write target; subclasses set up a fresh world and count what is in it."""

    name = ""
    now = LOCAL_NOW
    aims: tuple[str, ...] = ()

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fresh(self, trial: str) -> Path:
        """A new world for one trial; returns its config."""
        raise NotImplementedError

    def count(self, config: Path) -> Outcome:
        """Series per colleague, morning emails, drafts; plus the store's integrity."""
        outcome = Outcome()
        store = load_config(config).store_path
        if store.exists():
            with sqlite3.connect(store) as conn:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                outcome.corrupt.append(f"store: {verdict}")
        return outcome

    def arm(self, aim: str, kill: Callable[..., None]) -> None:
        """Make the emulator call `kill` the instant it accepts `aim` (a mail or an event)."""

    def disarm(self) -> None:
        """No more aimed kills."""

    def close(self) -> None:
        """Stop servers."""


def own_series(calendars: list[icalendar.Calendar]) -> Counter:
    """Live or ended series the agent wrote, per attendee other than the user."""
    found: Counter = Counter()
    for cal in calendars:
        for event in cal.walk("VEVENT"):
            if event.get(TAG_PROPERTY) is None or event.get("RECURRENCE-ID") is not None:
                continue
            raw = event.get("ATTENDEE") or []
            for value in raw if isinstance(raw, list) else [raw]:
                address = str(value).lower().removeprefix("mailto:")
                if address != ME:
                    found[f"series {address}"] += 1
    return found


def maildir_count(folder: Path) -> int:
    return sum(1 for sub in ("new", "cur") if (folder / sub).is_dir()
               for p in (folder / sub).iterdir() if p.is_file())


class LocalTarget(Target):
    """The local calendar file and the Maildir outbox."""

    name = "local"

    def fresh(self, trial: str) -> Path:
        home = self.folder / trial
        home.mkdir(parents=True)
        (home / "cal.ics").write_text(ics_history(), encoding="utf-8")
        return write_config(home, [home / "cal.ics"], extra=AUTO)

    def count(self, config: Path) -> Outcome:
        outcome = super().count(config)
        cfg = load_config(config)
        if cfg.local_calendar_path.exists():
            try:
                parsed = icalendar.Calendar.from_ical(cfg.local_calendar_path.read_bytes())
                outcome.counts.update(own_series([parsed]))
            except ValueError as exc:
                outcome.corrupt.append(f"local calendar: {exc}")
        outcome.counts["morning emails"] = maildir_count(cfg.outbox_path)
        outcome.counts["drafts"] = maildir_count(cfg.outbox_path / "Drafts")
        return outcome


class CalDavTarget(LocalTarget):
    """Touchbases written to a calendar on a real Radicale server."""

    name = "caldav"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        from tests.fakes.radicale_server import PASSWORD, radicale

        self._server = radicale(folder / "radicale")
        self.base = self._server.__enter__()
        os.environ["TOUCHBASE_CALDAV_PASSWORD"] = PASSWORD
        self.calendars: dict[Path, object] = {}

    def fresh(self, trial: str) -> Path:
        from tests.fakes.radicale_server import fresh_calendar

        home = self.folder / trial
        home.mkdir(parents=True)
        (home / "cal.ics").write_text(ics_history(), encoding="utf-8")
        name = f"t{trial}"
        dav = (f'[[sources]]\nname = "dav"\ntype = "caldav"\nurl = "{self.base}"\nusername = "me"\n'
               f'password_env = "TOUCHBASE_CALDAV_PASSWORD"\ncalendars = ["{name}"]\n\n')
        config = write_config(home, [home / "cal.ics"], extra=dav + AUTO + 'write_to = "dav"\n')
        self.calendars[config] = fresh_calendar(self.base, name)
        return config

    def count(self, config: Path) -> Outcome:
        outcome = LocalTarget.count(self, config)
        dav = self.calendars[config]
        parsed = []
        for item in dav.events():  # type: ignore[attr-defined]
            try:
                parsed.append(icalendar.Calendar.from_ical(item.data))
            except ValueError as exc:
                outcome.corrupt.append(f"caldav object: {exc}")
        outcome.counts.update(own_series(parsed))
        return outcome

    def close(self) -> None:
        self._server.__exit__(None, None, None)


class GoogleTarget(Target):
    """The Google emulator: Calendar for touchbases, Gmail for drafts and the morning email."""

    name = "google"
    now = REMOTE_NOW
    aims = ("messages.send", "events.insert")

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.emulator = None

    def fresh(self, trial: str) -> Path:
        from tests.fakes.google_api import GoogleEmulator
        from tests.fakes.google_setup import gev, google_config

        if self.emulator is not None:
            self.emulator.stop()
        self.emulator = google = GoogleEmulator().start()
        for number, day in enumerate(("2026-06-03", "2026-07-01", "2026-08-05")):
            google.put_event(gev(f"bob{number:05d}", f"{day}T10:00", summary="1:1 Bob",
                                 attendees=((ME, "accepted"), ("bob@acme.example", "accepted"))))
        for number, day in enumerate(("2026-08-12", "2026-09-16", "2026-10-14")):
            google.put_event(gev(f"ann{number:05d}", f"{day}T09:00", summary="1:1 Ann",
                                 attendees=((ME, "accepted"), ("ann@acme.example", "accepted"))))
        home = self.folder / trial
        home.mkdir(parents=True)
        extra = ('[touchbase]\nwrite_to = "gwork"\nmode = "auto"\n\n[followups]\ntransport = "gwork"\n\n'
                 f'[digest]\ntransport = "gwork"\nto = "{ME}"\n')
        return google_config(home, google, extra=extra)

    def count(self, config: Path) -> Outcome:
        outcome = super().count(config)
        google = self.emulator
        for event in google.calendar("primary").events.values():
            if event.get("extendedProperties") and not event.get("recurringEventId"):
                for person in event.get("attendees") or []:
                    if person["email"] != ME:
                        outcome.counts[f"series {person['email']}"] += 1
        outcome.counts["morning emails"] = len(google.sent)
        outcome.counts["drafts"] = len(google.drafts)
        return outcome

    def arm(self, aim: str, kill: Callable[..., None]) -> None:
        self.emulator.after[aim] = kill

    def disarm(self) -> None:
        self.emulator.after.clear()

    def close(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()


class OutlookTarget(Target):
    """The Graph emulator: events for touchbases, drafts and sendMail for the morning email."""

    name = "outlook"
    now = REMOTE_NOW
    aims = ("sendMail", "events")

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.fake = None

    def fresh(self, trial: str) -> Path:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from tests.fakes.graph_api import GraphFake
        from tests.fakes.graph_fixtures import outlook_config, sign_in
        from tests.fakes.graph_state import att

        if self.fake is not None:
            self.fake.stop()
        home = self.folder / trial
        home.mkdir(parents=True)
        self.fake = fake = GraphFake(home / "tls").start()
        os.environ["REQUESTS_CA_BUNDLE"] = str(fake.tls.ca)
        zone = ZoneInfo("Europe/Berlin")

        def at(text: str) -> datetime:
            return datetime.fromisoformat(text).replace(tzinfo=zone)
        for day in ("2026-06-03", "2026-07-01", "2026-08-05"):
            fake.mailbox.add_event("1:1 Bob", at(f"{day} 10:00"), at(f"{day} 10:30"),
                                   attendees=[att("bob@acme.example")])
        for day in ("2026-08-12", "2026-09-16", "2026-10-14"):
            fake.mailbox.add_event("1:1 Ann", at(f"{day} 09:00"), at(f"{day} 09:30"),
                                   attendees=[att("ann@acme.example")])
        extra = ('[touchbase]\nwrite_to = "office"\nmode = "auto"\n\n[followups]\ntransport = "office"\n\n'
                 f'[digest]\ntransport = "office"\nto = "{ME}"\n')
        config = outlook_config(home, fake, extra=extra)
        sign_in(config)
        return config

    def count(self, config: Path) -> Outcome:
        outcome = super().count(config)
        mailbox = self.fake.mailbox
        for event in mailbox.events.values():
            if event.get("singleValueExtendedProperties"):
                for person in event.get("attendees") or []:
                    outcome.counts[f"series {person['emailAddress']['address']}"] += 1
        outcome.counts["morning emails"] = len(mailbox.sent)
        outcome.counts["drafts"] = sum(1 for m in mailbox.messages.values() if m.get("isDraft"))
        return outcome

    def arm(self, aim: str, kill: Callable[..., None]) -> None:
        if aim == "sendMail":
            self.fake.routes.after_send = kill
        else:
            self.fake.routes.after_create_event = kill

    def disarm(self) -> None:
        self.fake.routes.after_send = None
        self.fake.routes.after_create_event = None

    def close(self) -> None:
        if self.fake is not None:
            self.fake.stop()


def start(config: Path, now: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "--now", now,
                             "run", "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))


def finish(config: Path, now: str) -> str:
    """The second, uninterrupted run; "" when it went well, else why not."""
    process = start(config, now)
    _, err = process.communicate(timeout=300)
    if process.returncode not in (0, 1) or "Traceback" in err or "damaged" in err:
        return f"second run: status {process.returncode}: {err.strip()[-300:]}"
    return ""


@dataclass
class Tally:
    """The figures of one target."""

    trials: int = 0
    killed: int = 0
    duplicates: int = 0
    losses: int = 0
    corruption: int = 0
    notes: list[str] = field(default_factory=list)

    def judge(self, baseline: Counter, outcome: Outcome, label: str) -> None:
        self.trials += 1
        keys = set(baseline) | set(outcome.counts)
        if any(outcome.counts[k] > baseline[k] for k in keys):
            self.duplicates += 1
            self.notes.append(f"{label}: duplicate {dict(outcome.counts)}")
        if any(outcome.counts[k] < baseline[k] for k in keys):
            self.losses += 1
            self.notes.append(f"{label}: loss {dict(outcome.counts)}")
        if outcome.corrupt:
            self.corruption += 1
            self.notes.append(f"{label}: {outcome.corrupt}")


def run_target(target: Target, rng: random.Random, trials: int, aimed: int) -> tuple[Tally, Counter]:
    durations = []
    for warm in ("warm-up", "baseline"):  # the first run pays for cold caches: time the second
        config = target.fresh(warm)
        began = time.monotonic()
        problem = finish(config, target.now)
        durations.append(time.monotonic() - began)
    duration = min(durations)
    baseline = target.count(config)
    if problem or baseline.corrupt:
        raise RuntimeError(f"{target.name}: the clean run failed: {problem or baseline.corrupt}")
    tally = Tally()
    plans = [("random", None)] * trials + [(f"aimed {aim}", aim) for aim in target.aims for _ in range(aimed)]
    for number, (kind, aim) in enumerate(plans):
        config = target.fresh(f"{number:04d}")
        process: list[subprocess.Popen] = []
        if aim:
            target.arm(aim, lambda *_, held=process: os.kill(held[0].pid, signal.SIGKILL))
        process.append(start(config, target.now))
        if not aim:
            time.sleep(rng.uniform(0, duration * 0.9))
            process[0].send_signal(signal.SIGKILL)
        process[0].communicate(timeout=300)
        target.disarm()
        tally.killed += process[0].returncode == -signal.SIGKILL
        problem = finish(config, target.now)
        outcome = target.count(config)
        if problem:
            outcome.corrupt.append(problem)
        tally.judge(baseline.counts, outcome, f"{target.name} {kind} #{number}")
    return tally, baseline.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--local", type=int, default=100, help="random trials, local target")
    parser.add_argument("--remote", type=int, default=30, help="random trials per remote target")
    parser.add_argument("--aimed", type=int, default=10, help="aimed trials per accepted write")
    parser.add_argument("--only", nargs="*", default=["local", "caldav", "google", "outlook"])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="touchbase-kill-") as tmp:
        for cls in (LocalTarget, CalDavTarget, GoogleTarget, OutlookTarget):
            if cls.name not in args.only:
                continue
            target = cls(Path(tmp) / cls.name)
            try:
                trials = args.local if cls is LocalTarget else args.remote
                tally, baseline = run_target(target, rng, trials, args.aimed)
            finally:
                target.close()
            rows.append((cls.name, tally, baseline))
            for note in tally.notes[:10]:
                print("  ", note)
    print(f"kill -9 trials (seed {args.seed}); each compared with an uninterrupted run")
    print(f"{'target':<9} {'trials':>6} {'killed':>6} {'duplicates':>10} {'losses':>6} {'corruption':>10}  baseline")
    for name, tally, baseline in rows:
        print(f"{name:<9} {tally.trials:>6} {tally.killed:>6} {tally.duplicates:>10} {tally.losses:>6} "
              f"{tally.corruption:>10}  {json.dumps(dict(sorted(baseline.items())))}")


if __name__ == "__main__":
    main()
