#!/usr/bin/env python
"""Plain-timing benchmark of the Kemitraan model against Mesa's Boltzmann wealth example.

This file is a benchmark, not a test: pytest does not collect it (the name does not start
with ``test_`` and no function does either).

What it measures, every size in a fresh subprocess (so peak memory does not mix):

* Kemitraan (``sim.PartnershipModel(seed=1, households=N, villages=max(10, N // 500))``):
  setup time (building the model), time per step and household-steps per second
  (N x steps / step time), the share of a step spent in data collection (``model._record()``
  timed on its own against a full ``model.step()``, which calls it once), and peak RSS
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read before the reference model is built).
* The reference, in the same subprocess after Kemitraan's peak RSS is read: Mesa's own
  Boltzmann wealth example (``mesa.examples.BoltzmannWealth``) at the same N, on a square grid
  with one agent per cell as in the example's defaults (100 agents, 10 x 10). Agent-steps per
  second, by the steps actually timed (setup excluded).
* A "sweep-sized" run: 500 households x 100 steps including setup; runs per second on one core.

Every measurement warms up first (one step; Boltzmann five, to pass its start-up transient,
see ``BOLTZMANN_WARMUP``) and takes the median of 3 repeats on fresh models (one repeat for
100k in --quick and for 1M). BLAS/OpenMP thread pools are limited to one thread in the
subprocesses, and finished models are released from Mesa 3.3's ``Agent._ids`` registry (see
``release``) so repeats do not pile up in memory. Absolute times drift on a shared machine,
so the project reports the ratio Kemitraan / Boltzmann measured in the same run.

Run (from the repository root)::

    python benchmarks/bench_model.py            # 1k, 10k, 100k households (~1-2 min)
    python benchmarks/bench_model.py --quick    # fewer steps, no 100k Boltzmann (<40 s)
    python benchmarks/bench_model.py --full     # adds 1,000,000 households (Kemitraan only)
    python benchmarks/bench_model.py --out DIR  # output folder (default benchmarks/out)

Outputs: a table on stdout, ``bench_model.csv`` (one row per size), ``bench_model.json`` (raw
repeats, environment, sweep) and ``bench_model_scaling.png`` (log-log time per step and setup
time against households, with a dashed slope-1 guide).
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
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "out"
SWEEP_HOUSEHOLDS = 500
SWEEP_STEPS = 100
KEMITRAAN_WARMUP = 1
# Boltzmann starts with every agent holding one unit, so every agent tries to give in the first
# steps; the share with nothing to give settles near one half after about 4 steps, and until
# then a step costs up to twice as much. Its warm-up covers this start-up transient so the
# reference rate is its steady-state rate (and does not depend on how many steps are timed).
BOLTZMANN_WARMUP = 5

# Per size: repeats (fresh models; median taken), steps timed per repeat, and a cap on the
# seconds spent stepping in one repeat (steps stop early past it; rates use the steps actually
# timed). Boltzmann has its own step counts because it is much slower per agent at large N.
PLANS: dict[str, dict[str, Any]] = {
    "quick": {
        "sizes": [1_000, 10_000, 100_000],
        "boltzmann_sizes": [1_000, 10_000],
        "per_size": {
            1_000: {"repeats": 3, "steps": 100, "boltz_repeats": 3, "boltz_steps": 50},
            10_000: {"repeats": 3, "steps": 30, "boltz_repeats": 3, "boltz_steps": 8},
            100_000: {"repeats": 1, "steps": 5, "boltz_repeats": 0, "boltz_steps": 0},
        },
        "cap_seconds": 2.0,
        "sweep_repeats": 3,
    },
    "default": {
        "sizes": [1_000, 10_000, 100_000],
        "boltzmann_sizes": [1_000, 10_000, 100_000],
        "per_size": {
            1_000: {"repeats": 3, "steps": 500, "boltz_repeats": 3, "boltz_steps": 200},
            10_000: {"repeats": 3, "steps": 150, "boltz_repeats": 3, "boltz_steps": 20},
            100_000: {"repeats": 3, "steps": 20, "boltz_repeats": 3, "boltz_steps": 4},
        },
        "cap_seconds": 8.0,
        "sweep_repeats": 10,
    },
}
PLANS["full"] = {
    **PLANS["default"],
    "sizes": [*PLANS["default"]["sizes"], 1_000_000],
    "per_size": {
        **PLANS["default"]["per_size"],
        1_000_000: {"repeats": 1, "steps": 5, "boltz_repeats": 0, "boltz_steps": 0},
    },
    "cap_seconds": 20.0,
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


def release(model: Any) -> None:
    """Let a finished model be garbage-collected (works around Mesa 3.3's ``Agent._ids`` leak).

    Mesa 3.3 keeps every model as a key of the class attribute ``Agent._ids`` (the per-model
    ``unique_id`` counters), so a model and all its arrays outlive ``del model``
    (mesa/mesa#3179, fixed upstream by #3180). Without this, repeats on fresh models stack up
    in memory (peak RSS would count every repeat) and slow the garbage collector.
    """
    import mesa

    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


def timed_steps(
    model: Any, steps: int, cap_seconds: float, min_steps: int = 2
) -> tuple[int, float]:
    """Step ``model`` up to ``steps`` times (stopping early past ``cap_seconds``).

    Returns (steps actually timed, seconds they took).
    """
    done = 0
    start = time.perf_counter()
    elapsed = 0.0
    while done < steps:
        model.step()
        done += 1
        elapsed = time.perf_counter() - start
        if done >= min_steps and elapsed > cap_seconds:
            break
    return done, elapsed


# ---------------------------------------------------------------------------------- children
def measure_kemitraan(n: int, repeats: int, steps: int, cap: float) -> dict[str, Any]:
    """Setup, stepping and data-collection timings of the partnership model (in this process)."""
    from sim import PartnershipModel

    villages = villages_for(n)
    base_rss = rss_mb()
    runs = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        model = PartnershipModel(seed=1, households=n, villages=villages)
        setup = time.perf_counter() - t0
        for _ in range(KEMITRAAN_WARMUP):
            model.step()
        done, elapsed = timed_steps(model, steps, cap)
        # Data collection alone: model.step() ends with exactly one _record() call.
        k = max(2, min(done, 20))
        t0 = time.perf_counter()
        for _ in range(k):
            model._record()
        record = (time.perf_counter() - t0) / k
        step = elapsed / done
        runs.append(
            {
                "setup_s": setup,
                "steps": done,
                "step_s": step,
                "hh_steps_per_s": n * done / elapsed,
                "record_s": record,
                "record_share": record / step,
            }
        )
        release(model)
        del model
    return {
        "households": n,
        "villages": villages,
        "warmup_steps": KEMITRAAN_WARMUP,
        "repeats": repeats,
        "runs": runs,
        "setup_s": statistics.median(r["setup_s"] for r in runs),
        "steps": int(statistics.median(r["steps"] for r in runs)),
        "step_s": statistics.median(r["step_s"] for r in runs),
        "hh_steps_per_s": statistics.median(r["hh_steps_per_s"] for r in runs),
        "record_s": statistics.median(r["record_s"] for r in runs),
        "record_share": statistics.median(r["record_share"] for r in runs),
        "base_rss_mb": base_rss,
        "peak_rss_mb": rss_mb(),
    }


def measure_boltzmann(n: int, repeats: int, steps: int, cap: float) -> dict[str, Any]:
    """Mesa's Boltzmann wealth example at ``n`` agents, one agent per cell on a square grid."""
    from mesa.examples import BoltzmannWealth

    side = math.ceil(math.sqrt(n))
    runs = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        model = BoltzmannWealth(n=n, width=side, height=side, seed=1)
        setup = time.perf_counter() - t0
        for _ in range(BOLTZMANN_WARMUP):
            model.step()
        done, elapsed = timed_steps(model, steps, cap)
        runs.append(
            {
                "setup_s": setup,
                "steps": done,
                "step_s": elapsed / done,
                "agent_steps_per_s": n * done / elapsed,
            }
        )
        release(model)
        del model
    return {
        "agents": n,
        "grid": f"{side}x{side}",
        "warmup_steps": BOLTZMANN_WARMUP,
        "repeats": repeats,
        "runs": runs,
        "setup_s": statistics.median(r["setup_s"] for r in runs),
        "steps": int(statistics.median(r["steps"] for r in runs)),
        "step_s": statistics.median(r["step_s"] for r in runs),
        "agent_steps_per_s": statistics.median(r["agent_steps_per_s"] for r in runs),
    }


def measure_sweep(repeats: int) -> dict[str, Any]:
    """Whole sweep-sized runs (setup included), as a parameter sweep would do them."""
    from sim import PartnershipModel

    release(PartnershipModel(seed=0, households=SWEEP_HOUSEHOLDS).run(2))  # warm-up
    times = []
    for r in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        model = PartnershipModel(seed=1 + r, households=SWEEP_HOUSEHOLDS).run(SWEEP_STEPS)
        times.append(time.perf_counter() - t0)
        release(model)
        del model
    run_s = statistics.median(times)
    return {
        "households": SWEEP_HOUSEHOLDS,
        "steps": SWEEP_STEPS,
        "repeats": repeats,
        "times_s": times,
        "run_s": run_s,
        "runs_per_s": 1.0 / run_s,
        "peak_rss_mb": rss_mb(),
    }


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry: one size (Kemitraan, then Boltzmann) or the sweep-sized run."""
    if spec["kind"] == "sweep":
        return {"sweep": measure_sweep(spec["repeats"])}
    out: dict[str, Any] = {
        "kemitraan": measure_kemitraan(spec["n"], spec["repeats"], spec["steps"], spec["cap"])
    }
    # Boltzmann runs after Kemitraan's peak RSS has been read, so the peaks do not mix.
    if spec.get("boltz_steps", 0) > 0 and spec.get("boltz_repeats", 0) > 0:
        out["boltzmann"] = measure_boltzmann(
            spec["n"], spec["boltz_repeats"], spec["boltz_steps"], spec["cap"]
        )
    return out


def spawn(spec: dict[str, Any], timeout: float = 1800.0) -> dict[str, Any]:
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
    wall = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-5:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result = json.loads(lines[-1])
    result["wall_s"] = wall
    return result


# ---------------------------------------------------------------------------------- report
def fmt_int(x: float | None) -> str:
    """Thousands-separated integer, or '-' when missing."""
    return "-" if x is None or not math.isfinite(x) else f"{x:,.0f}"


def fmt(x: float | None, spec: str) -> str:
    """Formatted number, or '-' when missing."""
    return "-" if x is None or not math.isfinite(x) else format(x, spec)


def build_rows(results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per size, for the table and the CSV."""
    rows = []
    for n, res in sorted(results.items()):
        k = res.get("kemitraan")
        b = res.get("boltzmann")
        row: dict[str, Any] = {"households": n, "error": res.get("error", "")}
        if k:
            row.update(
                villages=k["villages"],
                repeats=k["repeats"],
                setup_s=k["setup_s"],
                steps_timed=k["steps"],
                step_s=k["step_s"],
                hh_steps_per_s=k["hh_steps_per_s"],
                record_s=k["record_s"],
                record_share=k["record_share"],
                base_rss_mb=k["base_rss_mb"],
                peak_rss_mb=k["peak_rss_mb"],
            )
        if b:
            row.update(
                boltz_grid=b["grid"],
                boltz_setup_s=b["setup_s"],
                boltz_repeats=b["repeats"],
                boltz_steps_timed=b["steps"],
                boltz_step_s=b["step_s"],
                boltz_agent_steps_per_s=b["agent_steps_per_s"],
            )
        if k and b:
            row["ratio"] = k["hh_steps_per_s"] / b["agent_steps_per_s"]
        rows.append(row)
    return rows


CSV_FIELDS = [
    "households",
    "villages",
    "repeats",
    "setup_s",
    "steps_timed",
    "step_s",
    "hh_steps_per_s",
    "record_s",
    "record_share",
    "boltz_grid",
    "boltz_setup_s",
    "boltz_repeats",
    "boltz_steps_timed",
    "boltz_step_s",
    "boltz_agent_steps_per_s",
    "ratio",
    "base_rss_mb",
    "peak_rss_mb",
    "error",
]


def format_table(rows: list[dict[str, Any]]) -> str:
    """The printed table (one line per size)."""
    head = (
        "households",
        "setup s",
        "steps timed",
        "hh-steps/s",
        "Boltzmann agent-steps/s",
        "ratio K/B",
        "data-coll. share",
        "peak RSS MB",
    )
    body = []
    for r in rows:
        steps = f"{r['steps_timed']}x{r['repeats']}" if "steps_timed" in r else "-"
        body.append(
            (
                fmt_int(r["households"]),
                fmt(r.get("setup_s"), ".3f"),
                steps,
                fmt_int(r.get("hh_steps_per_s")),
                fmt_int(r.get("boltz_agent_steps_per_s")),
                fmt(r.get("ratio"), ".1f"),
                fmt(100 * r["record_share"], ".0f") + " %" if "record_share" in r else "-",
                fmt(r.get("peak_rss_mb"), ".0f"),
            )
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    out = [line(head), "  ".join("-" * w for w in widths), *(line(b) for b in body)]
    errors = [f"  {fmt_int(r['households'])}: {r['error']}" for r in rows if r.get("error")]
    if errors:
        out += ["errors:", *errors]
    return "\n".join(out)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """One row per size; missing values are left empty."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in CSV_FIELDS})


def plot_scaling(rows: list[dict[str, Any]], path: Path) -> None:
    """Log-log time per step and setup time against households, with a slope-1 guide."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = [r for r in rows if "step_s" in r]
    b = [r for r in rows if "boltz_step_s" in r]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if k:
        n = [r["households"] for r in k]
        ax.loglog(n, [r["step_s"] for r in k], "o-", label="Kemitraan: time per step")
        ax.loglog(n, [r["setup_s"] for r in k], "s-", label="Kemitraan: setup time")
        # Slope-1 guide through the smallest size's step time: linear scaling.
        lo, hi = min(n), max(n)
        y0 = k[0]["step_s"]
        ax.loglog([lo, hi], [y0, y0 * hi / lo], "k--", lw=1, label="slope 1 (linear)")
    if b:
        ax.loglog(
            [r["households"] for r in b],
            [r["boltz_step_s"] for r in b],
            "^:",
            color="grey",
            label="Mesa Boltzmann: time per step",
        )
    ax.set_xlabel("households (agents)")
    ax.set_ylabel("seconds")
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
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer steps, no 100k Boltzmann")
    mode.add_argument("--full", action="store_true", help="also 1,000,000 households")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--one", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        print(json.dumps(run_one(json.loads(args.one))))
        return 0

    plan_name = "quick" if args.quick else "full" if args.full else "default"
    plan = PLANS[plan_name]
    env = environment()
    print(
        f"Kemitraan benchmark ({plan_name}) - Python {env['python']}, Mesa {env['mesa']}, "
        f"numpy {env['numpy']}, {env['cpus']} CPUs, load {env['loadavg_start'][0]:.2f}",
        flush=True,
    )
    t_start = time.perf_counter()
    results: dict[int, dict[str, Any]] = {}
    for n in plan["sizes"]:
        cfg = plan["per_size"][n]
        spec = {
            "kind": "size",
            "n": n,
            "repeats": cfg["repeats"],
            "steps": cfg["steps"],
            "boltz_repeats": cfg["boltz_repeats"],
            "boltz_steps": cfg["boltz_steps"] if n in plan["boltzmann_sizes"] else 0,
            "cap": plan["cap_seconds"],
        }
        print(f"  measuring {n:>9,} households ...", end=" ", flush=True)
        results[n] = spawn(spec)
        print(f"{results[n].get('wall_s', float('nan')):.1f} s", flush=True)
    print("  measuring sweep-sized runs ...", end=" ", flush=True)
    sweep_res = spawn({"kind": "sweep", "repeats": plan["sweep_repeats"]})
    print(f"{sweep_res.get('wall_s', float('nan')):.1f} s", flush=True)
    env["loadavg_end"] = os.getloadavg()
    env["total_s"] = time.perf_counter() - t_start

    rows = build_rows(results)
    print()
    print(format_table(rows))
    print()
    print("Ratio Kemitraan household-steps/s / Mesa Boltzmann agent-steps/s (same run):")
    for r in rows:
        if "ratio" in r:
            print(f"  N = {r['households']:>9,}:  {r['ratio']:6.1f} x")
    sweep = sweep_res.get("sweep")
    if sweep:
        print(
            f"Sweep-sized run ({sweep['households']} households x {sweep['steps']} steps, "
            f"setup included): {sweep['run_s']:.3f} s per run = "
            f"{sweep['runs_per_s']:.1f} runs/s on one core"
        )
    else:
        print(f"Sweep-sized run failed: {sweep_res.get('error')}")
    base = [r["base_rss_mb"] for r in rows if "base_rss_mb" in r]
    if base:
        print(f"Peak RSS includes ~{max(base):.0f} MB of interpreter + imports (before any model).")
    print(
        f"(total {env['total_s']:.0f} s; load average {env['loadavg_start'][0]:.2f} -> "
        f"{env['loadavg_end'][0]:.2f}; hh = households, K/B = Kemitraan/Boltzmann)"
    )

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "bench_model.csv")
    (out / "bench_model.json").write_text(
        json.dumps(
            {"plan": plan_name, "environment": env, "sizes": results, "sweep": sweep_res},
            indent=2,
            default=str,
        )
    )
    plot_scaling(rows, out / "bench_model_scaling.png")
    print(f"wrote bench_model.csv, bench_model.json and bench_model_scaling.png to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
