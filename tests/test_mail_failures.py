"""Mail that could not be delivered is a failure, not an `ok`: the jobs fail, `run --once` exits 1,
`status` and the morning email say FAILING; a hostile server's reply is shown without anything
that looks like a credential, and without terminal control characters."""
from __future__ import annotations

from agent.mail import pending
from tests.fakes.smtp_server import free_port
from tests.helpers import run_cli
from tests.mail_helpers import MONDAY, opened, setup_calendar

LATER = "2026-10-05T09:30:00+02:00"


def smtp(port: int, username: str = "") -> str:
    user = f'username = "{username}"\npassword_env = "TOUCHBASE_TEST_HOSTILE"\n' if username else ""
    return (f'[digest]\ntransport = "smtp"\n\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
            f'security = "none"\ntimeout_seconds = 5\n{user}')


def test_an_smtp_outage_is_a_failing_job_everywhere(tmp_path, smtp_server):
    port = free_port()  # nothing listens: the server is down
    config = setup_calendar(tmp_path, extra=smtp(port))
    result = run_cli(config, "run", "--once", now=MONDAY)
    assert result.exit_code == 1
    assert "digest: FAILED: " in result.output and f"cannot reach 127.0.0.1:{port}" in result.output
    assert "mail: ok" in result.output  # nothing was queued when the mail job ran
    status = run_cli(config, "status", now=LATER).output
    assert "job digest: last success never, FAILING (1 time in a row)" in status

    again = run_cli(config, "run", "--once", now=LATER)
    assert again.exit_code == 1
    assert "mail: FAILED: 1 mail(s) waiting for smtp" in again.output
    assert "job mail: " in run_cli(config, "status", now=LATER).output
    preview = run_cli(config, "digest", "--preview", now=LATER).output
    assert "FAILING" in preview or "failing" in preview.lower()

    with smtp_server("none", port=port):
        done = run_cli(config, "run", "--once", now="2026-10-05T10:00:00+02:00")
    assert done.exit_code == 0, done.output
    assert "FAILING" not in run_cli(config, "status", now="2026-10-05T10:00:00+02:00").output


class _Hostile:
    """Answers the mail with a 554 that echoes the login, a token and terminal escapes."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        return ("554 rejected: AUTH PLAIN AG1lAHMzY3JldC1QYTU1 password=hunter2-hunter2 "
                "token ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxxxxxxxxxx \x1b]0;pwned\x07\x1b[2J done")


def test_a_hostile_smtp_reply_is_shown_without_credentials_or_escapes(tmp_path, smtp_server):
    with smtp_server("none", handler=_Hostile()) as server:
        config = setup_calendar(tmp_path, extra=smtp(server.port))
        result = run_cli(config, "digest", "--send", now=MONDAY)
    assert result.exit_code == 1
    text = result.output
    assert "refused the mail (554 rejected" in text
    for leaked in ("AG1lAHMzY3JldC1QYTU1", "hunter2", "ya29.a0AfH6SMB", "\x1b", "\x07"):
        assert leaked not in text
    with opened(config) as (_, store):
        (queued,) = pending(store)
        assert "hunter2" not in queued["last_error"] and "\x1b" not in queued["last_error"]
