"""Numerical soundness: extreme levers, tiny and large-ish populations, 10^4 steps.

Every run is checked with the invariants of ``tests/invariants.py`` (bounded quantities in
their bounds, no NaN or inf where a number is due, counts conserved).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.model import PartnershipModel
from sim.scenario.schema import lever_table
from sim.scenario.traits import SERVICES

from .invariants import check, counts, run_checked, trust_edges

# A numpy overflow or 0/0 is a finding, not noise: fail on it.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

SIZES = {"households", "villages", "ties_within", "representatives", "governments", "firms"}
SIZES |= {"ngos", "steps", "replications", "seed"}


def _extreme(which: str) -> dict:
    """Every lever that is not a size at its lower or upper bound (open bounds: the nearest
    float inside)."""
    levers = {}
    rows = lever_table()
    # A row of weights (preferences, requirements) must keep one positive entry: at the low
    # end its largest default stays.
    keep = {}
    for row in rows:
        if row["section"] in ("preferences", "requirements"):
            name = row["key"].rsplit("_", 1)[0] if row["section"] == "preferences" else None
            name = name or next(s for s in SERVICES if row["key"].startswith(f"{s}_"))
            best = keep.get((row["section"], name))
            if best is None or row["default"] > best["default"]:
                keep[(row["section"], name)] = row
    kept = {(r["section"], r["key"]) for r in keep.values()} if which == "low" else set()
    for row in rows:
        if row["key"] in SIZES or row["key"] in ("type", "map"):  # map: a path, not a number
            continue
        if isinstance(row["default"], str) or (row["section"], row["key"]) in kept:
            continue  # a named form (no bounds), or the entry that keeps a row positive
        default, b = row["default"], row["bounds"]
        if isinstance(default, tuple):
            levers[f"{row['section']}.{row['key']}"] = (0.0 if which == "low" else 100.0,) * 5
            continue
        if which == "low":
            value = b["ge"] if "ge" in b else math.nextafter(b["gt"], math.inf)
        else:
            value = b["le"] if "le" in b else math.nextafter(b["lt"], -math.inf)
        levers[f"{row['section']}.{row['key']}"] = value
    return levers


TINY = {"households": 12, "villages": 2, "governments": 1, "firms": 1, "ngos": 1}


@pytest.mark.parametrize("which", ["low", "high"])
@pytest.mark.parametrize("kind", ["msp", "none"])
def test_all_levers_at_a_bound_stay_bounded_and_finite(which, kind):
    levers = {**_extreme(which), **TINY, "partnership.type": kind}
    # At the upper bound steps_per_year is 366 and evaluation_interval 100 000: both legal.
    model = PartnershipModel(seed=11, **levers)
    path = run_checked(model, 400)
    assert all(0.0 <= w <= 1.0 for w in path)


def test_no_organizations_at_all_runs_soundly():
    model = PartnershipModel(
        seed=2, households=6, villages=1, governments=0, firms=0, ngos=0, **{"type": "none"}
    )
    path = run_checked(model, 300)
    # Nothing delivers services, so they only depreciate (maintenance offsets part of it).
    assert path[-1] < path[0]
    assert math.isnan(model.metrics["trust_community"])  # nobody to trust: undefined, not 0


@pytest.mark.parametrize("households", [2, 3, 5])
def test_the_tiniest_populations_are_sound(households):
    model = PartnershipModel(seed=5, households=households, villages=1)
    run_checked(model, 200)
    # The poorest quintile is never empty: at least the poorest household.
    assert model.hh.poorest_quintile.sum() == max(1, households // 5)


def test_a_large_ish_population_is_sound():
    model = PartnershipModel(seed=7, households=20_000, villages=40)
    run_checked(model, 3)
    assert counts(model)[0] == 20_000


def test_ten_thousand_steps_settle_and_stay_sound():
    """A tiny multi-stakeholder partnership for 10^4 monthly steps.

    State invariants are checked every 100 steps and at the end; every recorded outcome of
    every step is checked in the tidy table. Welfare settles: it rises over the first years,
    then its range over the last 1000 steps is small (measured 0.018 with 10 households,
    seed 3: audits, evaluations and fines come in lumps, which ten households feel) and its
    mean does not drift between steps 5000-6000 and the last 1000.
    """
    model = PartnershipModel(seed=3, households=10, villages=1, governments=1, firms=1, ngos=1)
    expected, edges = counts(model), trust_edges(model)
    for _ in range(100):
        model.run(100)
        check(model, expected, edges)
    df = model.results()
    assert len(df) == 10_001
    w = df["welfare_mean"].to_numpy()
    assert np.isfinite(w).all() and ((w >= 0) & (w <= 1)).all()
    for column in ("welfare_q1", "mpi_m0", "leakage", "trust_community", "welfare_gini"):
        values = df[column].to_numpy()
        assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all(), column
    assert np.isfinite(df["income_mean"]).all() and (df["income_mean"] > 0).all()
    last = w[-1000:]
    assert np.ptp(last) < 0.03
    assert abs(last.mean() - w[5000:6000].mean()) < 0.01
    assert last.mean() > w[0]  # the partnership raised welfare before it settled


def test_the_invariant_check_can_fail():
    """The checker is not vacuous: it catches each kind of violation it claims to."""
    model = PartnershipModel(seed=1, households=10, villages=1)
    expected, edges = counts(model), trust_edges(model)
    check(model, expected, edges)
    for corrupt in (
        lambda m: m.hh.stock.__setitem__((0, 0), 1.5),
        lambda m: m.hh.trust.__setitem__((0, 0), float("nan")),
        lambda m: m.metrics.__setitem__("leakage", float("inf")),
        lambda m: m.metrics.__setitem__("welfare_gini", -0.1),
        lambda m: m.graph.add_node("stray"),
        # a truster that holds trust on this tie (a representative's tie holds only the org's)
        lambda m: m.graph.edges[edges[0]]["trust"].update(
            {next(iter(m.graph.edges[edges[0]]["trust"])): 1.2}
        ),
    ):
        broken = PartnershipModel(seed=1, households=10, villages=1)
        corrupt(broken)
        with pytest.raises(AssertionError):
            check(broken, expected, edges)
