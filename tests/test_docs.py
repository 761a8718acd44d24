"""The README documents every command, and starts with the two set-up commands."""
from __future__ import annotations

import re
from pathlib import Path

from agent.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_appears_in_the_readme():
    missing = [name for name in main.commands if f"touchbase {name}" not in README]
    assert missing == []


def test_readme_starts_with_the_demo_and_the_test_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert lines == ["pip install -e . && touchbase demo", "pip install -e '.[test]' && pytest"]


def test_ci_runs_the_readme_test_command():
    assert "pip install --quiet --disable-pip-version-check -e '.[test]' && pytest" in (
        ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_linked_doc_exists():
    for target in re.findall(r"\]\(((?:docs|config)/[^)]+)\)", README):
        assert (ROOT / target).exists(), target
