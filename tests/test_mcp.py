"""`touchbase mcp` (issue 23), driven by the SDK's own client over stdio, as an assistant would.

Two servers per module: a default one (read-only, notes withheld) and one started with
--with-notes --allow-writes beside a running daemon. Each read tool is compared with what the
CLI's --json prints on the same store at the same instant.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters, stdio_client

from agent.cli import main
from agent.configuration.loader import load_config
from agent.daemon.jobs import JOBS
from tests.helpers import USER, Ev, run_cli
from tests.planning_helpers import NOW, NOW_DT, past_meetings, setup

REPO = Path(__file__).resolve().parent.parent
BOB, ANN, CARL = "bob@acme.example", "ann@acme.example", "carl@acme.example"
ROOM = "room-1@acme.example"
NOTE = "prefers mornings; ask about the reorg"
COFFEE_NOTE = "talked about the launch"
READ_TOOLS = ["people", "person", "plan", "status"]
WRITE_TOOLS = ["log_contact", "add_note", "rate", "approve"]


def room_meeting() -> Ev:
    day = (NOW_DT - timedelta(days=12)).strftime("%Y%m%d")
    return Ev(uid="with-room", start=f"{day}T140000", end=f"{day}T143000",
              attendees=(f";CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:{ROOM}",
                         f";PARTSTAT=ACCEPTED:mailto:{ANN}", f";PARTSTAT=ACCEPTED:mailto:{USER}"))


def a_store(folder: Path, extra: str = "") -> Path:
    """Three colleagues (on track, due, overdue), a room, a private note and a logged coffee."""
    folder.mkdir()
    events = (past_meetings(ANN, [5, 20, 40]) + past_meetings(CARL, [35, 70, 100])
              + past_meetings(BOB, [50, 80, 120]) + [room_meeting()])
    config = setup(folder, events, extra=extra)
    assert run_cli(config, "note", BOB, NOTE, now=NOW).exit_code == 0
    logged = run_cli(config, "log", ANN, "--when", "2026-11-28", "--kind", "coffee", "--note", COFFEE_NOTE,
                     now=NOW)
    assert logged.exit_code == 0, logged.output
    return config


class Client:
    """An MCP client session on a `touchbase mcp` subprocess, usable from synchronous tests."""

    def __init__(self, config: Path, *flags: str, errlog: Path) -> None:
        self.args = ["-m", "agent", "--config", str(config), "--now", NOW, "mcp", *flags]
        self.errlog = errlog
        self._stack: list[AbstractContextManager[Any]] = []

    @asynccontextmanager
    async def _session(self) -> Any:
        params = StdioServerParameters(command=sys.executable, args=self.args, cwd=str(REPO),
                                       env={"PYTHONPATH": str(REPO)})
        with self.errlog.open("a", encoding="utf-8") as errors:
            async with stdio_client(params, errlog=errors) as (read, write), \
                    ClientSession(read, write) as session:
                yield session, await session.initialize()

    def __enter__(self) -> Client:
        portal_cm = start_blocking_portal()
        self.portal: BlockingPortal = portal_cm.__enter__()
        self._stack.append(portal_cm)
        session_cm = self.portal.wrap_async_context_manager(self._session())
        self.session, self.initialized = session_cm.__enter__()
        self._stack.append(session_cm)
        return self

    def __exit__(self, *exc: object) -> None:
        while self._stack:
            self._stack.pop().__exit__(None, None, None)

    def tools(self) -> dict[str, Any]:
        return {tool.name: tool for tool in self.portal.call(self.session.list_tools).tools}

    def call(self, name: str, **arguments: Any) -> Any:
        return self.portal.call(partial(self.session.call_tool, name, arguments))

    def answer(self, name: str, **arguments: Any) -> Any:
        """The structured content of a successful call (its text block holds the same JSON)."""
        result = self.call(name, **arguments)
        assert not result.is_error, result.content[0].text
        assert [block.type for block in result.content] == ["text"]
        assert json.loads(result.content[0].text) == result.structured_content
        return result.structured_content

    def refusal(self, name: str, **arguments: Any) -> str:
        """The one line of a call that fails."""
        result = self.call(name, **arguments)
        assert result.is_error and result.structured_content is None
        text = result.content[0].text
        assert "\n" not in text and "Traceback" not in text and "validation error" not in text
        return text


def cli_json(config: Path, *args: str) -> Any:
    result = run_cli(config, *args, "--json", now=NOW)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def without_notes(person: dict) -> dict:
    """What the CLI's `person --json` becomes when the notes are withheld."""
    return {**person, "notes": [{k: v for k, v in n.items() if k != "text"} for n in person["notes"]],
            "interactions": [{k: v for k, v in i.items() if k != "note"} for i in person["interactions"]],
            "notes_withheld": True}


