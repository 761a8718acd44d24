"""One tool call from name and arguments to an answer or a one-line error.

Whatever goes wrong in a call (an unknown colleague, a bad argument, a store that cannot be
read, a bug) ends that call with one clear line; the server goes on serving the next one.
"""
from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from agent.errors import TouchbaseError, UserError
from agent.mcp.answers import ANSWERS, Options
from agent.mcp.arguments import check_arguments
from agent.mcp.catalogue import TOOLS, ToolSpec, listed
from agent.safe_text import one_line
from agent.storage.failures import store_error
from agent.storage.private_files import describe_os_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A call's answer (a JSON object), or the one line saying why there is none."""

    data: dict[str, Any] | None = None
    error: str | None = None


class Caller:
    """Answers tool calls for one server, as its options allow."""

    def __init__(self, options: Options) -> None:
        self.options = options

    def tools(self) -> tuple[ToolSpec, ...]:
        """The tools this server lists."""
        return listed(self.options.allow_writes)

    def call(self, name: str, arguments: dict[str, Any] | None) -> Outcome:
        """Answer one call; every failure becomes an Outcome with an error line."""
        try:
            tool = self._tool(name)
            data = self._answer(tool, check_arguments(tool, arguments))
        except Exception as exc:  # noqa: BLE001 - one call fails, the server serves on
            line = error_line(exc)
            log.log(logging.DEBUG if isinstance(exc, TouchbaseError) else logging.ERROR,
                    "%s: %s", name, line, exc_info=not isinstance(exc, TouchbaseError))
            return Outcome(error=line)
        log.debug("%s: answered", name)
        return Outcome(data=data)

    def _tool(self, name: str) -> ToolSpec:
        """The tool named `name`, if this server may run it."""
        tool = TOOLS.get(name)
        if tool is None:
            names = ", ".join(t.name for t in self.tools())
            raise UserError(f"there is no tool {one_line(name)[:60]!r} (tools: {names})")
        if tool.writes and not self.options.allow_writes:
            raise UserError(f"{name} changes your data, and this server is read-only: "
                            "start it with `touchbase mcp --allow-writes` to allow it")
        return tool

    def _answer(self, tool: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
        """Run the tool's answer on a store opened for this call only."""
        app = self.options.app()
        try:
            return ANSWERS[tool.name](app, args, self.options)
        except sqlite3.DatabaseError as exc:  # met after the store opened: damaged, locked
            raise store_error(app.config.store_path, exc) from exc
        finally:
            app.close()


def error_line(exc: BaseException) -> str:
    """Any failure of a call as one line: the agent's own message, else what happened."""
    if isinstance(exc, UserError) and exc.problems:
        return one_line(f"{exc.args[0]}: {'; '.join(exc.problems)}")
    if isinstance(exc, TouchbaseError):
        return one_line(str(exc))
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{describe_os_error(exc)}")
    return one_line(f"internal error ({type(exc).__name__}: {exc}); the server's log has the details")
