"""The command line behind ``run_simulation.py``.

``run`` (the default when no command is given) runs one or more scenarios with replications
and common random numbers, prints a summary table and writes results; ``levers`` lists every
lever. User mistakes end with one message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module
from pathlib import Path

from sim.errors import UserError
from sim.paths import RESULTS, SCENARIOS
from sim.scenario import lever_table, load_scenario
from sim.scenario.interventions import check_horizon

__all__ = ["main"]

DEFAULT_SCENARIOS = (
    "baseline",
    "ppp",
    "psp",
    "pmg",
    "msp",
    "msp_unclear_goals",
    "msp_power_imbalance",
    "msp_poor_communication",
    "msp_low_trust",
    "msp_no_evaluation",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: usage + message, exit 2
        self.print_usage(sys.stderr)
        raise UserError(f"{self.prog}: {message}")


def _int_at_least(minimum: int, what: str | None = None, maximum: int | None = None):
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``).

    ``what`` words the rule in the error message (default: "at least ``minimum``").
    """
    what = what or f"at least {minimum}"

    def parse(text: str) -> int:
        if len(text) > 30 and text.strip().lstrip("+-").isdigit():  # int() of 4,300+ refuses
            top = f" and at most {maximum}" if maximum is not None else ""
            digits = len(text.strip())
            raise argparse.ArgumentTypeError(
                f"a whole number of {digits} digits is out of range; allowed: {what}{top}"
            )
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_LIMITS = {(r["section"], r["key"]): r["bounds"].get("le") for r in lever_table()}
_steps = _int_at_least(1, maximum=_LIMITS["run", "steps"])
_replications = _int_at_least(1, maximum=_LIMITS["run", "replications"])
_workers = _int_at_least(1, maximum=4 * (os.cpu_count() or 1))  # more only slows a run
_seed = _int_at_least(0, "0 or more", maximum=_LIMITS["run", "seed"])


def _add_set_option(p: argparse.ArgumentParser, where: str) -> None:
    """Add the repeatable ``--set KEY=VALUE`` lever override (into ``args.overrides``).

    ``where`` says which scenarios it applies to, e.g. "in every scenario".
    """
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a lever {where}, e.g. factors.communication=0.2 (repeatable)",
    )


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="run_simulation.py",
        description=(
            "Run Kemitraan partnership scenarios with replications and common random numbers; "
            "print horizon welfare with 95% intervals and write the tidy time series, a "
            "manifest and a figure to results/<timestamp>/."
        ),
        epilog=(
            "other commands: 'levers' lists every lever (default, range, meaning, source); "
            "'dashboard' serves the live dashboard; 'animate' writes a GIF of one run. "
            "Example: python run_simulation.py --scenario scenarios/msp.toml "
            "--set factors.communication=0.2 --replications 10"
        ),
    )
    p.add_argument(
        "--scenario",
        nargs="+",
        metavar="FILE",
        help="scenario TOML file(s) (default: the ten scenarios in scenarios/)",
    )
    p.add_argument("--steps", type=_steps, help="steps per run (default: the scenario's)")
    p.add_argument(
        "--replications", type=_replications, help="replications per scenario (default: 5)"
    )
    p.add_argument("--seed", type=_seed, help="root seed of the replicate seeds")
    p.add_argument("--out", type=Path, help="output folder (default: results/<timestamp>/)")
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into an existing, non-empty --out"
    )
    _add_set_option(p, "in every scenario")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format")
    p.add_argument(
        "--workers", type=_workers, default=1, help="processes to use (results are identical)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-figure", action="store_true", help="skip the PNG figure")
    return p


