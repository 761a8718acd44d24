"""The docs match the tool: every `touchbase ...` example in README.md and docs/*.md (in a code
block or inline) runs against the demo (`touchbase demo --dir TMP` builds its store and config)
unless it needs an account, a network or a person at the keyboard (SKIPPED says why, example by
example), and the output the docs show has the shape of what the tool prints: the status lines
of docs/background.md, and every request and answer of docs/mcp.md (the same keys, the same
one-line errors).

A new example in the docs fails `test_every_example_is_run_or_skipped_with_a_reason` until it
runs here or is listed in SKIPPED.
"""
from __future__ import annotations

import json
import re
import shlex
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.configuration.loader import load_config
from agent.daemon.lock import StoreLock
from agent.demo import DEMO_NOW
from agent.mcp.answers import Options
from agent.mcp.calls import Caller
from agent.storage import job_runs
from agent.storage.store import Store
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOW = DEMO_NOW.isoformat()
COLLEAGUE = "lucas.moreau@northwind.example"  # overdue in the demo
WAITING = "tom.becker@northwind.example"  # due, nothing booked: approve books one
LET_GO = "daniel.kim@northwind.example"
FORGOTTEN = "hannah.schmidt@northwind.example"

ACCOUNT = "needs a Google or Microsoft account and their sign-in service (tests/test_signin_failures.py, " \
          "test_google_auth.py and test_outlook_browser_auth.py run it against the emulators)"
NETWORK = "reads a calendar or mail server over the network (test_init.py runs init against local servers)"
SKIPPED: dict[str, str] = {
    "touchbase": "the program's name, not a command",
    "touchbase <name>": "a pattern: every command's name",
    "touchbase ... --json": "a pattern, not a command",
    "touchbase ... people --json": "a pattern, not a command",
    "touchbase people|person|plan|status --json": "a pattern naming four commands; each runs here on its own",
    "touchbase Mon 5 Oct: 2 meetings today, 4 to reconnect with, 1 problem": "an email's subject, not a command",
    "touchbase run": "the daemon: runs until stopped (test_daemon.py, test_stopping.py)",
    "touchbase run [--once]": "a pattern: `touchbase run --once` runs here",
    "touchbase mcp": "a stdio server for an assistant (test_mcp.py drives it with the SDK's client)",
    "touchbase mcp --with-notes": "a stdio server for an assistant (test_mcp.py)",
    "touchbase mcp --allow-writes": "a stdio server for an assistant (test_mcp.py)",
    "touchbase --config ~/work.toml mcp": "a stdio server for an assistant (test_mcp.py)",
    "touchbase --now 2026-11-30T08:00 mcp": "a stdio server for an assistant (its answers are checked below)",
    "touchbase init": "asks its questions at the keyboard (test_init.py answers them)",
    "touchbase init --email you@company.example --calendar 'https://calendar.example/.../basic.ics'": NETWORK,
    "touchbase init --email you@company.example --calendar ~/calendar.ics --imap mail.company.example "
    "--username you@company.example --password-env TOUCHBASE_IMAP_PASSWORD": NETWORK,
    "touchbase init --email you@company.example --caldav https://cloud.example/remote.php/dav --username you":
        NETWORK,
    "touchbase init --email you@company.example --caldav https://cloud.example/remote.php/dav --username me "
    "[--password-env VAR]": NETWORK,
    "touchbase init --email you@company.example --google ~/client_secret.json": ACCOUNT,
    "touchbase init --email you@company.example --outlook YOUR-APP-CLIENT-ID [--tenant contoso.example]": ACCOUNT,
    "touchbase init --google": ACCOUNT,
    "touchbase init --outlook": ACCOUNT,
    "touchbase init --outlook CLIENT_ID": ACCOUNT,
    "touchbase auth google": ACCOUNT,
    "touchbase auth google --client-secrets ~/.config/touchbase/client_secret.json": ACCOUNT,
    "touchbase auth google|outlook": ACCOUNT,
    "touchbase auth google\\|outlook": ACCOUNT,
    "touchbase auth outlook": ACCOUNT,
    "touchbase auth outlook --device-code": ACCOUNT,
    "touchbase auth outlook --source office": ACCOUNT,
    "touchbase auth outlook --source office --device-code": ACCOUNT,
    "touchbase rate EMAIL ...": "a pattern: the rate examples with their options run here",
    "touchbase map": "the command's name in prose: `touchbase map --html FILE` runs here",
    "touchbase approve": "the command's name in prose: `touchbase approve EMAIL` runs here (a second "
                         "approve of the same colleague is refused)",
}
"""Examples not run here, each with the reason."""

