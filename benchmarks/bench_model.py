#!/usr/bin/env python
"""Benchmark of every performance target of issue 7, with one command.

This file is a benchmark, not a test: pytest does not collect it. Run from the repository
root::

    python benchmarks/bench_model.py            # all targets (about 4-6 minutes)
    python benchmarks/bench_model.py --quick    # smaller plan (about 1-2 minutes), see below
    python benchmarks/bench_model.py --out DIR  # output folder (default benchmarks/out)

It prints one table with each target, what was measured and whether it is met, and writes
``bench_model.csv`` (one row per size), ``bench_model.json`` (every repeat, environment,
machine load) and ``bench_model_scaling.png`` (log-log time per step and setup time against
households) to the output folder.

What is measured (every measurement in a fresh subprocess, BLAS limited to one thread):

* **Throughput**: Kemitraan household-steps per second (``PartnershipModel(seed=1,
  households=N, villages=max(10, N // 500))``, default scenario and reporters) divided by the
  agent-steps per second of Mesa's own Boltzmann wealth example (``mesa.examples``) at the same
  N (one agent per cell of a square grid), both in the same run. Rates use the **CPU time** of
  the single-threaded subprocess (``time.process_time``), so other processes on a shared
  machine slow the wall clock but not the comparison; wall-clock rates are stored too. Each
  measurement warms up, then takes the best of k repeats on fresh models.
* **Scale**: 1,000,000 households x 100 steps (``--quick``: 5 steps), peak resident memory of
  that subprocess (``ru_maxrss``), which includes the interpreter and imports.
* **Sweep-sized runs**: whole 500-household, 100-step runs as a sweep does them
  (``sim.experiments.run_one``: setup, steps, results table), runs per second on one core; then
  the same batch on 1 and on 2 worker processes (wall clock), and the speedup.
* **Data collection**: CPU time of ``model._record()`` (the default reporters) inside the timed
  steps, against the step time, at every size (the best of back-to-back calls, with warm
  caches, is recorded too but understates it).
* **Setup**: time to build the model (graph included) at every size; the log-log slope of setup
  time against households over the sizes from 10,000 up (1 = linear).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out"
SWEEP_HOUSEHOLDS = 500
SWEEP_STEPS = 100
# Boltzmann starts with every agent holding one unit, so every agent tries to give in the first
# steps; the share with nothing to give settles near one half after about 4 steps. Its warm-up
# covers this transient so the reference rate is its steady state.
BOLTZMANN_WARMUP = 5
KEMITRAAN_WARMUP = 1
SPEEDUP_TRIALS = 3

TARGETS = {
    "ratio_100k": 40.0,  # household-steps/s over Boltzmann agent-steps/s at 100k, at least
    "peak_rss_1m_mb": 4096.0,  # 1M households x 100 steps, below
    "sweep_runs_per_s": 4.0,  # 500 households x 100 steps, setup included, at least
    "two_worker_speedup": 1.8,  # at least
    "record_share": 0.10,  # data collection / step, at most
    "setup_slope": 1.15,  # log-log slope of setup time vs households, at most ("~linear")
}

# Per size: repeats (fresh models, best taken), steps timed per repeat, Boltzmann repeats and
# steps (0 = not measured).
PLANS: dict[str, dict[str, Any]] = {
    "default": {
        "sizes": {
            1_000: {"repeats": 5, "steps": 200, "boltz_repeats": 3, "boltz_steps": 100},
            10_000: {"repeats": 3, "steps": 60, "boltz_repeats": 3, "boltz_steps": 10},
            100_000: {"repeats": 5, "steps": 20, "boltz_repeats": 5, "boltz_steps": 3},
            1_000_000: {"repeats": 1, "steps": 100, "boltz_repeats": 0, "boltz_steps": 0},
        },
        "sweep_runs": 12,
    },
    "quick": {
        "sizes": {
            1_000: {"repeats": 3, "steps": 100, "boltz_repeats": 2, "boltz_steps": 50},
            10_000: {"repeats": 2, "steps": 20, "boltz_repeats": 2, "boltz_steps": 5},
            100_000: {"repeats": 2, "steps": 8, "boltz_repeats": 1, "boltz_steps": 2},
            1_000_000: {"repeats": 1, "steps": 5, "boltz_repeats": 0, "boltz_steps": 0},
        },
        "sweep_runs": 6,
    },
}

SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


# ---------------------------------------------------------------------------------- helpers
def villages_for(n: int) -> int:
    """Villages for ``n`` households: the default 10, growing so villages stay village-sized."""
    return max(10, n // 500)


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


class Clock:
    """CPU and wall time of a block."""

    def __enter__(self) -> Clock:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu0
        self.wall = time.perf_counter() - self.wall0


class TimedCall:
    """A callable that adds the CPU time of each call of ``fn`` to ``cpu``."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.cpu = fn, 0.0

    def __call__(self) -> None:
        t0 = time.process_time()
        self.fn()
        self.cpu += time.process_time() - t0


