"""Invariants every model state must satisfy, whatever the levers (used by fuzz and soundness).

``check(model, counts)`` raises ``AssertionError`` naming the quantity and step at the first
violation: a bounded quantity out of its bounds, a NaN or inf where a number is due, or a
count (households, organizations, graph nodes) that changed.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.outcomes import DECLARED, OUTCOMES

BOUNDS = {o.name: o.bounds for o in DECLARED.values()}
"""The range every finite value of each outcome lies in, as declared in sim.scenario.outcomes."""

SHARES = {name for name, bounds in BOUNDS.items() if bounds == (0.0, 1.0)}
"""Outcomes that are shares, indices or probabilities: always in [0, 1]."""

UNDEFINED_WITHOUT_PARTNERSHIP = {
    o.name for o in DECLARED.values() if o.undefined_without_partnership
}
"""NaN by definition (docs/ODD.md) when no partnership is active."""


def counts(model) -> tuple[int, int, int]:
    """What must never change during a run."""
    return len(model.hh), len(model.organizations), model.graph.number_of_nodes()


def trust_edges(model) -> list[tuple[object, object]]:
    """The graph's edges that carry trust (organizations with each other and representatives)."""
    return [(a, b) for a, b, d in model.graph.edges(data=True) if "trust" in d]


def _in_unit(name: str, values: np.ndarray, step: int) -> None:
    values = np.asarray(values, dtype=float)
    assert np.isfinite(values).all(), f"step {step}: {name} has NaN or inf"
    assert values.size == 0 or (values.min() >= 0.0 and values.max() <= 1.0), (
        f"step {step}: {name} outside [0, 1]: [{values.min()}, {values.max()}]"
    )


def check(model, expected_counts, edges) -> None:
    """Assert every invariant of ``model`` at its current step."""
    step = int(model.steps)
    assert counts(model) == expected_counts, f"step {step}: counts changed {counts(model)}"
    hh = model.hh
    _in_unit("household stocks", hh.stock, step)
    _in_unit("household trust", hh.trust, step)
    _in_unit("household voice", hh.voice, step)
    assert np.isfinite(hh.income).all() and (hh.income > 0).all(), f"step {step}: income"
    _in_unit("household welfare", hh.welfare(), step)
    for a, b in edges:
        _in_unit(f"trust on edge {a}-{b}", list(model.graph.edges[a, b]["trust"].values()), step)
    p = model.active_partnership
    if p is not None:
        for name in ("views", "belief", "contribution", "promised", "weights"):
            _in_unit(f"partnership {name}", getattr(p, name), step)
        assert math.isclose(float(p.weights.sum()), 1.0, rel_tol=1e-9), f"step {step}: weights"
        assert np.isfinite(p.net_benefit).all() and np.isfinite(p.unfairness).all()
        assert np.isfinite(p.effort).all() and (p.effort >= 0).all(), f"step {step}: effort"
    no_orgs = len(model.organizations) == 0
    for name in OUTCOMES:
        value = model.metrics[name]
        undefined = (p is None and name in UNDEFINED_WITHOUT_PARTNERSHIP) or (
            no_orgs and name in ("trust_community", "trust_spread")
        )
        if undefined:
            assert math.isnan(value), f"step {step}: {name} = {value} with nothing to measure"
            continue
        assert math.isfinite(value), f"step {step}: {name} = {value}"
        low, high = BOUNDS[name]
        assert low <= value <= high, f"step {step}: {name} = {value} outside [{low}, {high}]"


def run_checked(model, steps: int) -> list[float]:
    """Run ``steps`` steps checking every invariant after each; return the welfare path."""
    expected, edges = counts(model), trust_edges(model)
    check(model, expected, edges)
    path = [model.metrics["welfare_mean"]]
    for _ in range(steps):
        model.step()
        check(model, expected, edges)
        path.append(model.metrics["welfare_mean"])
    return path
