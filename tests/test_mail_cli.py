"""Mail sources through the command line: the config (an imap source, `mail = true`), init,
sync, status, people --json."""
from __future__ import annotations

import json
from datetime import timedelta

from agent.configuration.loader import load_config
from tests.helpers import run_cli, write_config
from tests.mail_signal_helpers import ME, NOW, Mail

NOW_TEXT = NOW.isoformat()


def imap_entry(port: int, user: str, host: str = "127.0.0.1", tls: str = "none") -> str:
    return (f'[[sources]]\nname = "mailbox"\ntype = "imap"\nhost = "{host}"\nport = {port}\n'
            f'username = "{user}"\npassword_env = "TOUCHBASE_IMAP_PASSWORD"\ntls = "{tls}"\n')


def test_tls_none_off_this_machine_is_a_config_error(tmp_path):
    config = write_config(tmp_path, extra=imap_entry(143, "me", host="mail.acme.example"))
    result = run_cli(config, "status")
    assert result.exit_code == 2
    assert 'tls: "none" is only allowed for 127.0.0.1, ::1 or localhost' in result.output


def test_sync_status_and_people_with_an_imap_source(dovecot, imap_user, tmp_path):
    first = Mail("x@acme.example", [ME], when=NOW - timedelta(days=3))
    dovecot.append(imap_user, first.raw())
    dovecot.append(imap_user, first.reply(ME, ["x@acme.example"], NOW - timedelta(days=2)).raw(), "Sent")
    dovecot.append(imap_user, Mail("news@acme.example", [ME], extra={"List-Id": "<n.acme.example>"}).raw())
    config = write_config(tmp_path, extra=imap_entry(dovecot.port, imap_user))
    result = run_cli(config, "sync", now=NOW_TEXT)
    assert result.exit_code == 0, result.output
    assert "mailbox: mail: 2 counted message(s) read" in result.output
    again = run_cli(config, "sync", now=NOW_TEXT)
    assert "mailbox: mail: 0 counted message(s) read" in again.output
    status = run_cli(config, "status", now=NOW_TEXT)
    assert "mail mailbox: last read" in status.output and "2 counted messages" in status.output
    assert "source mailbox" not in status.output  # a mailbox is no calendar
    data = json.loads(run_cli(config, "status", "--json", now=NOW_TEXT).output)
    assert data["mail"][0]["counted_messages"] == 2 and not data["mail"][0]["failed"]
    people = {r["email"]: r for r in json.loads(run_cli(config, "people", "--json", now=NOW_TEXT).output)}
    assert people["x@acme.example"]["email_threads"] == 1 and "news@acme.example" not in people


def test_a_refused_mail_login_fails_the_sync_and_shows_in_status(dovecot, imap_user, tmp_path, monkeypatch):
    monkeypatch.setenv("TOUCHBASE_IMAP_PASSWORD", "wrong")
    config = write_config(tmp_path, extra=imap_entry(dovecot.port, imap_user))
    result = run_cli(config, "sync", now=NOW_TEXT)
    assert result.exit_code == 1 and "refused the login" in result.output
    status = run_cli(config, "status", now=NOW_TEXT).output
    assert "FAILED" in status and "check username and TOUCHBASE_IMAP_PASSWORD" in status


def test_init_adds_an_imap_mailbox_beside_the_calendar(tmp_path):
    ics = tmp_path / "cal.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n")
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", ME, "--calendar", str(ics), "--timezone", "UTC",
                     "--imap", "mail.acme.example", "--username", ME, "--password-env", "MY_IMAP")
    assert result.exit_code == 0, result.output
    assert "Set MY_IMAP to your mail password" in result.output
    calendar, mailbox = load_config(target).sources
    assert calendar.type == "ics" and mailbox.type == "imap"
    assert mailbox.options["host"] == "mail.acme.example" and mailbox.options["tls"] == "ssl"
    assert mailbox.options["password_env"] == "MY_IMAP" and "password =" not in target.read_text()


def test_init_imap_needs_a_username_and_mail_needs_an_account(tmp_path):
    target = tmp_path / "config.toml"
    result = run_cli(target, "init", "--email", ME, "--calendar", "x.ics", "--imap", "mail.acme.example")
    assert result.exit_code == 2 and "--imap needs --username" in result.output
    result = run_cli(target, "init", "--email", ME, "--calendar", "x.ics", "--mail")
    assert result.exit_code == 2 and "--mail goes with --google or --outlook" in result.output


def test_mail_true_on_google_asks_for_gmail_readonly(tmp_path):
    from agent.cli.accounts import source_roles
    from connectors.google.auth import SCOPE_GMAIL_READ, scopes_for
    from connectors.outlook.auth import scopes_for as outlook_scopes

    config = write_config(tmp_path, extra='[[sources]]\nname = "g"\ntype = "google"\nmail = true\n'
                                          '[[sources]]\nname = "o"\ntype = "outlook"\nclient_id = "x"\nmail = true\n')
    loaded = load_config(config)
    assert "mail" in source_roles(loaded, "g")
    assert SCOPE_GMAIL_READ in scopes_for(source_roles(loaded, "g"))
    assert "Mail.ReadBasic" in outlook_scopes(source_roles(loaded, "o"))
    assert "gmail.metadata" not in " ".join(scopes_for(source_roles(loaded, "g")))


def test_the_sync_job_line_names_the_mail_counted(dovecot, imap_user, tmp_path):
    from agent.daemon.jobs import job_sync
    from agent.storage.store import Store

    first = Mail("x@acme.example", [ME], when=NOW - timedelta(days=3))
    dovecot.append(imap_user, first.raw())
    config = load_config(write_config(tmp_path, extra=imap_entry(dovecot.port, imap_user)))
    store = Store(config.store_path)
    try:
        assert job_sync(config, store, NOW, lambda: None) == "mailbox: 1 counted mail message(s)"
    finally:
        store.close()


def test_init_mail_flag_for_google_and_outlook(tmp_path):
    from tests.test_init import client_secrets

    google = tmp_path / "g.toml"
    result = run_cli(google, "init", "--email", ME, "--google", str(client_secrets(tmp_path)),
                     "--mail", "--timezone", "UTC", "--no-sign-in")
    assert result.exit_code == 0, result.output
    assert load_config(google).sources[0].options["mail"] is True
    outlook = tmp_path / "o.toml"
    result = run_cli(outlook, "init", "--email", ME, "--outlook", "11111111-2222-3333-4444-555555555555",
                     "--no-mail", "--timezone", "UTC", "--no-sign-in")
    assert result.exit_code == 0, result.output
    assert not load_config(outlook).sources[0].options.get("mail")