# ---------------------------------------------------------------------------------- children
def measure_kemitraan(n: int, repeats: int, steps: int) -> dict[str, Any]:
    """Setup, step and data-collection times of the partnership model (in this process)."""
    from sim import PartnershipModel
    from sim.mechanisms import kernels

    base_rss = rss_mb()
    # Districts this large load the compiled kernels once per process (sim.mechanisms.kernels):
    # timed here on its own, so it is neither hidden in the best setup nor charged to a step.
    with Clock() as loading:
        compiled = kernels.enabled(n)
    runs = []
    for _ in range(repeats):
        gc.collect()
        with Clock() as setup:
            model = PartnershipModel(seed=1, households=n, villages=villages_for(n))
        for _ in range(KEMITRAAN_WARMUP):
            model.step()
        # Data collection is timed inside the steps it belongs to: model.step() ends with one
        # _record(), wrapped here in a clock (two process_time calls, about 1 us, a share of
        # 0.1% at 1,000 households). Repeated calls between steps would find the arrays in
        # cache and understate it (recorded as record_warm_cpu_s, for comparison).
        recording = model._record
        timed = TimedCall(recording)
        model._record = timed
        with Clock() as stepping:
            for _ in range(steps):
                model.step()
        model._record = recording
        k = max(3, min(steps, 20))
        record_warm = []
        for _ in range(k):  # best of k back-to-back calls
            with Clock() as rec:
                model._record()
            record_warm.append(rec.cpu)
        runs.append(
            {
                "setup_cpu_s": setup.cpu,
                "setup_wall_s": setup.wall,
                "steps": steps,
                "step_cpu_s": stepping.cpu / steps,
                "step_wall_s": stepping.wall / steps,
                "record_cpu_s": timed.cpu / steps,
                "record_warm_cpu_s": min(record_warm),
            }
        )
        del model
    best = min(runs, key=lambda r: r["step_cpu_s"])
    step = best["step_cpu_s"]
    record = best["record_cpu_s"]  # inside the steps of the best repeat
    return {
        "households": n,
        "villages": villages_for(n),
        "repeats": repeats,
        "steps": steps,
        "runs": runs,
        "setup_s": min(r["setup_cpu_s"] for r in runs),
        "setup_wall_s": min(r["setup_wall_s"] for r in runs),
        "step_s": step,
        "step_wall_s": min(r["step_wall_s"] for r in runs),
        "hh_steps_per_s": n / step,
        "record_s": record,
        "record_warm_s": min(r["record_warm_cpu_s"] for r in runs),
        # _record() is part of step(): the share of the step spent collecting data.
        "record_share": record / step,
        "base_rss_mb": base_rss,
        "peak_rss_mb": rss_mb(),
        "kernels": compiled,
        "kernel_load_s": loading.wall if compiled else None,
    }


