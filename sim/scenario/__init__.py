"""What a run is asked to be: the lever schema, outcome declarations, maps and scenario files.

The floor every other floor stands on: it imports nothing of ``sim`` but :mod:`sim.errors`.
The names below are the face that users' scripts and notebooks use (``sim.scenario``).
"""

from sim.scenario.schema import (
    MAX_EXTENDS,
    MAX_SCENARIO_BYTES,
    PARTNERSHIP_MEMBERS,
    PARTNERSHIP_TYPES,
    Scenario,
    ScenarioError,
    apply_overrides,
    lever_table,
    load_scenario,
)

__all__ = [
    "MAX_EXTENDS",
    "MAX_SCENARIO_BYTES",
    "PARTNERSHIP_MEMBERS",
    "PARTNERSHIP_TYPES",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "lever_table",
    "load_scenario",
]
