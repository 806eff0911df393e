"""Numbers in sentences: how an interval is written, and what is said when there is none.

A 95% interval over replicates needs at least two of them; with one (or none), every command
says so instead of printing ``nan``.

Example:
    >>> interval(0.1, 0.3, 5)
    '95% interval +0.1000 to +0.3000'
    >>> interval(float("nan"), float("nan"), 1)
    'no 95% interval: it needs at least 2 replicates, there is 1'
"""

from __future__ import annotations

import math

__all__ = ["MIN_FOR_INTERVAL", "interval", "interval_brackets"]

MIN_FOR_INTERVAL = 2
"""Replicates an interval over replicates needs."""


def _missing(n: int) -> str | None:
    if n >= MIN_FOR_INTERVAL:
        return None
    there = "there is 1" if n == 1 else f"there are {n}"
    return f"it needs at least {MIN_FOR_INTERVAL} replicates, {there}"


def interval(low: float, high: float, n: int, digits: int = 4) -> str:
    """``"95% interval +a to +b"``, or why there is none (fewer than two replicates)."""
    why = _missing(int(n))
    if why is not None:
        return f"no 95% interval: {why}"
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no 95% interval (undefined)"
    return f"95% interval {low:+.{digits}f} to {high:+.{digits}f}"


def interval_brackets(low: float, high: float, n: int, spec: str = "+.4f", width: int = 0) -> str:
    """``"[a, b]"`` for tables, or ``"needs 2+ replicates"`` when there is no interval.

    Example:
        >>> interval_brackets(0.25, 0.5, 3, "7.3f")
        '[  0.250,   0.500]'
        >>> interval_brackets(0.25, float("nan"), 1)
        '(needs 2+ replicates)'
    """
    if int(n) < MIN_FOR_INTERVAL:
        text = f"(needs {MIN_FOR_INTERVAL}+ replicates)"
    elif not (math.isfinite(low) and math.isfinite(high)):
        text = "n/a"
    else:
        text = f"[{low:{spec}}, {high:{spec}}]"
    return f"{text:>{width}}" if width else text
