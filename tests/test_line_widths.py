"""`status`, `plan` and `person` fit an 80-column terminal: a long line is folded at spaces
under its value (agent/cli/fold.py), only a word longer than the room left (an address, a path)
passes 80 columns, and no line passes 100. Checked on the demo and on a store whose colleague
has a long name and a long address, a long note and a long logged contact.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from agent.cli.fold import HARD_WIDTH, WIDTH, fold_line
from tests.helpers import Ev, calendar, run_cli, write_config

NOW = "2026-03-10T09:00:00+01:00"
LONG_NAME = "Maximiliane Alexandrina von Hohenzollern-Sigmaringen Okonkwo-Featherstonehaugh"
LONG_ADDRESS = "maximiliane.alexandrina.hohenzollern-sigmaringen@research.acme.example"


def assert_fits(output: str, what: str) -> None:
    """Every line is at most 80 columns, or holds one word (after its label) that alone fills
    what is left; none passes 100 (the paths here are short, as a user's are)."""
    for line in output.splitlines():
        assert len(line) <= HARD_WIDTH, (what, line)
        if len(line) > WIDTH:
            words = line.split()
            assert len(words) <= 2 and len(words[-1]) > WIDTH // 2, (what, line)


@pytest.fixture(scope="module")
def demo() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tb-width-")) / "demo"  # short paths, as a user's are
    assert run_cli(None, "demo", "--dir", str(folder)).exit_code == 0
    return folder / "config.toml"


def test_status_plan_and_every_person_of_the_demo_fit_80_columns(demo):
    for args in (("status",), ("plan",)):
        result = run_cli(demo, *args, now=NOW)
        assert result.exit_code == 0, result.output
        assert_fits(result.output, args[0])
    people = json.loads(run_cli(demo, "people", "--json", now=NOW).output)
    assert len(people) > 5
    for row in people:
        result = run_cli(demo, "person", row["email"], now=NOW)
        assert result.exit_code == 0, result.output
        assert_fits(result.output, row["email"])


def long_names_config(folder: Path) -> Path:
    cn = f";CN={LONG_NAME}:mailto:{LONG_ADDRESS}"
    events = [Ev(f"m{i}", f"202510{day:02d}T100000", f"202510{day:02d}T103000",
                 summary="Quarterly architecture alignment of the platform and research groups",
                 attendees=(";CN=Me:mailto:me@acme.example", cn))
              for i, day in enumerate((1, 8, 15, 22, 29))]
    ics = folder / "work.ics"
    ics.write_text(calendar(*events))
    return write_config(folder, [ics], mode="propose")


def test_a_colleague_with_a_long_name_and_address_folds_cleanly(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="tb-long-"))
    config = long_names_config(folder)
    assert run_cli(config, "sync", now=NOW).exit_code == 0
    assert run_cli(config, "rate", LONG_ADDRESS, "--vital", "3", now=NOW).exit_code == 0
    assert run_cli(config, "note", LONG_ADDRESS, "Wants to talk about " + "the migration plan and " * 8,
                   now=NOW).exit_code == 0
    assert run_cli(config, "log", LONG_ADDRESS, "--when", "2025-11-05", "--note", "Long chat at the offsite " * 6,
                   now=NOW).exit_code == 0
    outputs = {args: run_cli(config, *args, now=NOW) for args in
               (("status",), ("plan",), ("person", LONG_ADDRESS))}
    for args, result in outputs.items():
        assert result.exit_code == 0, (args, result.output)
        assert_fits(result.output, " ".join(args))
    page = outputs[("person", LONG_ADDRESS)].output
    assert "the migration plan" in page and "Long chat at the offsite" in page
    plan = outputs[("plan",)].output
    assert "Would propose a touchbase with" in plan and LONG_ADDRESS in plan  # folded, not cut


def test_folding_keeps_every_word_and_hangs_under_the_value():
    line = "  reciprocity:  invitations in the last 180 days: you sent 0, they sent 1 (a recurring series counts once)"
    folded = fold_line(line)
    assert folded[1].startswith(" " * 16 + "recurring") and all(len(part) <= WIDTH for part in folded)
    assert " ".join(" ".join(folded).split()) == " ".join(line.split())
    path = "/home/" + "x" * 120 + "/config.toml"  # a word is never cut: it stays with its label
    assert fold_line(f"config: {path}") == [f"config: {path}"]
    assert fold_line(f"config: {path} (a note after it)") == [f"config: {path}", "        (a note after it)"]
    row = "      1  2025-11-05 12:00  other  " + "Long chat at the offsite " * 4
    assert {len(part) - len(part.lstrip()) for part in fold_line(row)[1:]} == {34}  # under the note
