"""The Model Context Protocol over stdio, on the official `mcp` SDK (its low-level Server).

Only protocol messages go to stdout: while the server runs the SDK points file descriptor 1
at stderr, so a stray print can never corrupt the stream; the log goes to stderr. Calls run
one at a time in a worker thread, so a slow call never stops the server answering pings.
"""
from __future__ import annotations

import json
from importlib import metadata
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from agent.mcp.answers import Options
from agent.mcp.calls import Caller, Outcome
from agent.mcp.catalogue import ToolSpec

INSTRUCTIONS = (
    "touchbase keeps the user's peer relationships at work alive from their calendar. Use "
    "`people` to see who they meet and who is due or overdue for a catch-up, `person` before a "
    "conversation with someone, `plan` for the recurring touchbases the agent would book, and "
    "`status` when figures look stale. Times are ISO 8601 in the user's zone."
)


def serve(options: Options) -> None:
    """Serve MCP over stdin and stdout until the client closes stdin."""
    anyio.run(_serve, options)


async def _serve(options: Options) -> None:
    server = build_server(Caller(options))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def build_server(caller: Caller) -> Server:
    """The SDK's Server with touchbase's tools."""
    one_at_a_time = anyio.CapacityLimiter(1)

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[sdk_tool(tool) for tool in caller.tools()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        outcome = await anyio.to_thread.run_sync(caller.call, params.name, params.arguments,
                                                 limiter=one_at_a_time)
        return tool_result(outcome)

    return Server("touchbase", version=_version(), instructions=INSTRUCTIONS,
                  on_list_tools=list_tools, on_call_tool=call_tool)


def sdk_tool(tool: ToolSpec) -> types.Tool:
    """A tool as the protocol lists it, with hints on what it changes."""
    hints = types.ToolAnnotations(read_only_hint=not tool.writes, destructive_hint=False,
                                  idempotent_hint=not tool.writes or tool.name == "rate",
                                  open_world_hint=tool.name == "approve")
    return types.Tool(name=tool.name, description=tool.description,
                      input_schema=tool.input_schema(), output_schema=tool.output_schema(),
                      annotations=hints)


def tool_result(outcome: Outcome) -> types.CallToolResult:
    """An answer as structured content plus the same JSON as one text block; an error as
    one line of text with isError set."""
    if outcome.data is None:
        return types.CallToolResult(content=[types.TextContent(text=outcome.error or "failed")],
                                    is_error=True)
    text = json.dumps(outcome.data, indent=2)
    return types.CallToolResult(content=[types.TextContent(text=text)],
                                structured_content=outcome.data)


def _version() -> str:
    try:
        return metadata.version("touchbase-agent")
    except metadata.PackageNotFoundError:
        return "0"