EXIT_CODES = {"touchbase digest --send": 2}
"""Examples whose documented outcome on the demo is a refusal: the demo sent today's email
already, and a second `digest --send` on one day sends nothing (docs/morning-email.md)."""

PLACEHOLDERS = {"EMAIL": COLLEAGUE, "TEXT": "'Asked about the roadmap'", "ID": "1"}
PHASES = [("note --edit", 2), ("note --delete", 3), ("let-go", 4), ("resume", 5), ("forget", 6)]
"""Examples that change what a later one reads run last, in this order (note ids, let go)."""


# --- collecting the examples ----------------------------------------------------------------

def examples() -> dict[str, str]:
    """Every `touchbase ...` example of the docs, whitespace collapsed -> the file it is in."""
    found: dict[str, str] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for language, block in re.findall(r"```(\w*)\n(.*?)```", text, re.S):
            if language not in ("", "sh"):
                continue
            for line in block.replace("\\\n", " ").splitlines():
                command = re.split(r"\s+#\s", line.strip())[0].strip()
                if command.startswith("touchbase"):
                    found.setdefault(" ".join(command.split()), path.name)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        for command in re.findall(r"`(touchbase(?: [^`]*)?)`", prose):
            found.setdefault(" ".join(command.split()), path.name)
    return found


def phase(example: str) -> int:
    """When `example` runs: reads and ordinary writes first, then the ones in PHASES."""
    return next((order for words, order in PHASES if f"touchbase {words}" in example), 1)


def argv(example: str, demo: Path, scratch: Path) -> list[str]:
    """The example's arguments, placeholders filled for the demo and its config given."""
    text = re.sub(r"/tmp/tb\b", str(scratch / "tb"), example)
    text = text.replace("<folder>/config.toml", str(demo / "config.toml"))
    text = text.replace("--config X --now T", f"--config {demo / 'config.toml'} --now {NOW}")
    text = text.replace("FILE", str(scratch / "map.html"))
    words = shlex.split(text)[1:]
    if "approve" in words or "let-go" in words or "resume" in words or "forget" in words:
        email = {"approve": WAITING, "let-go": LET_GO, "resume": LET_GO, "forget": FORGOTTEN}
        words = [next(email[w] for w in words if w in email) if w == "EMAIL" else w for w in words]
    words = [shlex.split(PLACEHOLDERS[w])[0] if w in PLACEHOLDERS else w for w in words]
    if words and words[0] in ("approve", "let-go", "resume", "forget") and len(words) == 1:
        words.append({"approve": WAITING, "let-go": LET_GO, "resume": LET_GO, "forget": FORGOTTEN}[words[0]])
    if words[:1] in (["person"], ["rate"], ["log"], ["notes"], ["note"]) and len(words) == 1:
        words.append(COLLEAGUE)
    if words[:2] == ["note", COLLEAGUE] and len(words) == 2:
        words.append("Asked about the roadmap")
    given = {"--config", "--now"} & set(words)
    prefix = [] if "--config" in given or words[-1:] == ["demo"] or "demo" in words[:3] \
        else ["--config", str(demo / "config.toml")]
    return prefix + ([] if "--now" in given else ["--now", NOW]) + words


