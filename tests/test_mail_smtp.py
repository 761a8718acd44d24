"""The morning email through a real SMTP server (aiosmtpd on a loopback port): STARTTLS and
implicit TLS with login, a refused login and a server that is down (the mail waits, then goes)."""
from __future__ import annotations

import logging
from datetime import datetime

from agent.digest.morning import send_digest_if_due
from agent.mail import flush_outgoing, pending
from tests.fakes.smtp_server import free_port
from tests.helpers import run_cli
from tests.mail_helpers import MONDAY, opened, outbox_mail, parts, setup_calendar

PASSWORD = "s3cret-Pa55"
ENV = "TOUCHBASE_TEST_SMTP_PASSWORD"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def smtp_config(port: int, security: str, ca: str = "", username: str = "me",
                password_file: str = "") -> str:
    lines = ["[digest]", 'transport = "smtp"', "", "[smtp]", 'host = "127.0.0.1"', f"port = {port}",
             f'security = "{security}"', f'username = "{username}"', f'password_env = "{ENV}"',
             "timeout_seconds = 5"]
    if ca:
        lines.append(f'ca_file = "{ca}"')
    if password_file:
        lines.append(f'password_file = "{password_file}"')
    return "\n".join(lines) + "\n"


def test_starttls_and_login(tmp_path, smtp_tls, smtp_server, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    with smtp_server("starttls", users={"me": PASSWORD}) as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "starttls", str(smtp_tls.ca)))
        with opened(cfg) as (config, store):
            line = send_digest_if_due(config, store, at(MONDAY))
            assert line == "morning email of 2026-10-05 sent via smtp to me@acme.example"
            assert pending(store) == []
    (received,) = server.received
    assert received.login == "me"
    assert received.mail_from == "me@acme.example" and received.rcpt_tos == ["me@acme.example"]
    mail = received.message
    assert mail["Subject"].startswith("touchbase Mon 5 Oct: ")
    text, html = parts(mail)
    assert "Who to reconnect with" in text and "<h2" in html
    assert outbox_mail(config) == []


def test_implicit_tls_with_the_password_from_a_file(tmp_path, smtp_tls, smtp_server, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    with smtp_server("ssl", users={"me": PASSWORD}) as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "ssl", str(smtp_tls.ca),
                                                         password_file=str(secret)))
        with opened(cfg) as (config, store):
            assert send_digest_if_due(config, store, at(MONDAY)).endswith("sent via smtp to me@acme.example")
    assert [r.login for r in server.received] == ["me"]


def test_plain_smtp_without_login(tmp_path, smtp_server):
    with smtp_server("none") as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "none", username=""))
        with opened(cfg) as (config, store):
            assert send_digest_if_due(config, store, at(MONDAY)).endswith("sent via smtp to me@acme.example")
    assert [r.login for r in server.received] == [None]


def test_a_refused_login_keeps_the_mail_until_the_password_is_fixed(tmp_path, smtp_tls, smtp_server, monkeypatch,
                                                                    caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(ENV, "wrong-" + PASSWORD)
    with smtp_server("starttls", users={"me": PASSWORD}) as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "starttls", str(smtp_tls.ca)))
        with opened(cfg) as (config, store):
            line = send_digest_if_due(config, store, at(MONDAY))
            assert line.startswith("morning email of 2026-10-05 queued for smtp, not delivered yet: ")
            assert f"127.0.0.1:{server.port} refused the login of 'me' (535 " in line
            (queued,) = pending(store)
            assert "refused the login" in queued["last_error"]
            assert send_digest_if_due(config, store, at("2026-10-05T09:15:00+02:00")) is None

            waiting = run_cli(cfg, "digest", "--send", now="2026-10-05T09:20:00+02:00")
            assert waiting.exit_code == 2  # today's is queued: a second one only on purpose
            assert "today's morning email is queued since 09:00" in waiting.output
            cli = run_cli(cfg, "digest", "--send", "--again", now="2026-10-05T09:20:00+02:00")
            assert cli.exit_code == 1
            assert cli.output.startswith("touchbase: error: smtp: ")
            assert "refused the login of 'me'" in cli.output and "queued" in cli.output
            assert "Traceback" not in cli.output

            monkeypatch.setenv(ENV, PASSWORD)
            assert flush_outgoing(config, store, at("2026-10-05T09:30:00+02:00")) == 2
            assert pending(store) == []
            assert flush_outgoing(config, store, at("2026-10-05T09:45:00+02:00")) == 0
    first, second = (r.message for r in server.received)
    assert first["Subject"] == "touchbase Mon 5 Oct: 2 to reconnect with"
    # The one sent by hand was built while the first waited: its health section says so.
    assert second["Subject"] == "touchbase Mon 5 Oct: 2 to reconnect with, 1 problem"
    assert "1 mail(s) waiting for smtp: smtp: 127.0.0.1:" in parts(second)[0]
    assert PASSWORD not in caplog.text and PASSWORD not in line


def test_a_server_that_is_down_gets_the_mail_later(tmp_path, smtp_tls, smtp_server, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    port = free_port()
    cfg = setup_calendar(tmp_path, extra=smtp_config(port, "starttls", str(smtp_tls.ca)))
    with opened(cfg) as (config, store):
        line = send_digest_if_due(config, store, at(MONDAY))
        assert f"cannot reach 127.0.0.1:{port}" in line
        assert len(pending(store)) == 1
    with smtp_server("starttls", port=port, users={"me": PASSWORD}) as server:
        with opened(cfg) as (config, store):  # after a restart
            assert send_digest_if_due(config, store, at("2026-10-05T10:00:00+02:00")) is None
            assert flush_outgoing(config, store, at("2026-10-05T10:00:00+02:00")) == 1
    (received,) = server.received
    assert received.message["Subject"].startswith("touchbase Mon 5 Oct")


def test_an_untrusted_certificate_is_refused(tmp_path, smtp_tls, smtp_server, monkeypatch):
    monkeypatch.setenv(ENV, PASSWORD)
    with smtp_server("starttls", users={"me": PASSWORD}) as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "starttls"))  # no ca_file
        with opened(cfg) as (config, store):
            line = send_digest_if_due(config, store, at(MONDAY))
            assert "the server's certificate is not trusted" in line
            assert len(pending(store)) == 1
    assert server.received == []


def test_a_missing_password_is_a_clear_error(tmp_path, smtp_tls, smtp_server, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with smtp_server("starttls", users={"me": PASSWORD}) as server:
        cfg = setup_calendar(tmp_path, extra=smtp_config(server.port, "starttls", str(smtp_tls.ca)))
        result = run_cli(cfg, "digest", "--send", now=MONDAY)
    assert result.exit_code == 1
    assert f"there is no password: set ${ENV} or [smtp] password_file" in result.output
