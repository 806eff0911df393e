"""Sweep files: base scenarios x a design over levers x replications, validated; the designs.

A sweep file (TOML, ``sweeps/*.toml``) names one or more base scenarios, the levers to vary and
how (a full-factorial grid, a Latin hypercube, a Saltelli/Sobol or a Morris design, the last
three sampled with SALib), the replications, the steps, the outcomes to keep and how often to
record them. It is validated like a scenario: unknown keys, unknown levers and out-of-range
values raise a :class:`SweepError` that names the file, the key, the value and what is allowed.

The runs a sweep makes, and running them, are in :mod:`sim.experiments.sweep`. Every run is
(base scenario, design point, replicate). Replicate ``r`` uses the same seed at
every design point and in every base scenario (common random numbers), spawned from the sweep's
root seed with :func:`sim.experiments.tasks.replicate_seeds`. A run's id hashes its resolved
scenario, design point, replicate, seed, steps, recording and the code version, so a results
folder can be resumed run by run.

Example:
    >>> spec = SweepSpec.model_validate({
    ...     "scenarios": ["baseline"], "replications": 2, "steps": 3,
    ...     "design": {"method": "grid", "levers": {"factors.trust": {"values": [0.2, 0.8]}}}})
    >>> design_matrix(spec).to_dict("list")
    {'point': [0, 1], 'factors.trust': [0.2, 0.8]}
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, ValidationError, field_validator

from sim.errors import UserError, did_you_mean
from sim.paths import SCENARIOS
from sim.scenario import Scenario, ScenarioError, load_scenario
from sim.scenario.explain import Table, explain
from sim.scenario.files import read_toml
from sim.scenario.inputs import child_name
from sim.scenario.interventions import check_horizon
from sim.scenario.outcomes import OUTCOMES
from sim.scenario.schema import section_fields

__all__ = [
    "MAX_POINTS",
    "MAX_RUNS",
    "METHODS",
    "DesignSpec",
    "LeverSpec",
    "Sweep",
    "SweepError",
    "SweepSpec",
    "design_matrix",
    "design_size",
    "from_dict",
    "lever_field",
    "load_sweep",
    "salib_problem",
]

METHODS = ("grid", "lhs", "sobol", "morris")


class SweepError(UserError):
    """A sweep file that cannot be used, with the file, key, value and what is allowed."""


# ----------------------------------------------------------------------------- the schema
class _Strict(Table):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeverSpec(_Strict):
    """How one lever varies: explicit ``values`` (grid) or a ``low``-``high`` range (sampled)."""

    values: list[float | int | str] | None = Field(
        None, max_length=1000, description="the values of a grid design (at most 1000)"
    )
    low: float | None = Field(None, description="lower bound of a sampled design")
    high: float | None = Field(None, description="upper bound of a sampled design")


class DesignSpec(_Strict):
    """The design over levers."""

    method: Literal["grid", "lhs", "sobol", "morris"] = Field(
        "grid", description="grid (full factorial), lhs, sobol (Saltelli) or morris"
    )
    samples: int = Field(
        16,
        ge=1,
        le=1_000_000,
        description="lhs: points; sobol: base sample N (power of 2); morris: trajectories",
    )
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels (even)")
    second_order: bool = Field(False, description="sobol: also second-order indices")
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="design seed (default: the sweep's seed)"
    )
    levers: dict[str, LeverSpec] = Field(
        default_factory=dict, description="lever (SECTION.KEY) -> values or range"
    )


class SweepSpec(_Strict):
    """A validated sweep file (before its scenarios are loaded)."""

    name: str = Field("sweep", description="sweep name (default: the file's stem)")
    description: str = ""
    scenarios: list[str] = Field(
        ..., min_length=1, description="base scenarios: file paths or names in scenarios/"
    )
    reference: str | None = Field(None, description="scenario to take paired differences from")
    replications: int = Field(5, ge=1, le=100_000, description="replications per design point")
    seed: int = Field(20261128, ge=0, le=2**63 - 1, description="root seed of the replicate seeds")
    steps: int | None = Field(None, ge=1, le=100_000, description="steps (default: scenario's)")
    outcomes: list[str] = Field(
        default_factory=lambda: list(OUTCOMES), description="outcomes to keep (sim.model.OUTCOMES)"
    )
    record: Literal["every_step", "horizon"] | int = Field(
        "every_step", description="every_step, horizon, or k (steps 0, k, 2k, ... and horizon)"
    )
    set: dict[str, Any] = Field(
        default_factory=dict, description="levers fixed in every run (SECTION.KEY = value)"
    )
    design: DesignSpec = DesignSpec()

    @field_validator("name")
    @classmethod
    def _stays_in_results(cls, value: str) -> str:
        return child_name(value, "name", ValueError)  # it names the folder results/<name>

    @field_validator("outcomes")
    @classmethod
    def _known_outcomes(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in OUTCOMES:
                raise ValueError(
                    f"unknown outcome {name!r}.{did_you_mean(name, list(OUTCOMES))} "
                    f"Allowed: {', '.join(OUTCOMES)}"
                )
        if len(set(value)) != len(value) or not value:
            raise ValueError("must be a non-empty list without repeats")
        return value

    @field_validator("record")
    @classmethod
    def _positive_k(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 1:
            raise ValueError("an integer record interval must be at least 1")
        return value

    def recorded_steps(self, steps: int) -> np.ndarray:
        """The steps kept for a run of ``steps`` steps (step 0 is the initial state)."""
        if self.record == "every_step":
            return np.arange(steps + 1)
        if self.record == "horizon":
            return np.array([steps])
        return np.union1d(np.arange(0, steps + 1, self.record), [steps])


# ----------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class Sweep:
    """A sweep ready to run: its spec, the source file, and its resolved base scenarios."""

    spec: SweepSpec
    source: str
    scenarios: tuple[Scenario, ...]
    levers: tuple[str, ...]

    @property
    def steps(self) -> int:
        """Steps per run."""
        return self.spec.steps or self.scenarios[0].run.steps


def lever_field(name: str, source: str) -> tuple[str, str, Any]:
    """Section, key and pydantic field of a dotted lever name, or a SweepError."""
    sections = section_fields()
    all_keys = [f"{s}.{k}" for s, keys in sections.items() for k in keys]
    parts = name.split(".")
    if len(parts) != 2 or parts[0] not in sections or parts[1] not in sections[parts[0]]:
        raise SweepError(
            f"{source}: design.levers: unknown lever '{name}'.{did_you_mean(name, all_keys)} "
            "Use SECTION.KEY as listed by 'python run_simulation.py levers'."
        )
    section = Scenario.model_fields[parts[0]].annotation
    return parts[0], parts[1], section.model_fields[parts[1]]


def _resolve_scenario(ref: str, base: Path, source: str) -> Scenario:
    candidates = [base / ref, SCENARIOS / f"{ref}.toml", SCENARIOS / ref]
    for path in candidates:
        if path.is_file():
            return load_scenario(path)
    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    raise SweepError(
        f"{source}: scenarios: {ref!r} is neither a file (relative to the sweep file) nor a "
        f"scenario in scenarios/.{did_you_mean(ref, names)} Known scenarios: {', '.join(names)}"
    )


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file; load its base scenarios; check its levers and ranges."""
    path = Path(path)
    source = str(path)
    data = read_toml(path, "sweep file", SweepError)
    data.setdefault("name", path.stem)
    return from_dict(data, source, base=path.parent)


