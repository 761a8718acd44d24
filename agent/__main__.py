"""`python -m agent`: the same command line as `touchbase`."""
from __future__ import annotations

from agent.cli import main

if __name__ == "__main__":
    main(prog_name="touchbase")
