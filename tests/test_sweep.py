"""Sweeps: sweep files, designs, engines, the resumable store, failures and bounded memory."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments import engines, sweep
from sim.experiments.results import is_complete
from sim.experiments.store import StoreError, compact, dataset, read_manifest, read_table
from sim.experiments.tasks import replicate_seeds
from sim.model.model import PartnershipModel
from sim.present import cli
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "name": "tiny",
    "scenarios": ["baseline", "msp"],
    "replications": 2,
    "seed": 7,
    "steps": 4,
    "record": 2,
    "outcomes": ["welfare_mean", "trust_partners", "leakage"],
    "set": {"population.households": 30, "population.villages": 3},
    "design": {
        "method": "grid",
        "levers": {
            "factors.trust": {"values": [0.2, 0.8]},
            "partnership.type": {"values": ["pmg", "msp"]},
        },
    },
}


def write_sweep(folder: Path, data: dict, name: str = "s.toml") -> Path:
    """Write ``data`` as a TOML sweep file (enough TOML for these tests)."""

    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v)

    lines = [f"{json.dumps(k)} = {value(v)}" for k, v in data.items()]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------------- sweep files
def test_grid_plan_is_the_full_factorial_with_common_random_numbers(tmp_path):
    s = sweep.load_sweep(write_sweep(tmp_path, TINY))
    tasks = list(sweep.plan(s))
    assert len(tasks) == 2 * 4 * 2 == sweep.count_runs(s, sweep.design_matrix(s.spec))
    seeds = replicate_seeds(7, 2)
    # replicate r has the same seed in every scenario and at every design point
    assert {(t.replicate, t.seed) for t in tasks} == {(0, seeds[0]), (1, seeds[1])}
    assert len({t.run_id for t in tasks}) == len(tasks)
    assert tasks[0].recorded_steps == (0, 2, 4)
    point3 = next(t for t in tasks if t.point == 3 and t.scenario == "baseline")
    assert point3.levers == {"factors.trust": 0.8, "partnership.type": "msp"}
    assert point3.config["factors"]["trust"] == 0.8
    assert point3.config["population"]["households"] == 30
    # ids are a pure function of the sweep: a second plan gives the same ones
    assert [t.run_id for t in sweep.plan(s)] == [t.run_id for t in tasks]


@pytest.mark.parametrize(
    ("record", "expected"),
    [("every_step", [0, 1, 2, 3, 4, 5]), ("horizon", [5]), (2, [0, 2, 4, 5]), (5, [0, 5])],
)
def test_recorded_steps(record, expected):
    spec = sweep.SweepSpec.model_validate({"scenarios": ["msp"], "record": record})
    assert spec.recorded_steps(5).tolist() == expected


def test_sampled_designs_have_salib_sizes_and_respect_bounds():
    levers = {
        "factors.trust": {"low": 0.1, "high": 0.9},
        "factors.evaluation_interval": {"low": 0, "high": 24},
    }
    for method, samples, rows in (("sobol", 16, 16 * (2 + 2)), ("lhs", 20, 20), ("morris", 5, 15)):
        spec = sweep.SweepSpec.model_validate(
            {
                "scenarios": ["msp"],
                "design": {"method": method, "samples": samples, "levers": levers},
            }
        )
        d = sweep.design_matrix(spec, raw=True)
        assert len(d) == rows, method
        assert d["factors.trust"].between(0.1, 0.9).all()
        ev = d["factors.evaluation_interval"]
        assert ev.dtype == np.int64 and ev.between(0, 24).all()
        # floor of the raw sample on [0, 25]; Morris' grid reaches 25 itself, which maps to 24
        assert (ev == np.minimum(np.floor(d["sample:factors.evaluation_interval"]), 24)).all()
    # an integer range is sampled on [low, high + 1): every value 0..24 is reachable
    spec = sweep.SweepSpec.model_validate(
        {"scenarios": ["msp"], "design": {"method": "lhs", "samples": 500, "levers": levers}}
    )
    assert set(sweep.design_matrix(spec)["factors.evaluation_interval"]) == set(range(25))


BAD = [
    (
        {"scenarios": ["msp"], "replicatons": 3},
        "unknown key 'replicatons'. Did you mean 'replications'",
    ),
    ({"scenarios": ["msp"], "outcomes": ["welfare"]}, "unknown outcome 'welfare'"),
    ({"scenarios": ["msp_low_trusts"]}, "Did you mean 'msp_low_trust'"),
    ({"scenarios": ["msp"], "replications": 0}, "replications = 0"),
    ({"scenarios": ["msp"], "record": 0}, "record = 0"),
    (
        {"scenarios": ["msp"], "design": {"levers": {"factors.trst": {"values": [0.1]}}}},
        "unknown lever 'factors.trst'. Did you mean 'factors.trust'",
    ),
    (
        {"scenarios": ["msp"], "design": {"levers": {"factors.trust": {"values": [1.5]}}}},
        "factors.trust = 1.5",
    ),
    (
        {
            "scenarios": ["msp"],
            "design": {
                "method": "sobol",
                "samples": 100,
                "levers": {"factors.trust": {"low": 0, "high": 1}},
            },
        },
        "power of 2",
    ),
    (
        {
            "scenarios": ["msp"],
            "design": {"method": "lhs", "levers": {"factors.trust": {"low": 0, "high": 2}}},
        },
        "factors.trust = 2",
    ),
    (
        {
            "scenarios": ["msp"],
            "design": {"method": "lhs", "levers": {"factors.trust": {"values": [0.1]}}},
        },
        "needs low = ... and high = ...",
    ),
    (
        {
            "scenarios": ["msp"],
            "design": {"method": "morris", "levers": {"partnership.type": {"low": 0, "high": 1}}},
        },
        "needs a numeric lever",
    ),
    ({"scenarios": ["msp"], "set": {"population.househlds": 5}}, "Did you mean"),
    ({"scenarios": ["msp", "ppp"], "reference": "baseline"}, "reference = 'baseline'"),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_sweep_files_are_refused_with_file_key_and_value(tmp_path, data, message):
    path = write_sweep(tmp_path, data)
    with pytest.raises(sweep.SweepError) as info:
        sweep.load_sweep(path)
    assert isinstance(info.value, UserError)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_bad_sweep_file_on_the_command_line_exits_2_without_traceback(tmp_path, capsys):
    path = write_sweep(tmp_path, {"scenarios": ["msp"], "stepz": 3})
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown key 'stepz'" in err and "Traceback" not in err
    assert cli.main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "sweep file not found" in capsys.readouterr().err
    assert cli.main(["analyze", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


# ----------------------------------------------------------------------------- engines
def _direct(tasks) -> pd.DataFrame:
    """The expected table, built without any engine or store: run each task's model directly."""
    frames = []
    for t in tasks:
        m = PartnershipModel(Scenario.model_validate(t.config), seed=t.seed, replicate=t.replicate)
        df = m.run(t.steps).results()
        frames.append(df[df["step"].isin(t.recorded_steps)])
    return pd.concat(frames).sort_values(["scenario", "replicate", "step"], kind="stable")


