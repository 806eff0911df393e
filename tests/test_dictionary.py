"""The data dictionary beside every results folder describes every column of every table.

Each command (run, compare, sweep, analyze) writes ``data_dictionary.csv``; every column of
every table in the folder must have a row there, with a meaning (none "not documented"), and
the dtype the file stores. Also: the manifest's ``steps`` is the number of steps actually run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sim.experiments.dictionary import UNDOCUMENTED, data_dictionary, describe
from sim.present import cli
from sim.scenario.outcomes import DECLARED

from .conftest import ROOT

TINY = ["--set", "population.households=60", "--replications", "2", "--no-progress"]
POLICIES = ROOT / "scenarios" / "policies"


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted(folder.glob("*.csv")):
        if path.name != "data_dictionary.csv":
            out[path.name] = pd.read_csv(path)
    for path in sorted(folder.glob("*.parquet")):
        out[path.name] = pd.read_parquet(path)
    return out


def _check(folder: Path, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    dictionary = pd.read_csv(folder / "data_dictionary.csv", keep_default_na=False)
    assert list(dictionary.columns) == ["file", "column", "meaning", "unit", "range", "dtype"]
    assert tables, folder
    for name, table in tables.items():
        described = dictionary[dictionary["file"] == name]
        assert list(described["column"]) == [str(c) for c in table.columns], name
    assert UNDOCUMENTED not in set(dictionary["meaning"]), dictionary[
        dictionary["meaning"] == UNDOCUMENTED
    ]
    assert (dictionary["meaning"].str.len() > 5).all()
    return dictionary


def test_run_folder_has_a_dictionary_of_every_table_and_manifest_counts_steps(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    # No --steps: the scenario's own run.steps (set to 4) is what runs and what is recorded.
    code = cli.main(
        ["--scenario", str(ROOT / "scenarios" / "msp.toml"), "--set", "run.steps=4",
         *TINY, "--out", str(out), "--no-figure"]
    )  # fmt: skip
    assert code == 0
    info = json.loads((out / "manifest.json").read_text())
    assert info["steps"] == 4
    assert "data_dictionary.csv" in info["files"]
    tables = _tables(out)
    assert set(tables) == {"timeseries.csv", "summary.csv"}
    d = _check(out, tables).set_index(["file", "column"])
    row = d.loc[("timeseries.csv", "partnership_active")]
    assert (row["dtype"], row["range"]) == ("bool", "[0, 1]")
    assert d.loc[("timeseries.csv", "partnership_size"), "dtype"] == "int64"
    assert d.loc[("timeseries.csv", "income_mean"), "range"] == "[0, inf)"
    assert d.loc[("timeseries.csv", "step"), "unit"] == "months"
    assert "NaN when no partnership" in d.loc[("timeseries.csv", "trust_partners"), "meaning"]
    # The table as written reads back with the dtypes the dictionary gives.
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts["partnership_active"].dtype == bool and ts["partnership_size"].dtype == np.int64


def test_manifest_steps_differ_per_scenario_when_the_scenarios_do(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    base = (ROOT / "scenarios" / "baseline.toml").resolve().as_posix()
    msp = (ROOT / "scenarios" / "msp.toml").resolve().as_posix()
    a.write_text(f'name = "a"\nextends = "{base}"\n[run]\nsteps = 3\n')
    b.write_text(f'name = "b"\nextends = "{msp}"\n[run]\nsteps = 5\n')
    out = tmp_path / "run"
    assert cli.main(["--scenario", str(a), str(b), *TINY, "--out", str(out), "--no-figure"]) == 0
    assert json.loads((out / "manifest.json").read_text())["steps"] == {"a": 3, "b": 5}


def test_compare_folder_has_a_dictionary_of_every_table(tmp_path):
    out = tmp_path / "cmp"
    code = cli.main(
        ["compare", str(POLICIES / "status_quo.toml"), str(POLICIES / "community_seat.toml"),
         "--steps", "5", *TINY, "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    tables = _tables(out)
    assert {"per_replicate.csv", "differences.csv", "incremental.csv", "events.csv"} <= set(tables)
    d = _check(out, tables).set_index(["file", "column"])
    assert d.loc[("per_replicate.csv", "resources_spent"), "unit"] == "welfare units per household"
    assert json.loads((out / "manifest.json").read_text())["steps"] == 5


@pytest.mark.parametrize("method", ["grid", "morris"])
def test_sweep_and_analysis_folders_have_a_dictionary_of_every_table(tmp_path, method):
    design = (
        '[design]\nmethod = "grid"\n[design.levers]\n'
        '"factors.communication" = { values = [0.3, 0.8] }\n'
        if method == "grid"
        else '[design]\nmethod = "morris"\nsamples = 2\n[design.levers]\n'
        '"factors.communication" = { low = 0.2, high = 0.9 }\n'
        '"factors.trust" = { low = 0.2, high = 0.9 }\n'
    )
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(
        'name = "tiny"\nscenarios = ["baseline", "msp"]\nreference = "baseline"\n'
        "replications = 2\nseed = 1\nsteps = 3\n"
        'outcomes = ["welfare_mean", "trust_partners", "partnership_active"]\n'
        '[set]\n"population.households" = 60\n' + design
    )
    out = tmp_path / "sweep"
    assert cli.main(["sweep", str(sweep), "--out", str(out), "--engine", "serial",
                     "--no-progress"]) == 0  # fmt: skip
    runs = sorted((out / "runs").glob("*.parquet"))
    tables = {
        "runs/*.parquet": pq.read_table(runs[0]).to_pandas(),
        "design.parquet": pd.read_parquet(out / "design.parquet"),
    }
    d = _check(out, tables).set_index(["file", "column"])
    assert d.loc[("runs/*.parquet", "factors.communication"), "meaning"].startswith("lever:")
    assert cli.main(["analyze", str(out), "--no-figures"]) == 0
    tables = _tables(out / "analysis")
    if method == "morris":
        assert "morris_indices.csv" in tables
    else:
        assert "paired_differences.csv" in tables
    _check(out / "analysis", tables)


def test_every_declared_outcome_is_described_with_unit_and_range():
    for name, outcome in DECLARED.items():
        meaning, unit, span = describe(name)
        assert meaning.startswith(outcome.meaning) and unit == outcome.unit and span, name


def test_an_undeclared_column_is_marked_not_documented():
    d = data_dictionary({"t.csv": pd.DataFrame({"mystery": [1.0]})})
    assert d.loc[0, "meaning"] == UNDOCUMENTED and d.loc[0, "dtype"] == "float64"