def snapshot(config: Path) -> Any:
    """Everything the user's data holds (ratings, notes, logged contact, touchbases), as
    `touchbase export` writes it."""
    result = run_cli(config, "export", now=NOW)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path]]:
    """The default server: read-only, notes withheld."""
    folder = tmp_path_factory.mktemp("mcp-reader")
    config = a_store(folder / "store")
    with Client(config, errlog=folder / "server.err") as client:
        yield client, config
    assert "Traceback" not in (folder / "server.err").read_text(encoding="utf-8")


@contextmanager
def daemon_running(config: Path) -> Iterator[subprocess.Popen]:
    """`touchbase run` on `config`, after its first pass over every job."""
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "run"], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while {job["name"] for job in cli_json(config, "status").get("jobs", [])} != set(JOBS):
            assert proc.poll() is None and time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.2)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        _, errors = proc.communicate(timeout=30)
    assert proc.returncode == 0, errors


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Path, subprocess.Popen]]:
    """A server with --with-notes --allow-writes, beside the daemon on the same store."""
    folder = tmp_path_factory.mktemp("mcp-writer")
    config = a_store(folder / "store", extra='[touchbase]\nmode = "propose"\n')
    with daemon_running(config) as daemon, \
            Client(config, "--with-notes", "--allow-writes", errlog=folder / "server.err") as client:
        yield client, config, daemon
    assert "Traceback" not in (folder / "server.err").read_text(encoding="utf-8")


# --- the read tools ---------------------------------------------------------------------------

def test_lists_the_read_tools_with_schemas_an_assistant_can_follow(reader):
    client, _ = reader
    assert client.initialized.server_info.name == "touchbase"
    assert "people" in (client.initialized.instructions or "")
    tools = client.tools()
    assert list(tools) == READ_TOOLS
    for tool in tools.values():
        assert len(tool.description) > 80 and tool.annotations.read_only_hint
        assert tool.input_schema["type"] == "object" and tool.input_schema["additionalProperties"] is False
        assert tool.output_schema["type"] == "object"  # the SDK's client checks each result against it
    status_option = next(p for p in main.commands["people"].params if p.name == "status_filter")
    assert tools["people"].input_schema["properties"]["status"]["enum"] == list(status_option.type.choices)
    assert tools["people"].input_schema["properties"]["limit"]["minimum"] == 1
    assert tools["person"].input_schema["required"] == ["email"]
    assert tools["people"].output_schema["required"] == ["people"]


def test_people_equals_the_cli_json_with_its_filter_and_limit(reader):
    client, config = reader
    rows = cli_json(config, "people")
    assert [r["email"] for r in rows] == [ANN, BOB, CARL]
    public = [{**r, "interactions": [{k: v for k, v in i.items() if k != "note"} for i in r["interactions"]]}
              for r in rows]
    assert client.answer("people") == {"people": public, "notes_withheld": True}
    assert client.answer("people", limit=2)["people"] == public[:2]
    for status in ("overdue", "due", "on-track"):
        expected = cli_json(config, "people", "--status", status)
        assert len(expected) == 1
        answered = client.answer("people", status=status)["people"]
        assert [r["email"] for r in answered] == [r["email"] for r in expected]
    assert client.answer("people", status="overdue")["people"] == cli_json(config, "people", "--status", "overdue")


def test_person_plan_and_status_equal_the_cli_json(reader):
    client, config = reader
    assert client.answer("person", email=CARL) == without_notes(cli_json(config, "person", CARL))
    assert client.answer("person", email="Carl@ACME.example")["email"] == CARL
    planned = client.answer("plan")
    assert planned == cli_json(config, "plan")
    assert planned["changes_nothing"] is True and planned["actions"]
    assert client.answer("status") == cli_json(config, "status")