def test_every_engine_gives_the_identical_table_drawing_runs_lazily(tmp_path, monkeypatch):
    s = sweep.load_sweep(write_sweep(tmp_path, TINY))
    real = engines.run_tasks
    in_flight: dict[str, int] = {}

    def counting(tasks, engine, workers, scheduler, window):
        """Count, at every draw from the plan, how many runs are out and not yet back."""
        state = {"drawn": 0, "back": 0, "most": 0}

        def draw():
            for task in tasks:
                state["drawn"] += 1
                state["most"] = max(state["most"], state["drawn"] - state["back"])
                yield task

        for result in real(draw(), engine, workers, scheduler, window):
            state["back"] += 1
            yield result
        in_flight[engine] = state["most"]

    monkeypatch.setattr(engines, "run_tasks", counting)
    tables = {}
    for engine in ("serial", "local", "dask"):
        out = tmp_path / engine
        result = sweep.run_sweep(s, out, engine=engine, workers=2, progress=False, window=3)
        assert (result.done, result.failed, result.total) == (16, 0, 16)
        tables[engine] = read_table(out)
    # never more than the window (3) out at once, plus the one being drawn: not all 16
    assert in_flight["serial"] == 1
    assert 3 <= in_flight["local"] <= 4 and 3 <= in_flight["dask"] <= 4, in_flight
    pd.testing.assert_frame_equal(tables["serial"], tables["local"])
    pd.testing.assert_frame_equal(tables["serial"], tables["dask"])

    # an existing cluster, reached by its address as on SLURM/Kubernetes (--scheduler)
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster:
        out = tmp_path / "scheduler"
        sweep.run_sweep(s, out, scheduler=cluster.scheduler_address, progress=False, window=3)
    # the window grows to 4 runs per worker thread the scheduler reports (2 threads: 8)
    assert 3 <= in_flight["dask"] <= 9, in_flight
    pd.testing.assert_frame_equal(tables["serial"], read_table(out))
    table = tables["serial"]
    assert len(table) == 16 * 3 and sorted(table["step"].unique()) == [0, 2, 4]
    assert list(table.columns[:8]) == [
        "run_id",
        "scenario",
        "point",
        "replicate",
        "seed",
        "step",
        "factors.trust",
        "partnership.type",
    ]
    # the stored values are the model's own, run by run
    tasks = list(sweep.plan(s))
    for point in (0, 3):
        sub = [t for t in tasks if t.point == point and t.scenario == "msp"]
        expected = _direct(sub)["welfare_mean"].to_numpy()
        got = table[(table["point"] == point) & (table["scenario"] == "msp")]
        np.testing.assert_array_equal(got["welfare_mean"].to_numpy(), expected)
    # every run's seed is in the table, the same for a replicate across points and scenarios
    assert table.groupby("replicate")["seed"].nunique().tolist() == [1, 1]


