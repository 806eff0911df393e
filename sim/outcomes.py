"""The household outcomes recorded every step, computed into buffers kept between steps.

Data collection evaluates the same formulas as :mod:`sim.metrics` and :mod:`sim.welfare`
(welfare index, Gini, Atkinson, Sen, Alkire-Foster, means), in the same order of operations,
so every value equals the plain call bit for bit (``tests/test_fast_paths.py``). What it saves
is work around the formulas:

* every intermediate lands in an array kept between steps instead of a fresh temporary;
* the welfare values are sorted once into a buffer, and the sorted copy gives the Gini, the
  extremes that the Gini and Atkinson need, and the validation (a sort puts NaN last);
* the welfare mean is computed once and shared by the mean, Atkinson and Sen;
* the Alkire-Foster scores come from one byte per household (how many indicators it is
  deprived in; the weights are equal) instead of an (n, 6) matrix and a float product.

The Gini coefficients still need a full sort of welfare and of income every step. Reusing
the previous step's order does not help: after one step about half of the adjacent pairs of
the previously sorted households are out of order, and numpy's SIMD quicksort gains nothing
on such input (measured at 100,000 households; see benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np

from sim import metrics, welfare

__all__ = ["HouseholdOutcomes", "mean_of"]


class HouseholdOutcomes:
    """Household-level outcomes of a model, with the work arrays they reuse.

    Example:
        >>> from sim import PartnershipModel
        >>> model = PartnershipModel(seed=1, households=100)
        >>> out = HouseholdOutcomes()(model.hh, poorest=model._poorest,
        ...                           tied_flat=model._tied_flat, cutoff=0.4, k=1 / 3)
        >>> out["welfare_mean"] == float(model.hh.welfare().mean())
        True
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, size: int, dtype: type = np.float64) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.size != size:
            buf = self._buffers[name] = np.empty(size, dtype=dtype)
        return buf

    def __call__(
        self,
        hh: welfare.Households,
        *,
        poorest: np.ndarray,
        tied_flat: np.ndarray,
        cutoff: float,
        k: float,
        weights: np.ndarray = welfare.DEPRIVATION_WEIGHTS,
    ) -> dict[str, float]:
        """The outcomes of ``hh`` named as in ``sim.model.OUTCOMES``.

        Args:
            hh: the household arrays.
            poorest: indices of the poorest quintile (``welfare_q1``).
            tied_flat: flat positions of the tied entries of ``hh.trust``
                (``trust_community``).
            cutoff: deprivation cutoff of the services (:func:`sim.welfare.deprivations`).
            k: Alkire-Foster poverty cutoff.
            weights: the deprivation weights.
        """
        n = len(hh)
        w = hh.welfare(out=self._buffer("welfare", n), work=self._buffer("work", n))
        w_mean = mean_of(w)
        # One sorted copy: Gini, extremes for Atkinson, validation of every welfare value.
        w_sorted = self._buffer("sorted", n)
        np.copyto(w_sorted, w)
        w_sorted.sort()
        welfare_gini = metrics.gini_of_sorted(w_sorted)
        atkinson = metrics.atkinson_of_valid(
            w, 1.0, w_sorted[0], w_sorted[-1], w_mean, work=self._buffer("work", n)
        )
        np.copyto(w_sorted, hh.income)
        w_sorted.sort()
        income_gini = metrics.gini_of_sorted(w_sorted)
        if np.all(weights == weights[0]):
            count = welfare.deprivation_counts(hh, cutoff, out=self._buffer("count", n, np.uint8))
            h, a, m0 = metrics.alkire_foster_of_counts(count, _scores(weights), k)
        else:
            h, a, m0 = metrics.alkire_foster(welfare.deprivations(hh, cutoff), weights, k)
        if tied_flat.size:
            # mode="wrap" lets take write into the buffer directly (mode="raise" copies it);
            # the positions come from np.flatnonzero, so none wraps.
            tied = hh.trust.ravel().take(
                tied_flat, out=self._buffer("tied", tied_flat.size), mode="wrap"
            )
            trust_community = float(mean_of(tied))
        else:
            trust_community = float("nan")
        return {
            "welfare_mean": float(w_mean),
            "welfare_q1": float(mean_of(w.take(poorest))),
            "access_mean": float(mean_of(hh.access)),
            "capacity_mean": float(mean_of(hh.capacity)),
            "empowerment_mean": float(mean_of(hh.empowerment)),
            "income_mean": float(mean_of(hh.income)),
            "welfare_gini": welfare_gini,
            "income_gini": income_gini,
            "welfare_atkinson": atkinson,
            # sen_index(w, gini=welfare_gini): the mean discounted by the Gini.
            "welfare_sen": float(w_mean * (1.0 - welfare_gini)),
            "mpi_h": h,
            "mpi_a": a,
            "mpi_m0": m0,
            "trust_community": trust_community,
        }


def mean_of(x: np.ndarray) -> np.float64:
    """``x.mean()`` (same bits) without its Python wrapper: numpy's sum over the count.

    The wrapper costs a few microseconds per call, which adds up at small sizes where the
    outcomes are a few dozen such calls.
    """
    return np.add.reduce(x, axis=None) / x.size


_SCORES: dict[bytes, np.ndarray] = {}


def _scores(weights: np.ndarray) -> np.ndarray:
    key = weights.tobytes()
    scores = _SCORES.get(key)
    if scores is None:
        scores = _SCORES[key] = metrics.scores_of_counts(weights)
    return scores
