"""The command line behind ``run_simulation.py``: one parser, a subcommand per job.

``python run_simulation.py --help`` lists every command with one line; ``run`` (the default when
the first argument is not a command) runs one or more scenarios with replications and common
random numbers, prints a summary table and writes results; ``levers`` lists every lever. Every
other command lives with what it presents and parses its own arguments (``sweep`` and
``analyze`` in :mod:`sim.present.sweep_report`, ``compare`` in
:mod:`sim.present.compare_report`, ``validate`` in :mod:`sim.present.validation_report`,
``liveness`` in :mod:`sim.present.liveness_report`, ``discover`` in
:mod:`sim.present.discovery_report`, ``dashboard`` and ``animate`` in
:mod:`sim.present.dashboard` and
:mod:`sim.present.animation`); it is imported only when run, so ``--help`` and a mistyped
option answer at once. User mistakes end with one message on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from pathlib import Path

import sim
from sim.errors import UserError, did_you_mean, fault_reason
from sim.model import memory
from sim.paths import RESULTS, SCENARIOS
from sim.present import args as opts
from sim.present import wording
from sim.present.uncertainty_report import (
    add_posterior_options,
    figure_uncertainty,
    plan_from_args,
)
from sim.scenario import lever_table, load_scenario
from sim.scenario.interventions import check_horizon

__all__ = ["COMMANDS", "main"]

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

# The shared parser pieces under the names the dashboard and animation commands import.
_Parser = opts.Parser
_add_set_option = opts.add_set_option
_int_at_least = opts.int_at_least
_positive_int = opts.positive_int
_steps = opts.steps
_replications = opts.replications
_workers = opts.workers
_seed = opts.seed


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scenario",
        nargs="+",
        metavar="FILE",
        help="scenario TOML file(s) (default: the ten scenarios in scenarios/)",
    )
    p.add_argument("--steps", type=opts.steps, help="steps per run (default: the scenario's)")
    p.add_argument(
        "--replications", type=opts.replications, help="replications per scenario (default: 5)"
    )
    p.add_argument("--seed", type=opts.seed, help="root seed of the replicate seeds")
    p.add_argument("--out", type=Path, help="output folder (default: results/<timestamp>/)")
    p.add_argument(
        "--overwrite", action="store_true", help="allow writing into an existing, non-empty --out"
    )
    opts.add_set_option(p, "in every scenario")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="table format")
    p.add_argument(
        "--workers", type=opts.workers, default=1, help="processes to use (results are identical)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    opts.add_figure_format_option(p)
    add_posterior_options(p)


def _run_parser() -> argparse.ArgumentParser:
    p = opts.Parser(
        prog="run_simulation.py",
        description=(
            "Run Kemitraan partnership scenarios with replications and common random numbers; "
            "print horizon welfare with 95% intervals and write the tidy time series, a "
            "manifest and a figure to results/<timestamp>/."
        ),
    )
    _add_run_arguments(p)
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

    # Heavy imports after the arguments are known good: a mistake answers at once.
    from sim import experiments

    replications = args.replications or scenarios[0].run.replications
    root_seed = scenarios[0].run.seed if args.seed is None else args.seed
    plan = plan_from_args(args, root_seed)
    runs = replications * (len(plan) if plan else 1)
    memory.check_fits(
        scenarios, replications=runs, steps=args.steps, workers=args.workers, files=paths
    )
    out = experiments.prepare_output_folder(args.out, RESULTS, args.overwrite)
    events: list = []
    if plan is not None:
        from functools import partial

        from sim.experiments.uncertainty import run_posterior

        run = partial(run_posterior, plan=plan)
    else:
        run = experiments.run_comparison
    df = run(
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
    if plan is not None:
        extra["uncertainty.csv"] = _uncertainty_table(df)
    if events:  # the interventions that fired
        import pandas as pd

        extra["events.csv"] = pd.concat(events, ignore_index=True)
    if not args.no_figure:
        from sim.present import plots

        extra[f"comparison.{args.figure_format}"] = plots.plot_comparison(df)
        if plan is not None:
            level = extra["uncertainty.csv"]
            extra[f"uncertainty.{args.figure_format}"] = figure_uncertainty(
                level[level["outcome"] == "welfare_q1"],
                "Horizon welfare of the poorest fifth across posterior draws",
            )
    info = experiments.manifest(
        scenarios,
        replications=replications,
        steps=experiments.steps_run(df),
        root_seed=root_seed,
    )
    if plan is not None:
        from sim.experiments.uncertainty import draw_scenarios

        kept = draw_scenarios(scenarios, plan)[1]
        info["posterior"] = {**plan.manifest(), "kept_by_scenario": kept}
    experiments.write_results(out, df, info, args.format, extra)
    if plan is None:
        _print_summary(summary, q1, df)
    else:
        _print_uncertainty(extra["uncertainty.csv"], len(plan), replications)
    print(f"\nresults: {out}")
    return 0


def _uncertainty_table(df):
    """Horizon outcomes per scenario: parameter uncertainty apart from run-to-run noise."""
    import pandas as pd

    from sim.experiments.uncertainty import decompose

    at = df[df["step"] == df.groupby("scenario")["step"].transform("max")]
    parts = [decompose(at, o).assign(outcome=o) for o in _OUTCOMES]
    out = pd.concat(parts, ignore_index=True)
    return out[
        ["scenario", "outcome", *[c for c in out.columns if c not in ("scenario", "outcome")]]
    ]


def _print_uncertainty(table, draws: int, replications: int) -> None:
    print(
        f"\nHorizon outcomes across {draws} posterior draws x {replications} replicates: mean, "
        "parameter uncertainty (95% of draw means) and run-to-run noise (95% t-interval)"
    )
    print(f"{'scenario':<24} {'outcome':<28} {'mean':>7} {'parameter':>19} {'noise':>19}")
    for outcome, (label, scale, spec) in _PRINTED.items():
        for r in table[table["outcome"] == outcome].itertuples():
            lo, hi = r.param_low * scale, r.param_high * scale
            param = wording.interval_brackets(lo, hi, r.draws, spec, width=19)
            noise = wording.interval_brackets(
                r.noise_low * scale, r.noise_high * scale, 2, spec, width=19
            )
            print(f"{r.scenario:<24} {label:<28} {r.mean * scale:{spec}} {param} {noise}")


_PRINTED = {
    "welfare_mean": ("welfare (index 0-1)", 1.0, "7.3f"),
    "welfare_q1": ("welfare, poorest fifth", 1.0, "7.3f"),
    "poverty_rate": ("income poverty (%)", 100.0, "7.1f"),
    "access_health": ("health service use (%/month)", 100.0, "7.1f"),
}
"""Outcomes printed by ``run --posterior``: label with its unit, scale to that unit, format."""

_OUTCOMES = (
    "welfare_mean",
    "welfare_q1",
    "poverty_rate",
    "access_health",
    "income_bottom40",
    "empowerment_mean",
    "mpi_m0",
    "trust_partners",
    "partnership_active",
)


def _summary_table(df, experiments):
    import pandas as pd

    return pd.concat([experiments.summarize(df, o) for o in _OUTCOMES], ignore_index=True)


def _print_summary(summary, q1, df) -> None:
    step, n = int(df["step"].max()), int(summary["n"].iloc[0])
    print(f"\nHorizon welfare (step {step}), mean and 95% interval over {n} replicates")
    print(f"{'scenario':<24} {'welfare':>8} {'95% interval':>17}   {'poorest 20%':>11}")
    for row, row_q1 in zip(summary.itertuples(), q1.itertuples(), strict=True):
        band = wording.interval_brackets(row.ci_low, row.ci_high, row.n, "7.3f", width=18)
        print(f"{row.scenario:<24} {row.mean:8.3f} {band}   {row_q1.mean:11.3f}")


def _cmd_levers(argv: list[str]) -> int:
    opts.Parser(prog="run_simulation.py levers", description="List every lever.").parse_args(argv)
    for row in lever_table():
        bounds = " ".join(f"{k}={v}" for k, v in row["bounds"].items())
        print(
            f"{row['section']}.{row['key']:<24} default={row['default']!r:<12} {bounds:<16} "
            f"{row['meaning']}"
        )
    return 0


def _lazy(target: str):
    """A command implemented as ``module:function(argv)``, imported only when run."""
    module, _, function = target.partition(":")

    def command(argv: list[str]) -> int:
        return getattr(import_module(module), function or "command")(argv)

    return command


COMMANDS = {
    "run": ("run scenarios and write results (the default)", _cmd_run),
    "levers": ("list every lever: default, range, meaning, source", _cmd_levers),
    "validate": (
        "run the validation patterns, write docs/validation.md",
        _lazy("sim.present.validation_report:command"),
    ),
    "evidence": (
        "check the evidence table, write docs/evidence.md",
        _lazy("sim.present.evidence_report:command"),
    ),
    "calibrate": (
        "calibrate to the evidence table, write the posterior and docs/calibration.md",
        _lazy("sim.present.calibration_report:command"),
    ),
    "liveness": (
        "run every lever at its plausible ends, write docs/levers.md",
        _lazy("sim.present.liveness_report:command"),
    ),
    "discover": (
        "find where partnerships fail (PRIM boxes), write a report",
        _lazy("sim.present.discovery_report:command"),
    ),
    "sweep": (
        "run a sweep file into a resumable results folder",
        _lazy("sim.present.sweep_report:sweep_command"),
    ),
    "analyze": (
        "summarize a sweep folder: statistics, indices, figures",
        _lazy("sim.present.sweep_report:analyze_command"),
    ),
    "compare": (
        "compare policy designs with a status quo (HTML report)",
        _lazy("sim.present.compare_report:command"),
    ),
    "animate": ("write a GIF of one run's network", _lazy("sim.present.animation:command")),
    "dashboard": ("serve the live dashboard in a browser", _lazy("sim.present.dashboard:command")),
    "archive": (
        "write a model archive for the CoMSES Net library",
        _lazy("sim.present.archive:command"),
    ),
    "init": (
        "copy the shipped scenarios and sweeps into a folder",
        _lazy("sim.present.starter:command"),
    ),
}
"""Subcommands: one-line help and the function taking the remaining arguments.