def from_dict(data: dict[str, Any], source: str = "<dict>", base: Path | None = None) -> Sweep:
    """Validate a sweep given as a dictionary (as read from TOML)."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise SweepError(explain(exc, source, SweepSpec, data)) from None
    base = base or Path.cwd()
    scenarios = []
    for ref in spec.scenarios:
        scenario = _resolve_scenario(ref, base, source)
        try:
            scenario = scenario.with_overrides(spec.set, source=f"{source}: [set]")
        except ScenarioError as exc:
            raise SweepError(str(exc)) from None
        scenarios.append(scenario)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise SweepError(f"{source}: scenarios: names must be unique; got {names}")
    if spec.reference is not None and spec.reference not in names:
        raise SweepError(
            f"{source}: reference = {spec.reference!r}: not one of the scenarios {names}"
        )
    steps = spec.steps or scenarios[0].run.steps  # every run makes the same steps
    horizon = f"steps = {steps}" if spec.steps else f"the first scenario's run.steps = {steps}"
    for scenario in scenarios:
        check_horizon(scenario, steps, f"{source}: scenario '{scenario.name}'", horizon)
    _check_size(spec, len(scenarios), source)  # before any value is probed or generated
    _check_design(spec, scenarios[0], source)
    return Sweep(spec, source, tuple(scenarios), tuple(spec.design.levers))


MAX_POINTS = 1_000_000
"""Most design points a sweep may have (estimated from the file before any is generated)."""

MAX_RUNS = 10_000_000
"""Most runs a sweep may make: base scenarios x design points x replications."""


def design_size(spec: SweepSpec) -> int:
    """The number of design points, computed from the file without generating them.

    Grid: the product of the value counts; lhs: ``samples``; Sobol (Saltelli): ``N (D + 2)``,
    or ``N (2D + 2)`` with second order; Morris: ``samples (D + 1)``.

    Example:
        >>> spec = SweepSpec.model_validate({"scenarios": ["baseline"], "design": {
        ...     "levers": {"factors.trust": {"values": [0.1, 0.5, 0.9]},
        ...                "factors.communication": {"values": [0.2, 0.8]}}}})
        >>> design_size(spec)
        6
    """
    design = spec.design
    levers = design.levers
    if not levers:
        return 1
    d = len(levers)
    if design.method == "grid":
        return math.prod(len(lever.values or [None]) for lever in levers.values())
    if design.method == "lhs":
        return design.samples
    if design.method == "sobol":
        return design.samples * ((2 * d + 2) if design.second_order else (d + 2))
    return design.samples * (d + 1)


def _check_size(spec: SweepSpec, scenarios: int, source: str) -> None:
    """Refuse a design or a sweep too large to generate or run, with the estimate."""
    design = spec.design
    points = design_size(spec)
    if design.method == "grid" and design.levers:
        how = " x ".join(str(len(lever.values or [None])) for lever in design.levers.values())
        how = f"a grid of {how} values"
    else:
        how = (
            f"a {design.method} design of {design.samples} samples over {len(design.levers)} levers"
        )
    if points > MAX_POINTS:
        raise SweepError(
            f"{source}: design: {how} makes {points:,} design points; allowed: at most "
            f"{MAX_POINTS:,} (list fewer values, or sample the ranges with method = 'lhs')"
        )
    runs = scenarios * points * spec.replications
    if runs > MAX_RUNS:
        raise SweepError(
            f"{source}: {scenarios} scenarios x {points:,} design points x {spec.replications} "
            f"replications make {runs:,} runs; allowed: at most {MAX_RUNS:,}"
        )


def _check_design(spec: SweepSpec, scenario: Scenario, source: str) -> None:
    design = spec.design
    sampled = design.method != "grid"
    if sampled and not design.levers:
        raise SweepError(f"{source}: design.levers: a {design.method} design needs levers")
    if design.method == "sobol" and design.samples & (design.samples - 1):
        raise SweepError(
            f"{source}: design.samples = {design.samples}: Sobol sequences need a power of 2 "
            "(e.g. 64, 128, 256)"
        )
    if design.method == "morris" and design.levels % 2:
        raise SweepError(f"{source}: design.levels = {design.levels}: must be even for morris")
    for name, lever in design.levers.items():
        field = lever_field(name, source)[2]
        where = f"{source}: design.levers.{name}"
        if not sampled:
            if lever.values is None or lever.low is not None or lever.high is not None:
                raise SweepError(f"{where}: a grid lever needs values = [...] (and no low/high)")
            if not lever.values:
                raise SweepError(f"{where}: values = []: give at least one value")
            probes = lever.values
        else:
            if lever.values is not None or lever.low is None or lever.high is None:
                raise SweepError(
                    f"{where}: a {design.method} lever needs low = ... and high = ... (no values)"
                )
            if field.annotation not in (int, float):
                raise SweepError(
                    f"{where}: a {design.method} design needs a numeric lever; this one is "
                    f"{getattr(field.annotation, '__name__', field.annotation)} (use a grid)"
                )
            if not lever.low < lever.high:
                raise SweepError(f"{where}: low = {lever.low} must be below high = {lever.high}")
            probes = [lever.low, lever.high]
            if field.annotation is int:
                probes = [math.floor(lever.low), math.floor(lever.high)]
        for value in probes:
            try:
                scenario.with_overrides({name: value}, source=where)
            except ScenarioError as exc:
                raise SweepError(str(exc)) from None


# ----------------------------------------------------------------------------- designs
def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """The SALib problem of a sampled design (names and bounds in the file's order)."""
    levers = spec.design.levers
    bounds = []
    for name, lever in levers.items():
        is_int = lever_field(name, "<design>")[2].annotation is int
        bounds.append([lever.low, lever.high + 1 if is_int else lever.high])
    return {"num_vars": len(levers), "names": list(levers), "bounds": bounds}


def _raw_sample(spec: SweepSpec) -> np.ndarray:
    from SALib.sample import latin, morris, sobol

    design = spec.design
    seed = spec.seed if design.seed is None else design.seed
    problem = salib_problem(spec)
    if design.method == "lhs":
        return latin.sample(problem, design.samples, seed=seed)
    if design.method == "sobol":
        return sobol.sample(
            problem, design.samples, calc_second_order=design.second_order, seed=seed
        )
    return morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)


