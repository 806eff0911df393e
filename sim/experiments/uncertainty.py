"""Conclusions across parameter uncertainty: posterior draws x replicates, and what varies.

With ``--posterior N`` a command draws ``N`` lever sets from the posterior sample
(:mod:`sim.scenario.posterior`; :func:`plan_draws`) and runs every scenario under every draw
with the same replicate seeds (:func:`run_posterior`): common random numbers within a draw
(every design of a draw meets the same households) and across draws (every draw meets the
same replicate seeds), so what differs between draws is the parameters alone.

Two kinds of uncertainty are then reported apart (:func:`decompose`, a one-way
random-effects analysis of variance over draws; ``D`` draws, ``R`` replicates each, ``x_dr``
the value of replicate ``r`` under draw ``d``, ``m_d`` the draw's mean):

- **parameter uncertainty**: the spread of the draw means ``m_d``: ``between_var`` =
  var(m_d), its noise-corrected component ``param_var = max(0, between_var − within_var / R)``
  and the 95% interval ``[param_low, param_high]`` = the 2.5th and 97.5th percentiles of the
  ``m_d`` (what the outcome's expected value could be, given what the evidence leaves open);
- **run-to-run noise**: ``within_var`` = the pooled variance of replicates within a draw, and
  the 95% t-interval ``[noise_low, noise_high]`` = mean ± t(0.975, D(R − 1)) ·
  sqrt(within_var / (D·R)) (how precisely the runs pin down the posterior mean; more
  replicates shrink it, more evidence is needed to shrink the other);
- ``param_share`` = param_var / (param_var + within_var): the share of one run's variance that
  is parameter uncertainty.

:func:`probability_better` gives, for each design, the share of draws in which the design's
mean (over replicates, paired by seed with the status quo in the same draw) beats the status
quo's: the probability, over the posterior, that the design is better.

Example:
    >>> values = pd.DataFrame({"scenario": ["a"] * 4, "draw": [0, 0, 1, 1],
    ...                        "replicate": [0, 1, 0, 1], "value": [1.0, 3.0, 5.0, 7.0]})
    >>> row = decompose(values, "value").iloc[0]
    >>> float(row["between_var"]), float(row["within_var"]), float(row["param_var"])
    (8.0, 2.0, 7.0)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import UserError
from sim.experiments.runs import Runner, batch
from sim.experiments.tasks import replicate_seeds
from sim.scenario.posterior import Posterior, apply_draw
from sim.scenario.schema import Scenario

__all__ = [
    "DECOMPOSITION",
    "POSTERIOR_STREAM",
    "DrawPlan",
    "decompose",
    "draw_scenarios",
    "paired_by_draw",
    "plan_draws",
    "plan_prior_draws",
    "probability_better",
    "run_posterior",
]

POSTERIOR_STREAM = 0x706F7374
"""Second word of the seed of the draw choice (``SeedSequence([root_seed, POSTERIOR_STREAM])``),
so the draws chosen are reproducible from the root seed and independent of the replicate seeds."""

PRIOR_STREAM = 0x7072696F
"""Second word of the seed of prior draws (``SeedSequence([root_seed, PRIOR_STREAM])``)."""

DECOMPOSITION = (
    "draws",
    "replicates",
    "mean",
    "between_var",
    "within_var",
    "param_var",
    "param_share",
    "param_low",
    "param_high",
    "noise_low",
    "noise_high",
)
"""The columns :func:`decompose` adds to its group keys."""


@dataclass(frozen=True)
class DrawPlan:
    """The posterior draws a command runs: ids in the file, their overrides, and provenance."""

    ids: tuple[int, ...]
    overrides: tuple[dict[str, Any], ...]
    source: dict[str, Any]

    def __len__(self) -> int:
        return len(self.ids)

    def manifest(self) -> dict[str, Any]:
        """What the manifest records: the file, its checksum and metadata, the draws chosen."""
        return {**self.source, "draws": len(self.ids), "draw_ids": list(self.ids)}


def plan_draws(posterior: Posterior, n: int, root_seed: int) -> DrawPlan:
    """``n`` draws of ``posterior`` chosen reproducibly from ``root_seed``.

    Raises:
        sim.scenario.posterior.PosteriorError: ``n`` < 1.
    """
    rng = np.random.default_rng(np.random.SeedSequence([root_seed, POSTERIOR_STREAM]))
    ids = tuple(int(i) for i in posterior.choose(n, rng))
    digest = hashlib.sha256(posterior.path.read_bytes()).hexdigest()
    source = {
        "kind": "posterior",
        "file": str(posterior.path),
        "sha256": digest,
        "size": posterior.size,
        "weighted": posterior.weighted,
        "levers": list(posterior.levers),
        "meta": posterior.meta,
        "choice_seed": [root_seed, POSTERIOR_STREAM],
    }
    return DrawPlan(ids, tuple(posterior.overrides(i) for i in ids), source)


def plan_prior_draws(priors: Any, n: int, root_seed: int, path: Path) -> DrawPlan:
    """``n`` independent draws from the priors (:mod:`sim.scenario.priors`), not calibrated.

    For robustness before a posterior exists; the plan says ``kind = "prior"`` so no report
    can take them for a posterior. A draw the scenario schema refuses (a rule between levers,
    an odd number of ties) is drawn again: the prior is restricted to valid scenarios, and the
    plan records how many were refused.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of prior draws must be a whole number >= 1; got {n!r}")
    rng = np.random.default_rng(np.random.SeedSequence([root_seed, PRIOR_STREAM]))
    kept: list[dict[str, Any]] = []
    refused: dict[str, int] = {}
    while len(kept) < n:
        if sum(refused.values()) > 100 * n:
            raise ValueError(f"the priors give no valid scenario in {100 * n} draws: {refused}")
        for overrides in priors.overrides(priors.sample(n - len(kept), rng)):
            try:
                Scenario().with_overrides(overrides, source="prior draw")
            except UserError as exc:
                reason = (
                    str(exc).split(":")[1].split(" = ")[0].strip() if ":" in str(exc) else str(exc)
                )
                refused[reason] = refused.get(reason, 0) + 1
                continue
            kept.append(overrides)
    source = {
        "kind": "prior",
        "file": str(path),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "size": None,
        "weighted": False,
        "levers": list(priors.levers),
        "meta": {"method": "prior draws (not calibrated to evidence)"},
        "choice_seed": [root_seed, PRIOR_STREAM],
        "refused": refused,
    }
    return DrawPlan(tuple(range(n)), tuple(kept), source)


