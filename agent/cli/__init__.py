"""The `touchbase` command line: a thin shell over the agent's functions.

Each command group lives in its own module and registers itself on `main`; errors reach the
user as one clear line and a non-zero exit (a traceback only with --verbose).
"""
from __future__ import annotations

import logging
import sqlite3
import sys
from typing import Any

import click

from agent.cli.app import App, parse_now
from agent.errors import StoreError, TouchbaseError


class Main(click.Group):
    """The root group: one place that turns errors into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            except sqlite3.DatabaseError as exc:  # met after the store opened: damaged, locked
                raise _store_failure(ctx.obj, exc) from exc
        except TouchbaseError as exc:
            app = ctx.obj
            if app is not None and app.verbose:
                raise
            click.echo(f"touchbase: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("touchbase: interrupted", err=True)
            ctx.exit(130)


def _store_failure(app: App | None, exc: sqlite3.DatabaseError) -> StoreError:
    """A database error as one line naming the store file."""
    where = "store"
    if app is not None and app._config is not None:
        where = str(app._config.store_path)
    return StoreError(f"{where}: the store is damaged or locked ({exc})")


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", envvar=None,
              help="Config file (default: $TOUCHBASE_CONFIG, then the platform config dir).")
@click.option("--now", "now_text", metavar="ISO8601",
              help="Evaluate as of this instant (replay and tests).")
@click.option("--verbose", "-v", is_flag=True, help="Log details, and show tracebacks on errors.")
@click.version_option(package_name="touchbase-agent")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, now_text: str | None, verbose: bool) -> None:
    """touchbase keeps your peer relationships alive from your work calendar."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    ctx.obj = App(config_path=config_path, now=parse_now(now_text), verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    """Import every command module of this package; each registers its commands on `main`."""
    import importlib
    import pkgutil

    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name != "app":
            importlib.import_module(f"{__name__}.{module.name}")


_register()
