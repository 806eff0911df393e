"""Sweep analysis: summaries, paired differences and sensitivity indices against known answers."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from SALib.analyze import morris as salib_morris
from SALib.analyze import sobol as salib_sobol
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from SALib.test_functions import Ishigami
from scipy import stats

from sim.experiments import analysis, sweep
from sim.experiments.store import read_table
from sim.present import cli, sweep_report

PI = np.pi
A, B = 7.0, 0.1  # SALib's Ishigami constants


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Analytic S1 and ST of the Ishigami function (Ishigami & Homma 1990; Sobol' 1999)."""
    v1 = 0.5 * (1 + B * PI**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = 8 * B**2 * PI**8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_sobol_wrapper_recovers_the_analytic_ishigami_indices_within_its_ci():
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-PI, PI]] * 3}
    x = sobol_sample.sample(problem, 4096, calc_second_order=False, seed=11)
    idx = analysis.sobol_indices(problem, Ishigami.evaluate(x), seed=3)
    s1, st = ishigami_indices()
    assert s1.round(4).tolist() == [0.3139, 0.4424, 0.0]
    assert st.round(4).tolist() == [0.5576, 0.4424, 0.2437]
    # the 95% bootstrap half-widths are small here (N = 4096), so these checks are sharp
    assert (idx["S1_conf"] < 0.05).all() and (idx["ST_conf"] < 0.05).all()
    assert (np.abs(idx["S1"] - s1) <= idx["S1_conf"]).all(), idx
    assert (np.abs(idx["ST"] - st) <= idx["ST_conf"]).all(), idx


def test_morris_wrapper_on_a_linear_function_gives_exact_effects():
    """y = 2 a - 5 b + 0 c: every elementary effect is the slope times the lever's range.

    SALib measures effects on the unit hypercube: a step over b's whole range [0, 2] moves y by
    -10. A linear function has no spread of effects (sigma = 0).
    """
    problem = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 2], [0, 1]]}
    x = morris_sample.sample(problem, 20, num_levels=4, seed=5)
    idx = analysis.morris_indices(problem, x, 2 * x[:, 0] - 5 * x[:, 1] + 0 * x[:, 2], levels=4)
    np.testing.assert_allclose(idx["mu"], [2, -10, 0], atol=1e-12)
    np.testing.assert_allclose(idx["mu_star"], [2, 10, 0], atol=1e-12)
    np.testing.assert_allclose(idx["sigma"], [0, 0, 0], atol=1e-12)


BASE = {
    "replications": 3,
    "seed": 4,
    "steps": 3,
    "outcomes": ["welfare_mean", "trust_partners"],
    "set": {"population.households": 30, "population.villages": 3},
}


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "out"
    data = dict(
        BASE,
        scenarios=["baseline", "msp"],
        reference="baseline",
        design={"method": "grid", "levers": {"partnership.commitment": {"values": [0.3, 0.9]}}},
    )
    sweep.run_sweep(sweep.from_dict(data, "grid"), out, engine="serial", progress=False)
    return out


def test_summary_matches_hand_computed_statistics(grid_sweep):
    table = read_table(grid_sweep)
    summary = analysis.summarize_steps(grid_sweep)
    row = summary.query(
        "scenario == 'msp' and point == 1 and step == 3 and outcome == 'welfare_mean'"
    )
    values = table.query("scenario == 'msp' and point == 1 and step == 3")["welfare_mean"]
    assert len(row) == 1 and len(values) == 3
    row = row.iloc[0]
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert row["median"] == pytest.approx(values.median(), rel=1e-12)
    assert row["q05"] == pytest.approx(np.quantile(values, 0.05), rel=1e-12)
    assert row["ci_low"] == pytest.approx(values.mean() - half, rel=1e-12)
    assert row["q05"] <= row["q25"] <= row["median"] <= row["q75"] <= row["q95"]
    # the partners' trust is undefined without a partnership: no value, not a zero
    base = summary.query("scenario == 'baseline' and outcome == 'trust_partners'")
    assert (base["n"] == 0).all() and base["mean"].isna().all()
    pooled = analysis.summarize_steps(grid_sweep, pooled=True)
    assert pooled.query("step == 3 and outcome == 'welfare_mean'")["n"].tolist() == [6, 6]


