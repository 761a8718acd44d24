"""ics sources read from a calendar address: a real HTTP server on 127.0.0.1 (tests/fakes/calendar_server)."""
from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from agent.configuration.loader import load_config
from agent.errors import SourceError
from agent.sources import make_context
from connectors.ics.connector import IcsConnector
from connectors.ics.http import FetchPolicy, check_url, fetch, label
from connectors.ics.inputs import InputReader, source_inputs
from tests.fakes.calendar_server import tls_server
from tests.helpers import Ev, calendar, run_cli, write_config

NOW = "2026-10-14T12:00:00+02:00"
SECRET = "/calendar/ical/me%40acme.example/private-5ec4e7d0c0ffee/basic.ics"


def one_meeting(uid: str = "a", who: str = "ann@acme.example", day: str = "05") -> str:
    return calendar(Ev(uid, f"202610{day}T100000", f"202610{day}T103000",
                       attendees=(f";PARTSTAT=ACCEPTED:mailto:{who}",)))




def url_config(tmp_path, extra: str) -> object:
    return write_config(tmp_path, [], extra=f'[[sources]]\nname = "work"\ntype = "ics"\n{extra}\n')


def meetings(config, who: str = "ann@acme.example") -> int:
    result = run_cli(config, "people", "--json", now=NOW)
    rows = {r["email"]: r for r in json.loads(result.output)}
    return rows[who]["meetings"] if who in rows else 0


