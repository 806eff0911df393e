#!/usr/bin/env python
"""Where a step goes: CPU time of each phase of ``PartnershipModel.step``, inside real steps.

This file is a benchmark, not a test: pytest does not collect it. Run from the repository
root (or with ``PYTHONPATH`` set to the checkout to measure)::

    python benchmarks/bench_phases.py                    # 100,000 households, 20 steps, 3 runs
    python benchmarks/bench_phases.py -n 10000 --steps 50
    python benchmarks/bench_phases.py --profile 25       # also the 25 costliest functions

Each phase method of one model (``intervene`` .. ``update_welfare``) is wrapped in a clock
for the timed steps; data collection (``_record``, called at the end of ``update_welfare``)
is reported on its own line and taken out of ``update_welfare``. The table shows the mean
CPU milliseconds per step of each phase over the steps of the best run (fresh model per run,
``PartnershipModel(seed=1, households=n, villages=max(10, n // 500))``, one warm-up step),
its share of the step, and the step itself; the rest (``other``) is the step's own Python and
``StepRecord``. BLAS is limited to one thread, as in ``bench_model.py``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

PHASES = (
    "intervene",
    "fund",
    "communicate",
    "contribute",
    "deliver",
    "depreciate",
    "update_trust",
    "evaluate",
    "review_membership",
    "update_welfare",
    "_record",
)


class Timed:
    """A callable that adds the CPU time of each call of ``fn`` to ``cpu``."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.cpu = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.cpu += time.process_time() - t0


def measure(n: int, steps: int) -> dict[str, float]:
    """Mean CPU ms per step of each phase (and ``step``) over ``steps`` steps of a fresh model."""
    from sim import PartnershipModel

    model = PartnershipModel(seed=1, households=n, villages=max(10, n // 500))
    model.step()  # warm-up: first-call costs, buffers
    clocks = {name: Timed(getattr(model, name)) for name in PHASES}
    for name, clock in clocks.items():
        setattr(model, name, clock)  # instance attributes shadow the methods
    t0 = time.process_time()
    for _ in range(steps):
        model.step()
    total = time.process_time() - t0
    out = {name: 1e3 * clock.cpu / steps for name, clock in clocks.items()}
    out["update_welfare"] -= out["_record"]  # _record runs inside update_welfare
    out["other"] = 1e3 * total / steps - sum(out.values())
    out["step"] = 1e3 * total / steps
    return out


def table(best: dict[str, float], runs: list[dict[str, float]]) -> str:
    """The phases of the best run, costliest first, with the spread of the step over runs."""
    step = best["step"]
    rows = sorted((k for k in best if k != "step"), key=lambda k: -best[k])
    lines = [f"{'phase':<20}{'ms/step':>9}{'share':>8}"]
    for k in rows:
        label = "data collection" if k == "_record" else k
        lines.append(f"{label:<20}{best[k]:>9.2f}{best[k] / step:>8.1%}")
    spread = ", ".join(f"{r['step']:.2f}" for r in runs)
    lines.append(f"{'step':<20}{step:>9.2f}   (runs: {spread})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the per-phase table (and, with --profile, a cProfile listing)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--households", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--runs", type=int, default=3, help="fresh models; the best is shown")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="also profile one run and list the K costliest functions")  # fmt: skip
    args = parser.parse_args(argv)

    runs = [measure(args.households, args.steps) for _ in range(args.runs)]
    best = min(runs, key=lambda r: r["step"])
    print(
        f"{args.households:,} households, {args.steps} steps x {args.runs} runs, "
        f"load {os.getloadavg()[0]:.2f}; CPU ms per step of the best run"
    )
    print(table(best, runs))
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(measure, args.households, args.steps)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