@pytest.fixture(scope="module")
def demo() -> Iterator[Path]:
    """The demo's folder, with HOME and the XDG folders inside a scratch folder."""
    scratch = Path(tempfile.mkdtemp(prefix="tb-docs-"))
    with pytest.MonkeyPatch.context() as patch:
        for name, folder in (("HOME", "h"), ("XDG_DATA_HOME", "d"), ("XDG_CONFIG_HOME", "c"),
                             ("XDG_STATE_HOME", "s"), ("XDG_CACHE_HOME", "k")):
            patch.setenv(name, str(scratch / folder))  # short paths, as a user's are
        patch.setenv("TOUCHBASE_CONFIG", str(scratch / "no-config.toml"))
        patch.delenv("TOUCHBASE_SMTP_PASSWORD", raising=False)
        built = run_cli(None, "demo", "--dir", str(scratch / "demo"))
        assert built.exit_code == 0, built.output
        yield scratch / "demo"


# --- the command examples -------------------------------------------------------------------

def test_every_example_is_run_or_skipped_with_a_reason():
    found = examples()
    assert len(found) > 50
    stale = sorted(set(SKIPPED) - set(found))
    assert stale == [], "SKIPPED names examples the docs no longer hold"


def test_every_runnable_example_runs_against_the_demo(demo):
    scratch = demo.parent
    runnable = sorted((e for e in examples() if e not in SKIPPED), key=phase)
    assert len(runnable) > 30
    failed = []
    for example in runnable:
        answer = "y\n" if " forget" in example else None
        result = run_cli(None, *argv(example, demo, scratch), input=answer)
        if result.exit_code != EXIT_CODES.get(example, 0) or "Traceback" in result.output:
            failed.append(f"{example}: exit {result.exit_code}: {result.output.strip()[-300:]}")
    assert failed == [], "\n".join(failed)


# --- output the docs show -------------------------------------------------------------------

def shape(line: str) -> str:
    """A line with what varies from run to run made uniform: paths, numbers."""
    line = re.sub(r"(?:~|/[\w.@+-]+)(?:/[\w.@+-]+)+", "PATH", line)
    return re.sub(r"\d+", "9", line.rstrip())


def key(line: str) -> str:
    """What a status line is about: `job sync`, `daemon`, `  last error`."""
    return re.split(r":| \d", line, maxsplit=1)[0]


def doc_block(name: str, starts: str) -> list[str]:
    """The lines of the first code block in docs/NAME whose first line starts with `starts`
    (folded lines joined, as `unfolded` joins what the tool prints)."""
    text = (ROOT / "docs" / name).read_text(encoding="utf-8")
    for block in re.findall(r"```\w*\n(.*?)```", text, re.S):
        if block.startswith(starts):
            return unfolded(block.rstrip("\n"))
    raise AssertionError(f"docs/{name}: no block starting {starts!r}")


