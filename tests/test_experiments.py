"""Experiments: seeds, common random numbers, statistics and results on disk."""

from __future__ import annotations

import json

import mesa
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import experiments
from sim.scenario.schema import Scenario

SMALL = Scenario.from_dict({"population": {"households": 60, "villages": 3}})


def test_replicate_seeds_are_spawned_deterministically_and_distinct():
    a = experiments.replicate_seeds(5, 20)
    assert a == experiments.replicate_seeds(5, 20)
    assert len(set(a)) == 20
    assert a[:5] == experiments.replicate_seeds(5, 5)  # spawning more keeps the first ones


def test_results_do_not_depend_on_the_number_of_workers():
    other = SMALL.with_overrides({"name": "pmg", "partnership.type": "pmg"})
    serial = experiments.run_comparison(
        [SMALL, other], replications=2, steps=5, root_seed=3, progress=False
    )
    pooled = experiments.run_comparison(
        [SMALL, other], replications=2, steps=5, root_seed=3, progress=False, workers=2
    )
    pd.testing.assert_frame_equal(serial, pooled)


def test_scenario_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        experiments.run_comparison([SMALL, SMALL], replications=1, steps=1, progress=False)


def test_finished_models_are_freed_despite_mesa_registry():
    """Mesa 3.3's ``Agent._ids`` held every model (mesa/mesa#3179); sim holds them weakly."""
    import gc
    import weakref

    from sim import PartnershipModel
    from sim.present.app import DashboardModel

    gc.collect()  # models of earlier tests that are already garbage
    before = len(mesa.Agent._ids)
    for seed in range(5):
        experiments.run_one(SMALL, 0, seed, 2)
    gc.collect()
    assert len(mesa.Agent._ids) == before
    model = PartnershipModel(SMALL, seed=3).run(2)
    assert model.households[4].unique_id == len(model.organizations) + 1  # Mesa's numbering
    dashboard = DashboardModel(households=40, compare="low trust")  # what a Reset builds
    refs = [weakref.ref(m) for m in (model, dashboard, dashboard.a, dashboard.b)]
    del model, dashboard
    gc.collect()
    assert [r() for r in refs] == [None] * 4
    assert len(mesa.Agent._ids) == before


def test_summarize_matches_the_t_interval_by_hand():
    df = pd.DataFrame(
        {
            "scenario": ["a"] * 4,
            "replicate": range(4),
            "step": [9] * 4,
            "welfare_mean": [0.1, 0.2, 0.4, 0.5],
        }
    )
    row = experiments.summarize(df).iloc[0]
    half = stats.t.ppf(0.975, 3) * np.std([0.1, 0.2, 0.4, 0.5], ddof=1) / 2
    assert row["mean"] == pytest.approx(0.3, abs=1e-15)
    assert row["ci_low"] == pytest.approx(0.3 - half, rel=1e-12)
    assert row["ci_high"] == pytest.approx(0.3 + half, rel=1e-12)


def test_paired_differences_pair_on_seed():
    df = pd.DataFrame(
        {
            "scenario": ["ref"] * 3 + ["x"] * 3,
            "replicate": [0, 1, 2] * 2,
            "seed": [11, 12, 13] * 2,
            "step": [4] * 6,
            "welfare_mean": [0.1, 0.5, 0.9, 0.2, 0.6, 1.0],
        }
    )
    row = experiments.paired_differences(df, "ref").iloc[0]
    assert row["mean_difference"] == pytest.approx(0.1, abs=1e-12)
    # identical paired differences: zero spread, a zero-width interval
    assert row["ci_low"] == pytest.approx(0.1, abs=1e-12) and row["ci_high"] == pytest.approx(
        0.1, abs=1e-12
    )
    with pytest.raises(ValueError, match="reference scenario 'nope'"):
        experiments.paired_differences(df, "nope")


def test_write_results_writes_manifest_last_and_leaves_no_temporary_files(tmp_path):
    df = experiments.run_comparison([SMALL], replications=1, steps=2, root_seed=1, progress=False)
    info = experiments.manifest([SMALL], replications=1, steps=2, root_seed=1, command=["test"])
    written = experiments.write_results(tmp_path, df, info, "parquet", {"s.csv": df.head(1)})
    assert [p.name for p in written] == [
        "timeseries.parquet",
        "s.csv",
        "data_dictionary.csv",
        "manifest.json",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["files"] == ["timeseries.parquet", "s.csv", "data_dictionary.csv"]
    assert manifest["scenarios"]["default"]["population"]["households"] == 60
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "timeseries.parquet"), df)


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        experiments.write_atomic(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