def test_paired_differences_match_on_point_and_replicate(grid_sweep):
    diffs = analysis.paired_differences_by_point(grid_sweep, "baseline", ["welfare_mean"])
    table = read_table(grid_sweep).query("step == 3 and point == 0")
    msp = table[table["scenario"] == "msp"].set_index("replicate")["welfare_mean"]
    base = table[table["scenario"] == "baseline"].set_index("replicate")["welfare_mean"]
    row = diffs.query("point == 0 and step == 3").iloc[0]
    assert row["scenario"] == "msp" and row["n"] == 3
    assert row["mean"] == pytest.approx((msp - base).mean(), rel=1e-12)
    assert row["sd"] == pytest.approx((msp - base).std(ddof=1), rel=1e-12)
    # step 0: the same seed gives the same households in both scenarios, difference 0
    assert diffs.query("step == 0")["mean"].abs().max() == 0.0


def test_analyze_command_writes_tables_and_figures(grid_sweep, capsys):
    assert cli.main(["analyze", str(grid_sweep)]) == 0
    folder = grid_sweep / "analysis"
    names = {p.name for p in folder.iterdir()}
    assert {
        "summary_by_step.csv",
        "summary_pooled.csv",
        "paired_differences.csv",
        "failed_runs.csv",
        "bands_welfare_mean.png",
        "bands_trust_partners.png",
        "paired_differences.png",
    } <= names
    by_step = pd.read_csv(folder / "summary_by_step.csv")
    assert set(by_step["partnership.commitment"]) == {0.3, 0.9}
    assert Image.open(folder / "bands_welfare_mean.png").size[0] > 300
    assert "summary_by_step.csv" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_of_a_sweep_equals_salib_on_the_stored_horizon_means(tmp_path, method):
    """The wiring: Y in the design's order, X the raw sample, one index row per lever."""
    levers = {
        "factors.communication": {"low": 0.0, "high": 1.0},
        "factors.evaluation_interval": {"low": 0, "high": 12},
    }
    data = dict(
        BASE,
        replications=2,
        scenarios=["msp"],
        design={"method": method, "samples": 4, "levers": levers},
    )
    out = tmp_path / "out"
    s = sweep.from_dict(data, method)
    sweep.run_sweep(s, out, engine="serial", progress=False)
    indices, notes = analysis.sensitivity(out)
    assert notes == []
    table = read_table(out).query("step == 3")
    y = table.groupby("point")["welfare_mean"].mean().to_numpy()  # mean over replicates
    problem = sweep.salib_problem(s.spec)
    assert problem["bounds"] == [[0.0, 1.0], [0, 13]]
    got = indices.query("outcome == 'welfare_mean'")
    assert got["lever"].tolist() == list(levers)
    if method == "sobol":
        ref = salib_sobol.analyze(
            problem, y, calc_second_order=False, seed=s.spec.seed, num_resamples=1000
        )
        np.testing.assert_allclose(got["ST"], ref["ST"], rtol=1e-12)
        np.testing.assert_allclose(got["S1_conf"], ref["S1_conf"], rtol=1e-12)
    else:
        x = sweep.design_matrix(s.spec, raw=True)[[f"sample:{k}" for k in levers]].to_numpy()
        ref = salib_morris.analyze(
            problem, x, y, num_levels=4, seed=s.spec.seed, num_resamples=1000
        )
        np.testing.assert_allclose(got["mu_star"], ref["mu_star"], rtol=1e-12)
        np.testing.assert_allclose(got["sigma"], ref["sigma"], rtol=1e-12)
    sweep_report.analyze(out)
    assert (out / "analysis" / f"{method}_indices.csv").exists()
    assert Image.open(out / "analysis" / "sensitivity_msp.png").size[0] > 300


def test_analyze_says_when_the_sweep_is_incomplete(grid_sweep, tmp_path, capsys):
    assert cli.main(["analyze", str(grid_sweep), "--no-figures"]) == 0
    assert "incomplete" not in capsys.readouterr().err  # every run is stored
    partial = tmp_path / "partial"
    shutil.copytree(grid_sweep, partial)
    parts = sorted((partial / "runs").glob("*.parquet"))
    total = len(parts)
    for part in parts[:2]:  # as if the sweep had been killed two runs before the end
        part.unlink()
    assert cli.main(["analyze", str(partial), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert (
        f"note: the sweep is incomplete: {total - 2} of {total} runs are stored (0 failed)" in err
    )
    assert f"--out {partial}" in err
    summary = pd.read_csv(partial / "analysis" / "summary_pooled.csv")
    assert summary["n"].min() < 3 <= summary["n"].max()  # the missing replicates really are
