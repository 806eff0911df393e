"""What a run is asked to be: the lever schema, outcome declarations, maps and scenario files.

The floor every other floor stands on: it imports nothing of ``sim`` but :mod:`sim.errors`
and :mod:`sim.paths`. Its modules, from the bottom up: ``explain`` (declared tables and their
errors in one line), ``outcomes`` (every outcome declared once), ``maps`` (reading and
checking stakeholder maps), ``interventions`` (the intervention schema and its checks),
``schema`` (the levers and :class:`Scenario`), ``files`` (scenario files, ``extends`` and
``--set``). The names below are the face that users' scripts and notebooks use
(``sim.scenario``).
"""

from sim.scenario.files import MAX_EXTENDS, MAX_SCENARIO_BYTES, apply_overrides, load_scenario
from sim.scenario.outcomes import OUTCOMES
from sim.scenario.schema import (
    PARTNERSHIP_MEMBERS,
    PARTNERSHIP_TYPES,
    Scenario,
    ScenarioError,
    lever_table,
)

__all__ = [
    "MAX_EXTENDS",
    "MAX_SCENARIO_BYTES",
    "OUTCOMES",
    "PARTNERSHIP_MEMBERS",
    "PARTNERSHIP_TYPES",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "lever_table",
    "load_scenario",
]
