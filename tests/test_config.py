"""The TOML configuration: every problem at once, naming file, section and key; where the file
is looked for; `touchbase init`; the shipped example."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.configuration.loader import (
    Config,
    default_config_path,
    load_config,
    parse_config,
    resolve_config_path,
)
from agent.configuration.starter import example_text
from agent.errors import ConfigError
from tests.helpers import run_cli, write_config

ROOT = Path(__file__).resolve().parent.parent


def problems_of(tmp_path: Path, text: str) -> tuple[Path, list[str], str]:
    """Load `text` as a config file; return its path, the problems and the error's text."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return path, caught.value.problems, str(caught.value)


# --- every problem at once ----------------------------------------------------------------

BROKEN = """
[user]
email = "me@acme.example"
timezone = "Mars/Olympus_Mons"
nickname = "me"

[colleagues]
max_attendees = "eight"
window_days = 180
internal_domains = "acme.example"

[calendar]
path = "~/cal.ics"

[[sources]]
name = "work"
type = "ics"
path = "~/calendar.ics"
colour = "blue"

[[sources]]
name = "cloud"
type = "exchange2003"
url = "https://mail.acme.example"

[touchbase]
mode = "sometimes"
cadence_days = 30
"""


def test_every_problem_is_reported_at_once_naming_file_section_and_key(tmp_path):
    path, problems, text = problems_of(tmp_path, BROKEN)
    expected = [
        f"{path}: [user] unknown key 'nickname'",
        f"{path}: [colleagues] max_attendees must be an integer, got 'eight'",
        f"{path}: [colleagues] internal_domains must be a list of strings, got 'acme.example'",
        f"{path}: unknown section [calendar]",
        f"{path}: [[sources]] 'work' unknown key 'colour'",
        f"{path}: [[sources]] 'cloud' type 'exchange2003' is not one of: ics, caldav, google, outlook, imap",
        f"{path}: [user] timezone 'Mars/Olympus_Mons' is not a known time zone",
        f"{path}: [touchbase] mode must be auto, propose or off",
    ]
    assert sorted(problems) == sorted(expected)
    assert text.startswith(f"{path}: 8 problem(s) in the configuration")
    for problem in expected:
        assert f"  - {problem}" in text


def test_unknown_section(tmp_path):
    path, problems, _ = problems_of(tmp_path, '[user]\nemail = "me@acme.example"\n[mail]\nto = "x"\n')
    assert problems == [f"{path}: unknown section [mail]"]


def test_a_section_that_is_not_a_table(tmp_path):
    path, problems, _ = problems_of(tmp_path, 'user = "me@acme.example"\n')
    assert problems == [f"{path}: [user] must be a table"]


@pytest.mark.parametrize("section,line,message", [
    ("user", 'aliases = "me2@acme.example"',
     "aliases must be a list of strings, got 'me2@acme.example'"),
    ("colleagues", "window_days = 90.5", "window_days must be an integer, got 90.5"),
    ("colleagues", "max_attendees = true", "max_attendees must be an integer, got True"),
    ("colleagues", 'aliases = { "a@acme.example" = 3 }',
     "aliases must be a table of strings, got {'a@acme.example': 3}"),
    ("followups", 'enabled = "yes"', "enabled must be true or false, got 'yes'"),
    ("digest", "days = [1, 2]", "days must be a list of strings, got [1, 2]"),
    ("smtp", 'port = "587"', "port must be an integer, got '587'"),
])
def test_wrong_types_name_section_and_key(tmp_path, section, line, message):
    path, problems, _ = problems_of(tmp_path, f'[{section}]\n{line}\n')
    assert problems == [f"{path}: [{section}] {message}"]


@pytest.mark.parametrize("zone", ["Europe/Berlni", "CEST", "+02:00", "../etc/passwd", ""])
def test_bad_time_zone(tmp_path, zone):
    text = f'[user]\nemail = "me@acme.example"\ntimezone = "{zone}"\n'
    if not zone:
        assert load_config_text(tmp_path, text).user.timezone == ""  # empty: the system zone
        return
    path, problems, _ = problems_of(tmp_path, text)
    assert problems == [f"{path}: [user] timezone {zone!r} is not a known time zone"]


