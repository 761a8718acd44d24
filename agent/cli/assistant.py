"""`touchbase mcp`: the agent as an MCP server for an AI assistant (the server is agent/mcp/)."""
from __future__ import annotations

import logging

import click

from agent.cli import main
from agent.cli.app import App
from agent.errors import UserError

pass_app = click.make_pass_decorator(App)
SDK_MODULES = ("mcp", "mcp_types", "anyio", "pydantic")
"""The SDK and what it brings: missing, `touchbase mcp` says what to install."""


@main.command("mcp")
@click.option("--with-notes", is_flag=True,
              help="Include your private notes and the notes of logged contact in `person` and `people`.")
@click.option("--allow-writes", is_flag=True,
              help="Offer the write tools log_contact, add_note, rate and approve.")
@pass_app
def mcp_command(app: App, with_notes: bool, allow_writes: bool) -> None:
    """Serve your relationships to an AI assistant over MCP (stdio); read-only and without
    notes unless the flags say otherwise. See docs/mcp.md."""
    try:
        from agent.mcp.server import serve
    except ImportError as exc:  # the SDK is an optional extra
        if (exc.name or "").partition(".")[0] not in SDK_MODULES:
            raise
        raise UserError("`touchbase mcp` needs the MCP SDK: pip install 'touchbase-agent[mcp]'") from None
    from agent.mcp.answers import Options

    app.config  # noqa: B018 - a config that cannot be read stops the server before it starts
    logging.getLogger("agent.mcp").info("touchbase mcp: serving on stdio")
    serve(Options(config_path=app.config_path, now=app.fixed_now, verbose=app.verbose,
                  with_notes=with_notes, allow_writes=allow_writes))
