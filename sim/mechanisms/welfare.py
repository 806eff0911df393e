"""Household welfare: the household arrays, how services become welfare, and the outcomes.

Household state is a structure of arrays (:class:`Households`) owned by the model. Every rule
here is vectorized over households.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.mechanisms import metrics
from sim.scenario.traits import SERVICES

__all__ = [
    "TAKEN_UP",
    "WELFARE_DIMENSIONS",
    "Households",
    "depreciate",
    "deprivation_counts",
    "deprivations",
    "dose_gain",
    "dose_response",
    "income_from_capital",
    "initial_households",
    "programme_trust",
    "row_sums",
    "takeup",
    "targeting_weights",
    "welfare_index",
]

WELFARE_DIMENSIONS = ("access", "capacity", "empowerment", "income")
"""Dimensions of the welfare index, weighted equally."""

TAKEN_UP = np.array([s in ("health", "education", "training") for s in SERVICES])
"""Services a household must come to use (a clinic, a school, a course), whose take-up
depends on its trust in the provider (:func:`takeup`). Infrastructure serves whoever lives
by it, and the participation dose is the community's seat, not a household's choice."""

INCOME_SCORE_RANGE = (0.25, 8.0)
"""Incomes (multiples of the poverty line) mapped to 0 and 1 on a log scale."""


@dataclass
class Households:
    """Household state as arrays of length ``n``.

    ``stock`` is (n, 5), one column per service in :data:`sim.agents.SERVICES` order: access to
    health, education and infrastructure, capacity (training) and empowerment (participation).
    ``trust`` is (n, organizations): each household's trust in each organization.

    ``stock`` is stored column by column (Fortran order): the rules work one service at a
    time over all households, and a per-service column or a per-service parameter broadcast
    along it then runs over contiguous memory (row order made numpy loop over 5 values at a
    time, several times slower).
    """

    village: np.ndarray
    income0: np.ndarray
    income: np.ndarray
    stock: np.ndarray
    voice: np.ndarray
    trust: np.ndarray
    stock0: np.ndarray = field(repr=False)
    poorest_quintile: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return self.village.size

    @property
    def access(self) -> np.ndarray:
        """(n, 3) access to health, education and infrastructure (a view of ``stock``)."""
        return self.stock[:, :3]

    @property
    def capacity(self) -> np.ndarray:
        """(n,) capacity: skills and knowledge (a view of ``stock``)."""
        return self.stock[:, 3]

    @property
    def empowerment(self) -> np.ndarray:
        """(n,) empowerment: participation in decisions (a view of ``stock``)."""
        return self.stock[:, 4]

    def welfare(
        self, *, out: np.ndarray | None = None, work: np.ndarray | None = None
    ) -> np.ndarray:
        """Welfare index of every household (see :func:`welfare_index`; optional buffers)."""
        return welfare_index(
            self.access, self.capacity, self.empowerment, self.income, out=out, work=work
        )


def initial_households(
    n: int,
    villages: int,
    organizations: int,
    *,
    income_median: float,
    income_sigma: float,
    initial_access: float,
    initial_capacity: float,
    initial_empowerment: float,
    initial_trust: float,
    status_gradient: float,
    rng: np.random.Generator,
) -> Households:
    """Draw a heterogeneous population.

    Income is lognormal (skewed); access, capacity and voice are Beta draws whose means rise
    with income rank by ``status_gradient`` (better-off households have more of each; Mansuri
    & Rao 2013). Households are assigned to villages in contiguous blocks of near-equal size.
    """
    village = np.repeat(np.arange(villages, dtype=np.int32), _block_sizes(n, villages))
    income0 = income_median * np.exp(rng.normal(0.0, income_sigma, size=n))
    rank = (np.argsort(np.argsort(income0, kind="stable"), kind="stable") + 0.5) / n
    tilt = status_gradient * (rank - 0.5)

    def beta_around(mean: float, size: tuple[int, ...] | int, conc: float = 8.0) -> np.ndarray:
        mean_arr = np.clip(mean + (tilt if np.ndim(size) == 0 else tilt[:, None]), 0.02, 0.98)
        return rng.beta(mean_arr * conc, (1.0 - mean_arr) * conc, size=size)

    access = beta_around(initial_access, (n, 3))
    capacity = beta_around(initial_capacity, n)
    empowerment = np.clip(rng.beta(2.0, 8.0, size=n) * initial_empowerment / 0.2, 0.0, 1.0)
    voice = beta_around(0.4, n)
    trust = np.clip(
        rng.beta(
            initial_trust * 10 + 1e-9, (1 - initial_trust) * 10 + 1e-9, size=(n, organizations)
        ),
        0.0,
        1.0,
    )
    stock = np.asfortranarray(np.column_stack([access, capacity, empowerment]))
    return Households(
        village=village,
        income0=income0,
        income=income0.copy(),
        stock=stock,
        voice=voice,
        trust=trust,
        stock0=stock.copy(order="F"),
        poorest_quintile=_poorest_quintile(income0),
    )


def _poorest_quintile(income: np.ndarray) -> np.ndarray:
    """The poorest fifth of households by income; the poorest one when there are fewer than 5.

    ``welfare_q1`` is the mean over this group, so it must never be empty.
    """
    mask = metrics.quintile_mask(income, 1)
    if not mask.any():
        mask[int(np.argmin(income))] = True
    return mask


def _block_sizes(n: int, blocks: int) -> np.ndarray:
    sizes = np.full(blocks, n // blocks)
    sizes[: n % blocks] += 1
    return sizes


def dose_response(
    stock: np.ndarray,
    dose: np.ndarray,
    efficiency: float,
    *,
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
    headroom: np.ndarray | None = None,
) -> np.ndarray:
    """A service dose raises a bounded stock with diminishing returns.

    ``x' = x + (1 − x)(1 − exp(−e·d))``: the first units of a service do the most, and the
    stock never leaves [0, 1] (a saturating production function, as in health and education
    production; Hanushek 1986).

    ``out`` receives the result; it may be ``dose`` itself (the dose is then overwritten),
    which saves allocating and page-faulting a large temporary at every step; ``work`` (an
    array like ``stock``) receives the intermediate ``1 − x``, unless the caller has it
    already and passes it as ``headroom``.

    Example:
        >>> dose_response(np.array([0.0, 0.5]), np.array([0.0, np.log(2.0)]), 1.0)
        array([0.  , 0.75])
    """
    if headroom is None:
        headroom = np.subtract(1.0, stock, out=work)
    response = dose_gain(dose, efficiency, headroom, out=out)
    response += stock
    return response


def dose_gain(
    dose: np.ndarray,
    efficiency: float | np.ndarray,
    headroom: np.ndarray,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """What a dose adds to a stock: ``(1 − x)(1 − exp(−e·d))`` (see :func:`dose_response`).

    ``headroom`` is ``1 − x``; ``out`` may be ``dose`` itself. :func:`dose_response` is this
    plus the stock, so a caller that needs the gain too (evaluation credits a partnership with
    what its services added) takes it from here instead of subtracting the stock again.

    Example:
        >>> dose_gain(np.array([0.0, np.log(2.0)]), 1.0, np.array([1.0, 0.5])).tolist()
        [0.0, 0.25]
    """
    gain = np.multiply(np.negative(efficiency), dose, out=out)
    np.exp(gain, out=gain)
    np.subtract(1.0, gain, out=gain)
    np.multiply(headroom, gain, out=gain)
    return gain


def depreciate(
    stock: np.ndarray, rate: float, maintenance: np.ndarray, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Services decay unless maintained: ``x' = x (1 − δ (1 − μ))``.

    ``μ`` in [0, 1] is the share of depreciation the community offsets by maintaining what was
    built; capable, empowered communities keep facilities running (Isham & Kähkönen 2002,
    Narayan 1995). ``out`` receives the result and may be ``stock`` (updated in place).

    Example:
        >>> depreciate(np.array([1.0]), 0.1, np.array([0.5]))
        array([0.95])
    """
    return np.multiply(stock, 1.0 - rate * (1.0 - maintenance), out=out)


