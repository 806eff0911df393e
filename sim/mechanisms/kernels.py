"""Compiled forms of the household rules that numpy runs as many passes, for large districts.

numpy evaluates a formula over the (households, organizations) trust matrix one operation at
a time: the asymmetric trust update (:func:`sim.mechanisms.dynamics.trust_update`) is seven
passes over it and two work arrays, the trust in a programme
(:func:`sim.mechanisms.welfare.programme_trust`) a product written out and summed again. At
100,000 households each pass moves megabytes that no longer fit in the cache, and a step
spends most of its time moving them. A compiled loop (numba) reads each entry once and keeps
the intermediates in registers.

Every kernel here does the numpy form's floating-point operations in the same order, entry by
entry, with no fused multiply-add, so the results are the same bits (``tests/test_kernels.py``,
run on x86-64, where numpy's and scipy's builds do not fuse either); which path runs changes
the speed, not a result. One caveat, not checked here: scipy's sparse product is compiled C++,
and a build that fuses its multiply-adds (clang's default on arm64, e.g. macOS) rounds the
diffusion differently from the kernel in the last bits.

When they run (:func:`enabled`): loading them costs a process about 0.3 s once (numba's
import, and the compiled code read from its cache), and they save about 13% of a step (1.9
ms at 100,000 households, 70 ms at a million; benchmarks/README.md). So a district of at least
:data:`LOAD_FROM` households loads them (a run of the default 120 steps there loses about 3%
of its time to the load, and gains from about 160 steps on; at a million households the load
is repaid in the first step); once loaded, in a sweep's worker or after :func:`load`, every
district of at least :data:`FROM` households uses them, whose numpy passes no longer fit in
the cache. Without numba, or with the environment variable ``KEMITRAAN_KERNELS=0``, the
numpy forms run everywhere.

Example:
    >>> import numpy as np
    >>> trust = np.array([[0.5, 0.5]])
    >>> trust_step(trust, np.array([1.0]), np.array([[True, False]]), 0.1, 0.4, compiled=False)
    >>> trust.tolist()
    [[0.55, 0.5]]
"""

from __future__ import annotations

import functools
import os
import warnings
from types import ModuleType

import numpy as np
import scipy.sparse as sp

from sim.mechanisms import dynamics, welfare

__all__ = [
    "FROM",
    "LOAD_FROM",
    "diffuse",
    "enabled",
    "load",
    "loaded",
    "share_out",
    "sort_bits",
    "sort_work",
    "take_gain",
    "tied_takeup",
    "tied_trust",
    "trust_step",
]

FROM = 5_000
"""Smallest district (households) that uses the kernels once they are loaded."""

LOAD_FROM = 100_000
"""Smallest district (households) that loads the kernels (see the module's note)."""


@functools.cache
def _compiled() -> ModuleType | None:
    """The numba module of the kernels (loading it), or ``None`` without numba or when off."""
    if os.environ.get("KEMITRAAN_KERNELS", "1").strip() == "0":
        return None
    try:
        from sim.mechanisms import _compiled as compiled

        _warm(compiled)
    except Exception as error:  # numba missing, unusable, or its cache corrupt
        if not isinstance(error, ImportError):
            warnings.warn(
                f"the compiled kernels could not be loaded ({type(error).__name__}: {error}); "
                "the numpy forms run instead (the same results, slower)",
                RuntimeWarning,
                stacklevel=3,
            )
        return None
    return compiled


