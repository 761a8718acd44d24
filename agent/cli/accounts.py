"""`touchbase auth`: the interactive sign-in of a google or outlook source."""
from __future__ import annotations

import click

from agent.cli import main
from agent.cli.app import App
from agent.configuration.loader import Config, write_target
from agent.errors import UserError
from agent.sources import make_context
from connectors import connector_class

pass_app = click.make_pass_decorator(App)


@main.command()
@click.argument("kind", type=click.Choice(["google", "outlook"]))
@click.option("--source", "source_name", help="The source to sign in (default: the first of KIND).")
@click.option("--client-secrets", type=click.Path(dir_okay=False),
              help="google: the OAuth desktop client JSON from Google Cloud.")
@click.option("--no-browser", is_flag=True, help="google: print the URL, never open a browser.")
@click.option("--device-code", is_flag=True,
              help="outlook: sign in with a code on another device (machines without a browser).")
@pass_app
def auth(app: App, kind: str, source_name: str | None, client_secrets: str | None,
         no_browser: bool, device_code: bool) -> None:
    """Sign in to a google or outlook source and save its token (mode 0600).

    Outlook signs in in the browser (authorization code with PKCE); --device-code uses a code
    entered on another device instead.
    """
    config = app.config
    candidates = [s for s in config.sources if s.type == kind]
    if source_name:
        candidates = [s for s in candidates if s.name == source_name]
    if not candidates:
        flag = "--google CLIENT_SECRETS_JSON" if kind == "google" else "--outlook CLIENT_ID"
        raise UserError(f"{config.path}: no {kind} source{f' named {source_name!r}' if source_name else ''} "
                        f"in [[sources]]; add one (docs/connect-{kind}.md) or set up again with "
                        f"`touchbase init --force {flag}`")
    source = candidates[0]
    if device_code and kind != "outlook":
        raise UserError("--device-code applies to outlook sources only")
    options = {"no_browser": no_browser, "roles": source_roles(config, source.name)}
    if kind == "outlook":
        options["device_code"] = device_code
    if client_secrets:
        options["client_secrets"] = client_secrets
    message = connector_class(kind).authorize(source, make_context(config, app.now()), **options)
    click.echo(message)


def source_roles(config: Config, name: str) -> list[str]:
    """What the config uses source `name` for (read, write, drafts, send, mail): scopes follow it."""
    roles = ["read"]
    if write_target(config) == name:
        roles.append("write")
    if config.followups.enabled and config.followups.transport == name:
        roles.append("drafts")
    if config.digest.transport == name:
        roles.append("send")
    if config.source(name).options.get("mail"):
        roles.append("mail")
    return roles
