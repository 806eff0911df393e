"""``python run_simulation.py calibrate``: calibrate, ship the posterior, write the report.

The command runs :func:`sim.experiments.calibration.calibrate` in a results folder
(``results/calibration-<size>/`` by default; a rerun with the same folder continues where a
killed run stopped), then writes there the posterior (PLAN3 interface 1, through
:func:`sim.scenario.posterior.write_posterior`), the posterior-predictive and identifiability
tables, the figures, the report and, last, ``manifest.json``. At ``--size full`` the posterior
is also shipped as ``sim/data/calibration/posterior.parquet`` and the report written to
``docs/calibration.md`` (figures in ``docs/img/calibration/``); at ``--size ci`` everything
stays in the folder unless ``--posterior``/``--report`` say otherwise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from sim.errors import UserError
from sim.experiments.calibration import CALIBRATED, FIT, HELD_OUT, SIZES, Calibration, calibrate
from sim.experiments.disk import checksum, json_default, write_atomic
from sim.experiments.engines import ENGINES
from sim.experiments.results import MANIFEST, manifest, save_figure
from sim.paths import DOCS, RESULTS
from sim.present import args as opts
from sim.scenario.evidence import load_evidence
from sim.scenario.posterior import POSTERIOR_FILE, write_posterior
from sim.scenario.priors import PRIORS_FILE, load_priors

__all__ = ["REPORT", "command", "markdown"]

REPORT = DOCS / "calibration.md"

MISSES: dict[str, str] = {
    "zamboni_litschig_audit_risk": "the model's audit effect is linear in the audit "
    "probability (`leakage_share`: the cut is `audit_deterrence` x P), so a 20-point rise "
    "cuts about 0.2/0.96 of what Olken's 4%-to-100% rise cuts: about 1.7 points when that "
    "one is 8. Zamboni & Litschig measured 10 points for the smaller dose, in another "
    "country and programme: no parameter of this mechanism reproduces both",
    "bps_bottom40_share": "income is lognormal, whose bottom-40% share is fixed by its "
    "Gini: Phi(Phi^-1(0.4) - sigma). At the rural Gini (0.32) it is about 19.9%, above the "
    "national band; a lognormal cannot have the rural Gini and the national bottom-40% share",
    "bps_gini_national": "the model is fitted to the rural Gini (0.313-0.324); the national "
    "band (0.379-0.393) does not overlap it",
    "bps_poverty_rate_national": "the model is fitted to the rural poverty rate "
    "(12.29-13.1%); the national band (9.22-9.66%) does not overlap it",
}
"""Why a held-out target can miss whatever the parameters (structural reasons)."""


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _fig_priors(cal: Calibration):
    import matplotlib.pyplot as plt
    import numpy as np

    levers = cal.priors.prior
    fig, axes = plt.subplots(1, len(levers), figsize=(3.0 * len(levers), 2.6))
    for ax, p in zip(np.atleast_1d(axes), levers, strict=True):
        x = np.linspace(p.low, p.high, 200)
        ax.plot(x, np.exp(p.logpdf(x)), color="0.5", label="prior")
        ax.hist(cal.posterior[p.lever], bins=20, density=True, color="C0", alpha=0.6,
                label="posterior")  # fmt: skip
        ax.axvline(p.default, color="C3", ls="--", lw=1, label="shipped default")
        ax.set_title(p.lever.split(".")[1], fontsize=9)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _fig_predictive(cal: Calibration):
    import matplotlib.pyplot as plt
    import numpy as np

    table = cal.predictive()
    runs = cal.match.runs[cal.match.runs["wave"] == 1]
    cols = min(4, len(table))
    rows = -(-len(table) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.flat[len(table) :]:
        ax.set_visible(False)
    for ax, row in zip(axes.flat, table.itertuples(), strict=False):
        ax.axhspan(row.low, row.high, color="C2", alpha=0.25, label="target band")
        ax.axhline(row.estimate, color="C2", lw=1)
        prior = runs[f"y:{row.target}"].to_numpy()
        post = cal.match.confirmation[f"y:{row.target}"].to_numpy()
        rng = np.random.default_rng(0)
        ax.scatter(rng.uniform(-0.2, 0.2, len(prior)), prior, s=8, color="0.6", label="prior")
        ax.scatter(1 + rng.uniform(-0.2, 0.2, len(post)), post, s=8, color="C0",
                   label="posterior")  # fmt: skip
        ax.set_xticks([0, 1], ["prior", "posterior"], fontsize=7)
        ax.set_title(f"{row.target}\n({row.role}; {row.unit})", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def _fig_pairs(cal: Calibration):
    import matplotlib.pyplot as plt

    names = [n for n in cal.priors.levers if n.startswith("accountability.")]
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 2.9))
    for ax, (a, b) in zip(axes, [(names[0], names[1]), (names[1], names[2])], strict=False):
        ax.scatter(cal.posterior[a], cal.posterior[b], s=6, alpha=0.5)
        ax.set_xlabel(a.split(".")[1], fontsize=8)
        ax.set_ylabel(b.split(".")[1], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


FIGURES = {
    "priors_posteriors": _fig_priors,
    "predictive": _fig_predictive,
    "leakage_ridge": _fig_pairs,
}


def _draw(cal: Calibration, folder: Path, fmt: str) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, make in FIGURES.items():
        fig = make(cal)
        out[name] = save_figure(fig, folder / f"calibration_{name}.{fmt}")
        plt.close(fig)
    return out


def _pairs(names: list[str]) -> list[tuple[str, str]]:
    return [(a, b) for k, a in enumerate(names) for b in names[k + 1 :]]


def _number(x: float) -> str:
    return f"{x:.4g}"


def markdown(
    cal: Calibration, figures: dict[str, str], command_line: str, workers: str = ""
) -> str:
    """The report as Markdown (``figures``: figure name -> path relative to the report).

    ``workers`` says how the runs were made (e.g. "2 processes"), for the runtime.
    """
    size, s = cal.size, cal.size.settings
    pred, ident = cal.predictive(), cal.identifiability()
    fit, held = pred[pred.role == "fit"], pred[pred.role == "held out"]
    table = load_evidence()
    runnable = set(FIT) | set(HELD_OUT)
    no_output = [t.id for t in table.verified(("outcome", "initial_condition"))
                 if t.id not in runnable]  # fmt: skip
    m, post = cal.match, cal.posterior
    runs = len(m.runs) + len(m.confirmation)
    lines = [
        "# Kemitraan: calibration",
        "",
        f"Generated by `{command_line}` (`sim/experiments/calibration.py`, "
        "`sim/experiments/history_matching.py`, priors in `calibration/priors.toml`); do not "
        "edit by hand.",
        "",
        f"**Result ({size.name}): {int(fit.within.sum())} of {len(fit)} fitted targets and "
        f"{int(held.within.sum())} of {len(held)} held-out targets are reproduced within "
        f"their bands** (posterior-predictive mean over {len(m.confirmation)} posterior "
        f"draws run again). {runs} simulator calls, {m.seconds / 60:.1f} minutes of model runs "
        f"(wall clock, summed over sessions: {workers or 'none recorded'}; {len(m.waves)} "
        "waves; effective sample size of the importance weights "
        f"{m.ess:.0f}; {m.nroy_share:.2%} of the prior space not ruled out).",
        "",
        *(
            [
                "**No lever setting within the priors meets every fitted target at once** "
                "(the plausible region is empty): the posterior below is the least "
                "implausible part of the prior, weighted by the likelihood, not a fit.",
                "",
            ]
            if m.nroy_share == 0
            else []
        ),
        "## Method",
        "",
        "History matching with Gaussian-process emulators (Vernon, Goldstein & Bower 2010, "
        "Bayesian Analysis 5:619; Andrianakis et al. 2015, PLoS Comput. Biol. 11:e1003968), "
        "then a posterior on the last emulators:",
        "",
        f"1. Wave 1 runs the model at a Latin hypercube of {s.points} points of the priors "
        "below. After each wave one Gaussian process per fitted target (scikit-learn, "
        "anisotropic RBF + white noise for the model's own randomness) is fitted to all runs "
        "so far; a lever setting is ruled out when some target's implausibility "
        "|z − E[f(x)]| / sqrt(Var_emulator + Var_observation + Var_discrepancy) exceeds "
        f"{s.cutoff:g}. The next wave runs {s.points} points of what no wave has ruled out.",
        "2. A target's band is read as a 95% interval (observation sd = width / 3.92); the "
        "model discrepancy sd is half the observation sd (a judgement: a stylized district, "
        "not the surveyed one).",
        f"3. Posterior: prior draws not ruled out are weighted by the Gaussian likelihood of "
        f"the fitted targets under the last emulators and resampled into {s.draws} equally "
        f"weighted draws; the first {s.confirm} are run again by the model (the "
        "posterior-predictive check, held-out targets included).",
        "",
        f"Each model call runs every target's experiment (`sim/experiments/targets.py`) with "
        f"{size.model.households} households in {size.model.villages} villages, "
        f"{size.model.steps} months, {size.model.replications} replicate seeds (common random "
        "numbers). **Only the levers below are calibrated; every other lever stays at its "
        "shipped default** (its prior is listed at the end: no target with a model output "
        "informs it). The results are conditional on those defaults, and on the model as it "
        f"was when the calibration ran ({cal.meta()['model_version']}: the hashes of the "
        "model's code and of the measurements, `sim.experiments.calibration.model_version`): "
        "a later change that moves outputs makes them stale "
        "until the command is run again.",
        "",
        "## Targets",
        "",
        "| target | role | why | unit | band | estimate |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    reasons = {**FIT, **HELD_OUT}
    for r in pred.itertuples():
        lines.append(
            f"| `{r.target}` | {r.role} | {_cell(reasons.get(r.target, 'added since'))} | "
            f"{r.unit} | [{_number(r.low)}, {_number(r.high)}] | {_number(r.estimate)} |"
        )
    lines += [
        "",
        f"{len(no_output)} verified outcome and initial-condition targets have no model "
        "output yet and cannot be fitted: " + ", ".join(f"`{t}`" for t in no_output) + ".",
        "",
        "## Waves",
        "",
        "| wave | runs | prior space not ruled out | seconds |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {w['wave']} | {w['runs']} | {w['nroy']:.2%} | {w['seconds']:.0f} |" for w in m.waves
    ]
    lines += [
        "",
        "## Priors and posteriors of the calibrated levers",
        "",
        f"![priors and posteriors]({figures['priors_posteriors']})",
        "",
        "**Identifiability.** The ratio of posterior to prior sd says how far the targets pin "
        "a lever down (below 0.5 *pinned down*, below 0.85 *narrowed*, else *not "
        "identified*); the shortest emulator length scale (unit cube; long = the targets "
        "barely respond) says which targets respond to it at all.",
        "",
        "| lever | moved by | default | prior | posterior mean [5%, 95%] | sd ratio | "
        "shortest length scale | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in ident.itertuples():
        lines.append(
            f"| `{r.lever}` | {_cell(CALIBRATED[r.lever])} | {_number(r.default)} | "
            f"{r.prior} | {_number(r.posterior_mean)} [{_number(r.q05)}, {_number(r.q95)}] | "
            f"{r.sd_ratio:.2f} | {r.shortest_length_scale:.2f} | {r.verdict} |"
        )
    lines += [
        "",
        "The audit target fixes only the product of the three leakage levers' effects (the "
        "audit cut is base_leakage x (1 − role_clarity_effect x clarity) x audit_deterrence "
        "x the change in audit probability): along that ridge the levers trade off, which the "
        "pairs below show (posterior correlations: "
        + ", ".join(
            f"{a.split('.')[1]} with {b.split('.')[1]} {post[a].corr(post[b]):+.2f}"
            for a, b in _pairs([n for n in cal.priors.levers if n.startswith("accountability.")])
        )
        + ").",
        "",
        f"![posterior pairs of the leakage levers]({figures['leakage_ridge']})",
        "",
        "## Posterior-predictive checks",
        "",
        f"![posterior-predictive checks]({figures['predictive']})",
        "",
        "| target | role | band | prior-predictive mean (sd) | posterior-predictive mean "
        "(sd) | within band | share of draws within |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in pred.itertuples():
        lines.append(
            f"| `{r.target}` | {r.role} | [{_number(r.low)}, {_number(r.high)}] | "
            f"{_number(r.prior_mean)} ({_number(r.prior_sd)}) | {_number(r.posterior_mean)} "
            f"({_number(r.posterior_sd)}) | {'yes' if r.within else '**no**'} | "
            f"{r.share_within:.0%} |"
        )
    dflt = cal.defaults()
    verdict = "**ruled out**" if dflt.ruled_out.any() else "not ruled out"
    lines += [
        "",
        f"**The shipped defaults** of the calibrated levers are {verdict} by the fitted "
        f"targets (implausibility above {size.settings.cutoff:g} for some target), as the "
        "last emulators see them:",
        "",
        "| target | emulated at the defaults (sd) | implausibility |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| `{r.target}` | {_number(r.emulated)} ({_number(r.emulated_sd)}) | "
        f"{r.implausibility:.2f}{' (ruled out)' if r.ruled_out else ''} |"
        for r in dflt.itertuples()
    ]
    misses = pred[~pred.within]
    if len(misses):
        lines += ["", "**Misses, and why.**", ""]
        for r in misses.itertuples():
            why = MISSES.get(r.target, "no structural reason known: see the figure")
            lines.append(f"- `{r.target}` ({r.role}): {why}.")
    priors = load_priors()
    lines += [
        "",
        "## Every prior",
        "",
        f"`calibration/priors.toml` holds {len(priors.prior)} priors: one per lever whose "
        "value is an assumption, and the sourced levers calibrated here. Levers left out on "
        "purpose:",
        "",
    ]
    lines += [f"- `{e.lever}`: {_cell(e.reason)}" for e in priors.exempt]
    lines += ["", "| lever | prior | reason |", "| --- | --- | --- |"]
    lines += [f"| `{p.lever}` | {p.describe()} | {_cell(p.reason)} |" for p in priors.prior]
    return "\n".join(lines) + "\n"


class CalibrateError(UserError):
    """A bad argument to ``calibrate``."""


def _parser() -> argparse.ArgumentParser:
    p = opts.Parser(
        prog="run_simulation.py calibrate",
        description=(
            "Calibrate the model to the evidence table by history matching (Gaussian-process "
            "emulators, waves), write the posterior and docs/calibration.md. Resumable: run "
            "again with the same --out to continue."
        ),
    )
    p.add_argument("--size", choices=sorted(SIZES), default="full", help="full (default) or ci")
    p.add_argument("--workers", type=opts.workers, default=1, help="processes (default 1)")
    p.add_argument("--engine", choices=ENGINES, default="local", help="where the runs execute")
    p.add_argument("--out", type=Path, help="calibration folder (default results/calibration-SIZE)")
    p.add_argument("--posterior", type=Path, help="also write the posterior here (full: shipped)")
    p.add_argument("--report", type=Path, help="report path (full: docs/calibration.md)")
    p.add_argument(
        "--render-only",
        action="store_true",
        help="write the posterior and the report from a finished calibration folder without "
        "running the model (e.g. after a change that leaves outputs identical)",
    )
    opts.add_figure_format_option(p)
    return p


def _sessions(out: Path) -> list[dict]:
    """The sessions that ran model calls in this folder (``sessions.json``)."""
    path = out / "sessions.json"
    return json.loads(path.read_text(encoding="utf-8"))["sessions"] if path.exists() else []


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, default=json_default)
    write_atomic(path, lambda q: q.write_text(text, encoding="utf-8"))


def command(argv: list[str]) -> int:
    """Run ``python run_simulation.py calibrate [--size ci|full] [--workers N] ...``."""
    args = _parser().parse_args(argv)
    size = SIZES[args.size]
    out = Path(args.out or RESULTS / f"calibration-{args.size}")
    if args.render_only and not (out / "calibration.json").exists():
        raise CalibrateError(f"--render-only: {out} holds no calibration to render")
    if out.exists() and any(out.iterdir()) and not (out / "calibration.json").exists():
        raise CalibrateError(f"--out {out}: folder exists and holds no calibration; choose another")
    full = args.size == "full"
    posterior_path = args.posterior or (POSTERIOR_FILE if full else None)
    report = Path(args.report or (REPORT if full else out / "calibration.md"))
    out.mkdir(parents=True, exist_ok=True)
    for path in (posterior_path, report):
        if path is not None and not Path(path).parent.is_dir():
            raise CalibrateError(f"{path}: folder {Path(path).parent} does not exist")
    start = time.perf_counter()
    parts = len(list(out.rglob("part_*.parquet")))
    cal = calibrate(
        size, out, engine=args.engine, workers=args.workers, progress=print,
        run=not args.render_only,
    )  # fmt: skip
    sessions = _sessions(out)
    if len(list(out.rglob("part_*.parquet"))) > parts:  # this session ran the model
        sessions.append(
            {"engine": args.engine, "workers": args.workers,
             "seconds": round(time.perf_counter() - start, 1)}
        )  # fmt: skip
        _write_json(out / "sessions.json", {"sessions": sessions})
    ran = "; ".join(f"{x['engine']} engine, {x['workers']} worker(s)" for x in sessions)
    meta = cal.meta()
    frame = cal.posterior.astype({n: "float64" for n in cal.priors.levers})
    write_posterior(frame, out / "posterior.parquet", meta)
    if posterior_path is not None:
        write_posterior(frame, posterior_path, meta)
    tables = {
        "predictive.csv": cal.predictive(),
        "identifiability.csv": cal.identifiability(),
        "defaults.csv": cal.defaults(),
    }
    for name, table in tables.items():
        write_atomic(out / name, lambda q, t=table: t.to_csv(q, index=False))
    figures = _draw(cal, report.parent / "img" / "calibration", args.figure_format)
    line = f"python run_simulation.py calibrate --size {args.size}"
    paths = {k: str(v.relative_to(report.parent)) for k, v in figures.items()}
    text = markdown(cal, paths, line, ran)
    write_atomic(report, lambda q: q.write_text(text, encoding="utf-8"))
    files = [
        str(p.relative_to(out))
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    ]
    info = manifest([], replications=size.model.replications, steps=size.model.steps,
                    root_seed=size.model.root_seed, files=files)  # fmt: skip
    info["calibration"] = {**meta, "priors": str(PRIORS_FILE.name), "wall_seconds":
                           round(time.perf_counter() - start, 1)}  # fmt: skip
    info["checksums"] = {f: checksum(out / f) for f in files}
    _write_json(out / MANIFEST, info)
    pred = cal.predictive()
    print(pd.DataFrame(pred)[["target", "role", "posterior_mean", "low", "high", "within"]])
    print(f"calibration: {out}; report: {report}; posterior: {posterior_path or out}")
    return 0
