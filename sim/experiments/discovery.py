"""Scenario discovery: the conditions under which runs fail, as PRIM boxes.

Given the inputs of many runs (levers, posterior draws: one row per run) and which runs count as
failures (a partnership active but worse than none, a collapse after external funding ends, the
poorest fifth worse off), PRIM (the Patient Rule Induction Method, Friedman & Fisher 1999, as
used for scenario discovery by Bryant & Lempert 2010) peels the input space down to a box of
lever ranges where failures are concentrated. A box is judged by its **coverage** (the share of
all failures that fall inside it) and its **density** (the share of the runs inside it that
fail); PRIM trades one against the other along its peeling trajectory.

The peeling itself is EMA Workbench's (``ema_workbench.analysis.prim``, a dependency), not
reimplemented here; this module chooses a box on the trajectory, names the levers it
restricts and returns plain numbers, so the presentation floor can tabulate and plot them.

Example:
    A synthetic case whose failures are exactly the box ``a > 0.6`` and ``b < 0.3``:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> x = pd.DataFrame(rng.uniform(size=(2000, 3)), columns=["a", "b", "c"])
    >>> failed = ((x.a > 0.6) & (x.b < 0.3)).to_numpy()
    >>> box = prim_box(x, failed, threshold=0.9)
    >>> sorted(box.restricted), box.density >= 0.9, box.coverage >= 0.9
    (['a', 'b'], True, True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import UserError

__all__ = ["DiscoveryError", "PrimBox", "prim_box"]


class DiscoveryError(UserError):
    """Scenario discovery that cannot run as asked (bad inputs, a broken install)."""


@dataclass(frozen=True)
class PrimBox:
    """A box of input ranges where failures concentrate, and how good a box it is.

    Attributes:
        limits: for every restricted input, its (low, high) inside the box.
        restricted: the inputs the box restricts, in the order of the inputs.
        coverage: share of all failures inside the box.
        density: share of the runs inside the box that fail.
        mass: share of all runs inside the box.
        runs: number of runs inside the box.
        base_rate: share of all runs that fail (the density of the whole space).
        trajectory: PRIM's peeling trajectory (coverage, density, mass, runs inside ``n`` and
            restricted dimensions ``res_dim``, one row per step).
        step: the trajectory step the box was chosen at.
    """

    limits: dict[str, tuple[float, float]]
    restricted: tuple[str, ...]
    coverage: float
    density: float
    mass: float
    runs: int
    base_rate: float
    trajectory: pd.DataFrame
    step: int


def _prim_module():
    # Deferred: importing EMA Workbench takes seconds (it loads its whole framework).
    try:
        with warnings.catch_warnings():  # EMA Workbench warns about optional back ends
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise DiscoveryError(
            f"scenario discovery needs EMA Workbench's PRIM, a dependency of kemitraan that "
            f"could not be imported ({exc}): reinstall with pip install 'ema_workbench>=2.5,<3'"
        ) from None
    return prim


def _checked(inputs: pd.DataFrame, failed) -> np.ndarray:
    if not isinstance(inputs, pd.DataFrame) or inputs.empty:
        raise DiscoveryError("inputs: a non-empty table with one row per run is needed")
    y = np.asarray(failed)
    if y.shape != (len(inputs),):
        raise DiscoveryError(
            f"failed: one value per run is needed ({len(inputs)} runs, got shape {y.shape})"
        )
    if y.dtype != bool:
        if not np.isin(y, (0, 1)).all():
            raise DiscoveryError("failed: True/False (or 1/0) per run is needed")
        y = y.astype(bool)
    if not y.any():
        raise DiscoveryError("failed: no run failed, so there is nothing to discover")
    numeric = inputs.select_dtypes("number")
    if numeric.shape[1] != inputs.shape[1]:
        other = [c for c in inputs.columns if c not in numeric.columns]
        raise DiscoveryError(f"inputs: numeric columns only; not numeric: {other}")
    if not np.isfinite(numeric.to_numpy(dtype=float)).all():
        raise DiscoveryError("inputs: NaN or infinite values")
    return y


def prim_box(
    inputs: pd.DataFrame,
    failed,
    *,
    threshold: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> PrimBox:
    """The PRIM box of ``inputs`` where the runs flagged in ``failed`` concentrate.

    PRIM peels a share ``peel_alpha`` of the runs off one side of one input at a time, always
    the peel that raises the density most, until the box holds less than ``mass_min`` of the
    runs. Of the boxes on that trajectory, the one with the highest coverage among those whose
    density reaches ``threshold`` is returned (the densest one if none reaches it).

    Args:
        inputs: one row per run, one numeric column per input (lever, posterior parameter).
        failed: one boolean per run, True for a failure of the kind being explained.
        threshold: the density a box should reach.
        peel_alpha: share of the runs peeled off at each step.
        mass_min: the smallest share of runs a box may hold.

    Raises:
        DiscoveryError: malformed inputs, no failure at all, or EMA Workbench missing.
    """
    y = _checked(inputs, failed)
    for name, value, low, high in (
        ("threshold", threshold, 0.0, 1.0),
        ("peel_alpha", peel_alpha, 0.0, 0.5),
        ("mass_min", mass_min, 0.0, 1.0),
    ):
        if not low < value <= high:
            raise DiscoveryError(f"{name} = {value!r}: allowed {low} < {name} <= {high}")
    prim = _prim_module()
    x = inputs.astype(float).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(
            x, y, threshold=threshold, peel_alpha=peel_alpha, mass_min=mass_min
        ).find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass", "n", "res_dim"]].copy()
    dense = trajectory[trajectory["density"] >= threshold]
    if dense.empty:
        step = int(trajectory["density"].idxmax())
    else:
        best = dense[dense["coverage"] == dense["coverage"].max()]
        step = int(best["density"].idxmax())
    first, chosen = box.box_lims[0], box.box_lims[step]
    restricted = tuple(
        c for c in x.columns if not np.allclose(first[c].to_numpy(), chosen[c].to_numpy())
    )
    row = trajectory.loc[step]
    return PrimBox(
        limits={c: (float(chosen[c].iloc[0]), float(chosen[c].iloc[1])) for c in restricted},
        restricted=restricted,
        coverage=float(row["coverage"]),
        density=float(row["density"]),
        mass=float(row["mass"]),
        runs=int(row["n"]),
        base_rate=float(y.mean()),
        trajectory=trajectory.reset_index(drop=True),
        step=step,
    )