def _cmd_run(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    paths = (
        [Path(s) for s in args.scenario]
        if args.scenario
        else [SCENARIOS / f"{name}.toml" for name in DEFAULT_SCENARIOS]
    )
    scenarios = [load_scenario(path, args.overrides) for path in paths]
    for path, scenario in zip(paths, scenarios, strict=True):  # loading checked run.steps
        if args.steps:
            check_horizon(scenario, args.steps, str(path), f"--steps {args.steps}")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        same = [f"{p} ({n})" for p, n in zip(paths, names, strict=True) if names.count(n) > 1]
        raise UserError(
            f"--scenario: scenario names must be unique; these repeat one: {', '.join(same)} "
            "(set name = ... in the files)"
        )

    from sim import experiments
    from sim.model import memory  # heavy imports after the arguments are known good

    replications = args.replications or scenarios[0].run.replications
    root_seed = scenarios[0].run.seed if args.seed is None else args.seed
    memory.check_fits(
        scenarios, replications=replications, steps=args.steps, workers=args.workers, files=paths
    )
    out = experiments.prepare_output_folder(args.out, RESULTS, args.overwrite)
    events: list = []
    df = experiments.run_comparison(
        scenarios,
        replications=replications,
        steps=args.steps,
        root_seed=root_seed,
        workers=args.workers,
        progress=not args.no_progress,
        events=events,
    )
    summary = experiments.summarize(df, "welfare_mean")
    q1 = experiments.summarize(df, "welfare_q1")
    extra = {"summary.csv": _summary_table(df, experiments)}
    if events:  # the interventions that fired
        import pandas as pd

        extra["events.csv"] = pd.concat(events, ignore_index=True)
    if not args.no_figure:
        from sim.present import plots

        extra["comparison.png"] = plots.plot_comparison(df)
    info = experiments.manifest(
        scenarios, replications=replications, steps=args.steps, root_seed=root_seed
    )
    experiments.write_results(out, df, info, args.format, extra)
    _print_summary(summary, q1, df)
    print(f"\nresults: {out}")
    return 0


def _summary_table(df, experiments):
    import pandas as pd

    outcomes = [
        "welfare_mean",
        "welfare_q1",
        "empowerment_mean",
        "mpi_m0",
        "trust_partners",
        "partnership_active",
    ]
    return pd.concat([experiments.summarize(df, o) for o in outcomes], ignore_index=True)


def _print_summary(summary, q1, df) -> None:
    step, n = int(df["step"].max()), int(summary["n"].iloc[0])
    print(f"\nHorizon welfare (step {step}), mean and 95% interval over {n} replicates")
    print(f"{'scenario':<24} {'welfare':>8} {'95% interval':>17}   {'poorest 20%':>11}")
    for row, row_q1 in zip(summary.itertuples(), q1.itertuples(), strict=True):
        print(
            f"{row.scenario:<24} {row.mean:8.3f} [{row.ci_low:7.3f}, {row.ci_high:7.3f}]"
            f"   {row_q1.mean:11.3f}"
        )


def _cmd_levers(argv: list[str]) -> int:
    _Parser(prog="run_simulation.py levers", description="List every lever.").parse_args(argv)
    for row in lever_table():
        bounds = " ".join(f"{k}={v}" for k, v in row["bounds"].items())
        print(
            f"{row['section']}.{row['key']:<24} default={row['default']!r:<12} {bounds:<16} "
            f"{row['meaning']}"
        )
    return 0


def _lazy(module: str):
    """A command implemented as ``command(argv)`` in ``module``, imported only when run."""

    def command(argv: list[str]) -> int:
        return import_module(module).command(argv)

    return command


COMMANDS = {
    "run": _cmd_run,
    "levers": _cmd_levers,
    "compare": _lazy("sim.experiments.compare"),
    "dashboard": _lazy("sim.present.dashboard"),
    "animate": _lazy("sim.present.animation"),
    "sweep": _lazy("sim.experiments.sweep"),
    "analyze": _lazy("sim.experiments.analysis"),
    "validate": _lazy("sim.experiments.validation"),
    "archive": _lazy("sim.present.archive"),
    "init": _lazy("sim.present.starter"),
}
"""Subcommands; ``run`` is the default when the first argument is not a command."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "run"
    if argv and argv[0] in COMMANDS:
        command = argv.pop(0)
    try:
        return COMMANDS[command](argv)
    except UserError as exc:  # every user mistake (scenario, file, argument, folder)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
