"""`touchbase sync` of an unchanged .ics file loads no heavy module: no other connector's client
library, no icalendar (nothing is parsed), no sqlite-utils (the store is up to date), no other
command's dependencies. What a short run imports is most of its time (see docs/performance.md)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import Ev, calendar, write_config

REPO = Path(__file__).resolve().parent.parent
NOW = "2026-03-02T08:00:00+01:00"
HEAVY = ("icalendar", "recurring_ical_events", "sqlite_utils", "numpy", "googleapiclient", "msal",
         "caldav", "jinja2", "agent.digest.morning", "agent.planning.planner", "agent.cli.demo",
         "mcp", "mcp_types", "agent.mcp.server", "agent.mcp.answers")
MCP = {"mcp", "mcp_types", "agent.mcp.server", "agent.mcp.answers"}
PROGRAM = """import atexit, sys
sys.path.insert(0, {repo!r})
atexit.register(lambda: print("LOADED", sorted(m for m in {heavy!r} if m in sys.modules)))
from agent.cli import main
sys.exit(main())
"""


def program(tmp_path: Path, heavy: tuple[str, ...] = HEAVY) -> Path:
    """A `touchbase` program like the installed console script, reporting which of `heavy` it
    loaded."""
    path = tmp_path / "bin" / "touchbase"
    path.parent.mkdir()
    path.write_text(PROGRAM.format(repo=str(REPO), heavy=heavy), encoding="utf-8")
    return path


def run(script: Path, config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, str(script), "--config", str(config), "--now", NOW, *args],
                          capture_output=True, text=True, check=True)
    return done.stdout


def loaded(output: str) -> set[str]:
    """The modules of HEAVY a run reported loading."""
    return set(ast.literal_eval(output.rsplit("LOADED ", 1)[1]))


def test_an_unchanged_sync_loads_no_heavy_module(tmp_path):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev("a", "20260210T100000", "20260210T110000",
                               attendees=("mailto:ann@acme.example",))), encoding="utf-8")
    config = write_config(tmp_path, [ics])
    script = program(tmp_path, (*HEAVY, "connectors.ics.http"))
    first = run(script, config, "sync")
    assert "work: 1 occurrences read" in first
    assert "icalendar" in first  # the first read parses
    assert "connectors.ics.http" not in loaded(first)  # a file, no address: no HTTP client
    again = run(script, config, "sync")
    assert again.splitlines() == ["work: unchanged", "LOADED []"]


QUERY_HEAVY = (*HEAVY, "connectors.ics.http", "requests", "dateutil.rrule", "agent.cli.landscape",
               "agent.cli.setup", "agent.cli.privacy", "agent.digest.sections")
QUERIES = {
    "people": (["people", "--json"], {"agent.planning.planner", "dateutil.rrule"}),
    "person": (["person", "ann@acme.example"], set()),
    "status": (["status"], set()),
    "plan": (["plan"], set()),
}


def test_the_query_commands_load_only_what_they_use(tmp_path):
    """`people`, `person`, `status` and `plan` read the store: none loads the iCalendar
    libraries, sqlite-utils, the HTTP client, templates or another command's modules (`people`
    not even the planner); only the modules FAST_COMMANDS names for it are registered."""
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev("a", "20260210T100000", "20260210T110000",
                               attendees=("mailto:ann@acme.example",))), encoding="utf-8")
    config = write_config(tmp_path, [ics])
    script = program(tmp_path, QUERY_HEAVY)
    run(script, config, "sync")
    allowed = {"agent.planning.planner", "dateutil.rrule"}  # person, status, plan use the planner
    for name, (args, refused) in QUERIES.items():
        output = run(script, config, *args)
        assert loaded(output) <= allowed - refused, (name, loaded(output))


def test_other_commands_still_see_every_command(tmp_path):
    config = write_config(tmp_path, [])
    listed = run(program(tmp_path), config, "--help")
    for name in ("sync", "people", "demo", "run", "plan", "mcp"):
        assert f"  {name} " in listed
    assert not MCP & loaded(listed)


def test_only_touchbase_mcp_loads_the_mcp_sdk(tmp_path):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev("a", "20260210T100000", "20260210T110000",
                               attendees=("mailto:ann@acme.example",))), encoding="utf-8")
    config = write_config(tmp_path, [ics])
    script = program(tmp_path)
    for command in (["run", "--once"], ["people", "--json"], ["status"], ["person", "ann@acme.example"]):
        assert not MCP & loaded(run(script, config, *command)), command  # the daemon and the rest


CLIENT_LIBRARIES = ("googleapiclient", "google_auth_oauthlib", "msal", "caldav", "requests", "icalendar")
EVERY_TYPE = """
[[sources]]
name = "dav"
type = "caldav"
url = "https://cloud.example/remote.php/dav"
username = "me"

[[sources]]
name = "gmail"
type = "google"
client_secrets = "~/client_secret.json"

[[sources]]
name = "office"
type = "outlook"
client_id = "00000000-0000-0000-0000-000000000000"
"""


FACTS_PROGRAM = """import sys
sys.path.insert(0, {repo!r})
from agent.configuration.loader import can_take_touchbases, load_config
from agent.configuration.starter import example_text, reference_text

config = load_config({config!r})
assert [s.type for s in config.sources] == ["ics", "caldav", "google", "outlook"]
assert can_take_touchbases(config) is False  # the first source (ics) is read-only
assert example_text() and reference_text()
print(sorted(m for m in {clients!r} if m in sys.modules))
"""


def test_a_config_naming_every_source_type_loads_no_client_library(tmp_path):
    """The schema reads each type's keys from its connector class: importing the class must not
    import the backend's library, so loading a config (every command does) stays fast."""
    config = write_config(tmp_path, [tmp_path / "cal.ics"], extra=EVERY_TYPE)
    program = FACTS_PROGRAM.format(repo=str(REPO), config=str(config), clients=CLIENT_LIBRARIES)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]"]