def targeting_weights(
    need: np.ndarray, status: np.ndarray, capture: float, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Who receives benefits: a mix of need and status, normalized to mean 1.

    ``t = (1 − ε)·need/mean(need) + ε·status/mean(status)``. With ``ε = 0`` benefits follow
    need; as the community loses voice, ``ε`` grows and benefits drift to better-off households
    (elite capture; Platteau 2004, Dev. Change 35:223; Alatas et al. 2013).

    ``need`` may also be (n, k), one column per service: each column is normalized on its
    own, exactly as k separate calls would (the status term is computed once). ``out`` (an
    array like ``need``, which may be ``need`` itself) then receives the weights.

    Example:
        >>> targeting_weights(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.25)
        array([1.5, 0.5])
    """
    status_mean = status.mean()
    t_status = status / status_mean if status_mean > 0 else np.ones_like(status)
    if need.ndim == 2:
        need_mean = need.mean(axis=0)
        if out is None:
            out = np.empty_like(need)
        if np.all(need_mean > 0):
            t = np.divide(need, need_mean, out=out)
        else:  # a column nobody needs: weight 1 each (masked divide: slower, so only then)
            none = ~(need_mean > 0)
            t = np.divide(need, need_mean, out=out, where=~none)
            t[:, none] = 1.0
        t *= 1.0 - capture
        t += (capture * t_status)[:, None]
        return t
    need_mean = need.mean()
    t_need = need / need_mean if need_mean > 0 else np.ones_like(need)
    return (1.0 - capture) * t_need + capture * t_status


def takeup(trust: np.ndarray, sensitivity: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """The share of the services offered to a household that it takes up, from its trust.

    ``u = 1 − θ (1 − T)``, with ``T`` the household's trust in the organizations that deliver
    the programme (:func:`programme_trust`) and ``θ`` = ``welfare.takeup_trust``: at ``θ = 0``
    every household takes up all it is offered; at ``θ = 1`` take-up equals trust. What a
    household does not take up is not delivered (an empty clinic bed, a place in a course left
    unused). Households who distrust the providers use their services less: distrust of the
    government went with lower compliance with Ebola control measures in Monrovia (Blair,
    Morse & Tsai 2017, Soc. Sci. Med. 172:89, abstract: correlational, and not explained by
    knowing less about the disease); medical campaigns that bred mistrust in medicine left
    lower vaccination rates and less successful World Bank health projects (Lowes & Montero
    2021, AER 111:1284); distrust of health systems lowers their use (Woskie & Fallah 2019,
    BMJ 366:l5482). The linear form and ``θ`` are calibration assumptions: none of these
    studies gives take-up as a function of a trust level (could not verify a slope).

    Example:
        >>> takeup(np.array([0.0, 0.5, 1.0]), 0.5).tolist()
        [0.5, 0.75, 1.0]
    """
    out = np.subtract(1.0, trust, out=out)
    out *= -sensitivity
    out += 1.0
    return out


def programme_trust(
    trust: np.ndarray,
    cols: list[int],
    tied: np.ndarray,
    *,
    count: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Each household's trust in a programme: its mean trust in the organizations running it.

    ``T_h = Σ_j tied_hj τ_hj / Σ_j tied_hj`` over the programme's organizations ``cols``
    (columns of ``trust``, (n, organizations)), counting those the household is tied to
    (``tied``, 0/1 floats, same shape); a household tied to none of them judges by its mean
    trust in all of them.

    ``count`` is ``Σ_j tied_hj`` when already known (it changes only with the ties); ``work``
    (an array like ``trust``) receives the products ``tied_hj τ_hj``. The sums over a
    household's organizations add its columns left to right (:func:`row_sums`: numpy's own
    row sum does so for rows shorter than eight, and pairwise beyond), so the compiled form
    (:func:`sim.mechanisms.kernels.tied_trust`) can add in the same order for any number of
    organizations; a row sum over the short rows of an (n, k) array costs numpy a loop per
    household, several times the passes over columns.

    Example:
        >>> trust = np.array([[0.2, 0.8], [0.2, 0.8]])
        >>> programme_trust(trust, [0, 1], np.array([[1.0, 0.0], [1.0, 1.0]])).tolist()
        [0.2, 0.5]
        >>> programme_trust(trust, [1], np.zeros((2, 2))).tolist()
        [0.8, 0.8]
    """
    cols = list(cols)
    if not cols:  # no organizations: no trust to judge by
        return np.full(len(trust), np.nan)
    every = cols == list(range(trust.shape[1]))
    t = trust if every else trust[:, cols]
    w = tied if every else tied[:, cols]
    if count is None:
        count = row_sums(w)
    weighted = row_sums(np.multiply(t, w, out=work if every else None))
    alone = np.flatnonzero(count == 0)  # tied to none of them: the plain mean
    if alone.size == 0:
        return np.divide(weighted, count, out=weighted)
    np.divide(weighted, count, out=weighted, where=count > 0)
    weighted[alone] = row_sums(t[alone]) / len(cols)
    return weighted


def row_sums(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The sums of the rows of an (n, k) array, adding its columns left to right.

    For ``k < 8`` this is ``x.sum(axis=1)`` bit for bit (numpy adds a row that short left to
    right, and pairwise only from eight values on) at a fraction of its cost: numpy runs a
    short loop per row, this one long pass per column.

    Example:
        >>> row_sums(np.array([[1.0, 2.0, 3.0], [0.5, 0.25, 0.0]])).tolist()
        [6.0, 0.75]
    """
    if x.shape[1] < 2:
        total = np.empty(x.shape[0]) if out is None else out
        np.copyto(total, x[:, 0] if x.shape[1] else 0.0)
        return total
    total = np.add(x[:, 0], x[:, 1], out=out)
    for j in range(2, x.shape[1]):
        np.add(total, x[:, j], out=total)
    return total


def income_from_capital(
    income0: np.ndarray,
    capacity: np.ndarray,
    capacity0: np.ndarray,
    infrastructure: np.ndarray,
    infrastructure0: np.ndarray,
    return_capacity: float,
    return_infrastructure: float,
    *,
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Income follows skills and infrastructure: a Mincer-style log-linear return.

    ``y = y0 · exp(β_c (c − c0) + β_i (r − r0))`` (Mincer 1974; returns to rural roads and
    infrastructure: Jacoby 2000, EJ 110:713).

    ``out`` receives the result and ``work`` the infrastructure term (arrays like
    ``income0``; ``out`` may be the current income); the operations are those of the formula.

    Example:
        >>> income_from_capital(np.array([1.0]), np.array([0.5]), np.array([0.0]),
        ...                     np.array([0.0]), np.array([0.0]), np.log(2.0) / 0.5, 0.0)
        array([2.])
    """
    growth = np.subtract(capacity, capacity0, out=out)
    np.multiply(return_capacity, growth, out=growth)
    roads = np.subtract(infrastructure, infrastructure0, out=work)
    np.multiply(return_infrastructure, roads, out=roads)
    np.add(growth, roads, out=growth)
    np.exp(growth, out=growth)
    return np.multiply(income0, growth, out=growth)


def income_score(income: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Income on [0, 1]: log scale between :data:`INCOME_SCORE_RANGE` (the poverty line = 1).

    ``out`` (an array like ``income``) receives the result, sparing three temporaries.
    """
    lo, hi = INCOME_SCORE_RANGE
    score = np.divide(income, lo, out=out)
    np.log(score, out=score)
    np.divide(score, np.log(hi / lo), out=score)
    return np.clip(score, 0.0, 1.0, out=score)


def welfare_index(
    access: np.ndarray,
    capacity: np.ndarray,
    empowerment: np.ndarray,
    income: np.ndarray,
    *,
    out: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Household welfare in [0, 1]: the equally weighted mean of the four dimensions.

    ``W = (mean(access) + capacity + empowerment + income_score) / 4``, in the spirit of the
    capability approach's multidimensional welfare (Sen 1999; Alkire & Foster 2011).

    ``out`` receives the result and ``work`` the income score (arrays like ``capacity``);
    data collection passes buffers kept between steps. The operations and their order are
    those of the formula: the mean of access adds its columns left to right and divides by
    their number, as ``access.mean(axis=1)`` does.
    """
    k = access.shape[1]
    w = (
        np.add(access[:, 0], access[:, 1], out=out)
        if k > 1
        else np.multiply(access[:, 0], 1.0, out=out)
    )
    for j in range(2, k):
        np.add(w, access[:, j], out=w)
    np.divide(w, k, out=w)
    np.add(w, capacity, out=w)
    np.add(w, empowerment, out=w)
    np.add(w, income_score(income, out=work), out=w)
    return np.divide(w, 4.0, out=w)


def deprivations(hh: Households, cutoff: float) -> np.ndarray:
    """The (n, 6) deprivation matrix used for the Alkire–Foster index.

    Indicators: health, education, infrastructure, capacity, empowerment below ``cutoff``;
    income below the poverty line (1).
    """
    return np.column_stack(
        [hh.access < cutoff, hh.capacity < cutoff, hh.empowerment < cutoff, hh.income < 1.0]
    )


def deprivation_counts(
    hh: Households, cutoff: float, *, out: np.ndarray | None = None
) -> np.ndarray:
    """How many of the indicators of :func:`deprivations` each household is deprived in.

    The row sums of the deprivation matrix as one byte per household (``out``, uint8, may be
    a buffer kept between steps); with equal weights they determine the Alkire-Foster scores
    (:func:`sim.metrics.alkire_foster_of_counts`).
    """
    count = np.empty(len(hh), dtype=np.uint8) if out is None else out
    np.less(hh.stock[:, 0], cutoff, out=count.view(bool))  # 0 or 1 in each byte
    below = np.empty(len(hh), dtype=bool)
    for column in range(1, hh.stock.shape[1]):
        np.add(count, np.less(hh.stock[:, column], cutoff, out=below).view(np.uint8), out=count)
    np.add(count, np.less(hh.income, 1.0, out=below).view(np.uint8), out=count)
    return count


DEPRIVATION_WEIGHTS = np.full(6, 1.0 / 6.0)
