"""No calendar secret and no password inside an address reaches any output, file or the store: an
address is quoted by scheme and host only, from every path (config check, init, sync, status),
valid or not; a login inside any address (user:password@) is refused with one line naming the key
and where the password goes instead. Servers are real, on 127.0.0.1."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli, write_config
from tests.test_ics_url import NOW, one_meeting

pytestmark = pytest.mark.usefixtures("private_home")  # init writes under HOME / XDG

SECRET = "private-a267f00d"
PASSWORD = "hunter2"




def source_config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder, [], extra=f"[[sources]]\n{body}\n")


def everything_written(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix != ".toml")


BROKEN_ADDRESSES = {
    "trailing space": f"https://calendar.example/ical/{SECRET}/basic.ics ",
    "no scheme": f"calendar.example/ical/{SECRET}/basic.ics",
    "bad port": f"https://calendar.example:99999/ical/{SECRET}/basic.ics",
    "space inside": f"https://calendar.example/ical/{SECRET} x/basic.ics",
}


@pytest.mark.parametrize("case", BROKEN_ADDRESSES)
def test_a_broken_address_in_the_config_is_named_by_its_host_only(tmp_path, case):
    config = source_config(tmp_path, f'name = "work"\ntype = "ics"\nurl = "{BROKEN_ADDRESSES[case]}"')
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 2
    assert SECRET not in result.output and "basic.ics" not in result.output
    assert "url " in result.output and "calendar.example" in result.output


@pytest.mark.parametrize("case", [case for case in BROKEN_ADDRESSES if case != "trailing space"])
def test_init_never_takes_a_broken_address_for_a_file_name(tmp_path, case):
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", "me@acme.example", "--calendar", BROKEN_ADDRESSES[case],
                     "--timezone", "UTC", now=NOW)
    assert result.exit_code == 2
    assert SECRET not in result.output and "no such file" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not target.exists() and not (tmp_path / "calendar-url").exists()


def test_init_takes_an_address_pasted_with_a_trailing_space_and_shows_its_host_only(tmp_path, server):
    server.publish(f"/{SECRET}/cal.ics", one_meeting())
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", "me@acme.example", "--calendar",
                     f" {server.url}/{SECRET}/cal.ics ", "--timezone", "UTC", now=NOW)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and f"Calendar found: {server.url}: 1 events" in result.output
    assert (tmp_path / "calendar-url").read_text() == f"{server.url}/{SECRET}/cal.ics\n"


LOGINS = [
    ("caldav", f'url = "https://me:{PASSWORD}@cloud.example/dav"\nusername = "me"', "url"),
    ("ics", f'url = "https://me:{PASSWORD}@calendar.example/basic.ics"', "url"),
    ("ics", f'urls = ["https://me:{PASSWORD}@calendar.example/basic.ics"]', "urls"),
    ("google", f'api_endpoint = "https://me:{PASSWORD}@proxy.example/"', "api_endpoint"),
    ("outlook", f'client_id = "00000000-0000-0000-0000-000000000000"\n'
                f'authority = "https://me:{PASSWORD}@login.example/tenant"', "authority"),
    ("outlook", f'client_id = "00000000-0000-0000-0000-000000000000"\n'
                f'graph_endpoint = "https://me:{PASSWORD}@graph.example/v1.0"', "graph_endpoint"),
]


@pytest.mark.parametrize(("kind", "keys", "key"), LOGINS)
def test_a_login_inside_any_address_is_refused_naming_the_key(tmp_path, kind, keys, key):
    config = source_config(tmp_path, f'name = "s"\ntype = "{kind}"\n{keys}')
    result = run_cli(config, "status", now=NOW)
    assert result.exit_code == 2
    line = next(line for line in result.output.splitlines() if "user:password@" in line)
    assert f"'s' {key}" in line and "password_env or password_file" in line
    assert PASSWORD not in result.output


def test_init_refuses_a_login_inside_a_caldav_or_calendar_address(tmp_path):
    target = tmp_path / "config.toml"
    for args in (("--caldav", f"https://me:{PASSWORD}@cloud.example/dav", "--username", "me"),
                 ("--calendar", f"https://me:{PASSWORD}@calendar.example/{SECRET}/basic.ics")):
        result = run_cli(target, "init", "--email", "me@acme.example", *args, "--timezone", "UTC", now=NOW)
        assert result.exit_code == 2, result.output
        assert "user:password@" in result.output and "password_env or password_file" in result.output
        assert PASSWORD not in result.output and SECRET not in result.output
        assert not target.exists()


def test_a_login_in_a_secret_address_kept_outside_the_config_is_refused_too(tmp_path, server, monkeypatch):
    server.publish("/cal.ics", one_meeting())
    monkeypatch.setenv("WORK_URL", server.url.replace("://", f"://me:{PASSWORD}@") + f"/{SECRET}/cal.ics")
    config = source_config(tmp_path, 'name = "work"\ntype = "ics"\nurl_env = "WORK_URL"')
    synced = run_cli(config, "sync", now=NOW)
    status = run_cli(config, "status", "--json", now=NOW)
    assert synced.exit_code == 1 and "user:password@" in synced.output
    for text in (synced.output, status.output):
        assert PASSWORD not in text and SECRET not in text
    assert PASSWORD.encode() not in everything_written(tmp_path)
    assert server.log == []  # never sent anywhere


def test_a_caldav_server_error_names_the_host_only_in_sync_status_and_the_store(tmp_path, server):
    """A CalDAV address whose path is private: the server answers with errors that the client
    library words with the full address."""
    config = source_config(tmp_path, f'name = "dav"\ntype = "caldav"\nurl = "{server.url}/{SECRET}/dav/"\n'
                                     'username = "me"\npassword_env = "DAV_PASSWORD"')
    synced = run_cli(config, "sync", now=NOW)
    status = run_cli(config, "status", "--json", now=NOW)
    assert synced.exit_code == 1 and "dav: FAILED" in synced.output
    assert len(synced.output.strip().splitlines()) == 1
    for text in (synced.output, status.output):
        assert SECRET not in text
    assert json.loads(status.output)  # still a JSON object
    assert SECRET.encode() not in everything_written(tmp_path)
