"""touchbase: a local-first agent that keeps peer relationships alive from a work calendar."""
from __future__ import annotations

__version__ = "0.1.0"
