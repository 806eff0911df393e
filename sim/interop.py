"""The model as a function, and the lever table as EMA Workbench uncertainties.

Exploratory-modelling tools (EMA Workbench, SALib, optimisers) call a model as a function of
named inputs that returns named outcomes. :func:`run_model` is that function: levers in, the
horizon's outcomes out. :func:`ema_uncertainties` turns the lever table's declared ranges into
EMA Workbench parameters, so every lever keeps one schema.

Example:
    >>> out = run_model("msp", steps=6, seed=3, households=200, trust=0.3)
    >>> sorted(out)[:3]
    ['access_health', 'access_mean', 'accountability']
    >>> 0.0 <= out["welfare_mean"] <= 1.0
    True
    >>> run_model("msp", steps=6, seed=3, households=200, factors__trust=0.3) == out
    True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sim.model.model import OUTCOMES, PartnershipModel
from sim.paths import SCENARIOS
from sim.scenario import Scenario, lever_table, load_scenario

__all__ = ["ema_uncertainties", "lever_ranges", "run_model"]


def _scenario(scenario: str | Path | Scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    path = Path(scenario)
    if path.suffix != ".toml" and not path.exists():
        path = SCENARIOS / f"{scenario}.toml"  # a shipped scenario by name
    return load_scenario(path)


def run_model(
    scenario: str | Path | Scenario = "msp",
    *,
    steps: int | None = None,
    seed: int | None = None,
    **levers: Any,
) -> dict[str, float]:
    """Run one replicate and return its outcomes at the horizon.

    Args:
        scenario: A shipped scenario's name (``"msp"``), a scenario file, or a
            :class:`~sim.scenario.Scenario`.
        steps: Months to run (default: the scenario's ``run.steps``).
        seed: The model's seed (default: the scenario's ``run.seed``).
        **levers: Lever values, as ``key`` when the name is unique (``trust=0.3``) or
            ``section__key`` (``factors__trust=0.3``), the keyword form of ``--set
            factors.trust=0.3``. Unknown levers and values out of range raise
            :class:`~sim.scenario.ScenarioError` with the valid choices.

    Returns:
        Every outcome of :data:`sim.OUTCOMES` at the last step, as floats (NaN where the
        outcome is undefined, e.g. partner trust with no partnership).
    """
    base = _scenario(scenario)
    overrides = {key.replace("__", "."): value for key, value in levers.items()}
    scenario_ = base.with_overrides(overrides, source="run_model") if overrides else base
    model = PartnershipModel(scenario_, seed=scenario_.run.seed if seed is None else seed)
    horizon = model.config.run.steps if steps is None else int(steps)
    last = model.run(horizon).results().iloc[-1]
    return {name: float(last[name]) for name in OUTCOMES}


def lever_ranges() -> dict[str, tuple[float, float]]:
    """Every numeric model lever with a finite range, as ``{"section.key": (low, high)}``.

    The ``run`` section (steps, seed, replications) is how to run, not an uncertainty.

    Example:
        >>> lever_ranges()["factors.trust"]
        (0.0, 1.0)
    """
    ranges: dict[str, tuple[float, float]] = {}
    for row in lever_table():
        bounds, default = row["bounds"], row["default"]
        low = bounds.get("ge", bounds.get("gt"))
        high = bounds.get("le", bounds.get("lt"))
        if row["section"] == "run" or isinstance(default, bool):
            continue  # how to run, not what is modelled
        if not isinstance(default, int | float):
            continue
        if low is None or high is None or not math.isfinite(low) or not math.isfinite(high):
            continue
        ranges[f"{row['section']}.{row['key']}"] = (float(low), float(high))
    return ranges


def ema_uncertainties(levers: list[str] | None = None) -> list[Any]:
    """EMA Workbench uncertainties over the lever table's declared ranges.

    Integer levers become ``IntegerParameter``, the others ``RealParameter``. Names are
    ``section__key`` so that :func:`run_model` takes them as keywords (EMA Workbench passes
    uncertainties to a function model by name).

    Args:
        levers: ``section.key`` names to include (default: every lever with a finite range).

    Returns:
        A list of EMA Workbench parameters.
    """
    from ema_workbench import IntegerParameter, RealParameter  # deferred: slow to import

    ranges = lever_ranges()
    defaults = {f"{r['section']}.{r['key']}": r["default"] for r in lever_table()}
    chosen = list(ranges) if levers is None else levers
    params = []
    for name in chosen:
        low, high = ranges[name]
        kind = IntegerParameter if isinstance(defaults[name], int) else RealParameter
        bounds = (int(low), int(high)) if kind is IntegerParameter else (low, high)
        params.append(kind(name.replace(".", "__"), *bounds))
    return params
