"""`touchbase init` for every source type, by flags and interactively, each writing a config that
validates; a calendar address read by the next `run --once` (a real HTTP server on 127.0.0.1)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.configuration.loader import load_config
from tests.fakes.calendar_server import CalendarServer
from tests.helpers import Ev, calendar, run_cli

pytestmark = pytest.mark.usefixtures("private_home")  # init writes under HOME / XDG

NOW = "2026-10-14T12:00:00+02:00"
SECRET = "/calendar/ical/me/private-0ddba11/basic.ics"


@pytest.fixture
def server() -> Iterator[CalendarServer]:
    fake = CalendarServer().start()
    fake.publish(SECRET, calendar(Ev("a", "20261005T100000", "20261005T103000",
                                     attendees=(";PARTSTAT=ACCEPTED:mailto:ann@acme.example",))))
    yield fake
    fake.stop()


def init(target: Path, *args: str, input: str | None = None):
    return run_cli(target, "init", *args, now=NOW, input=input)


def client_secrets(tmp_path: Path, kind: str = "installed") -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps({kind: {"client_id": "x.apps.googleusercontent.com", "client_secret": "s",
                                       "auth_uri": "https://accounts.example/auth",
                                       "token_uri": "https://oauth2.example/token",
                                       "redirect_uris": ["http://localhost"]}}))
    return path


def test_init_with_a_calendar_address_then_run_once_reads_it_and_then_costs_one_304(tmp_path, server):
    target = tmp_path / "conf" / "config.toml"
    result = init(target, "--email", "me@acme.example", "--calendar", f"{server.url}{SECRET}",
                  "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert "private-0ddba11" not in result.output and f"Calendar found: {server.url}: 1 events" in result.output
    assert result.output.strip().endswith("Next: touchbase run --once (reads your calendar and writes the "
                                          "morning email)")
    config = load_config(target)
    (source,) = config.sources
    address_file = Path(source.url_file)
    assert address_file.read_text().strip() == f"{server.url}{SECRET}"
    assert stat.S_IMODE(address_file.stat().st_mode) == 0o600 and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "private-0ddba11" not in target.read_text()
    assert config.touchbase.mode == "propose"  # nothing can take touchbases: they are proposed
    del server.log[:]
    first = run_cli(target, "run", "--once", now=NOW)
    assert first.exit_code == 0, first.output
    assert "sync: ok (work: 1 occurrences)" in first.output and server.statuses() == [200]
    again = run_cli(target, "run", "--once", now=NOW)
    assert "sync: ok (work: unchanged)" in again.output and server.statuses() == [200, 304]


@pytest.mark.parametrize("form", ["file", "url", "google", "outlook", "caldav"])
def test_each_init_form_writes_a_config_that_validates(tmp_path, server, form, monkeypatch):
    monkeypatch.delenv("TOUCHBASE_CALDAV_PASSWORD", raising=False)
    ics = tmp_path / "work.ics"
    ics.write_text(calendar())
    flags = {
        "file": ["--calendar", str(ics)],
        "url": ["--calendar", f"{server.url}{SECRET}".replace("http://127.0.0.1", "http://localhost")],
        "google": ["--google", str(client_secrets(tmp_path)), "--no-sign-in"],
        "outlook": ["--outlook", "11111111-2222-3333-4444-555555555555", "--tenant", "contoso.example",
                    "--no-sign-in"],
        "caldav": ["--caldav", "https://cloud.example/remote.php/dav", "--username", "me",
                   "--password-env", "MY_DAV_PASSWORD"],
    }[form]
    target = tmp_path / "config.toml"
    result = init(target, "--email", "me@acme.example", "--timezone", "UTC", *flags)
    assert result.exit_code == 0, result.output
    config = load_config(target)
    (source,) = config.sources
    account = form in ("google", "outlook")
    assert config.touchbase.write_to == ("" if form in ("file", "url") else source.name)
    assert config.touchbase.mode == ("propose" if form in ("file", "url") else "auto")
    assert config.digest.transport == (source.name if account else "outbox")
    assert config.followups.transport == (source.name if account else "outbox")
    if form == "outlook":
        assert (source.client_id, source.tenant) == ("11111111-2222-3333-4444-555555555555", "contoso.example")
    if form == "caldav":
        assert (source.username, source.password_env) == ("me", "MY_DAV_PASSWORD")
        assert "Set MY_DAV_PASSWORD to your CalDAV password" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Next: ")
    if account:
        assert last.startswith(f"Next: touchbase auth {form} (sign in)")


@pytest.mark.parametrize("choice, answers, kind", [
    ("1", ["{ics}"], "ics"),
    ("2", ["{secrets}", ""], "google"),  # Enter: yes, count two-way mail as contact
    ("3", ["not-an-id", "11111111-2222-3333-4444-555555555555", "organizations", "n"], "outlook"),
    ("4", ["https://dav.example/", "me"], "caldav"),
])
def test_init_asks_for_each_source_type(tmp_path, choice, answers, kind):
    ics = tmp_path / "mine.ics"
    ics.write_text(calendar())
    filled = [a.format(ics=ics, secrets=client_secrets(tmp_path)) for a in answers]
    target = tmp_path / "config.toml"
    typed = "\n".join(["not an address", "me@acme", "me@acme.example", choice, *filled]) + "\n"
    result = init(target, "--timezone", "UTC", "--no-sign-in", input=typed)
    assert result.exit_code == 0, result.output
    assert "is not an email address" in result.output  # asked again
    assert "'me@acme' is not an email address (the domain has no dot" in result.output
    assert "Where is your work calendar?" in result.output
    (source,) = load_config(target).sources
    assert source.type == kind
    assert bool(source.options.get("mail")) is (kind == "google")  # offered for Google and Outlook
    if kind == "outlook":
        assert "is not an application (client) id" in result.output


def test_init_refuses_bad_answers_with_one_line_and_writes_nothing(tmp_path, server):
    target = tmp_path / "config.toml"
    not_calendar = tmp_path / "notes.txt"
    not_calendar.write_text("hello")
    cases = [
        (["--email", "me(at)acme", "--calendar", str(not_calendar)], "is not an email address"),
        (["--email", "me@acme.example", "--calendar", str(tmp_path / "missing.ics")], "no such file"),
        (["--email", "me@acme.example", "--calendar", str(not_calendar)], "not an iCalendar calendar"),
        (["--email", "me@acme.example", "--calendar", f"{server.url}/nothing.ics"], "HTTP 404"),
        (["--email", "me@acme.example", "--calendar", "http://calendar.example/secret.ics"],
         "plain http:// is only allowed for this machine"),
        (["--email", "me@acme.example", "--google", str(client_secrets(tmp_path, "web"))],
         "a web application client"),
        (["--email", "me@acme.example", "--outlook", "my-app"], "is not an application (client) id"),
        (["--email", "me@acme.example", "--calendar", "x.ics", "--outlook", "my-app"], "give only one of"),
        (["--email", "me@acme.example", "--calendar", str(not_calendar), "--tenant", "x"],
         "--tenant goes with --outlook"),
    ]
    for args, message in cases:
        result = init(target, "--timezone", "UTC", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output and "secret.ics" not in result.output
        assert not target.exists()


def test_an_unreachable_address_is_written_with_a_warning(tmp_path, server):
    server.stop()
    target = tmp_path / "config.toml"
    result = init(target, "--email", "me@acme.example", "--timezone", "UTC", "--calendar",
                  f"{server.url}{SECRET}")
    assert result.exit_code == 0, result.output
    assert "Could not reach the calendar now" in result.output and "private-0ddba11" not in result.output
    assert load_config(target).sources[0].url_file


def test_init_google_signs_in_unless_told_not_to(tmp_path, google):
    """The sign-in runs as `touchbase auth google` does (the test plays the browser)."""
    from tests.test_google_auth import BROWSER

    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps(google.client_secrets()))
    script = tmp_path / "browser.py"
    script.write_text(BROWSER)
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(OAUTHLIB_INSECURE_TRANSPORT="1", PYTHONUNBUFFERED="1", BROWSER=f"{sys.executable} {script} %s",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    target = tmp_path / "config.toml"
    code = "import sys; from agent.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "--config", str(target), "--now", NOW, "init",
                           "--email", "me@acme.example", "--timezone", "UTC", "--google", str(secrets)],
                          env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signing in to Google..." in done.stdout and "signed in to Google" in done.stdout
    token = tmp_path / "home" / ".local" / "share" / "touchbase" / "tokens" / "google.json"
    assert token.exists() and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert done.stdout.strip().splitlines()[-1].startswith("Next: touchbase run --once")


def test_auth_without_such_a_source_says_how_to_add_one(tmp_path):
    ics = tmp_path / "work.ics"
    ics.write_text(calendar())
    target = tmp_path / "config.toml"
    assert init(target, "--email", "me@acme.example", "--timezone", "UTC", "--calendar", str(ics)).exit_code == 0
    for kind, flag in (("google", "--google CLIENT_SECRETS_JSON"), ("outlook", "--outlook CLIENT_ID")):
        result = run_cli(target, "auth", kind, now=NOW)
        assert result.exit_code == 2
        assert f"no {kind} source in [[sources]]; add one (docs/connect-{kind}.md)" in result.output
        assert f"touchbase init --force {flag}" in result.output


def _berlin_calendar(path: Path) -> Path:
    path.write_text(calendar().replace("BEGIN:VCALENDAR\n", "BEGIN:VCALENDAR\nX-WR-TIMEZONE:Europe/Berlin\n", 1)
                    .replace("BEGIN:VCALENDAR\r\n", "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Berlin\r\n", 1))
    return path


def test_interactive_init_asks_for_the_zone_offering_the_calendars_first(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")  # the machine says UTC, the calendar Europe/Berlin
    ics = _berlin_calendar(tmp_path / "mine.ics")
    target = tmp_path / "config.toml"
    result = init(target, "--no-sign-in", input=f"me@acme.example\n1\n{ics}\n\n")  # Enter: the offer
    assert result.exit_code == 0, result.output
    assert "Your time zone (Enter for the calendar's) [Europe/Berlin]" in result.output
    assert load_config(target).user.timezone == "Europe/Berlin"
    other = tmp_path / "other.toml"
    typed = f"me@acme.example\n1\n{ics}\nMars/Olympus\nAmerica/New_York\n"  # a wrong zone is asked again
    result = init(other, "--no-sign-in", input=typed)
    assert result.exit_code == 0, result.output
    assert "'Mars/Olympus'" in result.output and load_config(other).user.timezone == "America/New_York"


def test_init_by_flags_takes_the_zone_the_calendar_declares(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    ics = _berlin_calendar(tmp_path / "mine.ics")
    target = tmp_path / "config.toml"
    result = init(target, "--email", "me@acme.example", "--calendar", str(ics))
    assert result.exit_code == 0, result.output
    assert "Time zone: Europe/Berlin (declared by the calendar;" in result.output
    assert load_config(target).user.timezone == "Europe/Berlin"
    plain = tmp_path / "plain.ics"
    plain.write_text(calendar())
    result = init(tmp_path / "c2.toml", "--email", "me@acme.example", "--calendar", str(plain))
    assert "(this machine's;" in result.output
