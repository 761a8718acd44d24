"""`touchbase auth google`: the installed-app loopback flow against the emulator's OAuth endpoints.

The command runs in a subprocess (as a user runs it); the test plays the browser. Two test-only
environment settings: OAUTHLIB_INSECURE_TRANSPORT, because the emulator's token endpoint is
plain http on 127.0.0.1 and oauthlib insists on https otherwise, and PYTHONUNBUFFERED, so the
printed address reaches the pipe before the command waits for the redirect.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.fakes.google_api import SCOPE
from tests.fakes.google_setup import google_source
from tests.helpers import run_cli, write_config

NOW = "2026-11-01T12:00:00+01:00"
BROWSER = '''
import subprocess, sys, urllib.request
if sys.argv[1] == "--visit":
    urllib.request.urlopen(sys.argv[2], timeout=30).read()
else:  # a browser returns at once; the page loads in the background
    subprocess.Popen([sys.executable, __file__, "--visit", sys.argv[1]])
'''


def command(config: Path, *args: str) -> list[str]:
    code = "import sys; from agent.cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, "--config", str(config), "--now", NOW, "auth", "google", *args]


def environment(tmp_path: Path, browser: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(OAUTHLIB_INSECURE_TRANSPORT="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    if browser:
        script = tmp_path / "browser.py"
        script.write_text(BROWSER)
        env["BROWSER"] = f"{sys.executable} {script} %s"
    return env


def secrets_file(tmp_path: Path, google) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(google.client_secrets()))
    return path


def granted(google) -> list[str]:
    assert len(google.refresh_tokens) == 1
    return sorted(next(iter(google.refresh_tokens.values())))


def test_sign_in_with_a_browser_saves_a_private_token_that_syncs(tmp_path, google):
    config = write_config(tmp_path, [], extra=google_source(google))
    result = subprocess.run(command(config, "--client-secrets", str(secrets_file(tmp_path, google))),
                            env=environment(tmp_path, browser=True), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    token = tmp_path / "data" / "tokens" / "gwork.json"
    assert token.stat().st_mode & 0o777 == 0o600
    assert token.parent.stat().st_mode & 0o777 == 0o700
    saved = json.loads(token.read_text())
    assert saved["token_uri"] == f"{google.url}/token" and saved["refresh_token"]
    assert saved["refresh_token"] not in result.stdout + result.stderr
    assert "signed in to Google" in result.stdout and "(no browser was opened)" not in result.stdout
    # the only source is the write target; mail goes to the outbox: no Gmail scope
    assert granted(google) == [SCOPE + "calendar.events", SCOPE + "calendar.freebusy"]
    assert list(tmp_path.joinpath("data", "tokens").iterdir()) == [token]  # no temp file left
    google.put_event({"id": "after001", "summary": "x",
                      "start": {"dateTime": "2026-10-05T10:00:00+02:00"},
                      "end": {"dateTime": "2026-10-05T10:30:00+02:00"},
                      "attendees": [{"email": "me@acme.example"}, {"email": "bob@acme.example"}]})
    synced = run_cli(config, "sync", now=NOW)
    assert synced.exit_code == 0 and "gwork: 1 occurrences read" in synced.output


def test_sign_in_without_a_browser_prints_the_address(tmp_path, google):
    extra = (google_source(google) + "[touchbase]\nwrite_to = \"work\"\n\n"
             "[followups]\ntransport = \"gwork\"\n")
    ics = tmp_path / "cal.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    config = write_config(tmp_path, [ics], extra=extra)
    process = subprocess.Popen(command(config, "--client-secrets", str(secrets_file(tmp_path, google)),
                                       "--no-browser"),
                               env=environment(tmp_path, browser=True), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        url = ""
        for line in process.stdout:
            found = re.search(r"http://127\.0\.0\.1:\d+/o/oauth2/auth\?\S+", line)
            if found:
                url = found.group(0)
                break
        assert url, process.stderr.read()
        urllib.request.urlopen(url, timeout=30).read()
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "access_type=offline" in url and "prompt=consent" in url
    # not the write target, but follow-up drafts go through it: read-only events + compose
    assert granted(google) == [SCOPE + "calendar.events.readonly", SCOPE + "gmail.compose"]
    assert (tmp_path / "data" / "tokens" / "gwork.json").stat().st_mode & 0o777 == 0o600


def test_sign_in_needs_a_client_file(tmp_path, google):
    config = write_config(tmp_path, [], extra=google_source(google))
    result = run_cli(config, "auth", "google", "--client-secrets", str(tmp_path / "missing.json"),
                     now=NOW)
    assert result.exit_code == 2 and "no OAuth client file" in result.output
    result = run_cli(config, "auth", "google", now=NOW)
    assert result.exit_code == 2 and "--client-secrets" in result.output