def design_matrix(spec: SweepSpec, raw: bool = False) -> pd.DataFrame:
    """The design points: a ``point`` column and one column per varied lever (applied values).

    Grid designs are the full factorial of the listed values, the first lever slowest. Sampled
    designs come from SALib in the order its analysers expect. An integer lever with range
    ``[low, high]`` is sampled on ``[low, high + 1]`` and rounded down (``high + 1`` itself,
    which Morris grids reach, maps to ``high``), so every integer in the range is equally
    likely. With ``raw=True`` the unrounded sample is returned as well, in
    ``sample:<lever>`` columns (what SALib's analysers take as ``X``).
    """
    levers = spec.design.levers
    if not levers:
        return pd.DataFrame({"point": [0]})
    names = list(levers)
    if spec.design.method == "grid":
        rows = list(itertools.product(*(lever.values for lever in levers.values())))
        frame = pd.DataFrame(rows, columns=names)
        frame.insert(0, "point", np.arange(len(frame)))
        return frame
    sample = _raw_sample(spec)
    frame = pd.DataFrame({"point": np.arange(len(sample))})
    for j, name in enumerate(names):
        annotation = lever_field(name, "<design>")[2].annotation
        column = sample[:, j]
        if annotation is int:
            high = levers[name].high
            column = np.minimum(np.floor(column), math.floor(high)).astype(np.int64)
        frame[name] = column
    if raw:
        for j, name in enumerate(names):
            frame[f"sample:{name}"] = sample[:, j]
    return frame
