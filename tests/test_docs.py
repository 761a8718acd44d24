"""The README documents every command, and starts with the two set-up commands."""
from __future__ import annotations

import re
from pathlib import Path

from agent.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
LOCKED_INSTALL = "pip install -r requirements/ci.txt -e ."  # the tests install from the lock


def test_the_lock_pins_every_dependency_and_covers_the_extras():
    lock = (ROOT / "requirements" / "ci.txt").read_text(encoding="utf-8")
    pins = [line.split(" ")[0] for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert pins and all("==" in pin for pin in pins), [p for p in pins if "==" not in p]
    names = {pin.split("==")[0].lower() for pin in pins}
    assert {"click", "icalendar", "pytest", "pytest-xdist", "mcp", "ruff", "mypy", "radicale"} <= names


def test_every_command_appears_in_the_readme():
    missing = [name for name in main.commands if f"touchbase {name}" not in README]
    assert missing == []


def test_readme_starts_with_the_demo_and_the_test_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert lines == ["pip install -e . && touchbase demo", f"{LOCKED_INSTALL} && pytest"]


def test_ci_installs_lints_type_checks_then_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "set -euo pipefail"  # any failing step fails the run
    steps = [line for line in lines[1:] if not line.startswith("cd ")]
    assert steps == ["bash .ci/install-services",
                     "pip install --quiet --disable-pip-version-check -r requirements/ci.txt -e .",
                     "ruff check agent connectors tests bench", "mypy", "pytest"]
    readme_test = re.search(r"```sh\n(.*?)```", README, re.S).group(1).splitlines()[1]
    assert readme_test.split("#")[0].strip() == f"{LOCKED_INSTALL} && pytest"


def test_every_linked_doc_exists():
    for target in re.findall(r"\]\(((?:docs|config)/[^)]+)\)", README):
        assert (ROOT / target).exists(), target


def test_the_readme_links_the_architecture_page():
    development = README.split("## Development", 1)[1]
    assert "[docs/architecture.md](docs/architecture.md)" in development


def test_the_architecture_page_names_only_files_and_folders_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = re.findall(r"`([\w/.-]+\.py|[\w/.-]+/)`", text)
    assert len(names) > 20  # the page names the rooms and the modules to edit
    missing = [name for name in names
               if not any((base / name).exists() for base in (ROOT, ROOT / "agent", ROOT / "connectors"))]
    assert missing == [], "name a file by its path from the repository root, agent/ or connectors/"
