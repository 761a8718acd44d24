"""`touchbase digest`: preview or send the morning email; mail lines for `status`."""
from __future__ import annotations

import click

from agent.cli import main
from agent.cli.app import App, reported_by_command
from agent.cli.core import STATUS_HOOKS, StatusReport
from agent.errors import UserError
from agent.mail import DRAFTS_NOTICE, OUTBOX, OUTBOX_NOTICE, pending, queue_problems
from agent.safe_text import one_line, printable
from agent.storage import digests

pass_app = click.make_pass_decorator(App)


@main.command()
@click.option("--preview", "mode", flag_value="preview", default=True,
              help="Print the morning email as of now, sending nothing (the default).")
@click.option("--send", "mode", flag_value="send",
              help="Send the morning email now through [digest] transport.")
@click.option("--html", "as_html", is_flag=True, help="With --preview: print the HTML part.")
@click.option("--again", is_flag=True,
              help="With --send: send even when today's email already went out.")
@pass_app
def digest(app: App, mode: str, as_html: bool, again: bool) -> None:
    """Preview the morning email, or send it now."""
    from agent.digest.morning import build_digest, send_digest_now  # not for `status`

    if mode == "send":
        if as_html:
            raise UserError("--html only goes with --preview")
        with reported_by_command(app.verbose, "agent.mail"):  # its line says what happened
            click.echo(send_digest_now(app.config, app.store, app.now(), again=again))
        return
    if again:
        raise UserError("--again only goes with --send")
    result = build_digest(app.config, app.store, app.now())
    if as_html:
        click.echo(result.html, nl=False)
        return
    click.echo(f"Subject: {one_line(result.subject)}\n")
    click.echo(printable(result.text, keep_newlines=True), nl=False)


def mail_status_lines(app: App, report: StatusReport) -> None:
    """`status`: the last morning email and mail still waiting to go out."""
    store = app.store
    row = digests.latest(store)
    local_only = row is not None and row["status"] == "sent" and row["transport"] == OUTBOX
    last = ({"day": row["day"], "status": row["status"], "at": report.iso(row["sent_at"]),
             "transport": row["transport"], "local_outbox_only": local_only} if row else None)
    if row and local_only:
        line = (f"morning email: last for {row['day']} (at {report.when(row['sent_at'])}) "
                f"{OUTBOX_NOTICE} ({app.config.outbox_path})")
    elif row:
        line = f"morning email: last {row['status']} for {row['day']} (at {report.when(row['sent_at'])})"
    else:
        line = "morning email: none yet"
    report.add("morning_email", last, line)
    digest_local = app.config.digest.transport == OUTBOX
    drafts_local = app.config.followups.enabled and app.config.followups.transport == OUTBOX
    report.add("local_outbox", {"morning_email": digest_local, "drafts": drafts_local},
               *([f"mail: the morning email is {OUTBOX_NOTICE}"] if digest_local else []),
               *([f"drafts: follow-up drafts are {DRAFTS_NOTICE}"] if drafts_local else []))
    waiting = pending(store)
    problems = queue_problems(store) if waiting else []
    report.add("outgoing_mail", {"waiting": len(waiting), "problems": problems},
               *([f"outgoing mail: {len(waiting)} waiting"] if waiting else []),
               *(f"  {line}" for line in problems))


STATUS_HOOKS.append(mail_status_lines)