def draw_scenarios(
    scenarios: Sequence[Scenario], plan: DrawPlan
) -> tuple[list[list[Scenario]], dict[str, tuple[str, ...]]]:
    """Each draw's scenarios (:func:`~sim.scenario.posterior.apply_draw`) and the levers kept.

    Returns one list of scenarios per draw, and per scenario name the posterior levers it sets
    itself (kept at its own value in every draw).
    """
    drawn, kept = [], {}
    for k, (draw_id, overrides) in enumerate(zip(plan.ids, plan.overrides, strict=True)):
        row = []
        for s in scenarios:
            new, own = apply_draw(s, overrides, source=f"{s.name} with posterior draw {draw_id}")
            row.append(new)
            if k == 0:
                kept[s.name] = own
        drawn.append(row)
    return drawn, kept


def run_posterior(
    scenarios: Sequence[Scenario],
    plan: DrawPlan,
    *,
    replications: int,
    steps: int | None = None,
    root_seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    events: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Every scenario under every draw, ``replications`` times, with common random numbers.

    Returns :func:`sim.experiments.runs.run_comparison`'s table with two more keys after
    ``scenario``: ``draw`` (0..N−1, the position in the plan) and ``posterior_draw`` (the
    draw's id in the posterior file).
    """
    seeds = replicate_seeds(root_seed, replications)
    drawn, _ = draw_scenarios(scenarios, plan)
    tasks, keys = [], []
    for k, row in enumerate(drawn):
        for task in batch(row, seeds, steps):
            tasks.append(replace(task, run_id=str(len(tasks)), point=k))
            keys.append(k)
    with Runner(workers, progress) as runner:
        results = runner.run(tasks)
    frames = []
    for k, result in zip(keys, results, strict=True):
        frame = result.payload
        frame.insert(1, "draw", k)
        frame.insert(2, "posterior_draw", plan.ids[k])
        frames.append(frame)
        if events is not None and len(result.events):
            log = result.events.copy()
            log.insert(1, "draw", k)
            events.append(log)
    return pd.concat(frames, ignore_index=True)


def decompose(
    values: pd.DataFrame, column: str, by: Iterable[str] = ("scenario",), level: float = 0.95
) -> pd.DataFrame:
    """Parameter uncertainty and run-to-run noise of ``column`` per group (module docstring).

    ``values`` has the ``by`` keys, ``draw`` and one row per replicate; NaN values are left
    out (an unbalanced draw uses its own count). With one draw the parameter columns are NaN;
    with one replicate per draw the noise columns are.
    """
    by = list(by)
    rows = []
    for key, group in values.dropna(subset=[column]).groupby(by, sort=False):
        per = group.groupby("draw", sort=True)[column]
        means, counts = per.mean().to_numpy(float), per.count().to_numpy(float)
        sums = per.var(ddof=1).fillna(0.0).to_numpy(float) * (counts - 1)
        d, dof = means.size, float((counts - 1).sum())
        within = sums.sum() / dof if dof > 0 else np.nan
        between = float(np.var(means, ddof=1)) if d > 1 else np.nan
        reps = float(counts.mean())
        param = max(0.0, between - within / reps) if np.isfinite(between + within) else np.nan
        share = param / (param + within) if np.isfinite(param) and param + within > 0 else np.nan
        mean = float(means.mean())
        half = float(stats.t.ppf(0.5 + level / 2, dof) * np.sqrt(within / counts.sum()))
        tail = 100 * (1 - level) / 2
        low, high = np.percentile(means, [tail, 100 - tail]) if d > 1 else (np.nan, np.nan)
        rows.append(
            dict(
                zip(by, key if isinstance(key, tuple) else (key,), strict=True),
                draws=d,
                replicates=reps,
                mean=mean,
                between_var=between,
                within_var=within,
                param_var=param,
                param_share=share,
                param_low=float(low),
                param_high=float(high),
                noise_low=mean - half if dof > 0 else np.nan,
                noise_high=mean + half if dof > 0 else np.nan,
            )
        )
    return pd.DataFrame(rows, columns=[*by, *DECOMPOSITION])


def paired_by_draw(table: pd.DataFrame, reference: str, column: str) -> pd.DataFrame:
    """Differences design − ``reference`` of ``column``, paired on (draw, seed).

    ``table`` has ``scenario, draw, seed`` and ``column``; returns ``scenario, draw, seed,
    difference`` for every design other than the reference.
    """
    wide = table.pivot_table(index=["draw", "seed"], columns="scenario", values=column)
    out = []
    for name in dict.fromkeys(table["scenario"]):
        if name == reference or name not in wide.columns:
            continue
        diff = (wide[name] - wide[reference]).rename("difference").reset_index()
        out.append(diff.assign(scenario=name))
    columns = ["scenario", "draw", "seed", "difference"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def probability_better(
    table: pd.DataFrame, reference: str, column: str, higher_is_better: bool = True
) -> pd.DataFrame:
    """Per design: the share of draws in which its mean ``column`` beats ``reference``'s.

    Within a draw the design and the status quo are paired by seed (common random numbers);
    a draw counts when the mean paired difference is strictly better (a tie does not count).
    Returns ``scenario, reference, measure, draws, better_draws, probability_better``.
    """
    diffs = paired_by_draw(table, reference, column).dropna(subset=["difference"])
    rows = []
    for name, group in diffs.groupby("scenario", sort=False):
        per_draw = group.groupby("draw")["difference"].mean().to_numpy(float)
        better = per_draw > 0 if higher_is_better else per_draw < 0
        rows.append(
            {
                "scenario": name,
                "reference": reference,
                "measure": column,
                "draws": int(per_draw.size),
                "better_draws": int(better.sum()),
                "probability_better": float(better.mean()),
            }
        )
    columns = ["scenario", "reference", "measure", "draws", "better_draws", "probability_better"]
    return pd.DataFrame(rows, columns=columns)
