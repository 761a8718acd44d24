"""`touchbase auth outlook` in the browser: authorization code + PKCE with a loopback redirect
(msal's acquire_token_interactive) against the identity emulator over TLS.

The command runs in a subprocess, as a user runs it; the test plays the browser through $BROWSER:
it opens the authorize address (the emulator answers with the form_post page msal asks for) and
submits the form to the loopback redirect URI, as a browser's script would.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.graph_fixtures import NOW, outlook_config
from tests.helpers import run_cli

BROWSER = r'''
import html, re, subprocess, sys, urllib.parse, urllib.request
if sys.argv[1] != "--visit":  # a browser returns at once; the page loads in the background
    subprocess.Popen([sys.executable, __file__, "--visit", sys.argv[1]])
    sys.exit(0)
page = urllib.request.urlopen(sys.argv[2], timeout=30).read().decode()
action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
fields = {html.unescape(k): html.unescape(v)
          for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
urllib.request.urlopen(action, data=urllib.parse.urlencode(fields).encode(), timeout=30).read()
'''


def command(config: Path, *args: str) -> list[str]:
    code = "import sys; from agent.cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, "--config", str(config), "--now", NOW, "auth", "outlook", *args]


def environment(tmp_path: Path, graph, browser: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYTHONUNBUFFERED="1", REQUESTS_CA_BUNDLE=str(graph.tls.ca), SSL_CERT_FILE=str(graph.tls.ca))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    if browser:
        script = tmp_path / "browser.py"
        script.write_text(BROWSER)
        env["BROWSER"] = f"{sys.executable} {script} %s"
    else:
        env["BROWSER"] = "/nonexistent-browser %s"
    return env


def test_browser_sign_in_uses_pkce_and_a_loopback_redirect_and_then_syncs(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    done = subprocess.run(command(config), env=environment(tmp_path, graph), capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Opening your browser to sign in to Microsoft" in done.stdout
    assert "Signed in to 'office' as me@acme.example (Calendars.ReadWrite)" in done.stdout
    (request,) = graph.identity.authorize_requests
    assert request["code_challenge_method"] == "S256" and len(request["code_challenge"]) == 43
    assert request["redirect_uri"].startswith("http://localhost:") and request["response_type"] == "code"
    assert request["response_mode"] == "form_post"
    assert not graph.identity.device_codes  # no device code was asked for
    assert [entry.get("redeemed") for entry in graph.identity.auth_codes.values()] == [True]
    cache = tmp_path / "data" / "tokens" / "office.bin"
    assert cache.stat().st_mode & 0o777 == 0o600 and json.loads(cache.read_text())["RefreshToken"]
    synced = run_cli(config, "sync", now=NOW)
    assert synced.exit_code == 0 and "office:" in synced.output and "FAILED" not in synced.output


def test_the_emulator_checks_the_verifier_against_the_s256_challenge(graph):
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {"client_id": graph.client_id, "response_type": "code", "redirect_uri": "http://localhost:8400",
             "scope": "Calendars.ReadWrite offline_access", "state": "s1", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    status, answer = graph.identity.authorize(query)
    assert status == 302 and answer["Location"].startswith("http://localhost:8400?code=")
    code = answer["Location"].split("code=", 1)[1].split("&", 1)[0]
    grant = {"client_id": graph.client_id, "grant_type": "authorization_code", "code": code,
             "redirect_uri": "http://localhost:8400"}
    status, body = graph.identity.token({**grant, "code_verifier": "b" * 50})
    assert status == 400 and "AADSTS501481" in body["error_description"]
    status, body = graph.identity.token({**grant, "code_verifier": verifier})
    assert status == 200 and body["access_token"]
    status, body = graph.identity.token({**grant, "code_verifier": verifier})
    assert status == 400 and "AADSTS54005" in body["error_description"]  # a code is redeemed once
    status, page = graph.identity.authorize({**query, "redirect_uri": "https://evil.example/cb"})
    assert status == 400 and "AADSTS50011" in page


def test_without_a_browser_the_address_is_shown_and_a_refusal_is_one_line(tmp_path, graph):
    graph.identity.user_refuses = True
    config = outlook_config(tmp_path, graph)
    env = environment(tmp_path, graph)
    done = subprocess.run(command(config), env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode != 0
    assert "sign-in did not complete (access_denied: AADSTS65004: User declined to consent.)" in done.stderr
    assert "Traceback" not in done.stderr
    graph.identity.user_refuses = False
    shown = subprocess.Popen(command(config), env=environment(tmp_path, graph, browser=False),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert shown.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("https://") for line in lines):  # up to the address, no further
            lines.append(shown.stdout.readline())
            assert lines[-1], "the command ended without showing the address"
        address = next(line.strip() for line in lines if line.startswith("https://"))
        assert "No browser could be opened" in "".join(lines)
        visit = subprocess.run([sys.executable, str(tmp_path / "browser.py"), "--visit", address],
                               env=environment(tmp_path, graph), timeout=60)
        assert visit.returncode == 0
        out, err = shown.communicate(timeout=60)
    finally:
        if shown.poll() is None:
            shown.kill()
    assert shown.returncode == 0, err
    assert "Signed in to 'office'" in out


def test_device_code_stays_available(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    result = run_cli(config, "auth", "outlook", "--device-code", now=NOW)
    assert result.exit_code == 0 and "enter the code" in result.output
    assert not graph.identity.authorize_requests
