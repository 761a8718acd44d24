"""A sign-in that fails (the token endpoint refuses the code the browser brought back) exits 1
with one line naming the command that tries again, and the browser's page says it failed: the
page is written only after the code was exchanged (connectors.loopback runs the exchange first).

`touchbase init --google`, `auth google` and `auth outlook` run in a subprocess against the
Google emulator and the identity-platform emulator; the test plays the browser and keeps the page
it was shown.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.google_setup import google_source
from tests.fakes.graph_fixtures import NOW as GRAPH_NOW
from tests.fakes.graph_fixtures import outlook_config
from tests.helpers import write_config

GOOGLE_NOW = "2026-11-01T12:00:00+01:00"
BROWSER = r'''
import html, os, re, subprocess, sys, urllib.parse, urllib.request
if sys.argv[1] != "--visit":  # a browser returns at once; the page loads in the background
    subprocess.Popen([sys.executable, __file__, "--visit", sys.argv[1]])
    sys.exit(0)
page = urllib.request.urlopen(sys.argv[2], timeout=30).read().decode()  # Google: the listener's page
form = re.search(r'action="([^"]+)"', page)  # Microsoft: a form_post page to submit
if form:
    fields = {html.unescape(k): html.unescape(v)
              for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
    page = urllib.request.urlopen(html.unescape(form.group(1)), data=urllib.parse.urlencode(fields).encode(),
                                  timeout=30).read().decode()
with open(os.environ["BROWSER_PAGE"], "w") as out:
    out.write(page)
'''


def environment(tmp_path: Path, ca: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    script = tmp_path / "browser.py"
    script.write_text(BROWSER)
    env.update(BROWSER=f"{sys.executable} {script} %s", BROWSER_PAGE=str(tmp_path / "page.html"),
               OAUTHLIB_INSECURE_TRANSPORT="1", PYTHONUNBUFFERED="1",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    if ca is not None:
        env.update(REQUESTS_CA_BUNDLE=str(ca), SSL_CERT_FILE=str(ca))
    return env


def touchbase(config: Path, now: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    code = "import sys; from agent.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "--config", str(config), "--now", now, *args],
                          env=env, capture_output=True, text=True, timeout=90)


def page(tmp_path: Path) -> str:
    return (tmp_path / "page.html").read_text()


def secrets_file(tmp_path: Path, google) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(google.client_secrets()))
    return path


def assert_one_failure_line(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [expected]


def test_auth_google_whose_code_is_refused_exits_1_and_the_page_says_so(tmp_path, google):
    google.refuse_codes = True
    config = write_config(tmp_path, [], extra=google_source(google))
    done = touchbase(config, GOOGLE_NOW, environment(tmp_path), "auth", "google", "--client-secrets",
                     str(secrets_file(tmp_path, google)))
    assert_one_failure_line(done, "touchbase: error: gwork: Google sign-in failed: Google refused the sign-in "
                                  "code (invalid_grant: Malformed auth code.). "
                                  "Run: touchbase auth google --source gwork")
    shown = page(tmp_path)
    assert "sign-in failed" in shown and "Malformed auth code" in shown and "connected" not in shown
    assert not (tmp_path / "data" / "tokens" / "gwork.json").exists()


def test_auth_google_that_works_says_connected_on_the_page(tmp_path, google):
    config = write_config(tmp_path, [], extra=google_source(google))
    done = touchbase(config, GOOGLE_NOW, environment(tmp_path), "auth", "google", "--client-secrets",
                     str(secrets_file(tmp_path, google)))
    assert done.returncode == 0, done.stderr
    assert "touchbase is connected to Google." in page(tmp_path) and "failed" not in page(tmp_path)


def test_init_google_whose_sign_in_fails_exits_1_after_writing_the_config(tmp_path, google):
    google.refuse_codes = True
    target = tmp_path / "config.toml"
    env = environment(tmp_path)
    env["HOME"] = str(tmp_path / "home")
    done = touchbase(target, GOOGLE_NOW, env, "init", "--email", "me@acme.example", "--timezone", "UTC",
                     "--google", str(secrets_file(tmp_path, google)))
    assert_one_failure_line(done, "touchbase: error: google: Google sign-in failed: Google refused the "
                                  "sign-in code (invalid_grant: Malformed auth code.). "
                                  "Run: touchbase auth google --source google")
    assert f"Wrote {target}." in done.stdout and "Next:" not in done.stdout
    assert "sign-in failed" in page(tmp_path)
    assert target.exists()


def test_auth_outlook_whose_code_is_refused_exits_1_and_the_page_says_so(tmp_path, graph):
    graph.identity.refuse_codes = True
    config = outlook_config(tmp_path, graph)
    done = touchbase(config, GRAPH_NOW, environment(tmp_path, graph.tls.ca), "auth", "outlook")
    assert_one_failure_line(done, "touchbase: error: office: sign-in did not complete (invalid_grant: "
                                  "AADSTS70008: The provided authorization code or refresh token has expired "
                                  "due to inactivity.). Run: touchbase auth outlook --source office")
    shown = page(tmp_path)
    assert "sign-in failed" in shown and "AADSTS70008" in shown and "signed in to Microsoft" not in shown


def test_auth_outlook_that_works_says_signed_in_on_the_page(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    done = touchbase(config, GRAPH_NOW, environment(tmp_path, graph.tls.ca), "auth", "outlook")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "touchbase is signed in to Microsoft." in page(tmp_path)