def test_notes_are_withheld_by_default(reader):
    client, config = reader
    bob = client.answer("person", email=BOB)
    assert bob["notes_withheld"] is True
    assert [set(note) for note in bob["notes"]] == [{"id", "created"}]
    assert cli_json(config, "person", BOB)["notes"][0]["text"] == NOTE  # the store has it
    ann = client.call("person", email=ANN)
    assert ann.structured_content["interactions"][0]["kind"] == "coffee"
    assert "note" not in ann.structured_content["interactions"][0]
    everyone = client.call("people")
    for result in (client.call("person", email=BOB), ann, everyone):
        text = result.content[0].text + json.dumps(result.structured_content)
        assert NOTE not in text and COFFEE_NOTE not in text


# --- writes are gated ---------------------------------------------------------------------------

def test_write_tools_are_not_listed_and_refused_without_allow_writes(reader):
    client, config = reader
    before = snapshot(config)
    calls = {"log_contact": {"email": BOB, "kind": "call"}, "add_note": {"email": BOB, "text": "x"},
             "rate": {"email": BOB, "vital": 5}, "approve": {"email": BOB}}
    for name, arguments in calls.items():
        assert name not in client.tools()
        line = client.refusal(name, **arguments)
        assert line == (f"{name} changes your data, and this server is read-only: "
                        "start it with `touchbase mcp --allow-writes` to allow it")
    assert snapshot(config) == before
    assert cli_json(config, "person", BOB)["vital"] is None


# --- errors -------------------------------------------------------------------------------------

def test_errors_are_one_line_and_the_next_call_still_works(reader):
    client, _ = reader
    assert client.refusal("person", email="bobb@acme.example").startswith(
        "bobb@acme.example appears in no synced event: did you mean bob@acme.example?")
    assert client.refusal("person", email=USER) == f"{USER} is your own address"
    assert client.refusal("person", email=ROOM) == f"{ROOM} is a room or resource in your calendar, not a person"
    assert client.refusal("people", status="late") == \
        "people: status must be one of on-track, booked, due, overdue, not 'late'"
    assert client.refusal("people", limit="ten") == "people: limit must be a whole number, not 'ten'"
    assert client.refusal("people", limit=0) == "people: limit must be from 1 to 10000, not 0"
    assert client.refusal("people", sort="name") == "people: unknown argument 'sort' (it takes status, limit)"
    assert client.refusal("person") == "person: email is required"
    assert client.refusal("forget", email=BOB) == "there is no tool 'forget' (tools: people, person, plan, status)"
    assert client.answer("person", email=BOB)["email"] == BOB


def test_a_store_that_cannot_be_read_is_one_line_and_the_server_serves_on(reader):
    client, config = reader
    store = load_config(config).store_path
    aside = store.with_name("aside.db")
    store.rename(aside)
    try:
        store.write_bytes(b"this is not a database, " * 100)
        line = client.refusal("people")
        assert line.startswith(str(store)) and "Traceback" not in line
    finally:
        store.unlink()
        aside.rename(store)
    assert client.answer("people", limit=1)["people"]


# --- with --with-notes --allow-writes, beside the daemon ---------------------------------------

def test_with_notes_person_and_people_equal_the_cli_json_exactly(writer):
    client, config, _ = writer
    assert client.answer("person", email=BOB) == cli_json(config, "person", BOB)
    assert client.answer("person", email=ANN)["interactions"][0]["note"] == COFFEE_NOTE
    assert client.answer("people") == {"people": cli_json(config, "people")}


def test_write_tools_are_listed_and_work_beside_the_daemon(writer):
    client, config, daemon = writer
    assert list(client.tools()) == READ_TOOLS + WRITE_TOOLS
    assert client.answer("status")["daemon"] == {**cli_json(config, "status")["daemon"], "running": True,
                                                 "pid": daemon.pid}
    logged = client.answer("log_contact", email=CARL, when="2026-11-27T15:30", kind="call", note="budget")
    assert {**logged["logged"], "id": 0} == {"id": 0, "at": "2026-11-27T15:30:00+01:00", "kind": "call",
                                             "note": "budget"}
    assert logged["message"].startswith("Logged a call with carl@acme.example on Fri 27 Nov 2026 15:30")
    assert cli_json(config, "person", CARL)["interactions"][0] == logged["logged"]
    noted = client.answer("add_note", email=CARL, text="ask about the offsite")
    assert noted["message"] == f"Noted for {CARL} (note {noted['note_id']})."
    assert cli_json(config, "notes", CARL)[0]["text"] == "ask about the offsite"
    rated = client.answer("rate", email=CARL, vital=4, trust=3, role="sponsor", cadence="2w")
    assert rated["message"] == f"Rated {CARL}: vital=4, trust=3, role=sponsor, cadence_days=14"
    carl = cli_json(config, "person", CARL)
    assert (carl["vital"], carl["trust"], carl["role"], carl["cadence_days"]) == (4, 3, "sponsor", 14)
    booked = client.answer("approve", email=BOB)
    assert booked["email"] == BOB and BOB in booked["message"]
    assert [t["state"] for t in cli_json(config, "person", BOB)["touchbases"]] == ["active"]


