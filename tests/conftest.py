"""Shared fixtures and settings for the whole suite.

Subprocesses started by tests (`python -m agent ...`) run this checkout's code, whatever an
editable install elsewhere points to.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
