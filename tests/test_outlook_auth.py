"""Sign-in (device code), silent refresh and re-authorisation, against the fake identity endpoints."""
from __future__ import annotations

import json
import stat

from agent.configuration.loader import load_config
from agent.storage.store import Store
from tests.fakes.graph_fixtures import NOW, at, outlook_config, sign_in
from tests.fakes.graph_state import att
from tests.helpers import Ev, calendar, flat, people_json, run_cli


def test_device_code_sign_in_waits_for_the_user_and_saves_a_0600_cache(tmp_path, graph):
    graph.identity.pending_polls = 1  # the user types the code after the first poll
    config = outlook_config(tmp_path, graph)
    output = sign_in(config)
    lines = output.splitlines()  # the keyring notice is in the summary line (it is told once per store)
    assert "enter the code" in lines[0] and f"{graph.url}/devicelogin" in lines[0]
    assert "Signed in to 'office' as me@acme.example (Calendars.ReadWrite)" in lines[1]
    assert lines[1].endswith("(plain file, mode 0600: no OS keyring available).")
    cache = tmp_path / "data" / "tokens" / "office.bin"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert json.loads(cache.read_text())["RefreshToken"]  # msal's JSON cache, never a pickle
    assert [r.path.rsplit("/", 1)[-1] for r in graph.log].count("token") == 2  # pending, then done
    assert "client_id" not in config.read_text().split("[[sources]]")[0]


def test_tokens_are_acquired_silently_and_refreshed_after_a_401(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    graph.mailbox.add_event("1:1", at("2026-10-05 10:00"), at("2026-10-05 10:30"), attendees=[att("ann@acme.example")])
    assert people_json(config, NOW)["ann@acme.example"]["meetings"] == 1
    before = graph.identity.token_requests
    graph.identity.revoke_access_tokens()  # Graph now answers 401 to the cached token
    graph.mailbox.add_event("1:1", at("2026-10-06 10:00"), at("2026-10-06 10:30"), attendees=[att("ann@acme.example")])
    assert people_json(config, NOW)["ann@acme.example"]["meetings"] == 2
    assert graph.identity.token_requests == before + 1
    assert [r.status for r in graph.graph_requests()][-2:] == [401, 200]


def test_an_expiring_access_token_is_refreshed_before_use(tmp_path, graph):
    graph.identity.token_lifetime = 60  # msal refreshes tokens with under five minutes left
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    before = graph.identity.token_requests
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    assert graph.identity.token_requests == before + 1
    assert all(r.status == 200 for r in graph.graph_requests())


def test_a_revoked_sign_in_names_the_fix_and_other_sources_keep_syncing(tmp_path, graph):
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(Ev("a", "20261005T100000", "20261005T103000",
                               attendees=(";PARTSTAT=ACCEPTED:mailto:zoe@acme.example",))))
    config = outlook_config(tmp_path, graph, ics=[ics])
    sign_in(config)
    graph.identity.revoke_refresh_tokens()
    result = run_cli(config, "sync", now=NOW)
    assert result.exit_code == 1  # the ics source synced, the other did not: a partial sync
    assert "office: FAILED" in result.output and "touchbase auth outlook --source office" in result.output
    assert "work: 1 occurrences read" in result.output
    assert "Traceback" not in result.output
    rows = {r["name"]: r for r in Store(load_config(config).store_path).sources()}
    assert rows["office"]["needs_reauth"] == "touchbase auth outlook --source office"
    status = run_cli(config, "status", now=NOW)
    assert "needs re-authorising: touchbase auth outlook --source office" in status.output
    sign_in(config)  # signing in again fixes it
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    rows = {r["name"]: r for r in Store(load_config(config).store_path).sources()}
    assert rows["office"]["needs_reauth"] is None


def test_never_signed_in_and_missing_client_id_are_one_clear_line(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    result = run_cli(config, "sync", now=NOW)
    assert "office: FAILED: not signed in to Outlook. Run: touchbase auth outlook --source office" \
        in result.output
    broken = tmp_path / "broken"
    broken.mkdir()
    text = outlook_config(broken, graph).read_text().replace(f'client_id = "{graph.client_id}"\n', "")
    (broken / "config.toml").write_text(text)
    result = run_cli(broken / "config.toml", "auth", "outlook", now=NOW)
    assert result.exit_code != 0
    assert "client_id is not set" in result.output and "Traceback" not in result.output


def test_a_wrong_client_id_fails_sign_in_with_the_services_reason(tmp_path, graph):
    config = outlook_config(tmp_path, graph)
    config.write_text(config.read_text().replace(graph.client_id, "not-registered"))
    result = run_cli(config, "auth", "outlook", "--device-code", now=NOW)
    assert result.exit_code != 0
    assert "unauthorized_client" in result.output and "Traceback" not in result.output


def test_the_keyring_notice_is_told_once_per_store_then_only_by_status(tmp_path, graph, caplog):
    """The warning goes to the log (stderr for a user: caplog here, where pytest holds the handlers)."""
    config = outlook_config(tmp_path, graph)
    sign_in(config)
    notice = "no OS keyring available: the Outlook token cache is a plain file (mode 0600)"
    caplog.clear()
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    assert caplog.text.count(notice) == 1 and "office: " + notice in caplog.text
    for args in (("sync",), ("people",), ("plan",), ("sync",)):
        caplog.clear()
        again = run_cli(config, *args, now=NOW)
        assert again.exit_code == 0 and notice not in caplog.text + again.output, args
    shown = run_cli(config, "status", now=NOW)
    assert f"\n  note: {notice[:40]}" in shown.output  # under the source, folded at 80 columns
    assert f"note: {notice}: {tmp_path / 'data' / 'tokens' / 'office.bin'}" in flat(shown.output)
    (source,) = json.loads(run_cli(config, "status", "--json", now=NOW).output)["sources"]
    assert source["notices"] == [f"{notice}: {tmp_path / 'data' / 'tokens' / 'office.bin'}"]
    other = tmp_path / "other"
    other.mkdir()
    fresh = outlook_config(other, graph)  # another store: told there once as well
    sign_in(fresh)
    caplog.clear()
    assert run_cli(fresh, "sync", now=NOW).exit_code == 0 and caplog.text.count(notice) == 1