# ----------------------------------------------------------------------------- the store
def test_resume_computes_only_missing_runs_and_refuses_another_sweep(tmp_path):
    s = sweep.load_sweep(write_sweep(tmp_path, TINY))
    out = tmp_path / "out"
    first = sweep.run_sweep(s, out, engine="serial", progress=False)
    full = read_table(out)
    parts = sorted((out / "runs").glob("*.parquet"))
    for part in parts[:5]:
        part.unlink()
    (out / "runs" / ".half-written.parquet.tmp").write_bytes(b"PAR1 partial")
    mtimes = {p: p.stat().st_mtime_ns for p in parts[5:]}
    again = sweep.run_sweep(s, out, engine="serial", progress=False)
    assert (first.done, again.skipped, again.done) == (16, 11, 5)
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())  # untouched
    assert not list((out / "runs").glob(".*.tmp"))
    pd.testing.assert_frame_equal(read_table(out), full)
    info = read_manifest(out)
    assert info["complete"] and info["runs_done"] == 16 and info["runs_failed"] == 0
    assert info["replicate_seeds"] == replicate_seeds(7, 2)
    assert info["scenarios"]["msp"]["population"]["households"] == 30
    other = sweep.from_dict(dict(TINY, seed=8), str(tmp_path / "s.toml"))
    with pytest.raises(StoreError, match="holds a different sweep"):
        sweep.run_sweep(other, out, engine="serial", progress=False)


def test_compacted_table_equals_the_parts_and_goes_stale_when_runs_change(tmp_path):
    s = sweep.load_sweep(write_sweep(tmp_path, TINY))
    out = tmp_path / "out"
    sweep.run_sweep(s, out, engine="serial", progress=False)
    from_parts = read_table(out)
    target = compact(out, batch=3)  # several batches, one file
    assert target.name == "table.parquet"
    assert dataset(out).files == [str(target)]
    pd.testing.assert_frame_equal(read_table(out), from_parts)
    assert compact(out).stat().st_mtime_ns == target.stat().st_mtime_ns  # up to date: kept
    # a run fewer (as if still missing): the compacted file no longer answers for the folder
    missing = sorted((out / "runs").glob("*.parquet"))[0]
    missing.unlink()
    assert len(dataset(out).files) == 15
    assert len(read_table(out)) == len(from_parts) - 3
    sweep.run_sweep(s, out, engine="serial", progress=False)
    compact(out)
    pd.testing.assert_frame_equal(read_table(out), from_parts)


