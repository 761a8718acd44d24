"""`touchbase digest`: preview or send the morning email; mail lines for `status`."""
from __future__ import annotations

import click

from agent.cli import main
from agent.cli.app import App
from agent.cli.core import STATUS_HOOKS
from agent.digest.morning import build_digest, send_digest_now
from agent.errors import UserError
from agent.mail import DRAFTS_NOTICE, OUTBOX, OUTBOX_NOTICE, pending, queue_problems
from agent.safe_text import one_line, printable

pass_app = click.make_pass_decorator(App)


@main.command()
@click.option("--preview", "mode", flag_value="preview", default=True,
              help="Print the morning email as of now, sending nothing (the default).")
@click.option("--send", "mode", flag_value="send",
              help="Send the morning email now through [digest] transport.")
@click.option("--html", "as_html", is_flag=True, help="With --preview: print the HTML part.")
@pass_app
def digest(app: App, mode: str, as_html: bool) -> None:
    """Preview the morning email, or send it now."""
    if mode == "send":
        if as_html:
            raise UserError("--html only goes with --preview")
        click.echo(send_digest_now(app.config, app.store, app.now()))
        return
    result = build_digest(app.config, app.store, app.now())
    if as_html:
        click.echo(result.html, nl=False)
        return
    click.echo(f"Subject: {one_line(result.subject)}\n")
    click.echo(printable(result.text, keep_newlines=True), nl=False)


def mail_status_lines(app: App) -> None:
    """`status` lines: the last morning email and mail still waiting to go out."""
    store = app.store
    row = store.db.conn.execute(
        "SELECT day, status, sent_at, transport FROM digests ORDER BY day DESC LIMIT 1").fetchone()
    if row and row[1] == "sent" and row[3] == OUTBOX:
        click.echo(f"morning email: last for {row[0]} (at {row[2]}) {OUTBOX_NOTICE} ({app.config.outbox_path})")
    elif row:
        click.echo(f"morning email: last {row[1]} for {row[0]} (at {row[2]})")
    else:
        click.echo("morning email: none yet")
    if app.config.digest.transport == OUTBOX:
        click.echo(f"mail: the morning email is {OUTBOX_NOTICE}")
    if app.config.followups.enabled and app.config.followups.transport == OUTBOX:
        click.echo(f"drafts: follow-up drafts are {DRAFTS_NOTICE}")
    waiting = pending(store)
    if waiting:
        click.echo(f"outgoing mail: {len(waiting)} waiting")
        for line in queue_problems(store):
            click.echo(f"  {line}")


STATUS_HOOKS.append(mail_status_lines)
