"""Pattern-oriented validation, the building blocks: sizes, shocks, arms and their runner.

The ten patterns of docs/ODD.md (section 1.2) are experiments built from these
(:mod:`sim.experiments.patterns`): each arm is a shipped scenario (``scenarios/*.toml``) plus a
few overrides and shocks, run with replications and common random numbers (every arm uses the
same replicate seeds from :func:`sim.experiments.tasks.replicate_seeds`), and each effect is
judged by a stated statistical criterion: the 95% t-interval of a paired (by replicate seed)
difference lies wholly on the predicted side of zero (Grimm et al. 2005, Science 310:987:
several patterns at once, none of them written into the code). Across the suite, Holm's
procedure keeps the family-wise error rate. Judging (per-run statistics, effects, bands,
pattern results, Holm) is in :mod:`sim.experiments.effects`; its names are re-exported here,
so ``from sim.experiments.validation import paired_effect`` keeps working.

Two sizes: ``full`` for the report (``python run_simulation.py validate``, which writes
``docs/validation.md`` through :mod:`sim.present.validation_report`) and ``ci``, small and
fixed-seed, for ``tests/test_validation.py``.

Breaches and early wins are caused at the level of mechanism, not of outcome: a
:class:`ContributionShock` caps (or floors) what named members contribute during a window of
steps, as a partner that defaults (or over-delivers) would. What happens to trust, beliefs,
contributions, membership and welfare afterwards is left to the model.

Example:
    >>> a = arm("breach", "ppp", factors__trust=0.5)
    >>> a.overrides, a.build(SIZES["ci"]).population.households
    ((('factors.trust', 0.5),), 150)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from sim.experiments.effects import (
    NATURES,
    Band,
    Effect,
    Figure,
    PatternResult,
    family_wise,
    holm,
    horizon,
    paired_effect,
    per_run,
    retention,
    survival_time,
    survived,
)
from sim.experiments.runs import Runner
from sim.experiments.tasks import RunTask, replicate_seeds
from sim.mechanisms.partnership import Partnership
from sim.model.model import PartnershipModel
from sim.paths import SCENARIOS
from sim.scenario import Scenario, load_scenario
from sim.scenario.posterior import apply_draw

__all__ = [
    "NATURES",
    "SIZES",
    "Arm",
    "ArmRunner",
    "Band",
    "ContributionShock",
    "Effect",
    "Figure",
    "PatternResult",
    "ShockedModel",
    "Size",
    "arm",
    "family_wise",
    "holm",
    "horizon",
    "paired_effect",
    "per_run",
    "retention",
    "survival_time",
    "survived",
]

SCENARIO_DIR = SCENARIOS


# ----------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Size:
    """How large a validation run is: population, horizon, replications and root seed."""

    name: str
    households: int
    villages: int
    steps: int
    replications: int
    root_seed: int


SIZES = {
    # The report: the shipped population (500 households in 10 villages) over ten years.
    "full": Size("full", households=500, villages=10, steps=120, replications=30, root_seed=2026),
    # The test suite: small villages keep the free-riding contrast (village size 50 is kept
    # by using 3 villages of 50), six years are enough for every pattern to show.
    "ci": Size("ci", households=150, villages=3, steps=72, replications=8, root_seed=7),
}


# ----------------------------------------------------------------------------- shocks
@dataclass(frozen=True)
class ContributionShock:
    """Named members fulfil at most (``cap``) or at least (``floor``) ``level`` of their promise.

    Active during steps ``start..end`` (inclusive; step t is the t-th call of ``step``). A cap
    models a partner that defaults (a breach of trust, Slovic 1993); a floor models partners
    that deliver in full early on (small wins, Ansell & Gash 2008). ``members`` are node ids;
    ``("*",)`` means every member. Members that have left are ignored.
    """

    members: tuple[str, ...]
    start: int
    end: int
    level: float
    kind: str = "cap"

    def __post_init__(self) -> None:
        if self.kind not in ("cap", "floor"):
            raise ValueError(f"kind must be 'cap' or 'floor'; got {self.kind!r}")
        if not 0.0 <= self.level <= 1.0:
            raise ValueError(f"level must be in [0, 1]; got {self.level}")
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")


class ShockedModel(PartnershipModel):
    """A :class:`~sim.model.PartnershipModel` with contribution shocks and a trust probe.

    After the members decide their contributions (phase 3), active shocks cap or floor the
    named members' contributions before they are pooled (the model's ``on_contribute`` hook);
    nothing else changes. If
    ``probe`` names a member, the other members' mean trust in it is recorded after every step
    (column ``trust_in_probe``; NaN once it or the partnership is gone).
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        shocks: Sequence[ContributionShock] = (),
        probe: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.shocks = tuple(shocks)
        self.probe = probe
        self._probe_values: list[float] = []
        super().__init__(scenario, **kwargs)
        self._probe_values.append(self._trust_in_probe())

    def on_contribute(self, p: Partnership) -> None:
        """The model's hook after phase 3's decisions: active shocks cap or floor them."""
        for shock in self.shocks:
            if not shock.start <= self.steps <= shock.end:
                continue
            for i, node in enumerate(p.members):
                if shock.members != ("*",) and node not in shock.members:
                    continue
                k = p.contribution[i]
                p.contribution[i] = (
                    min(k, shock.level) if shock.kind == "cap" else max(k, shock.level)
                )

    def step(self) -> None:
        """One step of the model, then the trust probe is recorded."""
        super().step()
        self._probe_values.append(self._trust_in_probe())

    def _trust_in_probe(self) -> float:
        p = self.active_partnership
        if self.probe is None or p is None or self.probe not in p.members:
            return float("nan")
        j = p.members.index(self.probe)
        t = self.trust_matrix()
        others = [i for i in range(p.size) if i != j]
        return float(t[others, j].mean())

    def results(self) -> pd.DataFrame:
        """The model's tidy table, with ``trust_in_probe`` if a probe is set."""
        df = super().results()
        if self.probe is not None:  # one probe value per step from 0; the rows' steps pick
            df["trust_in_probe"] = [self._probe_values[t] for t in df["step"]]
        return df


