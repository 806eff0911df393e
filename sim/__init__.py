"""Kemitraan: an agent-based model of partnership patterns and community welfare.

Example:
    >>> import sim
    >>> model = sim.PartnershipModel(seed=7, households=100).run(6)
    >>> model.results()["step"].tolist()
    [0, 1, 2, 3, 4, 5, 6]
"""

from sim.interop import run_model
from sim.model.model import OUTCOMES, PartnershipModel
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = [
    "OUTCOMES",
    "PartnershipModel",
    "Scenario",
    "ScenarioError",
    "__version__",
    "load_scenario",
    "run_model",
]

__version__ = "0.1.0"
