"""Daemon footprint: resident memory after start with an ICS source, CPU used while idle.

Starts `python -m agent run` on a generated calendar (a year of meetings with 40 colleagues) in a
temporary folder, with a notify socket like systemd's. Once the start-up pass is done (the
daemon reports STATUS=idle), it reads the resident memory, then the CPU time the process uses
over an idle minute (goal: no polling). Prints each figure with its goal and the ratio.

    python bench/daemon_footprint.py [--idle-seconds 60]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

GOAL_RSS_MB = 50.0
GOAL_IDLE_CPU_S = 0.05
REPO = Path(__file__).resolve().parent.parent


EVENTS = 1200
"""Meeting slots over the year (those falling on a weekend are left out)."""


def calendar_text(colleagues: int = 40, seed: int = 7) -> str:
    """A year of 30-minute meetings (1:1s and small groups), deterministic."""
    rng = random.Random(seed)
    people = [f"person{i}@acme.example" for i in range(colleagues)]
    day = date.today() - timedelta(days=365)
    events = []
    for n in range(EVENTS):
        day_n = day + timedelta(days=n * 365 // EVENTS)
        if day_n.weekday() >= 5:
            continue
        hour = 9 + rng.randrange(8)
        attendees = "".join(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{p}\r\n"
                            for p in rng.sample(people, rng.choice((1, 1, 2, 3, 5))))
        stamp = f"{day_n:%Y%m%d}T{hour:02d}0000"
        end = f"{day_n:%Y%m%d}T{hour:02d}3000"
        events.append(
            f"BEGIN:VEVENT\r\nUID:bench-{n}@touchbase\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART;TZID=Europe/Berlin:{stamp}\r\nDTEND;TZID=Europe/Berlin:{end}\r\n"
            f"SUMMARY:Meeting {n}\r\nORGANIZER:mailto:me@acme.example\r\n{attendees}END:VEVENT\r\n")
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//touchbase bench//EN\r\n"
            + "".join(events) + "END:VCALENDAR\r\n")


def write_config(folder: Path) -> Path:
    ics = folder / "calendar.ics"
    ics.write_text(calendar_text(), encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f'[user]\nemail = "me@acme.example"\ntimezone = "Europe/Berlin"\n\n'
        f'[colleagues]\ninternal_domains = ["acme.example"]\n\n'
        f'[store]\npath = "{folder / "data" / "touchbase.db"}"\n\n'
        f'[[sources]]\nname = "work"\ntype = "ics"\npath = "{ics}"\n', encoding="utf-8")
    return config


def wait_for(sock: socket.socket, prefix: str, timeout: float) -> list[str]:
    """Datagrams received until one has a line starting with `prefix`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        message = sock.recv(4096).decode()
        seen.append(message)
        if any(line.startswith(prefix) for line in message.splitlines()):
            return seen


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


HIDE_NUMPY = ("import sys; sys.modules['numpy'] = None; from agent.cli import main; "
              "main(prog_name='touchbase')")
"""numpy is not a touchbase dependency (sqlite-utils would import it when installed; the store
prevents that); this runs the same CLI with numpy made unimportable, the footprint of a plain install."""


class Daemon:
    """One daemon started on `config`, with a notify socket; stopped with SIGTERM."""

    def __init__(self, folder: Path, config: Path, hide_numpy: bool) -> None:
        address = str(folder / ("notify-plain.sock" if hide_numpy else "notify.sock"))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_USEC", "JOURNAL_STREAM")}
        env.update(NOTIFY_SOCKET=address, PYTHONPATH=str(REPO))
        entry = ["-c", HIDE_NUMPY] if hide_numpy else ["-m", "agent"]
        started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, *entry, "--config", str(config), "run"],
                                     env=env, stderr=subprocess.DEVNULL, cwd=folder)
        wait_for(self.sock, "READY=1", 60)
        wait_for(self.sock, "STATUS=idle", 300)
        self.start_seconds = time.monotonic() - started

    def messages_within(self, seconds: float) -> int:
        """How many notify messages arrive in `seconds` (an idle daemon sends none)."""
        count, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                self.sock.recv(4096)
                count += 1
            except TimeoutError:
                break
        return count

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.sock.close()
        return code


def numpy_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numpy") is not None


def measure(idle_seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        folder = Path(tmp)
        config = write_config(folder)
        daemon = Daemon(folder, config, hide_numpy=False)
        try:
            rss = rss_mb(daemon.proc.pid)
            before = cpu_seconds(daemon.proc.pid)
            wakeups = daemon.messages_within(idle_seconds)
            idle_cpu = cpu_seconds(daemon.proc.pid) - before
        finally:
            code = daemon.stop()
        plain_rss = None
        if numpy_installed():
            plain = Daemon(folder, config, hide_numpy=True)
            try:
                plain_rss = rss_mb(plain.proc.pid)
            finally:
                plain.stop()
    events = calendar_text().count("BEGIN:VEVENT")
    print(f"start-up pass (sync of a {events}-event .ics, every job once): {daemon.start_seconds:.2f} s")
    print(f"resident memory after start: {rss:.1f} MB (goal <= {GOAL_RSS_MB:.0f} MB; "
          f"ratio {rss / GOAL_RSS_MB:.2f})")
    if plain_rss is not None:
        print(f"  numpy is installed here (not a touchbase dependency; the store keeps sqlite-utils from "
              f"loading it); with numpy made unimportable: {plain_rss:.1f} MB (ratio {plain_rss / GOAL_RSS_MB:.2f})")
    print(f"CPU while idle for {idle_seconds:.0f} s: {idle_cpu:.3f} s (goal < {GOAL_IDLE_CPU_S} s; "
          f"ratio {idle_cpu / GOAL_IDLE_CPU_S:.2f}); wake-ups while idle: {wakeups}")
    print(f"exit status after SIGTERM: {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="how long to watch the idle daemon")
    measure(parser.parse_args().idle_seconds)


if __name__ == "__main__":
    main()