def test_write_tools_make_the_cli_checks(writer):
    client, config, _ = writer
    before = snapshot(config)
    assert client.refusal("add_note", email=USER, text="x") == f"{USER} is your own address"
    assert client.refusal("log_contact", email=ROOM) == \
        f"{ROOM} is a room or resource in your calendar, not a person"
    assert client.refusal("rate", email="carll@acme.example", vital=3).startswith(
        "carll@acme.example appears in no synced event: did you mean carl@acme.example?")
    assert client.refusal("approve", email="zoe@other.example").startswith(
        "zoe@other.example is outside [colleagues] internal_domains")
    assert client.refusal("rate", email=CARL, vital=9) == "rate: vital must be from 1 to 5, not 9"
    assert client.refusal("rate", email=CARL, role="boss") == \
        "rate: role must be one of sponsor, anti-sponsor, neutral, not 'boss'"
    assert client.refusal("rate", email=CARL, cadence="often") == \
        "cadence 'often' must look like 30d, 2w or 1m"
    assert client.refusal("log_contact", email=CARL, kind="lunch").startswith("log_contact: kind must be one of call,")
    assert client.refusal("log_contact", email=CARL, when="2026-12-24").startswith(
        "--when '2026-12-24' is in the future")
    assert client.refusal("add_note", email=CARL, text="  ") == "add_note: text is empty"
    assert snapshot(config) == before
    assert client.answer("add_note", email=CARL, text="still serving")["email"] == CARL


def test_a_write_waits_for_a_transaction_of_another_process(writer):
    client, config, _ = writer
    conn = sqlite3.connect(load_config(config).store_path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")  # holds the write lock, as the daemon's sync batch would
    release = threading.Timer(1.0, lambda: conn.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    try:
        assert client.answer("log_contact", email=ANN, kind="chat")["logged"]["kind"] == "chat"
    finally:
        release.join()
        conn.close()
    assert time.monotonic() - started >= 0.9


# --- the command ----------------------------------------------------------------------------------

def test_a_config_that_cannot_be_read_stops_the_server_before_it_starts(tmp_path):
    result = run_cli(tmp_path / "missing.toml", "mcp")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no config file here" in result.output


def test_without_the_sdk_the_command_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)  # the optional extra is not installed
    monkeypatch.delitem(sys.modules, "agent.mcp.server", raising=False)
    result = run_cli(tmp_path / "config.toml", "mcp")
    assert result.exit_code == 2
    assert result.output == "touchbase: error: `touchbase mcp` needs the MCP SDK: pip install 'touchbase-agent[mcp]'\n"


def test_nothing_but_protocol_messages_on_stdout(reader):
    _, config = reader
    requests = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": {"name": "raw", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "people", "arguments": {}}},
                {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                 "params": {"name": "person", "arguments": {"email": "x"}}}]
    proc = subprocess.Popen([sys.executable, "-m", "agent", "--config", str(config), "--now", NOW, "--verbose", "mcp"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdin is not None and proc.stdout is not None
    answers = []
    for request in requests:
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        if "id" in request:
            answers.append(json.loads(proc.stdout.readline()))  # every line on stdout is JSON-RPC
    _, errors = proc.communicate(timeout=30)  # closing stdin ends the server
    assert proc.returncode == 0, errors
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[1]["result"]["structuredContent"]["people"]
    assert answers[2]["result"]["isError"] is True
    assert "agent.mcp" in errors  # --verbose logs, on stderr only


def test_the_docs_show_every_tool_and_the_readme_the_client_config():
    from agent.mcp.catalogue import TOOLS

    page = (REPO / "docs" / "mcp.md").read_text(encoding="utf-8")
    for name in TOOLS:
        assert f"\n### {name}" in page and f'{{"name": "{name}", "arguments": ' in page, name
    readme = (REPO / "README.md").read_text(encoding="utf-8").split("## Use it from your AI assistant", 1)[1]
    assert '"mcpServers"' in readme and '"servers"' in readme and '"args": ["mcp"]' in readme