def load_config_text(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_unknown_source_type_and_missing_name(tmp_path):
    path, problems, _ = problems_of(tmp_path, '[[sources]]\ntype = "exchange"\n')
    assert f"{path}: [[sources]] #1 needs a name" in problems
    assert any("type 'exchange' is not one of: ics, caldav, google, outlook, imap" in p for p in problems)


def test_unknown_key_of_a_source_type(tmp_path):
    path, problems, _ = problems_of(tmp_path, (
        '[[sources]]\nname = "g"\ntype = "google"\ncalendars = ["primary"]\nurl = "https://x"\n'))
    assert problems == [f"{path}: [[sources]] 'g' unknown key 'url'"]


def test_an_ics_source_needs_a_path(tmp_path):
    path, problems, _ = problems_of(tmp_path, '[[sources]]\nname = "work"\ntype = "ics"\n')
    assert problems == [f"{path}: [[sources]] 'work' path: an ics source needs one of "
                        "path, paths, url, urls, url_env or url_file"]


def test_duplicate_source_names(tmp_path):
    text = '[[sources]]\nname = "w"\ntype = "ics"\npath = "a.ics"\n' * 2
    path, problems, _ = problems_of(tmp_path, text)
    assert problems == [f"{path}: [[sources]] name 'w' is used more than once"]


@pytest.mark.parametrize("key", ["password", "secret", "client_secret", "token"])
def test_secrets_in_a_source_are_refused(tmp_path, key):
    text = (f'[[sources]]\nname = "cloud"\ntype = "caldav"\nurl = "https://dav.acme.example"\n'
            f'{key} = "hunter2"\n')
    path, problems, message = problems_of(tmp_path, text)
    assert problems == [f"{path}: [[sources]] 'cloud' {key}: secrets are never stored in the "
                        "config; use password_env or password_file"]
    assert "hunter2" not in message


def test_smtp_password_in_clear_is_refused(tmp_path):
    path, problems, message = problems_of(tmp_path, '[smtp]\npassword = "hunter2"\n')
    assert problems == [f"{path}: [smtp] password: secrets are never stored in the config; "
                        "use password_env or password_file"]
    assert "hunter2" not in message


def test_a_wrong_value_does_not_echo_a_secret_looking_value_elsewhere(tmp_path):
    path, problems, _ = problems_of(tmp_path, '[smtp]\npassword_env = 12345\n')
    assert problems == [f"{path}: [smtp] password_env must be a string, got 12345"]


def test_not_toml_is_one_clear_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[user\nemail = "me@acme.example"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: not valid TOML: ")
    assert "line 1" in str(caught.value)


def test_a_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="run `touchbase init`"):
        load_config(tmp_path / "absent.toml")


def test_config_errors_reach_the_cli_as_lines_without_traceback(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = run_cli(path, "people")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == f"touchbase: error: {path}: 8 problem(s) in the configuration"
    assert len(lines) == 9 and all(line.startswith(f"  - {path}: ") for line in lines[1:])


# --- defaults -----------------------------------------------------------------------------


def test_defaults_of_an_almost_empty_file(tmp_path):
    config = load_config_text(tmp_path, '[user]\nemail = "Me@Acme.example"\n')
    assert config.colleagues.max_attendees == 8
    assert config.colleagues.window_days == 180
    assert config.colleagues.internal_domains == []
    assert config.touchbase.cadence_days == 30
    assert config.digest.time == "08:00"
    assert config.user_emails == ["me@acme.example"]
    assert config.sources == []
    assert config.store_path.name == "touchbase.db"
    assert config.data_dir == config.store_path.parent


def test_parse_config_of_nothing_is_the_defaults():
    config = parse_config({})
    assert config.path is None and config.touchbase.mode == "propose"  # no source can take touchbases


def test_source_options_have_their_type_defaults(tmp_path):
    config = load_config_text(tmp_path, (
        '[[sources]]\nname = "g"\ntype = "google"\n'
        '[[sources]]\nname = "o"\ntype = "outlook"\nclient_id = "abc"\n'))
    google, outlook = config.sources
    assert google.calendars == ["primary"] and google.send_updates == "all"
    assert outlook.tenant == "organizations"
    assert outlook.graph_endpoint == "https://graph.microsoft.com/v1.0"
    assert config.source("o") is outlook
    with pytest.raises(ConfigError, match="no source named 'x'"):
        config.source("x")


# --- where the file is looked for ---------------------------------------------------------


def test_config_option_beats_environment_beats_platform_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TOUCHBASE_CONFIG", raising=False)
    platform = default_config_path()
    assert platform == tmp_path / "xdg" / "touchbase" / "config.toml"
    assert resolve_config_path(None) == platform
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(str(tmp_path / "cli.toml")) == tmp_path / "cli.toml"


def test_the_cli_uses_the_same_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TOUCHBASE_CONFIG", raising=False)
    for name in ("cli", "env", "platform"):
        (tmp_path / name).mkdir()
        write_config(tmp_path / name)
    platform = tmp_path / "xdg" / "touchbase" / "config.toml"
    platform.parent.mkdir(parents=True)
    platform.write_text((tmp_path / "platform" / "config.toml").read_text(), encoding="utf-8")

    def used(*args: str) -> str:
        result = run_cli(None, *args, "status")
        assert result.exit_code == 0, result.output
        return result.output.splitlines()[0]

    assert used() == f"config: {platform}"
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(tmp_path / "env" / "config.toml"))
    assert used() == f"config: {tmp_path / 'env' / 'config.toml'}"
    cli = tmp_path / "cli" / "config.toml"
    assert used("--config", str(cli)) == f"config: {cli}"


def test_no_config_anywhere_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TOUCHBASE_CONFIG", raising=False)
    result = run_cli(None, "people")
    assert result.exit_code == 2
    assert result.output == (f"touchbase: error: {tmp_path / 'xdg' / 'touchbase' / 'config.toml'}: "
                             "no config file here; run `touchbase init` to write one\n")


# --- touchbase init -----------------------------------------------------------------------


def a_calendar_file(path: Path) -> Path:
    """An (empty) calendar file at `path`: init checks that the file it is given exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder (for ~) and working folder with the calendar files the init tests name."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    a_calendar_file(tmp_path / "home" / "exports" / "work.ics")
    a_calendar_file(tmp_path / "home" / "calendar.ics")
    a_calendar_file(tmp_path / "c.ics")
    return tmp_path / "home"


def test_init_with_options_writes_a_valid_commented_config(tmp_path, home):
    target = tmp_path / "conf" / "config.toml"
    result = run_cli(target, "init", "--email", "Ana@Example.org", "--calendar",
                     "~/exports/work.ics", "--timezone", "America/Chicago")
    assert result.exit_code == 0, result.output
    assert f"Wrote {target}" in result.output
    text = target.read_text(encoding="utf-8")
    assert text.count("#") > 20  # commented
    config = load_config(target)
    assert config.user.email == "Ana@Example.org"
    assert config.user.timezone == "America/Chicago"
    assert config.colleagues.internal_domains == ["Example.org"]
    assert config.digest.to == "Ana@Example.org"
    assert [(s.name, s.type, s.path) for s in config.sources] == [
        ("work", "ics", "~/exports/work.ics")]


def test_init_asks_for_what_is_not_given(tmp_path, home):
    target = tmp_path / "config.toml"
    odd = a_calendar_file(tmp_path / "data" / 'cal "main".ics')
    result = run_cli(target, "init", "--timezone", "Europe/Paris",
                     input=f"zoe@acme.example\n1\n{odd}\n")
    assert result.exit_code == 0, result.output
    assert "Your work email address" in result.output
    assert "The calendar's address or .ics file" in result.output
    config = load_config(target)
    assert config.user.email == "zoe@acme.example"
    assert config.sources[0].path == str(odd)


def test_init_prompt_offers_a_default_calendar_path(tmp_path, home):
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", "zoe@acme.example", "--timezone", "UTC", input="\n\n")
    assert result.exit_code == 0, result.output
    assert load_config(target).sources[0].path == "~/calendar.ics"


def test_init_defaults_to_the_system_zone(tmp_path, monkeypatch, home):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", "zoe@acme.example", "--calendar", "c.ics")
    assert result.exit_code == 0, result.output
    assert load_config(target).user.timezone == "Asia/Tokyo"


def test_init_does_not_overwrite_without_force(tmp_path, home):
    target = tmp_path / "config.toml"
    target.write_text("# mine\n", encoding="utf-8")
    result = run_cli(target, "init", "--email", "a@b.example", "--calendar", "c.ics")
    assert result.exit_code == 2
    assert "a config already exists (use --force to overwrite)" in result.output
    assert target.read_text(encoding="utf-8") == "# mine\n"
    forced = run_cli(target, "init", "--email", "a@b.example", "--calendar", "c.ics", "--force",
                     "--timezone", "UTC")
    assert forced.exit_code == 0
    assert load_config(target).user.email == "a@b.example"


def test_init_refuses_a_bad_time_zone_and_writes_nothing(tmp_path, home):
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", "a@b.example", "--calendar", "c.ics",
                     "--timezone", "Europe/Berlni")
    assert result.exit_code == 2
    assert "timezone 'Europe/Berlni' is not a known time zone" in result.output
    assert "Traceback" not in result.output
    assert not target.exists()


def test_init_uses_touchbase_config_from_the_environment(tmp_path, monkeypatch, home):
    target = tmp_path / "env" / "config.toml"
    monkeypatch.setenv("TOUCHBASE_CONFIG", str(target))
    result = run_cli(None, "init", "--email", "a@b.example", "--calendar", "c.ics",
                     "--timezone", "UTC")
    assert result.exit_code == 0, result.output
    assert load_config(target).user.email == "a@b.example"


# --- the shipped example ------------------------------------------------------------------


def test_the_example_in_config_is_the_packaged_one_and_valid():
    shipped = ROOT / "config" / "touchbase.example.toml"
    packaged = ROOT / "agent" / "data" / "example.toml"
    assert shipped.read_text(encoding="utf-8") == packaged.read_text(encoding="utf-8")
    assert example_text() == packaged.read_text(encoding="utf-8")
    config = load_config(shipped)
    assert config.user.email == "me@acme.example"
    assert [s.type for s in config.sources] == ["ics"]


def test_the_example_mentions_every_section_and_key():
    text = example_text()
    config = load_config_text_from(text)
    import dataclasses

    from agent.configuration.loader import SECTIONS

    for section, cls in SECTIONS.items():
        assert f"[{section}]" in text, section
        for field in dataclasses.fields(cls):
            assert f"{field.name} =" in text or f"# {field.name} =" in text, (section, field.name)
    assert config is not None


def load_config_text_from(text: str) -> Config:
    import tomllib

    return parse_config(tomllib.loads(text))
