"""The planner is composed, not inherited: read-back, healing and booking are collaborators that
share one explicit run state, and none of them inherits from another."""
from __future__ import annotations

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