def _warm(compiled: ModuleType) -> None:
    """Call each kernel once on tiny arrays laid out as the model's.

    Trust and ties by rows, the stocks by columns: the compiled code for those layouts is
    loaded now rather than in the middle of a step.
    """
    trust, tied = np.full((3, 2), 0.5), np.ones((3, 2), dtype=bool)
    row, count = np.full(3, 0.5), np.full(3, 2.0)
    fixed = count.copy()
    fixed.flags.writeable = False  # as Structure.tie_counts keeps them
    for counts in (count, fixed):
        compiled.tied_trust(trust, tied, counts, row)
        compiled.tied_takeup(trust, tied, counts, 0.5, row)
    compiled.trust_step(trust, row, tied, 0.1, 0.2, trust)
    for index in (np.int32, np.int64):  # scipy picks the index type by size
        indptr, indices = np.array([0, 1, 2, 2], dtype=index), np.array([1, 0], dtype=index)
        compiled.diffuse_capped(indptr, indices, np.full(2, 0.5), trust, 0.5, trust.copy())
    need, dose, factor = (np.full((3, 5), 0.5, order="F") for _ in range(3))
    five, taken = np.ones(5), np.zeros(5, dtype=bool)
    compiled.share_out(
        need, five, row, 0.5, 0.5, five, row, row, taken, 0.0, 4, five, dose, factor, row
    )
    compiled.take_gain(factor, need, dose)
    values = np.arange(3, dtype=np.int64)
    compiled.sort_bits(values, 0, 0, np.empty(3, dtype=np.int64), np.zeros(8, np.int32), 24)


def load() -> bool:
    """Load the kernels now (about 0.3 s once per process); whether they are available.

    After it, every district of at least :data:`FROM` households in this process uses them:
    worth it before many runs in one process (a sweep's worker) at sizes below
    :data:`LOAD_FROM`.
    """
    return _compiled() is not None


def loaded() -> bool:
    """Whether this process has loaded the kernels."""
    return _compiled.cache_info().currsize > 0 and _compiled() is not None


def enabled(households: int) -> bool:
    """Whether a district of ``households`` runs the kernels (the same results either way).

    At least :data:`FROM` households and the kernels loaded; a district of at least
    :data:`LOAD_FROM` households loads them.
    """
    if households < FROM:
        return False
    return loaded() or (households >= LOAD_FROM and load())


