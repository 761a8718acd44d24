"""Config that cannot crash it: only regular, small, UTF-8 files are read; every out-of-bounds or
malformed value is one line naming file, section and key (exit status 2); no value, and no random
TOML document, reaches a traceback."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.configuration.loader import Config, load_config, write_target
from agent.configuration.options import Option, options_of
from agent.configuration.schema import SECTIONS, SOURCE_COMMON, source_types
from agent.configuration.starter import toml_key, toml_value
from agent.errors import ConfigError
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
HEAD = '[user]\nemail = "me@acme.example"\n'


def cli_error(config: Path, *args: str) -> list[str]:
    """Run `touchbase` with `config`; assert exit 2 and no traceback; return the output's lines."""
    result = run_cli(config, *(args or ("status",)))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.splitlines()


def one_problem(tmp_path: Path, text: str, *args: str) -> str:
    """The single problem `text` (a config file) has, as the CLI prints it."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    lines = cli_error(path, *args)
    assert lines[0] == f"touchbase: error: {path}: 1 problem(s) in the configuration", lines
    assert len(lines) == 2 and lines[1].startswith(f"  - {path}: "), lines
    return lines[1].removeprefix(f"  - {path}: ")


# --- what is read -------------------------------------------------------------------------


def test_a_fifo_as_config_is_one_line_and_no_hang(tmp_path):
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    for argv, env in ((["--config", str(fifo)], {}), ([], {"TOUCHBASE_CONFIG": str(fifo)})):
        done = subprocess.run([sys.executable, "-m", "agent", *argv, "status"], capture_output=True, text=True,
                              timeout=60, cwd=ROOT, env={**os.environ, **env})
        assert done.returncode == 2
        assert done.stdout + done.stderr == (f"touchbase: error: {fifo}: not a regular file (a pipe, device "
                                             "or socket); name a TOML file\n")


def test_dev_zero_as_config_is_refused_unread():
    lines = cli_error(Path("/dev/zero"))
    assert lines == ["touchbase: error: /dev/zero: not a regular file (a pipe, device or socket); "
                     "name a TOML file"]


def test_a_folder_as_config(tmp_path):
    assert cli_error(tmp_path) == [f"touchbase: error: {tmp_path}: is a folder; name the config file "
                                   f"(e.g. {tmp_path / 'config.toml'})"]


def test_a_huge_file_is_refused_unread(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HEAD + "# " + "x" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    assert cli_error(path) == [f"touchbase: error: {path}: larger than 1024 KiB; not a config file"]


def test_not_utf8_says_where(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'[user]\nemail = "me@acme.example"\ntimezone = "Europe/Z\xfcrich"\n')
    assert cli_error(path) == [f"touchbase: error: {path}: not UTF-8 text (byte 0xfc on line 3); "
                               "save the file as UTF-8"]


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + HEAD.encode())
    assert load_config(path).user.email == "me@acme.example"


@pytest.mark.parametrize("text,message", [
    ("a = " + "[" * 3000 + "]" * 3000 + "\n", "not valid TOML: arrays or tables nested too deeply"),
    ("a = " + "{ b = " * 3000 + "1" + " }" * 3000 + "\n", "not valid TOML: arrays or tables nested too deeply"),
    ("[colleagues]\nwindow_days = " + "9" * 5000 + "\n", "not valid TOML: a number has too many digits"),
])
def test_unreadable_toml_is_one_line(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert cli_error(path) == [f"touchbase: error: {path}: {message}"]


def test_moderately_nested_values_are_named_briefly(tmp_path):
    problem = one_problem(tmp_path, HEAD + "aliases = " + "[" * 200 + "]" * 200 + "\n")
    assert problem == "[user] aliases must be a list of strings, got [[[...]]]"


# --- values out of bounds or malformed ----------------------------------------------------


@pytest.mark.parametrize("section,line,message", [
    ("touchbase", "max_active = -1", "max_active must be between 0 and 100, got -1"),
    ("touchbase", "decline_limit = -1", "decline_limit must be between 1 and 20, got -1"),
    ("followups", "lookback_hours = -24", "lookback_hours must be between 1 and 720, got -24"),
    ("smtp", "port = 70000", "port must be between 1 and 65535, got 70000"),
    ("touchbase", 'working_hours = "17:00-09:00"',
     "working_hours '17:00-09:00' must end after it starts (like 09:00-17:00)"),
    ("touchbase", 'working_hours = "9-5"', "working_hours '9-5' is not a range like 09:00-17:00"),
    ("touchbase", "working_days = []", "working_days must list at least one value"),
    ("digest", 'days = ["MO", "Friday"]', "days: 'Friday' is not one of MO, TU, WE, TH, FR, SA, SU"),
    ("colleagues", 'internal_domains = [""]', "internal_domains: '' is empty"),
    ("colleagues", 'internal_domains = ["@acme.example"]',
     "internal_domains: '@acme.example' is not a domain (write 'acme.example')"),
    ("colleagues", "window_days = 99999999999999", "window_days must be between 1 and 3650, got 99999999999999"),
    ("colleagues", 'exclude = ["bob"]', "exclude: 'bob' is not an email address"),
    ("colleagues", 'aliases = { "old@acme.example" = "new" }', "aliases: 'new' is not an email address"),
    ("user", 'email = "not-an-address"', "email 'not-an-address' is not an email address"),
    ("user", 'email = "a@b.example, evil@evil.example"',
     "email 'a@b.example, evil@evil.example' is not an email address"),
    ("digest", 'to = "Me <me@acme.example>"', "to 'Me <me@acme.example>' is not an email address"),
    ("digest", 'time = "25:00"', "time '25:00' is not a time like 08:00"),
    ("daemon", "sync_minutes = 1e12", "sync_minutes must be an integer, got 1000000000000.0"),
    ("daemon", "sync_minutes = 1000000000000", "sync_minutes must be between 1 and 1440, got 1000000000000"),
    ("daemon", "planner_time = 1979-05-27", "planner_time must be a string, got datetime.date(1979, 5, 27)"),
    ("smtp", 'host = ""', "host '' is not a host name"),
    ("smtp", 'password_env = "MY VAR"', "password_env 'MY VAR' is not an environment variable name"),
    ("landscape", 'reconnect_day = "Friday"', "reconnect_day must be MO, TU, WE, TH, FR, SA or SU"),
    ("user", 'timezone = "Europe"', "timezone 'Europe' is not a known time zone"),
    ("user", 'aliases = ["me\\u001b[31m@acme.example"]', "aliases must not contain control characters"),
    ("store", 'path = "~no_such_user_here/t.db"',
     "path '~no_such_user_here/t.db' starts with a ~user that does not exist here"),
    ("store", 'path = "a\\u0000b"', "path must not contain control characters"),
    ("store", f'path = "{"x" * 5000}"', "path holds a value longer than 4096 characters"),
])
def test_a_nonsense_value_is_one_line_naming_file_section_and_key(tmp_path, section, line, message):
    head = "" if section == "user" else HEAD
    assert one_problem(tmp_path, f"{head}[{section}]\n{line}\n") == f"[{section}] {message}"


def int_options() -> list[tuple[str, str, Option]]:
    """(TOML that opens the option's table, the label problems use, the option) for every integer."""
    found = [(f"[{name}]\n", f"[{name}]", o) for name, cls in SECTIONS.items() for o in options_of(cls)
             if o.kind == "int"]
    for type_name, kind in source_types().items():
        where = "path = \"c.ics\"\n" if type_name == "ics" else ""
        found += [(f'[[sources]]\nname = "t"\ntype = "{type_name}"\n{where}', "[[sources]] 't'", o)
                  for o in kind.config_options if o.kind == "int"]
    return found


@pytest.mark.parametrize("table,label,option", int_options(), ids=lambda v: getattr(v, "key", ""))
def test_every_number_outside_its_bounds_is_refused(tmp_path, table, label, option):
    for value in (option.minimum - 1, option.maximum + 1, -(2 ** 63), 2 ** 63 - 1):
        problem = one_problem(tmp_path, f"{HEAD}{table}{option.key} = {value}\n")
        assert problem == f"{label} {option.key} must be between {option.minimum} and {option.maximum}, got {value}"


@pytest.mark.parametrize("source,message", [
    ('name = "w"\ntype = [1, 2]', "[[sources]] 'w' type [1, 2] is not one of: ics, caldav, google, outlook, imap"),
    ('name = "../../etc"\ntype = "ics"\npath = "c.ics"',
     "[[sources]] #1 name '../../etc' must be letters, digits, '.', '_' or '-' (at most 64)"),
    ('name = "w"\ntype = "ics"\nurl = "http://calendar.example/c.ics"',
     "[[sources]] 'w' url 'http://calendar.example/...' uses http://, which is only allowed for this "
     "machine (use https:// or webcal://)"),
    ('name = "w"\ntype = "ics"\nurl = "https://[::1/c.ics"', "[[sources]] 'w' url 'https://[::1/...' is not an "
     "https:// or webcal:// address"),
    ('name = "w"\ntype = "ics"\npath = "c.ics"\nurl = "https://calendar.example/c.ics"',
     "[[sources]] 'w' path and url: an ics source takes only one of path, paths, url, urls, url_env or url_file"),
    ('name = "w"\ntype = "ics"\nurl_env = "1VAR"', "[[sources]] 'w' url_env '1VAR' is not an environment variable "
     "name"),
    ('name = "w"\ntype = "ics"\npath = "c.ics"\nmax_bytes = 10', "[[sources]] 'w' max_bytes must be between 1024 "
     "and 1073741824, got 10"),
    ('name = "g"\ntype = "google"\ncalendars = []', "[[sources]] 'g' calendars must list at least one value"),
    ('name = "g"\ntype = "google"\napi_endpoint = "localhost:8080"',
     "[[sources]] 'g' api_endpoint 'localhost:8080' is not an http(s):// address"),
    ('name = "o"\ntype = "outlook"\ntenant = "my tenant"',
     "[[sources]] 'o' tenant 'my tenant' is not a tenant (common, organizations, an id or a domain)"),
])
def test_a_bad_source_is_one_line(tmp_path, source, message):
    assert one_problem(tmp_path, f"{HEAD}[[sources]]\n{source}\n") == message


@pytest.mark.parametrize("url", ["https://calendar.example/c.ics", "webcal://calendar.example/c.ics",
                                 "http://127.0.0.1:8080/c.ics", "http://localhost/c.ics", "http://[::1]/c.ics"])
def test_calendar_addresses_that_are_fine(tmp_path, url):
    path = tmp_path / "config.toml"
    path.write_text(f'{HEAD}[[sources]]\nname = "w"\ntype = "ics"\nurl = "{url}"\n', encoding="utf-8")
    assert load_config(path).sources[0].url == url


def test_a_store_path_that_is_the_root_folder(tmp_path):
    problem = one_problem(tmp_path, f'{HEAD}[store]\npath = "/"\n', "run", "--once")
    assert problem == "[store] path '/' is a folder; name the store file inside it (e.g. touchbase.db)"


def test_a_store_path_below_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    problem = one_problem(tmp_path, f'{HEAD}[store]\npath = "{blocker}/data/t.db"\n')
    assert problem == f"[store] path '{blocker}/data/t.db' cannot be used: a part of it is a file, not a folder"


def test_a_store_path_that_is_a_device(tmp_path):
    problem = one_problem(tmp_path, f'{HEAD}[store]\npath = "/dev/null"\n')
    assert problem == "[store] path '/dev/null' is not a regular file (a device, pipe or socket)"


def test_sync_minutes_1e12_in_the_daemon(tmp_path):
    problem = one_problem(tmp_path, f"{HEAD}[daemon]\nsync_minutes = 1e12\n", "run", "--once")
    assert problem == "[daemon] sync_minutes must be an integer, got 1000000000000.0"


def test_every_problem_at_once_each_on_its_own_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(HEAD + 'aliases = ["x\\ny"]\n[touchbase]\nmax_active = -1\ndecline_limit = -1\n'
                    "[smtp]\nport = 70000\n[\"we\\nird\"]\n", encoding="utf-8")
    lines = cli_error(path)
    assert lines[0] == f"touchbase: error: {path}: 5 problem(s) in the configuration"
    assert lines[1:] == [f"  - {path}: {p}" for p in (
        "[user] aliases must not contain control characters",
        "[touchbase] max_active must be between 0 and 100, got -1",
        "[touchbase] decline_limit must be between 1 and 20, got -1",
        "[smtp] port must be between 1 and 65535, got 70000",
        "unknown section ['we\\nird']")]


# --- random documents ---------------------------------------------------------------------

SCALARS = st.one_of(
    st.booleans(), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "auto", "MO", "09:00", "17:00-09:00", "me@acme.example", "acme.example", "/",
                     "~", "/dev/zero", "Europe/Berlin", "https://x.example/c.ics", "http://10.0.0.1/",
                     "work", "outbox", "smtp", "../x", "\x1b[31m"]),
    st.dates(), st.datetimes(), st.times(),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=2)), max_leaves=5)