def measure_boltzmann(n: int, repeats: int, steps: int) -> dict[str, Any]:
    """Mesa's Boltzmann wealth example at ``n`` agents, one agent per cell on a square grid."""
    from mesa.examples import BoltzmannWealth

    import sim.model.agents  # noqa: F401  (Mesa 3.3 keeps every model alive otherwise; see there)

    side = math.ceil(math.sqrt(n))
    runs = []
    for _ in range(repeats):
        gc.collect()
        model = BoltzmannWealth(n=n, width=side, height=side, seed=1)
        for _ in range(BOLTZMANN_WARMUP):
            model.step()
        with Clock() as stepping:
            for _ in range(steps):
                model.step()
        runs.append({"step_cpu_s": stepping.cpu / steps, "step_wall_s": stepping.wall / steps})
        del model
    step = min(r["step_cpu_s"] for r in runs)
    return {
        "agents": n,
        "grid": f"{side}x{side}",
        "repeats": repeats,
        "steps": steps,
        "runs": runs,
        "step_s": step,
        "step_wall_s": min(r["step_wall_s"] for r in runs),
        "agent_steps_per_s": n / step,
    }


def sweep_run(seed: int) -> float:
    """One sweep-sized run as a sweep does it (setup, steps, results table); CPU seconds."""
    from sim import Scenario
    from sim.experiments.runs import run_one

    scenario = Scenario().with_overrides({"households": SWEEP_HOUSEHOLDS})
    t0 = time.process_time()
    run_one(scenario, 0, seed, steps=SWEEP_STEPS)
    return time.process_time() - t0


def _warm_worker() -> None:
    sweep_run(0)


