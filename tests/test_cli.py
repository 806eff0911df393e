"""The command line, run as a user would: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import ROOT

SMALL = [
    "--steps",
    "6",
    "--replications",
    "2",
    "--no-progress",
    "--set",
    "population.households=80",
]


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_default_comparison_writes_table_manifest_and_figure(tmp_path):
    out = tmp_path / "res"
    result = cli(*SMALL, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "95% interval" in result.stdout
    for name in ("baseline", "msp", "msp_no_evaluation"):
        assert name in result.stdout
    df = pd.read_csv(out / "timeseries.csv")
    assert df["scenario"].nunique() == 10
    assert sorted(df["replicate"].unique()) == [0, 1]
    assert df.groupby(["scenario", "replicate"]).size().eq(7).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert len(manifest["replicate_seeds"]) == 2
    assert set(manifest["scenarios"]) == set(df["scenario"].unique())
    assert manifest["versions"]["mesa"].startswith("3.3")
    assert "commit" in manifest["git"]
    assert (out / "comparison.png").stat().st_size > 10_000
    # common random numbers: every scenario uses the same replicate seeds
    seeds = df.groupby("scenario")["seed"].apply(lambda s: tuple(sorted(set(s))))
    assert seeds.nunique() == 1


def test_same_seed_gives_identical_tables_and_parquet_matches_csv(tmp_path):
    args = [*SMALL, "--scenario", str(ROOT / "scenarios" / "msp.toml"), "--seed", "7"]
    assert cli(*args, "--out", str(tmp_path / "a")).returncode == 0
    assert (
        cli(*args, "--out", str(tmp_path / "b"), "--format", "parquet", "--workers", "2").returncode
        == 0
    )
    a = pd.read_csv(tmp_path / "a" / "timeseries.csv")
    b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)


def test_set_override_changes_the_run(tmp_path):
    args = [*SMALL, "--scenario", str(ROOT / "scenarios" / "msp.toml")]
    assert cli(*args, "--out", str(tmp_path / "a")).returncode == 0
    assert cli(*args, "--set", "factors.trust=0.05", "--out", str(tmp_path / "b")).returncode == 0
    a = pd.read_csv(tmp_path / "a" / "timeseries.csv")
    b = pd.read_csv(tmp_path / "b" / "timeseries.csv")
    assert (
        b.loc[b.step == 0, "trust_partners"].mean()
        < a.loc[a.step == 0, "trust_partners"].mean() - 0.3
    )
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["scenarios"]["msp"]["factors"]["trust"] == 0.05


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--scenario", "nope.toml"], "nope.toml: scenario file not found"),
        (["--set", "factors.trust=2"], "factors.trust = 2"),
        (["--set", "factors.trsut=0.2"], "Did you mean 'factors.trust'"),
        (["--set", "trust"], "expected KEY=VALUE"),
        (["--steps", "0"], "must be at least 1"),
        (["--replications", "two"], "expected a whole number"),
        (["--format", "xlsx"], "invalid choice"),
        (["--seed", "-3"], "must be 0 or more"),
    ],
)
def test_bad_input_exits_2_with_one_clear_message_and_no_traceback(tmp_path, args, fragment):
    result = cli(*args, "--out", str(tmp_path / "r"), "--no-progress")
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_existing_results_are_never_overwritten(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    result = cli(*SMALL, "--out", str(out))
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (out / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_bad_scenario_file_reports_file_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[factors]\ncommunication = 7\n")
    result = cli("--scenario", str(bad), "--no-progress", "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "factors.communication = 7" in result.stderr
    assert "Traceback" not in result.stderr


def test_levers_lists_every_lever():
    result = cli("levers")
    assert result.returncode == 0
    assert (
        "factors.goal_clarity" in result.stdout
        and "accountability.audit_probability" in result.stdout
    )


def test_help_reads_well():
    result = cli("--help")
    assert result.returncode == 0
    for flag in ("--scenario", "--steps", "--replications", "--seed", "--out", "--set", "--format"):
        assert flag in result.stdout


def test_help_lists_every_command_on_one_line():
    result = cli("--help")
    assert result.returncode == 0
    commands = (
        "run",
        "levers",
        "validate",
        "sweep",
        "analyze",
        "compare",
        "animate",
        "dashboard",
        "archive",
    )
    lines = result.stdout.splitlines()
    for name in commands:
        rows = [line for line in lines if line.split()[:1] == [name]]
        assert len(rows) == 1, (name, result.stdout)
        assert len(rows[0].split()) > 2, rows  # the command and its one-line help


def test_version_is_the_package_version():
    import sim

    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.split() == ["run_simulation.py", "(kemitraan)", sim.__version__]


def test_a_command_keeps_its_own_help_and_errors():
    result = cli("sweep", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: run_simulation.py sweep")
    result = cli("valdate")
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown command 'valdate'. Did you mean 'validate'?")
    assert result.stderr.count("\n") == 1
