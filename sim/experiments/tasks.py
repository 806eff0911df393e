"""What one run is asked to be: :class:`RunTask`, and the replicate seeds of a set of runs.

A task is small and picklable (it travels to pool and Dask workers): the resolved scenario as
a dictionary, the replicate and its seed, the steps, and the model class to build (a
:class:`~sim.model.PartnershipModel` or a subclass, optionally with keyword arguments through
:func:`functools.partial`). Sweeps add their keys (run id, design point, lever values) and ask
for only some outcomes on only some steps.

Example:
    >>> replicate_seeds(1, 2) == replicate_seeds(1, 2)
    True
    >>> len(set(replicate_seeds(1, 50)))
    50
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RunTask", "replicate_seeds"]


def replicate_seeds(root_seed: int, replications: int) -> list[int]:
    """Independent replicate seeds spawned from ``root_seed`` (``SeedSequence.spawn``).

    Every scenario (arm, design point) of an experiment uses the same list: common random
    numbers.
    """
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


@dataclass(frozen=True)
class RunTask:
    """Everything one run needs; small and picklable.

    Attributes:
        run_id: identifies the run (a sweep's content hash, or a position in a batch).
        config: the resolved scenario (``Scenario.to_dict()``).
        scenario: the scenario's name.
        point: the design point (sweeps; 0 otherwise).
        replicate: the replicate number.
        seed: the replicate's seed.
        steps: steps to run (``None``: the scenario's own).
        levers: the design point's lever values (sweeps: added as columns).
        outcomes: keep only these outcomes, as float64, and encode the rows as Parquet bytes
            (sweeps); ``None`` keeps the model's whole table as a DataFrame.
        recorded_steps: compute outcomes only on these steps (``None``: every step).
        model: the model class to build, called as ``model(scenario, seed=, replicate=)``
            (``None``: :class:`~sim.model.PartnershipModel`).
    """

    run_id: str
    config: dict[str, Any]
    scenario: str
    point: int
    replicate: int
    seed: int
    steps: int | None
    levers: dict[str, Any] = field(default_factory=dict)
    outcomes: tuple[str, ...] | None = None
    recorded_steps: tuple[int, ...] | None = None
    model: Callable[..., Any] | None = None