def trust_step(
    trust: np.ndarray,
    experience: np.ndarray,
    tied: np.ndarray,
    gain: float,
    loss: float,
    *,
    out: np.ndarray | None = None,
    compiled: bool | None = None,
    weight: np.ndarray | None = None,
    work: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Households' trust after a programme that served everyone (into ``out``, or in place).

    ``trust`` (n, k) C-ordered, ``experience`` (n,), ``tied`` (n, k) bool: the entries a
    household is tied to move by :func:`sim.mechanisms.dynamics.trust_update` toward its
    experience; the others keep their value. ``compiled=None`` decides by size
    (:func:`enabled`). For the numpy form: ``weight`` is ``tied`` as 0/1 floats (numpy
    multiplies by them faster than by bools; the same bits), ``work`` two arrays like
    ``trust``.
    """
    out = trust if out is None else out
    kernel = _kernel(len(trust), compiled)
    if kernel is not None:
        _same_shape(trust, tied=tied, out=out)
        _same_shape(trust[:, 0], experience=experience)
        kernel.trust_step(trust, experience, tied, float(gain), float(loss), out)
        return
    observed = tied if weight is None else weight
    dynamics.trust_update(
        trust, experience[:, None], gain, loss, observed=observed, out=out, work=work
    )


def diffuse(
    values: np.ndarray,
    operator: sp.csr_array,
    rate: float,
    *,
    out: np.ndarray,
    compiled: bool | None = None,
) -> np.ndarray:
    """:func:`sim.mechanisms.dynamics.diffuse` of ``values`` into ``out``, capped at 1.

    ``operator`` is :func:`sim.mechanisms.dynamics.diffusion_operator` at ``rate``; ``out``
    must not be ``values`` (each row reads its neighbours' values). The cap is the one the
    households' trust takes after diffusion (a mean of ones may round past 1).
    """
    if np.may_share_memory(out, values):
        raise ValueError("diffuse needs an output other than its input")
    kernel = _kernel(len(values), compiled)
    if kernel is not None:
        _same_shape(values, out=out)
        if operator.shape != (len(values), len(values)):
            raise ValueError(f"operator shaped {operator.shape} for {len(values)} rows")
        kernel.diffuse_capped(
            operator.indptr, operator.indices, operator.data, values, 1.0 - rate, out
        )
        return out
    dynamics.diffuse(values, operator, rate, out=out)
    return np.minimum(out, 1.0, out=out)


def tied_trust(
    trust: np.ndarray,
    tied: np.ndarray,
    count: np.ndarray,
    *,
    out: np.ndarray | None = None,
    compiled: bool | None = None,
    weight: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Each household's mean trust in the organizations it is tied to, over every column.

    :func:`sim.mechanisms.welfare.programme_trust` of all the organizations: ``count`` is each
    household's number of ties; a household tied to none takes its mean trust in all. For
    the numpy form, ``weight`` is ``tied`` as 0/1 floats and ``work`` (like ``trust``)
    receives the products.
    """
    out = np.empty(len(trust)) if out is None else out
    kernel = _kernel(len(trust), compiled)
    if kernel is not None:
        _same_shape(trust, tied=tied)
        _same_shape(trust[:, 0], count=count, out=out)
        kernel.tied_trust(trust, tied, count, out)
        return out
    every = list(range(trust.shape[1]))
    weights = tied.astype(float) if weight is None else weight
    np.copyto(out, welfare.programme_trust(trust, every, weights, count=count, work=work))
    return out


def tied_takeup(
    trust: np.ndarray,
    tied: np.ndarray,
    count: np.ndarray,
    sensitivity: float,
    *,
    out: np.ndarray | None = None,
    compiled: bool | None = None,
    weight: np.ndarray | None = None,
    work: np.ndarray | None = None,
) -> np.ndarray:
    """Take-up (:func:`sim.mechanisms.welfare.takeup`) from :func:`tied_trust`."""
    out = np.empty(len(trust)) if out is None else out
    kernel = _kernel(len(trust), compiled)
    if kernel is not None:
        _same_shape(trust, tied=tied)
        _same_shape(trust[:, 0], count=count, out=out)
        kernel.tied_takeup(trust, tied, count, float(sensitivity), out)
        return out
    tied_trust(trust, tied, count, out=out, compiled=False, weight=weight, work=work)
    return welfare.takeup(out, sensitivity, out=out)


def share_out(
    need: np.ndarray,
    status: np.ndarray,
    capture: float,
    per_household: np.ndarray,
    retention: np.ndarray,
    takeup: np.ndarray | None,
    taken_up: np.ndarray,
    participation: float,
    efficiency: np.ndarray,
    *,
    participation_column: int = -1,
    dose: np.ndarray,
    exponent: np.ndarray,
    received: np.ndarray,
    compiled: bool | None = None,
) -> bool:
    """Share a programme that serves everyone among the households, up to the dose's exponent.

    The numpy forms, in their order: the targeting weights
    (:func:`sim.mechanisms.welfare.targeting_weights` of ``need`` (n, k) and ``status`` (n,)
    with elite capture ``capture``), times ``per_household`` (k,) and each household's
    ``retention``; ``received`` (n,) gets each household's total; the ``taken_up`` services
    (k,) bool are scaled by ``takeup`` (n,) (``None``: all taken up); ``participation`` is
    added to the service ``participation_column`` (default the last); ``dose`` receives the
    services and ``exponent`` the first step of :func:`sim.mechanisms.welfare.dose_gain`,
    ``−efficiency × dose``.

    Returns ``False``, writing nothing, when a service's mean need is not positive (the
    targeting weights' special case): the caller then takes the numpy forms.
    """
    need_mean = need.mean(axis=0)
    if not np.all(need_mean > 0):
        return False
    neg_efficiency = np.negative(np.asarray(efficiency, dtype=float).reshape(-1))
    per_household = np.asarray(per_household, dtype=float)
    column = participation_column % need.shape[1]
    kernel = _kernel(len(need), compiled)
    if kernel is not None:
        # welfare.targeting_weights' terms, which the loop combines entry by entry
        status_mean = status.mean()
        t_status = status / status_mean if status_mean > 0 else np.ones_like(status)
        keep = 1.0 - capture
        _same_shape(need, dose=dose, exponent=exponent)
        _same_shape(status, retention=retention, received=received)
        _same_shape(need[0], per_household=per_household, taken_up=taken_up)
        _same_shape(need[0], efficiency=neg_efficiency)
        if takeup is not None:
            _same_shape(status, takeup=takeup)
        scaled = taken_up if takeup is not None else np.zeros_like(taken_up)
        take = takeup if takeup is not None else retention  # not read when nothing is scaled
        kernel.share_out(
            need, need_mean, t_status, keep, float(capture), per_household, retention, take,
            scaled, float(participation), column, neg_efficiency, dose, exponent, received,
        )  # fmt: skip
        return True
    t = welfare.targeting_weights(need, status, capture, out=dose)
    t *= per_household
    t *= retention[:, None]
    np.copyto(received, t[:, 0])
    for s in range(1, t.shape[1]):
        received += t[:, s]
    if takeup is not None:
        for s in np.flatnonzero(taken_up):
            t[:, s] *= takeup
    if participation != 0.0:
        t[:, column] += participation
    np.multiply(neg_efficiency, t, out=exponent)
    return True


def take_gain(
    factor: np.ndarray, need: np.ndarray, stock: np.ndarray, *, compiled: bool | None = None
) -> None:
    """The dose's gain and the stocks' rise, in place, from ``factor = exp(−e × dose)``.

    ``factor`` receives :func:`sim.mechanisms.welfare.dose_gain`'s result,
    ``need × (1 − factor)``, and ``stock`` becomes ``gain + stock``.
    """
    kernel = _kernel(len(need), compiled)
    if kernel is not None:
        _same_shape(need, factor=factor, stock=stock)
        kernel.take_gain(factor, need, stock)
        return
    np.subtract(1.0, factor, out=factor)
    np.multiply(need, factor, out=factor)
    np.add(factor, stock, out=stock)


def sort_work(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Work arrays for :func:`sort_bits` of ``n`` values.

    An array for the values, and the bucket counts: about 2.5 buckets per value, a power of
    two (the fastest measured, from 20,000 to 1,000,000 values).
    """
    buckets = 1 << max(1, int(np.ceil(np.log2(2.5 * max(n, 1)))))
    return np.empty(n, dtype=np.int64), np.empty(buckets, dtype=np.int32)


def sort_bits(
    bits: np.ndarray,
    lo: int,
    hi: int,
    work: tuple[np.ndarray, np.ndarray],
    *,
    compiled: bool | None = None,
) -> bool:
    """Sort non-negative int64 values ``bits`` in place; ``lo`` and ``hi`` are their min and max.

    numpy's sort, where numpy's own is slow (its AVX-512 quicksort on AMD Zen 4, the machine
    this project runs on: numpy/numpy#32690): a bucket pass by the values' top bits and an
    insertion pass, 0.42 ms for the welfare of 100,000 households against 0.86 ms for
    :func:`sim.model.outcomes._bucket_sorted` and 3.8 ms for ``np.sort`` (10 ms against 28
    and 52 ms at a million). ``work`` is :func:`sort_work`. Returns ``False``, with ``bits``
    unchanged, when the values crowd into so few buckets that the insertion pass would move
    more than eight values per value; the caller then sorts another way. Exact either way.
    """
    kernel = _kernel(len(bits), compiled)
    if kernel is None:
        bits.sort()
        return True
    out, counts = work
    if out.size != bits.size or counts.size & (counts.size - 1) or counts.size < 2:
        raise ValueError("sort_bits needs sort_work(n) for n values")
    if lo < 0 or hi < lo:
        raise ValueError(f"sort_bits needs 0 <= lo <= hi, got {lo} and {hi}")
    buckets = counts.size.bit_length() - 1
    shift = max((hi - lo).bit_length() - buckets, 0)
    return bool(kernel.sort_bits(bits, lo, shift, out, counts, 8 * len(bits)))


def _same_shape(like: np.ndarray, **arrays: np.ndarray) -> None:
    """Refuse arrays shaped unlike ``like`` (the compiled loops do not check their bounds)."""
    for name, array in arrays.items():
        if array.shape != like.shape:
            raise ValueError(f"{name} is shaped {array.shape}, expected {like.shape}")


def _kernel(households: int, compiled: bool | None) -> ModuleType | None:
    if compiled is False or (compiled is None and not enabled(households)):
        return None
    kernel = _compiled()
    if kernel is None and compiled:
        raise RuntimeError("the compiled kernels need numba (pip install numba)")
    return kernel