def unfolded(output: str) -> list[str]:
    """`status` lines as printed before folding at 80 columns: a continuation (indented four or
    more) joins the line above (sub-lines are indented two)."""
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith("    ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines


def assert_same_shapes(documented: list[str], printed: list[str]) -> None:
    """Each documented line has the shape of the printed line about the same thing."""
    by_key = {key(line): line for line in printed}
    for line in documented:
        assert key(line) in by_key, (line, printed)
        real = by_key[key(line)]
        if line.endswith(", ..."):
            assert shape(real).startswith(shape(line[:-5])), (line, real)
        else:
            assert shape(line) == shape(real), (line, real)


@contextmanager
def daemon_holding(store_path: Path) -> Iterator[None]:
    """The store's lock held, as a running daemon holds it."""
    lock = StoreLock(store_path)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def test_the_status_block_of_background_md_is_what_status_prints(demo):
    documented = doc_block("background.md", "daemon:")
    config = load_config(demo / "config.toml")
    assert run_cli(config.path, "install-service", now=NOW).exit_code == 0
    store = Store(config.store_path)
    error = documented[-1].split(": ", 1)[1]
    for minutes in (1, 2):
        job_runs.record(store, "digest", False, error, DEMO_NOW + timedelta(minutes=minutes))
    store.close()
    with daemon_holding(config.store_path):
        printed = unfolded(run_cli(config.path, "status", now=NOW).output)
    about = ("daemon", "service", "job", "  last")
    assert_same_shapes(documented, [line for line in printed if line.startswith(about)])


def test_the_held_source_block_of_background_md_is_what_status_prints(demo):
    documented = doc_block("background.md", "source work:")
    config = load_config(demo / "config.toml")
    calendar = demo / "northwind-calendar.ics"
    kept = calendar.read_bytes()
    try:
        calendar.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
        run_cli(config.path, "sync", now=(DEMO_NOW + timedelta(days=1)).isoformat())
        printed = unfolded(run_cli(config.path, "status", now=NOW).output)
    finally:
        calendar.write_bytes(kept)
    # the docs show a calendar address named work; the demo reads a file named northwind
    renamed = [line.replace("source northwind:", "source work:").replace("calendar file", "calendar address")
               for line in printed]
    assert_same_shapes(documented, [line for line in renamed if line.startswith(("source work", "  held"))])


# --- docs/mcp.md: each request, and the answer's shape -----------------------------------------

MCP_ADDRESSES = {"bobb@acme.example": "lucas.moreu@northwind.example", "bob@acme.example": COLLEAGUE}
"""The docs' colleague (and its typo) -> the demo's."""
LOGGED_AT = (DEMO_NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
"""The docs log a call three days before their now; the demo does the same before its own."""


def keys_of(value: Any) -> Any:
    """The structure of a JSON value: objects by their keys, lists by their first item."""
    if isinstance(value, dict):
        return {k: keys_of(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [keys_of(value[0])] if value else []
    return None


def same_keys(documented: Any, answered: Any) -> bool:
    """The documented answer has the keys of the real one: objects the same keys, lists their
    first items (a list empty on either side matches: the demo's day is not the docs' day)."""
    if isinstance(documented, dict):
        return (isinstance(answered, dict) and documented.keys() == answered.keys()
                and all(same_keys(documented[k], answered[k]) for k in documented))
    if isinstance(documented, list):
        return not documented or not answered or same_keys(documented[0], answered[0])
    return True


def mcp_exchanges() -> list[tuple[dict, str]]:
    """(request, the answer shown after it) for each request block of docs/mcp.md."""
    text = (ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    pairs = []
    for (_, request), (_, answer) in zip(blocks, blocks[1:], strict=False):
        if request.startswith('{"name":'):
            pairs.append((json.loads(request), answer))
    return pairs


def test_every_mcp_request_of_the_docs_gets_the_answer_shown():
    """On a demo of its own: each request in the docs' order, as an assistant would send them."""
    exchanges = mcp_exchanges()
    assert len(exchanges) >= 8
    folder = Path(tempfile.mkdtemp(prefix="tb-mcp-docs-")) / "demo"
    assert run_cli(None, "demo", "--dir", str(folder)).exit_code == 0
    config = folder / "config.toml"
    for request, shown in exchanges:
        writes = request["name"] in ("log_contact", "add_note", "rate", "approve") and "read-only" not in shown
        arguments = {k: MCP_ADDRESSES.get(v, v) if isinstance(v, str) else v
                     for k, v in request["arguments"].items()}
        if "when" in arguments:
            arguments["when"] = LOGGED_AT
        outcome = Caller(Options(config_path=str(config), now=DEMO_NOW, allow_writes=writes)).call(
            request["name"], arguments)
        if shown.lstrip().startswith("{"):
            assert outcome.error is None, (request, outcome.error)
            assert same_keys(json.loads(shown), outcome.data), (request, keys_of(json.loads(shown)),
                                                                keys_of(outcome.data))
        else:
            expected = shown.strip()
            for doc_address, demo_address in MCP_ADDRESSES.items():
                expected = expected.replace(doc_address, demo_address)
            assert outcome.error is not None and shape(outcome.error) == shape(expected), (request, outcome)