def measure_sweep(runs: int) -> dict[str, Any]:
    """Runs per second on one core, and the wall-clock speedup of 2 worker processes over 1."""
    from concurrent.futures import ProcessPoolExecutor

    sweep_run(0)  # warm-up (imports, first-call costs)
    cpu = [sweep_run(1 + r) for r in range(runs)]
    out: dict[str, Any] = {
        "households": SWEEP_HOUSEHOLDS,
        "steps": SWEEP_STEPS,
        "cpu_s": cpu,
        "runs_per_s": 1.0 / min(cpu),
        "runs_per_s_median": 1.0 / sorted(cpu)[len(cpu) // 2],
    }
    # The same batch on 1 and on 2 warm workers, alternating, best wall time of each: on a
    # shared machine a single trial mostly measures what else ran at that moment.
    batch = 2 * runs
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    pools = {w: ProcessPoolExecutor(w, initializer=_warm_worker) for w in (1, 2)}
    try:
        for w, pool in pools.items():
            list(pool.map(sweep_run, [0] * w))  # workers started and warm
        for _ in range(SPEEDUP_TRIALS):
            for w, pool in pools.items():
                t0 = time.perf_counter()
                cpus[w] += pool.map(sweep_run, range(100, 100 + batch))
                walls[w].append(time.perf_counter() - t0)
    finally:
        for pool in pools.values():
            pool.shutdown()
    out.update(
        batch=batch,
        trials=SPEEDUP_TRIALS,
        wall_1_worker_s=walls[1],
        wall_2_workers_s=walls[2],
        speedup_2_workers=min(walls[1]) / min(walls[2]),
        # CPU seconds per run inside the workers: equal for 1 and 2 workers means the runs
        # share nothing and the wall-clock speedup is bounded only by the free cores.
        cpu_per_run_1_worker=sorted(cpus[1])[len(cpus[1]) // 2],
        cpu_per_run_2_workers=sorted(cpus[2])[len(cpus[2]) // 2],
        loadavg=os.getloadavg()[0],
    )
    return out


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry: one size (Kemitraan, then Boltzmann) or the sweep."""
    if spec["kind"] == "sweep":
        return {"sweep": measure_sweep(spec["runs"])}
    out: dict[str, Any] = {
        "kemitraan": measure_kemitraan(spec["n"], spec["repeats"], spec["steps"])
    }
    # Boltzmann runs after Kemitraan's peak RSS has been read, so the peaks do not mix.
    if spec["boltz_repeats"] > 0 and spec["boltz_steps"] > 0:
        out["boltzmann"] = measure_boltzmann(spec["n"], spec["boltz_repeats"], spec["boltz_steps"])
    return out


def spawn(spec: dict[str, Any], timeout: float = 3600.0) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter and return its JSON result (or an error record)."""
    env = {**os.environ, **SINGLE_THREAD_ENV}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(lines[-1])
    result["wall_s"] = time.perf_counter() - t0
    return result


# ---------------------------------------------------------------------------------- report
def build_rows(results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per size, for the table and the CSV."""
    rows = []
    for n, res in sorted(results.items()):
        k, b = res.get("kemitraan"), res.get("boltzmann")
        row: dict[str, Any] = {"households": n, "error": res.get("error", "")}
        if k:
            row.update({key: k[key] for key in CSV_FIELDS if key in k})
        if b:
            row.update(
                boltz_step_s=b["step_s"],
                boltz_agent_steps_per_s=b["agent_steps_per_s"],
                boltz_step_wall_s=b["step_wall_s"],
            )
        if k and b:
            row["ratio"] = k["hh_steps_per_s"] / b["agent_steps_per_s"]
            row["ratio_wall"] = b["step_wall_s"] / k["step_wall_s"]
        rows.append(row)
    return rows


CSV_FIELDS = [
    "households",
    "villages",
    "repeats",
    "steps",
    "setup_s",
    "setup_wall_s",
    "step_s",
    "step_wall_s",
    "hh_steps_per_s",
    "record_s",
    "record_warm_s",
    "record_share",
    "boltz_step_s",
    "boltz_step_wall_s",
    "boltz_agent_steps_per_s",
    "ratio",
    "ratio_wall",
    "base_rss_mb",
    "peak_rss_mb",
    "kernels",
    "kernel_load_s",
    "error",
]


def setup_slope(rows: list[dict[str, Any]], min_n: int = 10_000) -> float:
    """Least-squares slope of log(setup time) on log(households), sizes >= ``min_n``."""
    pts = [
        (math.log(r["households"]), math.log(r["setup_s"]))
        for r in rows
        if r["households"] >= min_n and r.get("setup_s")
    ]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def fmt(x: float | None, spec: str) -> str:
    """Formatted number, or '-' when missing."""
    return "-" if x is None or not math.isfinite(x) else format(x, spec)


def size_table(rows: list[dict[str, Any]]) -> str:
    """The per-size table."""
    head = (
        "households",
        "setup s",
        "step ms",
        "hh-steps/s",
        "Boltzmann ag-steps/s",
        "ratio K/B",
        "data coll.",
        "peak RSS MB",
    )
    body = [
        (
            f"{r['households']:,}",
            fmt(r.get("setup_s"), ".3f"),
            fmt(1e3 * r["step_s"], ".2f") if "step_s" in r else "-",
            fmt(r.get("hh_steps_per_s"), ",.0f"),
            fmt(r.get("boltz_agent_steps_per_s"), ",.0f"),
            fmt(r.get("ratio"), ".1f"),
            fmt(100 * r["record_share"], ".1f") + " %" if "record_share" in r else "-",
            fmt(r.get("peak_rss_mb"), ".0f"),
        )
        for r in rows
    ]
    return _columns(head, body)


def _columns(head: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(b) for b in body)])


def targets(rows: list[dict[str, Any]], sweep: dict[str, Any] | None) -> list[dict]:
    """Each target of the issue: what it asks, what was measured, whether it is met."""
    by_n = {r["households"]: r for r in rows}
    big, mid = by_n.get(1_000_000, {}), by_n.get(100_000, {})
    shares = [r["record_share"] for r in rows if "record_share" in r]
    slope = setup_slope(rows)
    sweep = sweep or {}
    out = [
        {
            "target": "throughput at 100k, x Boltzmann",
            "wanted": f">= {TARGETS['ratio_100k']:.0f}x",
            "value": mid.get("ratio"),
            "shown": f"{mid['ratio']:.1f}x (wall clock {mid['ratio_wall']:.1f}x)"
            if "ratio" in mid
            else "not measured",
            "met": mid.get("ratio", 0) >= TARGETS["ratio_100k"],
        },
        {
            "target": f"1M households x {big.get('steps', 100)} steps, peak RSS",
            "wanted": f"< {TARGETS['peak_rss_1m_mb']:.0f} MB",
            "value": big.get("peak_rss_mb"),
            "shown": f"{big['peak_rss_mb']:.0f} MB" if "peak_rss_mb" in big else "not measured",
            "met": big.get("peak_rss_mb", math.inf) < TARGETS["peak_rss_1m_mb"]
            and big.get("steps", 0) >= 100,
        },
        {
            "target": "sweep-sized runs (500 x 100), per core",
            "wanted": f">= {TARGETS['sweep_runs_per_s']:.0f} runs/s",
            "value": sweep.get("runs_per_s"),
            "shown": f"{sweep['runs_per_s']:.1f} runs/s (median {sweep['runs_per_s_median']:.1f})"
            if "runs_per_s" in sweep
            else "not measured",
            "met": sweep.get("runs_per_s", 0) >= TARGETS["sweep_runs_per_s"],
        },
        {
            "target": "2 workers vs 1 worker (wall clock)",
            "wanted": f">= {TARGETS['two_worker_speedup']}x",
            "value": sweep.get("speedup_2_workers"),
            "shown": (
                f"{sweep['speedup_2_workers']:.2f}x (CPU/run {sweep['cpu_per_run_1_worker']:.3f}"
                f" vs {sweep['cpu_per_run_2_workers']:.3f} s; load {sweep['loadavg']:.1f})"
            )
            if "speedup_2_workers" in sweep
            else "-",
            "met": sweep.get("speedup_2_workers", 0) >= TARGETS["two_worker_speedup"],
        },
        {
            "target": "data collection share of a step (all sizes)",
            "wanted": f"<= {100 * TARGETS['record_share']:.0f} %",
            "value": max(shares) if shares else None,
            "shown": "max {:.1f} %, at 100k {:.1f} %".format(
                100 * max(shares), 100 * mid.get("record_share", math.nan)
            )
            if shares
            else "-",
            "met": bool(shares) and max(shares) <= TARGETS["record_share"],
        },
        {
            "target": "setup ~ linear (log-log slope, >= 10k)",
            "wanted": f"<= {TARGETS['setup_slope']}",
            "value": slope,
            "shown": f"{slope:.2f}",
            "met": math.isfinite(slope) and slope <= TARGETS["setup_slope"],
        },
    ]
    return out


def targets_table(items: list[dict]) -> str:
    """The target / measured / met table."""
    body = [(t["target"], t["wanted"], t["shown"], "yes" if t["met"] else "NO") for t in items]
    return _columns(("target", "wanted", "measured", "met"), body)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One row per size; missing values are left empty."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def plot_scaling(rows: list[dict[str, Any]], path: Path) -> None:
    """Log-log time per step and setup time against households, with slope-1 guides."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = [r for r in rows if "step_s" in r]
    b = [r for r in rows if "boltz_step_s" in r]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if k:
        n = [r["households"] for r in k]
        lo, hi = min(n), max(n)
        ax.loglog(n, [r["step_s"] for r in k], "o-", label="Kemitraan: time per step")
        ax.loglog(n, [r["setup_s"] for r in k], "s-", label="Kemitraan: setup (graph included)")
        for y0 in (k[-1]["step_s"], k[-1]["setup_s"]):  # slope 1 through the largest size
            ax.loglog([lo, hi], [y0 * lo / hi, y0], "k--", lw=0.8)
        ax.plot([], [], "k--", lw=0.8, label="slope 1 (linear)")
    if b:
        ax.loglog(
            [r["households"] for r in b],
            [r["boltz_step_s"] for r in b],
            "^:",
            color="grey",
            label="Mesa Boltzmann: time per step",
        )
    ax.set_xlabel("households (agents)")
    ax.set_ylabel("CPU seconds")
    ax.set_title("Kemitraan scaling (log-log)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def environment() -> dict[str, Any]:
    """Versions and machine load, recorded with the results."""
    import mesa
    import numpy

    return {
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with --one, a single measurement in this process)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--one", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        print(json.dumps(run_child(json.loads(args.one))))
        return 0

    plan_name = "quick" if args.quick else "default"
    plan = PLANS[plan_name]
    env = environment()
    print(
        f"Kemitraan benchmark ({plan_name}) - Python {env['python']}, Mesa {env['mesa']}, "
        f"numpy {env['numpy']}, {env['cpus']} CPUs, load {env['loadavg_start'][0]:.2f}",
        flush=True,
    )
    t_start = time.perf_counter()
    results: dict[int, dict[str, Any]] = {}
    for n, cfg in plan["sizes"].items():
        print(f"  measuring {n:>9,} households ...", end=" ", flush=True)
        results[n] = spawn({"kind": "size", "n": n, **cfg})
        print(f"{results[n].get('wall_s', float('nan')):.1f} s", flush=True)
    print("  measuring sweep-sized runs (1 and 2 workers) ...", end=" ", flush=True)
    sweep_res = spawn({"kind": "sweep", "runs": plan["sweep_runs"]})
    print(f"{sweep_res.get('wall_s', float('nan')):.1f} s", flush=True)
    env["loadavg_end"] = os.getloadavg()
    env["total_s"] = time.perf_counter() - t_start

    rows = build_rows(results)
    sweep = sweep_res.get("sweep")
    items = targets(rows, sweep)
    print()
    print(size_table(rows))
    errors = [f"  {r['households']:,}: {r['error']}" for r in rows if r.get("error")]
    if not sweep:
        errors.append(f"  sweep: {sweep_res.get('error')}")
    if errors:
        print("errors:", *errors, sep="\n")
    print()
    print(targets_table(items))
    print()
    loads = [(r["households"], r["kernel_load_s"]) for r in rows if r.get("kernel_load_s")]
    if loads:
        print(
            "Compiled kernels (sim/mechanisms/kernels.py) at "
            + ", ".join(f"{n:,}" for n, _ in loads)
            + " households; loading them took "
            + ", ".join(f"{t:.2f} s" for _, t in loads)
            + " once per process (not in the setup or step times)."
        )
    print(
        "Rates use the CPU time of single-threaded subprocesses (best of the repeats); the "
        "2-worker speedup uses the wall clock.\n"
        f"Peak RSS includes ~{max(r.get('base_rss_mb', 0) for r in rows):.0f} MB of "
        f"interpreter and imports. Total {env['total_s']:.0f} s; load average "
        f"{env['loadavg_start'][0]:.2f} -> {env['loadavg_end'][0]:.2f} on {env['cpus']} CPUs."
    )
    if plan_name == "quick":
        print("(--quick: 1M households ran 5 steps, not 100; rerun without --quick for targets)")

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "bench_model.csv")
    (out / "bench_model.json").write_text(
        json.dumps(
            {
                "plan": plan_name,
                "environment": env,
                "targets": items,
                "sizes": results,
                "sweep": sweep_res,
            },
            indent=2,
            default=str,
        )
    )
    plot_scaling(rows, out / "bench_model_scaling.png")
    print(f"wrote bench_model.csv, bench_model.json and bench_model_scaling.png to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
