"""The browser sign-ins' listener (connectors.loopback): bound to 127.0.0.1 whatever the
environment (this test machine is a container, where msal's own listener binds 0.0.0.0), served
until the answer with the expected state arrives (a stray or forged request is answered 400 and
ignored), a silent connection dropped after 5 s, and a refusal's error text filtered before it
reaches the terminal.

`touchbase auth google|outlook` runs in a subprocess against the emulators; the test plays a
hostile browser through $BROWSER: it holds a silent connection to the listener, asks it for
/favicon.ico and sends it a forged answer before the real one.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from connectors.loopback import LoopbackListener
from tests.fakes.google_setup import google_source
from tests.fakes.graph_fixtures import NOW as GRAPH_NOW
from tests.fakes.graph_fixtures import outlook_config
from tests.helpers import write_config

GOOGLE_NOW = "2026-11-01T12:00:00+01:00"
HOSTILE_BROWSER = r'''
import html, json, os, re, socket, subprocess, sys, time, urllib.error, urllib.parse, urllib.request
if sys.argv[1] != "--visit":  # a browser returns at once; the page loads in the background
    subprocess.Popen([sys.executable, __file__, "--visit", sys.argv[1]])
    sys.exit(0)
url = sys.argv[2]
query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
port = urllib.parse.urlsplit(query["redirect_uri"]).port
report = {"statuses": []}

def status_of(request):
    try:
        return urllib.request.urlopen(request, timeout=30).status
    except urllib.error.HTTPError as answer:
        return answer.code

with open("/proc/net/tcp") as table:  # the listening socket's local address, in hex
    rows = [line.split() for line in table.read().splitlines()[1:]]
report["listen"] = [row[1] for row in rows if row[3] == "0A" and row[1].endswith(":%04X" % port)]
silent = socket.create_connection(("127.0.0.1", port))  # connects and sends nothing
began = time.monotonic()
report["statuses"].append(status_of(f"http://127.0.0.1:{port}/favicon.ico"))
report["statuses"].append(status_of(f"http://127.0.0.1:{port}/?state=forged&code=4/evil"))
report["waited"] = time.monotonic() - began
if os.environ["HOSTILE_MODE"] == "error":
    answer = {"state": query["state"], "error": "access_denied\x1b[31m",
              "error_description": "\x1b]0;owned\x07\x1b[2Jno thanks"}
    report["statuses"].append(status_of(f"http://127.0.0.1:{port}/?" + urllib.parse.urlencode(answer)))
else:
    page = urllib.request.urlopen(url, timeout=30).read().decode()  # Google: redirected to the listener
    form = re.search(r'action="([^"]+)"', page)  # Microsoft: a form_post page
    if form:
        fields = {html.unescape(k): html.unescape(v)
                  for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
        report["statuses"].append(status_of(urllib.request.Request(
            html.unescape(form.group(1)), data=urllib.parse.urlencode(fields).encode())))
silent.settimeout(10)
report["silent_dropped"] = silent.recv(1) == b""
with open(os.environ["HOSTILE_REPORT"], "w") as out:
    json.dump(report, out)
'''


def environment(tmp_path: Path, mode: str, ca: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    script = tmp_path / "browser.py"
    script.write_text(HOSTILE_BROWSER)
    env.update(BROWSER=f"{sys.executable} {script} %s", HOSTILE_MODE=mode, PYTHONUNBUFFERED="1",
               HOSTILE_REPORT=str(tmp_path / "report.json"), OAUTHLIB_INSECURE_TRANSPORT="1",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    if ca is not None:
        env.update(REQUESTS_CA_BUNDLE=str(ca), SSL_CERT_FILE=str(ca))
    return env


def auth(config: Path, now: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    code = "import sys; from agent.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "--config", str(config), "--now", now, "auth", *args],
                          env=env, capture_output=True, text=True, timeout=90)


def report(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "report.json").read_text())


def assert_hostile_requests_ignored(seen: dict) -> None:
    assert seen["listen"] == [f"0100007F:{seen['listen'][0].split(':')[1]}"]  # 127.0.0.1, not 0.0.0.0
    assert seen["statuses"][:2] == [400, 400]  # favicon, forged state: refused, the sign-in goes on
    assert seen["waited"] < 30 and seen["silent_dropped"]  # the silent connection did not hold it


def google_secrets(tmp_path: Path, google) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps(google.client_secrets()))
    return path


def test_google_sign_in_ignores_stray_and_forged_requests(tmp_path, google):
    config = write_config(tmp_path, [], extra=google_source(google))
    done = auth(config, GOOGLE_NOW, environment(tmp_path, "follow"), "google", "--client-secrets",
                str(google_secrets(tmp_path, google)))
    assert done.returncode == 0, done.stderr
    assert "signed in to Google" in done.stdout
    seen = report(tmp_path)
    assert_hostile_requests_ignored(seen)
    assert "evil" not in json.dumps(google.refresh_tokens) and len(google.refresh_tokens) == 1


def test_outlook_sign_in_listens_on_127_0_0_1_only_and_ignores_forged_answers(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    done = auth(config, GRAPH_NOW, environment(tmp_path, "follow", graph.tls.ca), "outlook")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signed in to 'office' as me@acme.example" in done.stdout
    seen = report(tmp_path)
    assert_hostile_requests_ignored(seen)
    assert seen["statuses"][2] == 200
    (request,) = graph.identity.authorize_requests
    assert request["redirect_uri"].startswith("http://localhost:") and request["response_mode"] == "form_post"
    assert request["code_challenge_method"] == "S256"


def test_a_refusal_s_error_text_is_filtered_before_it_is_printed(tmp_path, google, graph):
    google_dir, graph_dir = tmp_path / "google", tmp_path / "graph"
    google_dir.mkdir()
    graph_dir.mkdir()
    refused = [
        auth(write_config(google_dir, [], extra=google_source(google)), GOOGLE_NOW,
             environment(google_dir, "error"), "google", "--client-secrets", str(google_secrets(google_dir, google))),
        auth(outlook_config(graph_dir, graph), GRAPH_NOW, environment(graph_dir, "error", graph.tls.ca), "outlook"),
    ]
    for done in refused:
        assert done.returncode != 0
        assert "access_denied" in done.stderr and "no thanks" in done.stderr
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stderr
        assert "Traceback" not in done.stderr
    assert report(google_dir)["statuses"][2] == 200 and report(graph_dir)["statuses"][2] == 200


def test_the_listener_serves_until_the_expected_answer_and_drops_silent_connections():
    listener = LoopbackListener(idle=0.5)
    listener.expect("s3")
    base = listener.redirect_uri()
    statuses: list[int] = []

    def browser() -> None:
        silent = socket.create_connection(("127.0.0.1", listener.port))
        for path in ("favicon.ico", "?state=s2&code=forged", "?code=none", "?state=s3&code=real"):
            try:
                statuses.append(urllib.request.urlopen(base + path, timeout=30).status)
            except urllib.error.HTTPError as answer:
                statuses.append(answer.code)
        silent.close()

    thread = threading.Thread(target=browser)
    thread.start()
    try:
        answer = listener.wait(30)
    finally:
        thread.join(30)
        listener.close()
    assert listener.server.server_address[0] == "127.0.0.1"
    assert answer == {"state": "s3", "code": "real"} and statuses == [400, 400, 400, 200]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_ends_a_sign_in_waiting_for_the_browser(tmp_path, google, signum):
    config = write_config(tmp_path, [], extra=google_source(google))
    env = environment(tmp_path, "follow")
    env["BROWSER"] = "true %s"  # opens nothing: the sign-in waits for an answer that never comes
    code = "import sys; from agent.cli import main; sys.exit(main())"
    process = subprocess.Popen([sys.executable, "-c", code, "--config", str(config), "--now", GOOGLE_NOW,
                                "auth", "google", "--client-secrets", str(google_secrets(tmp_path, google))],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert "browser" in process.stdout.readline().lower()  # the listener is up and waiting
        time.sleep(0.5)
        began = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
    assert took < 5, took
    assert "Traceback" not in err
    assert process.returncode in ((-signal.SIGTERM, 143) if signum == signal.SIGTERM else (130,)), err
