"""The compiled loops behind :mod:`sim.mechanisms.kernels` (numba; imported only through it).

Each loop does, entry by entry and in the same order, the floating-point operations of the
numpy form it replaces, so the two give the same bits (``tests/test_kernels.py``). numba
compiles without ``fastmath``: no reassociation and no fused multiply-add, so the arithmetic
is IEEE's on every processor. The compiled code is cached beside this file (or in numba's
user cache when that folder is read-only), so a process compiles it once per machine.

The loops do not check their arguments (no bounds checks); the wrappers in
:mod:`sim.mechanisms.kernels` do.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, boundscheck=False)


@_jit
def trust_step(
    trust: np.ndarray,
    experience: np.ndarray,
    tied: np.ndarray,
    gain: float,
    loss: float,
    out: np.ndarray,
) -> None:
    """:func:`sim.mechanisms.dynamics.trust_update` of every tied entry of ``trust``.

    The numpy form: ``d = E − T``; ``s = min(γ⁺ d, γ⁻ d)`` (``max`` when ``γ⁺ > γ⁻``);
    ``s × tied``; ``+ T``; clipped to [0, 1]. Written into ``out``, which may be ``trust``.
    """
    n, k = trust.shape
    smaller = gain <= loss
    for i in range(n):
        e = experience[i]
        for j in range(k):
            t = trust[i, j]
            d = e - t
            a = d * gain
            b = d * loss
            if smaller:
                s = a if a <= b else b
            else:
                s = a if a >= b else b
            if a != a or b != b:  # NaN: numpy's minimum and maximum propagate it
                s = a + b
            s = s * (1.0 if tied[i, j] else 0.0)
            s = s + t
            if s < 0.0:
                s = 0.0
            if s > 1.0:
                s = 1.0
            out[i, j] = s


@_jit
def diffuse_capped(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    values: np.ndarray,
    keep: float,
    out: np.ndarray,
) -> None:
    """:func:`sim.mechanisms.dynamics.diffuse` capped at 1, into ``out`` (not ``values``).

    The numpy form: the sparse product ``(ω D⁻¹ A) v`` (scipy adds each row's products in
    the order the operator stores them, from zero), then ``v × (1 − ω) + pull``, then the
    smaller of that and 1. Six columns (the default organizations) keep six sums in
    registers; other widths go three columns at a time.
    """
    n, k = values.shape
    for i in range(n):
        lo, hi = indptr[i], indptr[i + 1]
        if k == 6:
            a0 = a1 = a2 = a3 = a4 = a5 = 0.0
            for jj in range(lo, hi):
                a, j = data[jj], indices[jj]
                a0 += a * values[j, 0]
                a1 += a * values[j, 1]
                a2 += a * values[j, 2]
                a3 += a * values[j, 3]
                a4 += a * values[j, 4]
                a5 += a * values[j, 5]
            _capped(out, values, i, 0, keep, a0)
            _capped(out, values, i, 1, keep, a1)
            _capped(out, values, i, 2, keep, a2)
            _capped(out, values, i, 3, keep, a3)
            _capped(out, values, i, 4, keep, a4)
            _capped(out, values, i, 5, keep, a5)
            continue
        c = 0
        while c < k:
            width = min(3, k - c)
            a0 = a1 = a2 = 0.0
            for jj in range(lo, hi):
                a, j = data[jj], indices[jj]
                a0 += a * values[j, c]
                if width > 1:
                    a1 += a * values[j, c + 1]
                if width > 2:
                    a2 += a * values[j, c + 2]
            _capped(out, values, i, c, keep, a0)
            if width > 1:
                _capped(out, values, i, c + 1, keep, a1)
            if width > 2:
                _capped(out, values, i, c + 2, keep, a2)
            c += width


@_jit
def _capped(out: np.ndarray, values: np.ndarray, i: int, c: int, keep: float, pull: float):
    x = values[i, c] * keep + pull
    out[i, c] = 1.0 if x > 1.0 else x


@_jit
def tied_trust(trust: np.ndarray, tied: np.ndarray, count: np.ndarray, out: np.ndarray) -> None:
    """:func:`sim.mechanisms.welfare.programme_trust` over every column, into ``out``.

    The numpy form adds the products ``τ_hj × tied_hj`` of a row left to right (the first
    two, then each next one) and divides by the row's count of ties; a row tied to none
    takes the plain mean of its trusts (the same left-to-right sum, over ``k``).
    """
    n, k = trust.shape
    for i in range(n):
        if count[i] == 0.0:
            s = trust[i, 0]
            for j in range(1, k):
                s = s + trust[i, j]
            out[i] = s / k
        else:
            s = trust[i, 0] * (1.0 if tied[i, 0] else 0.0)
            for j in range(1, k):
                s = s + trust[i, j] * (1.0 if tied[i, j] else 0.0)
            out[i] = s / count[i]


@_jit
def tied_takeup(
    trust: np.ndarray, tied: np.ndarray, count: np.ndarray, sensitivity: float, out: np.ndarray
) -> None:
    """:func:`tied_trust`, then :func:`sim.mechanisms.welfare.takeup`: ``(1 − T)(−θ) + 1``."""
    tied_trust(trust, tied, count, out)
    for i in range(out.shape[0]):
        u = 1.0 - out[i]
        u = u * -sensitivity
        out[i] = u + 1.0


@_jit
def share_out(
    need: np.ndarray,
    need_mean: np.ndarray,
    status: np.ndarray,
    keep: float,
    capture: float,
    per_household: np.ndarray,
    retention: np.ndarray,
    takeup: np.ndarray,
    taken_up: np.ndarray,
    participation: float,
    participation_column: int,
    neg_efficiency: np.ndarray,
    dose: np.ndarray,
    exponent: np.ndarray,
    received: np.ndarray,
) -> None:
    """A programme that serves everyone: targeting, leakage, take-up, dose; column by column.

    The numpy forms (:func:`sim.mechanisms.welfare.targeting_weights`, then
    ``sim.model.delivery.distribute`` and :func:`sim.mechanisms.welfare.dose_gain`'s first
    step), entry by entry: ``t = need / mean(need) × (1 − ε) + ε × status``; the amount
    ``t × per household × retention``; what each household received, its services added left
    to right; the taken-up services × take-up; ``+ participation`` on the service
    ``participation_column`` (the partnership's participation dose, when not zero);
    ``exponent = −e × dose``.
    """
    n, k = need.shape
    for s in range(k):
        mean = need_mean[s]
        per = per_household[s]
        neg = neg_efficiency[s]
        scaled = taken_up[s]
        for i in range(n):
            t = need[i, s] / mean
            t = t * keep
            t = t + capture * status[i]
            a = t * per
            a = a * retention[i]
            if s == 0:
                received[i] = a
            else:
                received[i] = received[i] + a
            if scaled:
                a = a * takeup[i]
            if s == participation_column and participation != 0.0:
                a = a + participation
            dose[i, s] = a
            exponent[i, s] = neg * a


@_jit
def take_gain(factor: np.ndarray, need: np.ndarray, stock: np.ndarray) -> None:
    """:func:`sim.mechanisms.welfare.dose_gain`'s last steps and the stock's rise, in place.

    ``factor`` holds ``exp(−e × dose)`` and receives the gain ``need × (1 − factor)``; the
    stock becomes ``gain + stock``.
    """
    n, k = need.shape
    for s in range(k):
        for i in range(n):
            g = 1.0 - factor[i, s]
            g = need[i, s] * g
            factor[i, s] = g
            stock[i, s] = g + stock[i, s]


@_jit
def sort_bits(
    bits: np.ndarray, lo: int, shift: int, out: np.ndarray, counts: np.ndarray, budget: int
) -> bool:
    """Sort non-negative int64 values in place: buckets by their top bits, then insertion.

    Each value goes to bucket ``(value − lo) >> shift`` (a non-decreasing function of the
    value; ``counts`` holds one int32 per bucket) by a counting pass and a scatter into
    ``out``, which leaves it sorted between buckets; an insertion pass sorts within them. With
    about 2.5 buckets per value a bucket holds a few values and the insertion pass moves few.
    If it would move more than ``budget`` values (values crowded into few buckets), it stops
    and returns ``False`` with ``bits`` unchanged; otherwise ``bits`` is sorted and the
    result ``True``. An exact sort: the sorted array is the same whichever sort made it.
    """
    n = bits.size
    for b in range(counts.size):
        counts[b] = 0
    for i in range(n):
        counts[(bits[i] - lo) >> shift] += 1
    total = 0
    for b in range(counts.size):
        c = counts[b]
        counts[b] = total
        total += c
    for i in range(n):
        x = bits[i]
        b = (x - lo) >> shift
        out[counts[b]] = x
        counts[b] += 1
    moved = 0
    for i in range(1, n):
        x = out[i]
        if out[i - 1] <= x:
            continue
        j = i - 1
        while j >= 0 and out[j] > x:
            out[j + 1] = out[j]
            j -= 1
        moved += i - 1 - j
        if moved > budget:
            return False
        out[j + 1] = x
    for i in range(n):
        bits[i] = out[i]
    return True
