"""`touchbase mcp`: the agent's figures for an AI assistant, over the Model Context Protocol.

A second front end beside the command line, over the same functions: each read tool answers
with the JSON the matching `touchbase ... --json` command prints. `catalogue.py` names the
tools and their arguments, `arguments.py` checks a call's arguments, `answers.py` answers a
call from the store, `calls.py` turns any failure into one line, and `server.py` speaks the
protocol over stdio. Only `server.py` imports the `mcp` SDK, and only `touchbase mcp` imports
`server.py`: the daemon and every other command never load it.
"""