def test_a_failing_run_is_recorded_and_retry_failed_reruns_it(tmp_path, monkeypatch, capsys):
    """A run raises (here: a patched model step, in this process); the others complete."""
    path = write_sweep(tmp_path, TINY)
    out = tmp_path / "out"
    bad_seed = replicate_seeds(7, 2)[1]
    original = PartnershipModel.step

    def step(self):
        if self.seed == bad_seed and self.config.factors.trust == 0.8 and self.steps == 2:
            raise FloatingPointError("model diverged at step 3")
        original(self)

    monkeypatch.setattr(PartnershipModel, "step", step)
    args = ["sweep", str(path), "--engine", "serial", "--out", str(out), "--no-progress"]
    assert cli.main(args) == 0
    failed = sorted((out / "failed").glob("*.json"))
    assert len(failed) == 4  # trust 0.8 x 2 partnership types x 2 scenarios, replicate 1
    record = json.loads(failed[0].read_text())
    assert record["error"] == "FloatingPointError: model diverged at step 3"
    assert "Traceback" in record["traceback"] and "in step" in record["traceback"]
    assert record["seed"] == bad_seed and record["levers"]["factors.trust"] == 0.8
    assert len(list((out / "runs").glob("*.parquet"))) == 12
    assert not read_manifest(out)["complete"]
    # without --retry-failed a re-run leaves them alone; with it they are run again
    assert cli.main(args) == 0
    assert len(list((out / "failed").glob("*.json"))) == 4
    monkeypatch.setattr(PartnershipModel, "step", original)
    assert cli.main([*args, "--retry-failed"]) == 0
    assert not list((out / "failed").glob("*.json"))
    assert len(list((out / "runs").glob("*.parquet"))) == 16
    assert read_manifest(out)["complete"]
    clean = tmp_path / "clean"
    sweep.run_sweep(sweep.load_sweep(path), clean, engine="serial", progress=False)
    pd.testing.assert_frame_equal(read_table(out), read_table(clean))


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _parts(out: Path) -> int:
    runs = out / "runs"
    return len(list(runs.glob("*.parquet"))) if runs.exists() else 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_resume_after_a_real_sigkill_mid_sweep(tmp_path):
    data = dict(TINY, replications=6, steps=30, record="horizon")
    data["set"] = {"population.households": 300, "population.villages": 4}
    path = write_sweep(tmp_path, data)  # 2 scenarios x 4 points x 6 replicates = 48 runs
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [
        sys.executable,
        str(ROOT / "run_simulation.py"),
        "sweep",
        str(path),
        "--out",
        str(out),
        "--engine",
        "local",
        "--workers",
        "2",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _parts(out) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(workers) >= 2  # the pool's processes (and its resource tracker)
    # orphaned pool workers notice their parent's death and exit; they never write results
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    orphans = {p: _cmdline(p) for p in workers if _alive(p)}
    for pid in orphans:  # do not leave them behind if the check fails
        os.kill(pid, signal.SIGKILL)
    assert not orphans, orphans
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert 5 <= len(before) < 48, len(before)
    assert not read_manifest(out)["complete"]
    assert not is_complete(out)  # a killed sweep is never taken for a complete one

    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({48 - len(before)} done and 0 failed now, {len(before)} already there)" in (
        resumed.stderr
    )
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.parquet")}
    assert len(after) == 48 and all(after[k] == v for k, v in before.items())
    assert read_manifest(out)["complete"]
    assert is_complete(out)

    uninterrupted = tmp_path / "uninterrupted"
    sweep.run_sweep(sweep.load_sweep(path), uninterrupted, engine="serial", progress=False)
    pd.testing.assert_frame_equal(read_table(out), read_table(uninterrupted))


def test_parent_memory_does_not_grow_with_the_number_of_runs(tmp_path):
    """Traced memory of a serial sweep (runs in this very process) is flat in the run count.

    The local and Dask engines keep even less in the parent (runs happen in workers); their
    bounded in-flight window is tested above.

    Keeping each run's table would cost over 4 kB a run (a 1-row frame plus its Parquet bytes),
    so 150 extra runs would add 600 kB or more; the bounds below are a fraction of that. The
    peak includes dead models awaiting the collector, which the engine bounds (a full
    collection every 50 runs; a dead model of 10 households holds about 110 kB until then).
    Python's automatic collector is paused while the sweep runs and both sweeps span whole
    50-run cycles, so both peaks hold the same 50 dead models: otherwise the peak depends on
    when the automatic collector happens to run, which shifts with every allocation a run
    makes (adding two outcome columns moved the 40-vs-160 peak difference from 180 to 310 kB).
    """

    def grown(replications: int) -> tuple[int, int]:
        data = dict(TINY, replications=replications, steps=1, record="horizon")
        # 10 households: with fewer the poorest quintile is empty and numpy warns every run,
        # and pytest's own record of warnings would grow with the run count.
        data["set"] = {"population.households": 10, "population.villages": 1}
        data["scenarios"] = ["msp"]
        data["design"] = {"method": "grid", "levers": {"factors.trust": {"values": [0.5]}}}
        s = sweep.from_dict(data, "mem")
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        gc.disable()  # the engine's own gc.collect() every 50 runs still runs
        try:
            sweep.run_sweep(s, tmp_path / f"r{replications}", engine="serial", progress=False)
        finally:
            gc.enable()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return current - base, peak - base

    grown(5)  # imports and caches
    small, large = grown(50), grown(200)
    assert large[0] - small[0] < 60_000, (small, large)
    assert large[1] - small[1] < 200_000, (small, large)
