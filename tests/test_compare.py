"""Comparing designs: the paired statistics against a hand computation, and the report."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.experiments.compare import (
    HORIZON_OUTCOMES,
    funding_end,
    incremental_cost,
    paired_table,
    per_replicate,
    population_changes,
)
from sim.experiments.results import is_complete
from sim.model.model import OUTCOMES
from sim.scenario import load_scenario

from .conftest import ROOT

POLICIES = ROOT / "scenarios" / "policies"
T975_DF2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom


def _frame() -> pd.DataFrame:
    """Two designs, three paired replicates, steps 0..4, welfare chosen for easy arithmetic."""
    welfare = {
        # step:      0     1     2     3     4
        ("sq", 0): [0.30, 0.35, 0.38, 0.39, 0.40],
        ("sq", 1): [0.30, 0.36, 0.39, 0.41, 0.42],
        ("sq", 2): [0.30, 0.37, 0.40, 0.41, 0.41],
        ("d", 0): [0.30, 0.40, 0.44, 0.44, 0.45],
        ("d", 1): [0.30, 0.41, 0.45, 0.45, 0.46],
        ("d", 2): [0.30, 0.42, 0.46, 0.46, 0.47],
    }
    rows = []
    for (name, rep), series in welfare.items():
        for step, w in enumerate(series):
            row = dict.fromkeys(OUTCOMES, 1.0)
            row.update(scenario=name, replicate=rep, seed=100 + rep, step=step, welfare_mean=w)
            row["spent"] = 0.0 if step == 0 else (1.0 if name == "sq" else 0.5)
            rows.append(row)
    return pd.DataFrame(rows)


def test_paired_differences_match_a_hand_computation():
    table, lag = per_replicate(_frame(), end=2, lag=2)
    assert lag == 2
    diffs = paired_table(table, "sq").set_index("measure")
    assert set(diffs["scenario"]) == {"d"}

    # Horizon welfare: differences 0.05, 0.04, 0.06 -> mean 0.05, sd 0.01.
    w = diffs.loc["welfare_mean"]
    half = T975_DF2 * 0.01 / np.sqrt(3)
    assert w["n"] == 3
    assert w["mean_difference"] == pytest.approx(0.05, abs=1e-12)
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((0.05 - half, 0.05 + half), abs=1e-12)
    assert w["verdict"] == "better"

    # Welfare gain retained 2 steps after funding ends at step 2: (W4 - W0) / (W2 - W0).
    sq = [0.10 / 0.08, 0.12 / 0.09, 0.11 / 0.10]
    d = [0.15 / 0.14, 0.16 / 0.15, 0.17 / 0.16]
    delta = np.subtract(d, sq)
    r = diffs.loc["welfare_retained"]
    # (decimal welfare values are not exact in binary: relative tolerance 1e-9)
    assert r["mean_difference"] == pytest.approx(delta.mean(), rel=1e-9)
    half = T975_DF2 * delta.std(ddof=1) / np.sqrt(3)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * half, rel=1e-9)
    assert diffs.loc["welfare_change_after_funding", "mean_difference"] == pytest.approx(
        np.mean([0.01 - 0.02, 0.01 - 0.03, 0.01 - 0.01]), abs=1e-12
    )

    # Resources: 4 steps x 1.0 vs 4 steps x 0.5; cost per unit of welfare gained.
    assert diffs.loc["resources_spent", "mean_difference"] == pytest.approx(-2.0)
    cost = np.subtract([2 / 0.15, 2 / 0.16, 2 / 0.17], [4 / 0.10, 4 / 0.12, 4 / 0.11])
    assert diffs.loc["cost_per_welfare", "mean_difference"] == pytest.approx(cost.mean())
    assert diffs.loc["cost_per_welfare", "verdict"] == "better"  # lower cost is better

    # Identical outcomes: zero difference, no clear verdict.
    same = diffs.loc["partnership_active"]
    assert (same["mean_difference"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    assert same["verdict"] == "no clear difference"

    inc = incremental_cost(paired_table(table, "sq")).iloc[0]
    assert inc["resources_per_extra_welfare"] == pytest.approx(-2.0 / 0.05)
    assert inc["note"].startswith("dominates")


def test_no_funding_end_leaves_sustainability_out_and_lag_is_shortened_to_fit():
    table, lag = per_replicate(_frame(), end=None)
    assert lag is None and table["welfare_retained"].isna().all()
    assert "welfare_retained" not in set(paired_table(table, "sq")["measure"])
    _, lag = per_replicate(_frame(), end=3, lag=24)
    assert lag == 1


def test_funding_end_is_read_from_the_designs():
    assert funding_end(load_scenario(POLICIES / "funding_exit.toml")) == 36
    assert funding_end(load_scenario(POLICIES / "forum_with_exit.toml")) == 36
    assert funding_end(load_scenario(POLICIES / "status_quo.toml")) is None
    assert set(HORIZON_OUTCOMES) <= set(OUTCOMES)


def cli(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), "compare", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


SMALL = ["--replications", "3", "--steps", "40", "--no-progress", "--retention-lag", "3",
         "--set", "population.households=60", "--set", "population.villages=3"]  # fmt: skip


def test_compare_end_to_end_writes_a_self_contained_report(tmp_path):
    design = tmp_path / "exit.toml"
    design.write_text(
        f'extends = "{POLICIES / "funding_exit.toml"}"\nname = "exit <script>alert(1)</script>"\n'
    )
    out = tmp_path / "out"
    result = cli(str(POLICIES / "status_quo.toml"), str(design), *SMALL, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "population differs" not in result.stderr  # same district: no note
    files = {p.name for p in out.iterdir()}
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == files - {"manifest.json"} == set(manifest["checksums"])
    assert is_complete(out)  # the manifest, written last, lists every file with its checksum
    assert manifest["comparison"] == {
        "status_quo": "status_quo",
        "funding_end": 36,
        "retention_lag": 3,
    }
    diffs = pd.read_csv(out / "differences.csv")
    assert diffs["n"].eq(3).all()
    assert "welfare_retained" in set(diffs["measure"])
    events = pd.read_csv(out / "events.csv")
    # the donor exit fires at step 37 in each of the three replicates of the design only
    assert events[["step", "intervention"]].drop_duplicates().values.tolist() == [
        [37, "donor exit"]
    ]
    assert len(events) == 3
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts.groupby("scenario")["seed"].apply(lambda s: tuple(sorted(set(s)))).nunique() == 1

    page = (out / "report.html").read_text()
    # self-contained: no external resource of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link" not in page and "<script" not in page
    assert page.count('src="data:image/png;base64,') == 2
    # user strings are escaped
    assert "exit &lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the numbers of the table are in the report
    w = diffs[diffs["measure"] == "welfare_mean"].iloc[0]
    assert f"{w['mean_difference']:+.4f}" in page
    assert f"[{w['ci_low']:+.4f}, {w['ci_high']:+.4f}]" in page
    assert "&quot;audit_probability&quot;: 0.04" in page  # the resolved configs
    assert "replicate_seeds" in page  # the manifest
    summary = (out / "summary.md").read_text()
    assert f"{w['mean_difference']:+.4f}" in summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status_quo.toml"], "needs a status quo and at least one design"),
        (["status_quo.toml", "funding_exit.toml", "--steps", "30"],
         "at = 37 is beyond the run's horizon"),
        (["status_quo.toml", "funding_exit.toml", "--steps", "30", "--funding-end", "40"],
         "at = 37 is beyond"),
        (["status_quo.toml", "status_quo.toml"], "design names must be unique"),
    ],
)  # fmt: skip
def test_compare_refuses_bad_requests_with_exit_code_2(tmp_path, args, message):
    paths = [str(POLICIES / a) if a.endswith(".toml") else a for a in args]
    result = cli(*paths, "--out", str(tmp_path / "out"), "--no-progress")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_design_on_another_population_is_named_in_a_note(tmp_path):
    status_quo = load_scenario(POLICIES / "status_quo.toml")
    assert population_changes(status_quo, load_scenario(POLICIES / "funding_exit.toml")) == ""
    other = status_quo.with_overrides({"population.income_sigma": 0.9, "population.villages": 5})
    changed = population_changes(status_quo, other)
    assert changed == (  # in the schema's order
        f"population.villages {status_quo.population.villages} -> 5; "
        f"population.income_sigma {status_quo.population.income_sigma} -> 0.9"
    )
    design = tmp_path / "richer.toml"
    design.write_text(
        f'extends = "{POLICIES / "status_quo.toml"}"\nname = "richer"\n'
        "[population]\nincome_sigma = 0.9\n"
    )
    out = tmp_path / "out"
    result = cli(str(POLICIES / "status_quo.toml"), str(design), *SMALL, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"note: {design}: its population differs from the status quo's" in result.stderr
    assert "population.income_sigma" in result.stderr and "-> 0.9" in result.stderr
    assert is_complete(out)