def test_a_calendar_address_is_read_and_an_unchanged_one_costs_one_304(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    config = url_config(tmp_path, f'url = "{server.url}/cal.ics"')
    first = run_cli(config, "sync", now=NOW)
    assert first.exit_code == 0 and "work: 1 occurrences read" in first.output
    assert meetings(config) == 1
    del server.log[:]
    again = run_cli(config, "sync", now=NOW)
    assert again.exit_code == 0 and "work: unchanged" in again.output
    assert server.statuses() == [304]
    assert server.log[0].headers["if-none-match"] == '"v1"'
    server.publish("/cal.ics", calendar(
        Ev("a", "20261005T100000", "20261005T103000", attendees=(";PARTSTAT=ACCEPTED:mailto:ann@acme.example",)),
        Ev("b", "20261006T100000", "20261006T103000", attendees=(";PARTSTAT=ACCEPTED:mailto:ann@acme.example",))))
    del server.log[:]
    changed = run_cli(config, "sync", now=NOW)
    assert "work: 1 occurrences read" in changed.output and server.statuses() == [200]  # only b is new
    assert meetings(config) == 2


def test_last_modified_alone_also_makes_a_conditional_request(tmp_path, server):
    server.use_etag = False
    server.publish("/cal.ics", one_meeting())
    config = url_config(tmp_path, f'url = "{server.url}/cal.ics"')
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    assert run_cli(config, "sync", now=NOW).output.strip() == "work: unchanged"
    assert server.statuses() == [200, 304]
    assert "if-modified-since" in server.log[1].headers and "if-none-match" not in server.log[1].headers


def test_a_secret_address_from_env_or_file_is_never_shown_or_stored(tmp_path, server, monkeypatch):
    server.publish(SECRET, one_meeting())
    secret_file = tmp_path / "calendar-address"
    secret_file.write_text(f"# my calendar's secret address\n{server.url}{SECRET}\n")
    monkeypatch.setenv("WORK_ICS_URL", f"{server.url}{SECRET}")
    for key, value in (("url_env", "WORK_ICS_URL"), ("url_file", str(secret_file))):
        folder = tmp_path / key
        folder.mkdir()
        config = url_config(folder, f'{key} = "{value}"')
        out = run_cli(config, "--verbose", "sync", now=NOW).output
        assert "work: 1 occurrences read" in out
        server.calendars.pop(SECRET)  # now the address fails: the error names the host only
        failed = run_cli(config, "--verbose", "sync", now=NOW)
        status = run_cli(config, "status", now=NOW).output
        server.publish(SECRET, one_meeting())
        for text in (out, failed.output, status):
            assert "private-5ec4e7d0c0ffee" not in text and "basic.ics" not in text
        assert f"work: FAILED: {server.url}: HTTP 404" in failed.output
        assert len(failed.output.strip().splitlines()) == 1
        assert re.search(r"^source work: .*, FAILED$", status, re.M)
        stored = b"".join(p.read_bytes() for p in (folder / "data").rglob("*") if p.is_file())
        assert b"5ec4e7d0c0ffee" not in stored and b"basic.ics" not in stored


def test_webcal_is_read_as_https_with_the_system_trust(tmp_path, monkeypatch):
    fake, ca = tls_server(tmp_path / "tls")
    fake.start()
    try:
        fake.publish("/cal.ics", one_meeting())
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        webcal = fake.url.replace("https://", "webcal://")
        config = url_config(tmp_path, f'url = "{webcal}/cal.ics"')
        result = run_cli(config, "sync", now=NOW)
        assert result.exit_code == 0 and "work: 1 occurrences read" in result.output
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's trust: not the test CA
        with pytest.raises(SourceError, match="TLS|certificate"):
            fetch(f"{fake.url}/cal.ics", None, FetchPolicy(retries=0), "work")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
        fake.redirects["/down.ics"] = (302, "http://127.0.0.1:9/cal.ics")  # no downgrade, even to here
        with pytest.raises(SourceError, match="redirected from https:// to plain http://"):
            fetch(f"{fake.url}/down.ics", None, FetchPolicy(retries=0), "work")
    finally:
        fake.stop()


def test_plain_http_is_refused_except_for_this_machine(tmp_path, monkeypatch):
    assert check_url("http://127.0.0.1:8080/x.ics") == "http://127.0.0.1:8080/x.ics"
    assert check_url("http://localhost/x.ics") == "http://localhost/x.ics"
    assert check_url("http://[::1]:80/x.ics") == "http://[::1]:80/x.ics"
    assert check_url("webcal://cal.example/x.ics") == "https://cal.example/x.ics"
    for bad in ("http://calendar.example/secret.ics", "ftp://cal.example/a", "cal.example/x.ics"):
        with pytest.raises(ValueError) as caught:
            check_url(bad)
        assert "secret" not in str(caught.value)
    config = url_config(tmp_path, 'url = "http://calendar.example/secret-token.ics"')
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 2 and "uses http://, which is only allowed for this machine" in result.output
    assert "url 'http://calendar.example/...' uses" in result.output and "secret-token" not in result.output
    config = url_config(tmp_path, 'url_env = "SECRET_CAL"')
    monkeypatch.setenv("SECRET_CAL", "http://calendar.example/secret-token.ics")
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1
    assert "work: FAILED: url_env: http://calendar.example: plain http:// is only allowed" in result.output
    assert "secret-token" not in result.output and "Traceback" not in result.output
    assert label("https://user:pw@cal.example:8443/a/b?token=x") == "https://cal.example:8443"


def test_a_url_in_path_or_two_locations_are_config_errors(tmp_path):
    config = url_config(tmp_path, 'url = "~/calendar.ics"')
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 2 and "is not an https:// or webcal:// address" in result.output
    config = url_config(tmp_path, 'url = "https://cal.example/a.ics"\npath = "~/a.ics"')
    assert "an ics source takes only one of" in run_cli(config, "sync", now=NOW).output


def test_redirects_are_followed_and_each_target_is_checked(tmp_path, server):
    server.publish("/new.ics", one_meeting())
    server.redirects["/old.ics"] = (301, "/new.ics")
    server.redirects["/away.ics"] = (302, "http://calendar.example/x.ics")
    server.redirects["/loop.ics"] = (302, "/loop.ics")
    fetched = fetch(f"{server.url}/old.ics", None, FetchPolicy(), "work")
    assert fetched.body and b"BEGIN:VCALENDAR" in fetched.body
    assert [(e.path, e.status) for e in server.log] == [("/old.ics", 301), ("/new.ics", 200)]
    with pytest.raises(SourceError, match="redirected to http://calendar.example: plain http://"):
        fetch(f"{server.url}/away.ics", None, FetchPolicy(), "work")
    with pytest.raises(SourceError, match="more than 5 redirects"):
        fetch(f"{server.url}/loop.ics", None, FetchPolicy(), "work")


def test_429_and_5xx_are_retried_with_back_off_honouring_retry_after(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    waits: list[float] = []
    policy = FetchPolicy(sleep=waits.append, backoff=0.5)
    server.scripted = [(429, {"Retry-After": "7"}), (503, {}), (500, {})]
    assert fetch(f"{server.url}/cal.ics", None, policy, "work").body
    assert server.statuses() == [429, 503, 500, 200] and waits == [7.0, 1.0, 2.0]
    server.scripted = [(503, {})] * 4
    with pytest.raises(SourceError) as caught:
        fetch(f"{server.url}/cal.ics", None, policy, "work")
    assert str(caught.value) == f"work: {server.url}: HTTP 503 (gave up after 4 attempts; will try again next sync)"
    server.scripted = [(429, {"Retry-After": "3600"})]
    with pytest.raises(SourceError, match="asks to wait 3600 s, so it is tried again next sync"):
        fetch(f"{server.url}/cal.ics", None, policy, "work")


def test_a_failing_address_is_one_line_and_a_failed_source_in_status(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    config = url_config(tmp_path, f'url = "{server.url}/cal.ics"')
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    server.scripted = [(503, {"Retry-After": "0"})] * 4
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1
    assert result.output.strip() == (f"work: FAILED: {server.url}: HTTP 503 (gave up after 4 "
                                     "attempts; will try again next sync)")
    status = run_cli(config, "status", now=NOW).output
    assert re.search(r"^source work: .*, FAILED$", status, re.M) and "HTTP 503" in status
    assert meetings(config) == 1  # what was read before stays


def test_size_cap_timeout_and_gzip(tmp_path, server):
    big = one_meeting().encode() * 40
    server.publish("/big.ics", big)
    with pytest.raises(SourceError, match="larger than the 1000 bytes limit"):
        fetch(f"{server.url}/big.ics", None, FetchPolicy(max_bytes=1000), "work")
    server.gzip = True  # the inflated size counts, not the compressed one
    assert fetch(f"{server.url}/big.ics", None, FetchPolicy(), "work").body == big
    with pytest.raises(SourceError, match="larger than the 1000 bytes limit"):
        fetch(f"{server.url}/big.ics", None, FetchPolicy(max_bytes=1000), "work")
    server.stall_seconds = 1.0
    with pytest.raises(SourceError, match="no answer in time"):
        fetch(f"{server.url}/big.ics", None, FetchPolicy(timeout=0.2, retries=0), "work")


def test_unreachable_address_is_one_clear_line(tmp_path, server):
    server.stop()
    with pytest.raises(SourceError) as caught:
        fetch(f"{server.url}/cal.ics", None, FetchPolicy(retries=1, sleep=lambda s: None), "work")
    assert str(caught.value).startswith(f"work: {server.url}: cannot connect (")
    assert "gave up after 2 attempts" in str(caught.value)


def test_an_address_answering_304_is_read_again_when_another_input_changed(tmp_path, server):
    server.publish("/a.ics", one_meeting("a", "ann@acme.example", "05"))
    local = tmp_path / "local.ics"
    local.write_text(one_meeting("c", "cid@acme.example", "07"))
    inputs = (source_inputs("work", {"url": f"{server.url}/a.ics"})
              + source_inputs("work", {"paths": [str(local)]}))
    first = InputReader("work", inputs)
    assert [label for label, _ in first.read(None) or []] == [server.url, str(local)]
    again = InputReader("work", inputs)
    assert again.read(first.state) is None and server.statuses() == [200, 304]
    local.write_text(one_meeting("c", "cid@acme.example", "08"))  # only the file changed
    third = InputReader("work", inputs)
    read = third.read(again.state)
    assert read is not None and b"BEGIN:VCALENDAR" in read[0][1]
    assert server.statuses() == [200, 304, 304, 200]  # the unchanged address is read again in full
    assert third.state[inputs[0].key]["etag"] == '"v1"'


def test_the_connector_takes_a_retry_policy(tmp_path, server):
    server.publish("/cal.ics", one_meeting())
    config = url_config(tmp_path, f'url = "{server.url}/cal.ics"')
    cfg = load_config(config)
    connector = IcsConnector(cfg.source("work"), make_context(cfg, datetime.fromisoformat(NOW)),
                             policy=FetchPolicy(retries=0))
    server.scripted = [(502, {})]
    with pytest.raises(SourceError, match="HTTP 502 \\(gave up after 1 attempts"):
        connector.fetch_changes({})
    changes, state = connector.fetch_changes({})
    assert changes.occurrence_count() == 1
    assert [v.get("etag") for v in state["inputs"].values()] == ['"v1"']


def test_an_address_the_http_library_rejects_is_not_quoted(server):
    with pytest.raises(SourceError) as caught:
        fetch(f"{server.url}/secret token.ics", None, FetchPolicy(retries=0), "work")
    assert "secret" not in str(caught.value) and str(caught.value).startswith(f"work: {server.url}: ")


def test_an_unchanged_address_parses_nothing(tmp_path, server):
    """The second sync of an unchanged address is one 304 and loads no parser at all."""
    from tests.test_lazy_imports import program, run

    server.publish("/cal.ics", one_meeting())
    config = url_config(tmp_path, f'url = "{server.url}/cal.ics"')
    script = program(tmp_path)
    first = run(script, config, "sync")
    assert "occurrences read" in first and "icalendar" in first  # the first read parses
    assert run(script, config, "sync").splitlines() == ["work: unchanged", "LOADED []"]
    assert server.statuses() == [200, 304]


def test_several_addresses_in_one_source_are_read_as_one_calendar(tmp_path, server):
    server.publish("/team.ics", one_meeting("a", "ann@acme.example", "05"))
    server.publish("/project.ics", one_meeting("b", "bob@acme.example", "06"))
    config = url_config(tmp_path, f'urls = ["{server.url}/team.ics", "{server.url}/project.ics"]')
    first = run_cli(config, "sync", now=NOW)
    assert first.exit_code == 0, first.output
    assert meetings(config, "ann@acme.example") == 1 and meetings(config, "bob@acme.example") == 1
    del server.log[:]
    again = run_cli(config, "sync", now=NOW)
    assert again.exit_code == 0 and "work: unchanged" in again.output
    assert server.statuses() == [304, 304]