def option_values(option: Option) -> st.SearchStrategy[Any]:
    """Values near what `option` takes (its default, example, choices, bounds) or anything."""
    near: list[Any] = [option.default, option.shown, *option.choices]
    if option.minimum is not None and option.maximum is not None:
        near += [option.minimum - 1, option.minimum, option.maximum, option.maximum + 1]
    return st.one_of(st.sampled_from(near), VALUES)


def entries(options: list[tuple[str, Option]]) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(table, key, value) drawn from the schema's keys, plus unknown keys and tables."""
    known = st.sampled_from(options).flatmap(lambda pair: option_values(pair[1]).map(
        lambda value: (pair[0], pair[1].key, value)))
    tables = sorted({table for table, _ in options}) + ["nonsense"]
    unknown = st.tuples(st.sampled_from(tables), st.text(min_size=1, max_size=6), VALUES)
    return st.one_of(known, known, known, unknown)


def gathered(items: list[tuple[str, str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for table, key, value in items:
        doc.setdefault(table, {})[key] = value
    return doc


SECTION_OPTIONS = [(name, option) for name, cls in SECTIONS.items() for option in options_of(cls)]
SOURCE = st.sampled_from(list(source_types())).flatmap(lambda t: st.lists(
    entries([("s", o) for o in (*SOURCE_COMMON, *source_types()[t].config_options)]), max_size=5).map(
        lambda items: {"type": t, **gathered(items).get("s", {})}))
DOCUMENT = st.tuples(st.lists(entries(SECTION_OPTIONS), max_size=10),
                     st.lists(st.one_of(SOURCE, SOURCE, VALUES), max_size=2)).map(
    lambda pair: {**gathered(pair[0]), **({"sources": pair[1]} if pair[1] else {})})


def toml_text(doc: dict[str, Any]) -> str:
    """`doc` as TOML: each top-level key as an inline value (tables and arrays of tables included)."""
    return "".join(f"{toml_key(key)} = {any_value(value)}\n" for key, value in doc.items())


def any_value(value: Any) -> str:
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list):
        return "[" + ", ".join(any_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(str(k))} = {any_value(v)}" for k, v in value.items()) + "}"
    return toml_value(value)


GARBAGE = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                    DOCUMENT.map(lambda d: toml_text(d).encode()).flatmap(
                        lambda b: st.integers(0, max(len(b) - 1, 0)).map(lambda i: b[:i] + b"\xff[=" + b[i:])))

