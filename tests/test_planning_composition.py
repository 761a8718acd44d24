"""The planner is composed, not inherited: read-back, healing and booking are collaborators that
share one explicit run state, and none of them inherits from another. Its tables have owners in
agent/storage/: no SQL and no direct table access in planning/ or the reconnect hour."""
from __future__ import annotations

import re
from pathlib import Path

from agent.planning.booking import Booking
from agent.planning.cadence_change import CadenceChange
from agent.planning.healing import Healer
from agent.planning.planner import Planner
from agent.planning.series_readback import ReadBack
from agent.planning.series_run import RunState
from agent.storage.store import Store
from tests.helpers import write_config
from tests.planning_helpers import NOW_DT

STEPS = (Planner, RunState, ReadBack, Healer, Booking, CadenceChange)


def test_no_step_of_a_run_inherits_from_another():
    for step in STEPS:
        assert step.__mro__ == (step, object), step


def test_the_steps_of_one_run_share_one_state(tmp_path):
    from agent.configuration.loader import load_config

    config = load_config(write_config(tmp_path))
    store = Store(config.store_path)
    try:
        planner = Planner(config, store, NOW_DT, apply=False)
        state = planner.state
        assert planner.read_back.run is state and planner.healer.run is state
        assert planner.booking.run is state and planner.cadence.run is state
        assert planner.run() is state.report
    finally:
        store.close()


ROOT = Path(__file__).parent.parent
NO_TABLE_ACCESS = re.compile(r"\.table\(|\.db\b|\.conn\b|execute\(|\b(SELECT|INSERT|UPDATE|DELETE)\b")


def test_planning_and_the_reconnect_hour_ask_the_table_owners():
    modules = [*sorted((ROOT / "agent" / "planning").glob("*.py")),
               ROOT / "agent" / "landscape" / "reconnect_block.py"]
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in modules
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if NO_TABLE_ACCESS.search(line)]
    assert found == []
