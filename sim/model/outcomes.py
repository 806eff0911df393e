"""The household outcomes recorded every step, computed into buffers kept between steps.

Data collection evaluates the formulas of :mod:`sim.metrics` and :mod:`sim.welfare` (welfare
index, Gini, Atkinson, Sen, Alkire-Foster, means) with as few passes over the households as it
can. Each value equals the plain call to within a few units in the last place (the sums run
in a different order; ``tests/test_fast_paths.py`` holds them to a relative 1e-12). What it
saves:

* every intermediate lands in an array kept between steps instead of a fresh temporary;
* the welfare values are sorted in place once they have given the mean and the poorest fifth's
  mean; the sorted copy gives the Gini, the extremes (a sort puts NaN last, so they validate
  every value) and the Atkinson index, which does not depend on the order;
* the sums are shared: the welfare mean serves the Gini, Atkinson and Sen; the income mean
  serves the income Gini;
* the sorts run on the values' bit patterns as 64-bit integers, which order non-negative
  floats as the floats are ordered and sort about 8% faster;
* the Alkire-Foster measures come from one byte per household (how many indicators it is
  deprived in; the weights are equal) and the number of households at each count;
* the community's trust comes from each household's mean trust over its ties (which the spread
  of trust needs anyway) weighted by its number of ties: one pass over n values;
* the spread of households' trust is one pass over the trust matrix (each household's sum over
  its ties; compiled at large sizes, :func:`sim.mechanisms.kernels.tied_trust`, the same bits),
  with each household's number of ties counted once per structure, then a few passes over one
  value per household (no sort).

The two Gini coefficients still need a full sort of welfare and of income every step (about
0.3 ms each at 100,000 households with numpy's AVX-512 sort on Intel; on AMD Zen 4, where that
sort takes 3.8 ms, a bucket sort that takes about 1 ms is used instead), which is the floor of
this module's cost. Reusing the previous step's order does not help: after one step the sorted
households are displaced by 76 (income) to 160 (welfare) places on average and numpy's sorts
gain nothing on such input (measured at 100,000 households; see benchmarks/README.md).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np
import pandas as pd

from sim.mechanisms import kernels, metrics, power, sustainability, welfare
from sim.mechanisms.partnership import SERVICES, Partnership
from sim.scenario.outcomes import DECLARED

if TYPE_CHECKING:
    from sim.model.step import StepRecord

__all__ = [
    "HouseholdOutcomes",
    "OutcomeCollector",
    "household_frame",
    "mean_of",
    "results_frame",
    "step_outcomes",
    "upkeep_outcomes",
]


class HouseholdOutcomes:
    """Household-level outcomes of a model, with the work arrays they reuse.

    Example:
        >>> from sim import PartnershipModel
        >>> model = PartnershipModel(seed=1, households=100)
        >>> out = HouseholdOutcomes()(model.hh, poorest=model.poorest,
        ...                           tied_weight=model.structure.tied_weight,
        ...                           tied_count=model.structure.tied_count, cutoff=0.4, k=1 / 3)
        >>> out["welfare_mean"] == float(model.hh.welfare().mean())
        True
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self._sort: tuple[np.ndarray, np.ndarray] | None = None

    def _buffer(self, name: str, size: int, dtype: type = np.float64) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.size != size:
            buf = self._buffers[name] = np.empty(size, dtype=dtype)
        return buf

    def _sort_work(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The compiled sort's work arrays, kept between steps; ``None`` if it does not run."""
        if not kernels.enabled(n):
            return None
        if self._sort is None or self._sort[0].size != n:
            self._sort = kernels.sort_work(n)
        return self._sort

    def __call__(
        self,
        hh: welfare.Households,
        *,
        poorest: np.ndarray,
        tied_weight: np.ndarray,
        tied_count: int,
        cutoff: float,
        k: float,
        tie_counts: np.ndarray | None = None,
        tied: np.ndarray | None = None,
    ) -> dict[str, float]:
        """The outcomes of ``hh`` named as in ``sim.model.OUTCOMES``.

        Args:
            hh: the household arrays.
            poorest: indices of the poorest quintile (``welfare_q1``).
            tied_weight: 1.0 where a household is tied to an organization, else 0.0, shaped
                like ``hh.trust`` (``trust_community``: the mean trust over the ties;
                ``trust_spread``: each household's mean trust over its ties).
            tied_count: the number of ties (the sum of ``tied_weight``).
            tie_counts: each household's number of ties, when its owner keeps them
                (:meth:`sim.model.build.Structure.tie_counts`); counted here otherwise.
            tied: ``tied_weight`` as bools, when at hand (the compiled form of the trust
                sums, :func:`sim.mechanisms.kernels.tied_trust`, reads them).
            cutoff: deprivation cutoff of the services (:func:`sim.welfare.deprivations`).
            k: Alkire-Foster poverty cutoff.
            weights: the deprivation weights.
        """
        n = len(hh)
        w = hh.welfare(out=self._buffer("welfare", n), work=self._buffer("work", n))
        w_mean = mean_of(w)
        welfare_q1 = mean_of(w.take(poorest))
        # Sorted in place from here on: Gini, extremes, Atkinson (order-free).
        w_sorted = _sort_non_negative(w, work=self._sort_work(n))
        w_total = w_mean * n
        welfare_gini = metrics.gini_of_sorted(w_sorted, total=w_total)
        atkinson = metrics.atkinson_of_valid(
            w_sorted, 1.0, w_sorted[0], w_sorted[-1], w_mean, work=self._buffer("work", n)
        )
        income_mean = mean_of(hh.income)
        income_sorted = self._buffer("income", n)
        np.copyto(income_sorted, hh.income)
        _sort_non_negative(income_sorted, work=self._sort_work(n))
        income_gini = metrics.gini_of_sorted(income_sorted, total=income_mean * n)
        poverty_rate = metrics.headcount_ratio_of_sorted(income_sorted, 1.0)
        bottom40 = metrics.bottom_share_of_sorted(income_sorted, 0.4, total=income_mean * n)
        count = welfare.deprivation_counts(hh, cutoff, out=self._buffer("count", n, np.uint8))
        h, a, m0 = metrics.alkire_foster_of_counts(count, _SCORES, k)
        trust_spread, trust_community = self._trust_spread(
            hh.trust, tied_weight, tie_counts, tied_count, tied
        )
        return {
            "welfare_mean": float(w_mean),
            "welfare_q1": float(welfare_q1),
            "access_mean": float(mean_of(hh.access)),
            "access_health": float(mean_of(hh.stock[:, 0])),
            "capacity_mean": float(mean_of(hh.capacity)),
            "empowerment_mean": float(mean_of(hh.empowerment)),
            "income_mean": float(income_mean),
            "welfare_gini": welfare_gini,
            "income_gini": income_gini,
            "poverty_rate": poverty_rate,
            "income_bottom40": bottom40,
            "welfare_atkinson": atkinson,
            # sen_index(w, gini=welfare_gini): the mean discounted by the Gini.
            "welfare_sen": float(w_mean * (1.0 - welfare_gini)),
            "mpi_h": h,
            "mpi_a": a,
            "mpi_m0": m0,
            "trust_community": trust_community,
            "trust_spread": trust_spread,
        }

    def _trust_spread(
        self,
        trust: np.ndarray,
        tied_weight: np.ndarray,
        tie_counts: np.ndarray | None,
        tied_count: int,
        tied: np.ndarray | None = None,
    ) -> tuple[float, float]:
        """The spread of households' trust in the organizations, and the community's trust.

        Each household's trust ``T_h`` is :func:`sim.mechanisms.welfare.programme_trust` over
        every organization (its mean trust in those it is tied to; a household tied to none:
        its mean trust in all). The spread is the population standard deviation of ``T_h``
        (divided by n: the spread among these households, not an estimate for others); NaN
        without organizations.

        The community's trust, the mean over all ties ``Σ_hj tied_hj τ_hj / Σ_hj tied_hj``,
        is ``Σ_h c_h T_h / Σ_h c_h`` with ``c_h`` the household's number of ties (households
        tied to none weigh 0): one pass over n values instead of the (n, organizations)
        matrix. ``c_h T_h`` rounds the household's sum back to within a unit in the last
        place, so it agrees with the plain formula to ~1e-16 relative. NaN without ties.
        """
        n, k = trust.shape
        if k == 0:
            return float("nan"), float("nan")
        if tie_counts is None:
            tie_counts = welfare.row_sums(tied_weight)
        # welfare.programme_trust over every organization; a large district sums each
        # household's row in one compiled pass (kernels.tied_trust, the same bits).
        t = self._buffer("trust_sums", n)
        if tied is not None and kernels.enabled(n):
            kernels.tied_trust(trust, tied, tie_counts, out=t)
        else:
            every = list(range(k))
            np.copyto(t, welfare.programme_trust(trust, every, tied_weight, count=tie_counts))
        community = float(np.einsum("i,i->", t, tie_counts) / tied_count) if tied_count else np.nan
        t -= mean_of(t)
        return float(np.sqrt(np.einsum("i,i->", t, t) / n)), community


def _sort_non_negative(
    x: np.ndarray,
    *,
    bucketed: bool | None = None,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Sort ``x`` in place through its bit patterns as int64 and return it.

    For non-negative floats (and +inf, and NaN with the sign bit clear, which sort last and
    which :func:`sim.metrics.gini_of_sorted` rejects) the integer order of the bit patterns is
    the order of the values, and numpy sorts 64-bit integers faster than floats. Every pattern
    with the sign bit set sorts first, ``-0.0`` (a valid zero) before the others; any such
    pattern other than ``-0.0`` (a negative number, or the NaN that invalid operations make on
    x86) is refused here, since after a ``-0.0`` it would not be the first value.

    Large arrays of values that are all non-negative and not NaN may go through
    :func:`_bucket_sorted` instead (``bucketed=None``: where it is faster on this machine,
    see :func:`_bucket_sort_pays`; ``True``/``False`` force the choice), or, in a district
    large enough for the compiled kernels and given their ``work`` arrays
    (:func:`sim.mechanisms.kernels.sort_work`), through :func:`sim.mechanisms.kernels.sort_bits`.
    All are exact sorts, so the result is the same array whichever ran.

    Raises:
        ValueError: if a value is negative or a NaN with the sign bit set.

    Example:
        >>> _sort_non_negative(np.array([2.5, 0.0, np.inf, 1e-300, -0.0]))
        array([-0.0e+000,  0.0e+000,  1.0e-300,  2.5e+000,       inf])
    """
    bits = x.view(np.int64)
    if work is not None and bucketed is None and bits.size and kernels.enabled(bits.size):
        lo, hi = int(bits.min()), int(bits.max())
        if lo >= 0 and hi <= _INF_BITS and kernels.sort_bits(bits, lo, hi, work):
            return x
    if bucketed is None:
        bucketed = bits.size >= _BUCKET_SORT_FROM and _bucket_sort_pays()
    if bucketed and bits.size:
        lo, hi = int(bits.min()), int(bits.max())
        if lo >= 0 and hi <= _INF_BITS:  # no sign bit, no NaN: the patterns order the values
            np.copyto(bits, _bucket_sorted(bits, lo, hi))
            return x
    bits.sort()
    signed = int(np.searchsorted(bits, 0))  # patterns with the sign bit set come first
    if signed and bits[signed - 1] != _NEGATIVE_ZERO:
        raise ValueError(f"values must be finite and non-negative; got {x[signed - 1]}")
    return x


_NEGATIVE_ZERO = np.array(-0.0).view(np.int64)
_INF_BITS = int(np.array(np.inf).view(np.int64))

_BUCKET_SORT_FROM = 4096
"""Smallest array :func:`_sort_non_negative` may bucket-sort (below it numpy's sort is as
fast everywhere measured, and the bucket sort's fixed cost of a few calls dominates)."""


def _bucket_sorted(bits: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Non-negative int64 values ``bits`` (between ``lo`` and ``hi``) sorted, as a new array.

    Three counting passes and one finishing pass instead of a comparison sort: each value's
    bucket is its top 24 bits above ``lo`` (a non-decreasing function of the value), split
    into an 8-bit and a 16-bit key that ``np.lexsort`` orders with numpy's radix sort (one
    pass per byte); values in one bucket keep their order, so a final stable sort (timsort)
    fixes the few buckets that hold values out of order (about 400 of 100,000 values), at
    little more than the cost of one pass over an array that is nearly one run.

    Why: numpy's default sort uses x86-simd-sort's AVX-512 quicksort wherever AVX-512 is
    present, and on AMD Zen 4 processors that code's compress-store instruction is
    microcoded: 100,000 values take 3.7-3.9 ms there (about 0.3 ms on Intel). This sort
    takes about 0.85 ms on the same Zen 4 machine for the welfare and the income of 100,000
    households (a 16-bit bucket, whose buckets hold several values each and leave timsort
    more to merge, took 1.3 ms; a 32-bit one, one more byte pass, 0.95 ms).

    Example:
        >>> x = np.array([3, 1, 2, 1, 0], dtype=np.int64)
        >>> _bucket_sorted(x, 0, 3)
        array([0, 1, 1, 2, 3])
    """
    shift = max((hi - lo).bit_length() - 24, 0)
    key = np.subtract(bits, lo)
    np.right_shift(key, shift, out=key)  # < 2**24
    low = key.astype(np.uint8)  # the low 8 bits (an integer cast keeps them)
    np.right_shift(key, 8, out=key)
    out = bits.take(np.lexsort((low, key.astype(np.uint16))))
    out.sort(kind="stable")
    return out


@functools.cache
def _bucket_sort_pays() -> bool:
    """Whether :func:`_bucket_sorted` beats numpy's sort on this machine (timed once).

    Both sort the same 32,768 random values three times; the best times decide. Only speed
    depends on the answer, never a result (both sorts are exact).
    """
    values = np.random.default_rng(0).random(1 << 15).view(np.int64)
    lo, hi = int(values.min()), int(values.max())

    def best(sort: Callable[[np.ndarray], object]) -> float:
        times = []
        for _ in range(3):
            copy = values.copy()
            start = time.perf_counter()
            sort(copy)
            times.append(time.perf_counter() - start)
        return min(times)

    return best(lambda v: _bucket_sorted(v, lo, hi)) < best(np.ndarray.sort)


def mean_of(x: np.ndarray) -> np.float64:
    """``x.mean()`` (same bits) without its Python wrapper: numpy's sum over the count.

    The wrapper costs a few microseconds per call, which adds up at small sizes where the
    outcomes are a few dozen such calls.
    """
    return np.add.reduce(x, axis=None) / x.size


_SCORES = metrics.scores_of_counts(welfare.DEPRIVATION_WEIGHTS)
"""Alkire-Foster score by number of deprivations (the welfare indicators weigh equally)."""


def step_outcomes(
    record: StepRecord,
    households: int,
    p: Partnership | None,
    trust: np.ndarray,
    understanding: float,
    voice: float,
) -> dict[str, float]:
    """The partnership's and the step's flows as outcomes (per household where a flow).

    ``trust`` is the members' :meth:`~sim.model.ties.Ties.party_trust` (unused with no
    partnership). With no active partnership its outcomes are NaN (voice 0).
    """
    out = {
        "pooled_resources": record.pooled / households,
        "delivered": record.delivered / households,
        "leakage": record.leaked / record.spent if record.spent > 0 else 0.0,
        "partnership_active": float(p is not None),
        "partnership_size": float(p.size if p is not None else 0),
        "spent": (record.spent + record.cost_participation) / households,
        "cost_coordination": record.cost_coordination / households,
        "cost_audit": record.cost_audit / households,
        "cost_evaluation": record.cost_evaluation / households,
        "cost_participation": record.cost_participation / households,
        "accountability": record.accountability,
    }
    if p is not None:
        m = p.size
        out.update(
            # The mean off the diagonal, whose entries are exactly 1.
            trust_partners=float((trust.sum() - m) / (m * m - m)),
            shared_understanding=understanding,
            power_balance=power.power_ratio(p.weights),
            community_voice=voice,
            contribution_rate=float(p.contribution.mean()),
        )
    else:
        out.update(
            trust_partners=float("nan"),
            shared_understanding=float("nan"),
            power_balance=float("nan"),
            community_voice=0.0,
            contribution_rate=float("nan"),
        )
    return out


def upkeep_outcomes(upkeep: sustainability.Upkeep, access_mean: float) -> dict[str, float]:
    """Sustainability's outcomes: the O&M body, the assets' upkeep and service continuity."""
    continuity = sustainability.service_continuity(access_mean, upkeep.peak_access)
    return {
        "om_body": upkeep.body,
        "asset_upkeep": upkeep.share,
        "service_continuity": continuity,
    }


class OutcomeCollector(mesa.DataCollector):
    """Mesa's DataCollector for the model's outcomes, without a deep copy of each value.

    Mesa deep-copies every reported value so that a mutable one cannot change after it was
    recorded; the outcomes are floats, which cannot change, and the copies cost a quarter of
    data collection at 1,000 households. Everything else (reporters, tables) is Mesa's. Each
    outcome is read from the model's ``metrics``.
    """

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(model_reporters={name: _reporter(name) for name in names})

    def collect(self, model: mesa.Model) -> None:
        """Append the model's current outcomes."""
        if self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):  # Mesa 3.4+: which step each row is
            self._collection_steps.append(getattr(model, "time", model.steps))
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))