``run`` is the default when the first argument is not a command.
"""


def parser() -> argparse.ArgumentParser:
    """The top-level parser: ``run``'s options (the default command) and every command.

    Each command after the first word parses its own arguments (its own ``--help``); this
    parser lists them, answers ``--version`` and parses a ``run`` given without its name.
    """
    p = _run_parser()
    p.usage = "%(prog)s [COMMAND] [OPTIONS ...]"
    p.epilog = (
        "Without a command, the options are run's. 'python run_simulation.py COMMAND --help' "
        "shows a command's options. Example: python run_simulation.py --scenario "
        "scenarios/msp.toml --set factors.communication=0.2 --replications 10"
    )
    p.add_argument("--version", action="version", version=f"%(prog)s (kemitraan) {sim.__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name, (help_line, _) in COMMANDS.items():
        sub.add_parser(name, help=help_line, add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in COMMANDS:
            return COMMANDS[argv[0]][1](argv[1:])
        if any(a in ("-h", "--help", "--version") for a in argv):
            parser().parse_args(argv)  # prints and exits 0
        if argv and not argv[0].startswith("-"):
            raise UserError(
                f"unknown command {argv[0]!r}.{did_you_mean(argv[0], COMMANDS)} Commands: "
                f"{', '.join(COMMANDS)} (run is the default: options without a command)"
            )
        return _cmd_run(argv)
    except UserError as exc:  # every user mistake (scenario, file, argument, folder)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the computer refused a file operation outside write_atomic
        reason = fault_reason(exc)
        if reason is None:
            raise
        where = f"{str(exc.filename)[:200]}: " if exc.filename else ""
        print(
            f"error: {where}{reason}; the command stopped, and its output folder is not "
            "marked complete. Free some space (or fix the cause) and run it again",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
