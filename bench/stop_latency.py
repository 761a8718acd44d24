"""How long `touchbase run` (the daemon) takes to exit after SIGTERM while it waits on a calendar
address: one that drips its answer a byte every 5 s, and one that answered 429 with
Retry-After: 59. The goal is under 5 s (systemd kills a service after 90 s); without interruptible
waits it was the whole Retry-After or the whole drip. A real HTTP server on 127.0.0.1.

    python bench/stop_latency.py [TRIALS]
"""
from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.calendar_server import CalendarServer  # noqa: E402
from tests.helpers import Ev, calendar, write_config  # noqa: E402
from tests.test_stopping import start  # noqa: E402

GOAL_SECONDS = 5.0


def one_trial(folder: Path, wait: str) -> float:
    """Seconds from SIGTERM to the daemon's exit (status 0) while it waits in `wait`."""
    server = CalendarServer().start()
    try:
        server.publish("/cal.ics", calendar(Ev("a", "20261005T100000", "20261005T103000",
                                               attendees=(";PARTSTAT=ACCEPTED:mailto:ann@acme.example",))))
        if wait == "drip":
            server.drip_seconds = 5.0
        else:
            server.scripted = [(429, {"Retry-After": "59"})]
        config = write_config(folder, [], extra=f'[[sources]]\nname = "work"\ntype = "ics"\n'
                                                f'url = "{server.url}/cal.ics"\n')
        process = start(config, "run")
        while not server.log:
            time.sleep(0.05)
        time.sleep(1.0)
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
        took = time.monotonic() - began
        assert process.returncode == 0, process.returncode
        return took
    finally:
        server.stop()


def main() -> int:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    worst = 0.0
    for wait in ("drip", "retry_after"):
        times = []
        for _trial in range(trials):
            with tempfile.TemporaryDirectory() as scratch:
                times.append(one_trial(Path(scratch), wait))
        worst = max(worst, *times)
        print(f"{wait:12} SIGTERM to exit: median {statistics.median(times):.2f} s, "
              f"worst {max(times):.2f} s over {trials} trials (goal < {GOAL_SECONDS:g} s)")
    return 0 if worst < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