def _reporter(name: str):
    def report(model: mesa.Model) -> float:
        return model.metrics[name]

    report.__name__ = name
    return report


def household_frame(hh: welfare.Households, step: int) -> pd.DataFrame:
    """Agent-level data: one row per household (its village, incomes, voice and stocks)."""
    frame = {
        "household": np.arange(len(hh)),
        "village": hh.village,
        "income0": hh.income0,
        "income": hh.income,
        "voice": hh.voice,
        "welfare": hh.welfare(),
        "poorest_quintile": hh.poorest_quintile,
    }
    for s, name in enumerate(SERVICES):
        frame[name] = hh.stock[:, s]
    df = pd.DataFrame(frame)
    df.insert(0, "step", step)
    return df


def results_frame(
    collector: mesa.DataCollector, steps: Sequence[int], scenario: str, seed: int, replicate: int
) -> pd.DataFrame:
    """The tidy model-level table: scenario, replicate, seed, step and every outcome.

    Every outcome is stored with its declared dtype (:class:`sim.scenario.outcomes.Outcome`):
    ``partnership_active`` as bool, ``partnership_size`` as int64, the others as float64.
    """
    df = collector.get_model_vars_dataframe().reset_index(drop=True)
    stored = {n: o.dtype for n, o in DECLARED.items() if o.dtype != "float64" and n in df}
    if stored:  # whole numbers and yes/no recorded as floats, stored as declared
        df = df.astype(stored)
    df.insert(0, "step", np.array(steps, dtype=np.int64))
    df.insert(0, "seed", seed)
    df.insert(0, "replicate", replicate)
    df.insert(0, "scenario", scenario)
    return df