SCRATCH = Path(tempfile.mkdtemp(prefix="touchbase-config-fuzz-"))


def check_loads_or_one_line_per_problem(data: bytes) -> None:
    path = SCRATCH / "config.toml"
    path.write_bytes(data)
    try:
        config = load_config(path)
    except ConfigError as error:
        assert error.exit_code == 2
        lines = str(error).splitlines()
        assert len(lines) == 1 + len(error.problems)
        assert all(line.startswith(f"  - {path}: ") for line in lines[1:])
        assert all(len(line) < 600 for line in lines)
        return
    assert isinstance(config, Config)
    _ = (config.store_path, config.data_dir, config.outbox_path, config.zone, config.user_emails,
         write_target(config), [s.options for s in config.sources])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_random_documents_load_or_fail_in_one_line_per_problem(doc):
    check_loads_or_one_line_per_problem(toml_text(doc).encode())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GARBAGE)
def test_random_bytes_never_reach_a_traceback(data):
    check_loads_or_one_line_per_problem(data)


def test_a_config_path_with_control_characters_is_quoted(tmp_path):
    path = tmp_path / "a\x1b[31mb.toml"
    assert cli_error(path) == [f"touchbase: error: {str(path)!r}: no config file here; run `touchbase init` "
                               "to write one"]


def test_a_tilde_user_that_does_not_exist_in_touchbase_config(monkeypatch):
    monkeypatch.setenv("TOUCHBASE_CONFIG", "~no_such_user_here/config.toml")
    assert cli_error(None) == ["touchbase: error: ~no_such_user_here/config.toml: the ~user in this config "
                               "path does not exist here"]
