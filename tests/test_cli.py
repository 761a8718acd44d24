"""The command line: `people --json` shape, the table, `status`, help text everywhere, and errors
as one line with a non-zero exit."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.errors import ConfigError
from tests.helpers import flat, run_cli, write_config

FIXTURES = Path(__file__).parent / "fixtures"
NOW = "2026-11-02T12:00:00+01:00"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture
def synced(tmp_path) -> Path:
    config = write_config(tmp_path, [FIXTURES / "rule_colleague_declined.ics",
                                     FIXTURES / "rule_last_next_meeting.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 0, result.output
    return config


# --- people --json ------------------------------------------------------------------------


def test_people_json_is_a_list_of_objects_with_the_documented_fields(synced):
    result = run_cli(synced, "people", "--json", now=NOW)
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert isinstance(rows, list) and rows
    for row in rows:
        assert {"email", "name", "meetings", "one_on_ones", "last_met", "next_meeting"} <= set(row)
        assert isinstance(row["email"], str) and row["email"] == row["email"].lower()
        assert isinstance(row["name"], str)
        assert isinstance(row["meetings"], int) and isinstance(row["one_on_ones"], int)
        assert 0 <= row["one_on_ones"] <= row["meetings"]
        for key in ("last_met", "next_meeting"):
            value = row[key]
            assert value is None or ISO_WITH_OFFSET.match(value), (key, value)
            if value:
                assert datetime.fromisoformat(value).utcoffset() is not None
        assert isinstance(row["organised_by_user"], int)
        assert isinstance(row["organised_by_them"], int)
        assert row["typical_gap_days"] is None or isinstance(row["typical_gap_days"], float)


def test_people_json_values(synced):
    rows = {r["email"]: r for r in json.loads(run_cli(synced, "people", "--json", now=NOW).output)}
    assert rows["dana@acme.example"] == {
        **rows["dana@acme.example"],
        "name": "Dana Park", "meetings": 3, "one_on_ones": 3,
        "last_met": "2026-10-28T11:00:00+01:00", "next_meeting": None,
        "organised_by_user": 3, "organised_by_them": 0, "typical_gap_days": 10.5,
    }
    assert rows["judy@acme.example"]["last_met"] is None
    assert rows["judy@acme.example"]["next_meeting"] == "2026-11-02T12:00:00+01:00"


def test_people_json_times_are_in_the_users_zone(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_weekly_series_exdate.ics"],
                          timezone="Asia/Kolkata")
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    [alice] = json.loads(run_cli(config, "people", "--json", now=NOW).output)
    assert alice["last_met"] == "2026-11-02T14:30:00+05:30"


def test_people_json_before_any_sync_is_an_empty_list(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_exclude.ics"])
    result = run_cli(config, "people", "--json", now=NOW)
    assert result.exit_code == 0
    assert json.loads(result.output) == []


# --- the table ----------------------------------------------------------------------------


def test_people_table(synced):
    result = run_cli(synced, "people", now=NOW)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "email", "mtgs", "last", "status", "quadrant"]
    assert set(lines[1]) == {"-"}
    assert max(len(line) for line in lines) <= 80
    dana = next(line for line in lines if "dana@acme.example" in line)
    assert dana.split()[:5] == ["Dana", "Park", "dana@acme.example", "3", "2026-10-28"]
    judy = next(line for line in lines if "judy@acme.example" in line)
    assert judy.split()[2:5] == ["judy@acme.example", "0", "-"]
    # a row per colleague, then the legend of "-" (issue 20: one word for not tracked)
    assert len(lines) == 3 + len(json.loads(run_cli(synced, "people", "--json", now=NOW).output))
    assert lines[-1] == "status -: not tracked (`touchbase rate EMAIL` tracks someone)"


def test_people_table_before_any_sync(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_exclude.ics"])
    result = run_cli(config, "people", now=NOW)
    assert result.exit_code == 0
    assert result.output.startswith("Nobody to show: run `touchbase sync` first")


# --- status -------------------------------------------------------------------------------


def test_status_lists_config_store_and_sources(synced, tmp_path):
    result = run_cli(synced, "status", now=NOW)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"config: {synced}"
    assert lines[1] == f"store:  {tmp_path / 'data' / 'touchbase.db'}"  # a path has its label's line
    assert re.match(r"^        \(\d+ occurrences\)$", lines[2])  # then what follows, folded under it
    assert any(re.match(r"^source work: last sync 2026-11-02 12:00, \d+ occurrences$", line)  # your zone
               for line in lines)
    assert any(line.startswith("source work1: last sync 2026-11-02 12:00") for line in lines)


def test_status_before_any_sync(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "rule_exclude.ics"])
    result = run_cli(config, "status", now=NOW)
    assert result.exit_code == 0
    assert "source work: last sync never" in result.output


def test_status_shows_the_last_error_of_a_source(tmp_path):
    config = write_config(tmp_path, [FIXTURES / "ics_not_icalendar.ics"])
    run_cli(config, "sync", now=NOW)
    result = run_cli(config, "status", now=NOW)
    assert result.exit_code == 0
    assert "source work: last sync never" in result.output
    assert re.search(r"^  last error 2026-11-02 12:00:", result.output, re.M)
    assert re.search(r"last error 2026-11-02 12:00: .*not an iCalendar file", flat(result.output))


def test_status_hides_an_error_that_a_later_sync_repaired(tmp_path):
    ics = tmp_path / "cal.ics"
    ics.write_text("not yet", encoding="utf-8")
    config = write_config(tmp_path, [ics])
    run_cli(config, "sync", now=NOW)
    ics.write_bytes((FIXTURES / "rule_exclude.ics").read_bytes())
    assert run_cli(config, "sync", now="2026-11-02T12:05:00+01:00").exit_code == 0
    result = run_cli(config, "status", now=NOW)
    assert "last error" not in result.output


# --- help text ----------------------------------------------------------------------------


def all_commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple]:
    """Every command below `group` as (path, command)."""
    found = []
    for name, command in sorted(group.commands.items()):
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found += all_commands(command, (*path, name))
    return found


COMMANDS = all_commands()


def test_the_commands_of_the_design_exist():
    names = {path[0] for path, _ in COMMANDS}
    assert {"init", "demo", "auth", "sync", "people", "person", "rate", "note", "plan", "approve",
            "digest", "map", "run", "status", "install-service", "forget"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_has_help_text(path, command):
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help text"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    first_line = " ".join(command.help.strip().splitlines()[0].split())
    assert first_line in " ".join(result.output.split())


def test_the_global_options_have_help_text():
    for param in main.params:
        if isinstance(param, click.Option):
            assert (param.help or "").strip(), param.opts
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for path, command in COMMANDS:
        if len(path) == 1 and not command.hidden:
            assert path[0] in result.output


# --- errors -------------------------------------------------------------------------------


def test_a_missing_config_is_one_line_and_exit_2(tmp_path):
    result = run_cli(tmp_path / "absent.toml", "people")
    assert result.exit_code == 2
    assert result.output == (f"touchbase: error: {tmp_path / 'absent.toml'}: no config file here; "
                             "run `touchbase init` to write one\n")


def test_sync_without_sources_says_so(tmp_path):
    config = write_config(tmp_path)
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 2
    assert result.output == (f"touchbase: error: {config}: no [[sources]] to sync; add one "
                             "(`touchbase init` writes an example)\n")


def test_a_bad_now_is_a_usage_error_without_traceback(tmp_path):
    config = write_config(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(config), "--now", "yesterday", "people"])
    assert result.exit_code == 2
    assert "Invalid value for --now: 'yesterday' is not an ISO 8601 instant" in result.output
    assert "Traceback" not in result.output


def test_all_sources_failing_is_a_non_zero_exit(tmp_path):
    config = write_config(tmp_path, [tmp_path / "a.ics", tmp_path / "b.ics"])
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1
    assert [line.split(":")[0] for line in result.output.splitlines()] == ["work", "work1"]


def test_verbose_shows_the_underlying_exception(tmp_path):
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "absent.toml"), "--verbose",
                                       "people"])
    assert isinstance(result.exception, ConfigError)


def test_people_without_the_users_address_says_so(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "touchbase.db"}"\n', encoding="utf-8")
    result = run_cli(config, "people", "--json", now=NOW)
    assert result.exit_code == 2
    assert result.output == f"touchbase: error: {config}: [user] email is not set\n"


def test_click_usage_errors_read_like_the_agents_own_one_line_and_a_hint(tmp_path):
    config = write_config(tmp_path, [])
    result = run_cli(config, "rate", "x@acme.example", "--vital", "9")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "touchbase: error: Invalid value for '--vital': 9 is not in the range 1<=x<=5.",
        "hint: touchbase rate --help shows the options"]
    unknown = run_cli(config, "--bogus")
    assert unknown.exit_code == 2 and unknown.output.startswith("touchbase: error: No such option '--bogus'")
    assert "Usage:" not in unknown.output and "Error:" not in unknown.output
    assert run_cli(config, "no-such-command").exit_code == 2
    assert run_cli(config, "--version").exit_code == 0


def test_an_unanswered_confirmation_changes_nothing_and_exits_2(tmp_path):
    config = write_config(tmp_path, [])
    assert run_cli(config, "note", "x@acme.example", "--new", "met at the offsite").exit_code == 0
    result = run_cli(config, "forget", "x@acme.example")  # no input: the prompt meets end of file
    assert result.exit_code == 2
    assert result.stderr == "touchbase: error: no answer given, nothing changed\n"
    refused = run_cli(config, "forget", "x@acme.example", input="n\n")
    assert refused.exit_code == 2 and "nothing erased" in refused.output