# ----------------------------------------------------------------------------- arms and runs
@dataclass(frozen=True)
class Arm:
    """One condition of an experiment: a shipped scenario, overrides, and shocks."""

    label: str
    scenario: str
    overrides: tuple[tuple[str, Any], ...] = ()
    shocks: tuple[ContributionShock, ...] = ()
    probe: str | None = None

    def build(self, size: Size, levers: dict[str, Any] | None = None) -> Scenario:
        """The arm's scenario at ``size``: the shipped file, the size's levers, the overrides.

        ``levers`` (a posterior draw, a structural alternative) replace the shipped defaults
        in every arm before its own overrides: a lever the shipped scenario or the arm sets
        keeps that value (:func:`sim.scenario.posterior.apply_draw`).
        """
        base = load_scenario(SCENARIO_DIR / f"{self.scenario}.toml")
        sized = {
            "population.households": size.households,
            "population.villages": size.villages,
            "run.steps": size.steps,
        }
        if not levers:
            return base.with_overrides({**sized, **dict(self.overrides)})
        base = apply_draw(base.with_overrides(sized), levers, source=f"arm {self.label}")[0]
        return base.with_overrides(dict(self.overrides))

    def key(self, size: Size, levers: dict[str, Any] | None = None) -> str:
        """What makes two arms the same runs (labels aside): their caching key."""
        shocks = [s.__dict__ for s in self.shocks]
        return json.dumps(
            [
                self.build(size, levers).model_dump(mode="json", exclude={"name", "description"}),
                shocks,
                self.probe,
            ],
            sort_keys=True,
        )


def arm(label: str, scenario: str, shocks=(), probe=None, **overrides: Any) -> Arm:
    """An :class:`Arm`; overrides use dotted keys with ``__`` for the dot (``factors__trust``)."""
    items = tuple(sorted((k.replace("__", "."), v) for k, v in overrides.items()))
    return Arm(label, scenario, items, tuple(shocks), probe)


class ArmRunner:
    """Runs arms with common random numbers and caches them (arms shared across patterns).

    Every arm runs through the one runner (:class:`sim.experiments.runs.Runner`) as a
    :class:`ShockedModel` with the arm's shocks and probe, on the same replicate seeds.
    ``levers`` (a posterior draw or a structural alternative) apply to every arm
    (:meth:`Arm.build`).
    """

    def __init__(
        self,
        size: Size,
        workers: int = 1,
        progress: bool = False,
        levers: dict[str, Any] | None = None,
    ) -> None:
        self.size = size
        self.progress = progress
        self.levers = dict(levers or {})
        self.seeds = replicate_seeds(size.root_seed, size.replications)
        self._cache: dict[str, pd.DataFrame] = {}
        self._runner = Runner(workers)

    def close(self) -> None:
        """Shut down the worker processes, if any."""
        self._runner.close()

    def __enter__(self) -> ArmRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, arms: Sequence[Arm]) -> dict[str, pd.DataFrame]:
        """One tidy frame per arm label (every replicate, every step)."""
        todo: dict[str, Arm] = {}
        for a in arms:
            k = a.key(self.size, self.levers)
            if k not in self._cache and k not in todo:
                todo[k] = a
        tasks, keys = [], []
        for k, a in todo.items():
            config = a.build(self.size, self.levers).to_dict()
            model = partial(ShockedModel, shocks=a.shocks, probe=a.probe)
            for r, seed in enumerate(self.seeds):
                run_id = str(len(tasks))
                tasks.append(
                    RunTask(run_id, config, a.label, 0, r, seed, self.size.steps, model=model)
                )
                keys.append(k)
        frames = [result.payload for result in self._runner.run(tasks)]
        for k in todo:
            self._cache[k] = pd.concat([f for kk, f in zip(keys, frames, strict=True) if kk == k])
        if self.progress and todo:
            print(f"  ran {len(tasks)} runs", file=sys.stderr)
        return {
            a.label: self._cache[a.key(self.size, self.levers)].assign(scenario=a.label)
            for a in arms
        }
