"""No half-written results: a run killed at any moment leaves a folder that is either complete
(manifest present, every file it lists intact) or clearly incomplete (no manifest).

The kill is real: ``python run_simulation.py`` in its own process, SIGKILLed while a file is
being written (a temporary ``.<name>.<random>.tmp`` exists in the folder).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments.results import MANIFEST, is_complete

from .conftest import ROOT, SCENARIOS

STEPS, REPLICATIONS = 40, 2
ARGS = [
    "--scenario",
    str(SCENARIOS / "msp.toml"),
    str(SCENARIOS / "baseline.toml"),
    "--steps",
    str(STEPS),
    "--replications",
    str(REPLICATIONS),
    "--set",
    "population.households=12",
    "--set",
    "population.villages=2",
    "--no-progress",  # the figure stays on: its PNG takes long enough to write to be caught
]


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run_simulation.py"), *ARGS, "--out", str(out), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_mid_write(proc: subprocess.Popen, out: Path, timeout: float = 120) -> list[str]:
    """Poll every millisecond for a temporary file in ``out``; SIGKILL the run when one appears.

    Returns the temporary files seen at the moment of the kill.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            temps = [e.name for e in os.scandir(out) if e.name.endswith(".tmp")]
        except FileNotFoundError:
            temps = []
        if temps:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return temps
        if proc.poll() is not None:
            pytest.fail(f"the run ended before any file was written: {proc.stderr.read()!r}")
        time.sleep(0.001)
    proc.kill()
    pytest.fail("no temporary file appeared in time")


def test_a_run_killed_mid_write_leaves_a_folder_marked_incomplete(tmp_path):
    out = tmp_path / "res"
    proc = _start(out)
    temps = _kill_mid_write(proc, out)
    assert proc.returncode == -signal.SIGKILL
    assert temps, "the kill happened while a file was being written"
    left = sorted(p.name for p in out.iterdir())
    assert MANIFEST not in left  # written last: its absence marks the folder incomplete
    assert not is_complete(out)
    # Files renamed into place before the kill are whole (temp + rename), never truncated.
    if "timeseries.csv" in left:
        df = pd.read_csv(out / "timeseries.csv")
        assert len(df) == 2 * REPLICATIONS * (STEPS + 1)


def test_a_complete_run_is_complete_and_overwriting_it_then_dying_is_not(tmp_path):
    out = tmp_path / "res"
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), *ARGS, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert is_complete(out)
    info = json.loads((out / MANIFEST).read_text())
    assert set(info["files"]) == {
        "timeseries.csv",
        "summary.csv",
        "comparison.png",
        "data_dictionary.csv",
    }
    for name in info["files"]:
        assert info["checksums"][name]["bytes"] == (out / name).stat().st_size
        assert len(info["checksums"][name]["sha256"]) == 64
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())

    # --overwrite, killed mid-write: the old manifest is gone before any file is replaced, so
    # the folder never claims to be a complete set of mixed old and new files.
    proc = _start(out, "--overwrite", "--seed", "99")
    assert _kill_mid_write(proc, out)
    assert not (out / MANIFEST).exists()
    assert not is_complete(out)


def test_is_complete_detects_a_damaged_or_missing_file(tmp_path):
    from sim.experiments.results import write_results

    out = tmp_path / "res"
    out.mkdir()
    df = pd.DataFrame({"scenario": ["a"] * 3, "step": [0, 1, 2], "welfare_mean": [0.1, 0.2, 0.3]})
    write_results(out, df, {"note": "test"}, "csv", {"summary.csv": df.head(1)})
    assert is_complete(out)
    table = out / "timeseries.csv"
    good = table.read_bytes()
    table.write_bytes(good[:-1] + b"9")  # same size, one byte changed
    assert not is_complete(out)
    table.write_bytes(good[:-2])  # truncated
    assert not is_complete(out)
    table.write_bytes(good)
    assert is_complete(out)
    (out / "summary.csv").unlink()
    assert not is_complete(out)
    (out / MANIFEST).write_text("{not json")
    assert not is_complete(out)


def test_runs_started_in_the_same_second_never_share_a_default_folder(tmp_path):
    """Sixteen threads claim a default results folder at once; each gets its own."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from sim.experiments.results import prepare_output_folder

    barrier = Barrier(16)

    def claim(_):
        barrier.wait()
        return prepare_output_folder(None, tmp_path / "results")

    with ThreadPoolExecutor(16) as pool:
        folders = list(pool.map(claim, range(16)))
    assert len(set(folders)) == 16
    assert all(f.is_dir() and not any(f.iterdir()) for f in folders)


# ------------------------------------------------------------------ compare and sweep folders
def test_a_compare_folder_is_judged_by_is_complete(tmp_path, capsys):
    """compare writes its manifest last with every file's size and SHA-256."""
    from sim.present.cli import main

    out = tmp_path / "cmp"
    argv = ["compare", str(SCENARIOS / "baseline.toml"), str(SCENARIOS / "msp.toml")]
    argv += ["--steps", "6", "--replications", "2", "--no-progress", "--out", str(out)]
    argv += ["--set", "population.households=20", "--set", "population.villages=2"]
    assert main(argv) == 0, capsys.readouterr().err
    info = json.loads((out / MANIFEST).read_text())
    assert "manifest.json" not in info["files"]
    assert (
        set(info["files"])
        == set(info["checksums"])
        == {p.name for p in out.iterdir() if p.name != MANIFEST}
    )
    assert is_complete(out)
    report = out / "report.html"
    report.write_text(report.read_text() + " ")  # one byte more
    assert not is_complete(out)
    # a refused --overwrite (bad --funding-end) leaves the folder exactly as it was
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main([*argv, "--overwrite", "--funding-end", "99"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_sweep_folder_is_complete_only_with_every_run(tmp_path):
    """A sweep's manifest says complete only after its last run; is_complete also counts the
    run parts (a killed sweep is tested in tests/test_sweep.py with a real SIGKILL)."""
    from sim.experiments import store, sweep

    data = {
        "scenarios": ["baseline"],
        "replications": 2,
        "steps": 2,
        "set": {"population.households": 20, "population.villages": 2},
        "design": {"method": "grid", "levers": {"factors.trust": {"values": [0.2, 0.8]}}},
    }
    out = tmp_path / "sw"
    sweep.run_sweep(sweep.from_dict(data, "s.toml"), out, engine="serial", progress=False)
    assert is_complete(out) and store.is_complete(out)
    parts = sorted((out / "runs").glob("*.parquet"))
    assert len(parts) == 4
    moved = parts[0].rename(tmp_path / parts[0].name)
    assert not is_complete(out)  # a run missing
    moved.rename(parts[0])
    assert is_complete(out)
    info = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps(dict(info, complete=False)))  # as while running
    assert not is_complete(out)
    assert not is_complete(tmp_path / "nowhere")
