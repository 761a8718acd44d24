"""The `touchbase` command line: a thin shell over the agent's functions.

Each command group lives in its own module and registers itself on `main`; errors reach the
user as one clear line and a non-zero exit (a traceback only with --verbose).
"""
# ruff: noqa: E402 - `run` handles SIGTERM/SIGINT before anything else is imported
from __future__ import annotations

import sys

from agent.daemon import stopping

if stopping.wants_run(sys.argv):
    stopping.install(for_process=True)

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import click

from agent.cli.app import App, parse_now
from agent.errors import StoreError, TouchbaseError
from agent.safe_text import without_addresses
from agent.storage.private_files import describe_os_error, private_umask


class Main(click.Group):
    """The root group: one place that turns errors into a message and an exit code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        """click's entry point, with click's own errors (a bad option or value, a prompt left
        unanswered) told in the agent's form: one `touchbase: error:` line, a hint line, exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):  # Ctrl-C outside a command
                click.echo("touchbase: interrupted", err=True)
                sys.exit(130)
            click.echo("touchbase: error: no answer given, nothing changed", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            _show_click_error(exc)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                with private_umask():  # what the agent creates is 0600 / 0700
                    super().invoke(ctx)
                    return None  # a command's return value is never an exit status
            except sqlite3.DatabaseError as exc:  # met after the store opened: damaged, locked
                raise _store_failure(ctx.obj, exc) from exc
            except OSError as exc:  # a full disk, a read-only folder met outside the store
                raise TouchbaseError(_os_failure(exc)) from exc
        except TouchbaseError as exc:
            app = ctx.obj
            if app is not None and app.verbose:
                raise
            click.echo(f"touchbase: error: {without_addresses(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("touchbase: interrupted", err=True)
            ctx.exit(130)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command `name`, importing every command module when it is not loaded yet."""
        command = super().get_command(ctx, name)
        if command is None and not _loaded_all:
            _register()
            command = super().get_command(ctx, name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name (all command modules imported first)."""
        _register()
        return super().list_commands(ctx)


def _show_click_error(exc: click.ClickException) -> None:
    """A click error as the agent's one line, then where to look for the right usage."""
    from agent.safe_text import one_line

    click.echo(f"touchbase: error: {one_line(exc.format_message())}", err=True)
    context = getattr(exc, "ctx", None)
    words = context.command_path.split()[1:] if context is not None else []
    command = " ".join(["touchbase", *words])  # whatever name the program was started by
    click.echo(f"hint: {command} --help shows the options", err=True)


def _os_failure(exc: OSError) -> str:
    """An OSError that reached the command line, as one line naming the file."""
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{describe_os_error(exc)}"


def _store_failure(app: App | None, exc: sqlite3.DatabaseError) -> StoreError:
    """A database error as one line naming the store file and what is wrong with it."""
    from pathlib import Path

    from agent.storage.failures import store_error

    where = Path("store")
    if app is not None and app._config is not None:
        where = app._config.store_path
    return store_error(where, exc)


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


FAST_COMMANDS: dict[str, tuple[str, ...]] = {
    "sync": ("core",), "people": ("core",), "person": ("person",), "plan": ("planning",),
    "status": ("core", "daemon", "mailing", "planning"),
}
"""Commands that `touchbase` runs by loading only the modules defining them, so that a short
run (an unchanged `sync` is a fraction of a second, `people` reads the store) does not import
every other command's dependencies. A command must stay self-contained: only the modules
listed with it may extend it (`status`: the modules adding its STATUS_HOOKS)."""

_loaded_all = False


def _register(only: tuple[str, ...] | None = None) -> None:
    """Import the command modules of this package (all, or just those in `only`); each
    registers its commands on `main`."""
    global _loaded_all
    import importlib
    import pkgutil

    if _loaded_all:
        return
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name != "app" and (only is None or module.name in only):
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded_all = only is None


def _requested_command(argv: list[str]) -> str | None:
    """The command a `touchbase` command line names after the global options, if plain."""
    if not argv or not argv[0].endswith("touchbase"):
        return None
    word = stopping.command_word(argv)
    return None if word is None or word.startswith("-") else word


_register(only=FAST_COMMANDS.get(_requested_command(sys.argv) or ""))
