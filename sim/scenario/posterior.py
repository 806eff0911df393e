"""The posterior sample: calibrated lever values, one row per draw, read and written checked.

The file (``calibration/posterior.parquet``, shipped as
``sim/data/calibration/posterior.parquet`` once the ``calibrate`` command has made one) is a
Parquet table with

- ``draw``: int64, the draw's id, each of ``0 .. n-1`` exactly once;
- one float64 column per calibrated lever, named by its dotted key (``dynamics.trust_gain``);
  every value finite and within the lever's declared bounds;
- optionally ``weight``: float64, non-negative, summing to 1 (importance weights, e.g. from
  ABC-SMC); equal weights when absent;

and the Parquet key-value metadata ``kemitraan``: a JSON object with at least
:data:`META_FIELDS` (``method``, ``targets_fit``, ``targets_held_out``, ``size``, ``runs``,
``commit``, ``created``).

A lever column must be a numeric lever that a run reads as a parameter: not the ``run``
section (steps, replications and seeds are how a run is made, not what the world is), not a
text lever (``partnership.type``), not a tuple (``dynamics.motivation_weights``). A whole-number
lever (``organizations.representatives``) needs whole values. Anything else is refused by
:func:`load_posterior` (and by :func:`write_posterior`, so a bad file is never written) with one
:class:`PosteriorError` naming the file, the column, the value and what is allowed.

:meth:`Posterior.draws` turns the sample into override dictionaries for
:meth:`sim.scenario.Scenario.with_overrides`: with weights it resamples in proportion to them
(with replacement); without, it takes distinct draws while there are enough (and resamples
uniformly once ``n`` exceeds the sample).

Example:
    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"draw": [0, 1], "dynamics.trust_gain": [0.05, 0.1]})
    >>> meta = {"method": "example", "targets_fit": [], "targets_held_out": [], "size": "ci",
    ...         "runs": 0, "commit": "", "created": "2026-12-04T08:30:00Z"}
    >>> path = Path(tempfile.mkdtemp()) / "posterior.parquet"
    >>> write_posterior(frame, path, meta)
    >>> post = load_posterior(path)
    >>> post.levers, post.size
    (('dynamics.trust_gain',), 2)
    >>> sorted(d["dynamics.trust_gain"] for d in post.draws(2, np.random.default_rng(1)))
    [0.05, 0.1]
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError, did_you_mean, fault_reason
from sim.paths import CALIBRATION
from sim.scenario.explain import bounds, fields_of
from sim.scenario.inputs import short
from sim.scenario.schema import Scenario

__all__ = [
    "META_FIELDS",
    "META_KEY",
    "POSTERIOR_FILE",
    "Posterior",
    "PosteriorError",
    "apply_draw",
    "load_posterior",
    "posterior_levers",
    "write_posterior",
]

POSTERIOR_FILE = CALIBRATION / "posterior.parquet"
"""Where the shipped posterior lives (written by ``calibrate``; absent until it has run)."""

META_KEY = "kemitraan"
"""The Parquet key-value metadata key holding the posterior's provenance (JSON)."""

META_FIELDS = ("method", "targets_fit", "targets_held_out", "size", "runs", "commit", "created")
"""Keys the ``kemitraan`` metadata must hold."""

_SYMBOLS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_WEIGHT_TOLERANCE = 1e-6


class PosteriorError(UserError):
    """A posterior file that cannot be used (or written), with file, column, value and rule."""


@dataclass(frozen=True)
class _Lever:
    key: str
    whole: bool
    limits: dict[str, Any]

    def allowed(self) -> str:
        kind = "whole number" if self.whole else "number"
        rule = " and ".join(f"{_SYMBOLS[a]} {v}" for a, v in self.limits.items())
        return f"a finite {kind}" + (f" {rule}" if rule else "")

    def admits(self, values: np.ndarray) -> np.ndarray:
        ok = np.isfinite(values)
        with np.errstate(invalid="ignore"):
            for attr, limit in self.limits.items():
                ok &= {
                    "ge": values >= limit,
                    "gt": values > limit,
                    "le": values <= limit,
                    "lt": values < limit,
                }[attr]
            if self.whole:
                ok &= values == np.round(values)
        return ok


def _calibratable() -> dict[str, _Lever]:
    levers = {}
    for section, key, info in fields_of(Scenario):
        if section == "run" or info.annotation not in (int, float):
            continue
        levers[f"{section}.{key}"] = _Lever(
            f"{section}.{key}", info.annotation is int, bounds(info)
        )
    return levers


_LEVERS = _calibratable()


def posterior_levers() -> tuple[str, ...]:
    """Every dotted lever key a posterior may hold (numeric, outside ``run``)."""
    return tuple(_LEVERS)


@dataclass(frozen=True)
class Posterior:
    """A checked posterior sample: draws of calibrated levers, their weights and provenance.

    Attributes:
        path: the file it was read from.
        values: (draws, levers) float64 array, row ``i`` is draw ``i``.
        levers: the dotted lever keys, in the file's column order.
        weights: (draws,) float64 summing to 1 (equal when the file has no ``weight``).
        meta: the ``kemitraan`` metadata (method, targets, size, runs, commit, created, ...).
        weighted: whether the file carried a ``weight`` column.
    """

    path: Path
    values: np.ndarray
    levers: tuple[str, ...]
    weights: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    weighted: bool = False

    @property
    def size(self) -> int:
        """Number of draws in the file."""
        return int(self.values.shape[0])

    def overrides(self, draw: int) -> dict[str, float | int]:
        """The override dictionary of one draw (its lever values, whole levers as ``int``)."""
        row = self.values[int(draw)]
        return {
            key: int(value) if _LEVERS[key].whole else float(value)
            for key, value in zip(self.levers, row, strict=True)
        }

    def choose(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Ids of ``n`` draws: resampled by weight, or distinct while ``n <= size``.

        Raises:
            PosteriorError: ``n`` < 1.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise PosteriorError(f"number of posterior draws = {n!r}; allowed: a whole number >= 1")
        if self.weighted:
            return rng.choice(self.size, size=n, replace=True, p=self.weights)
        return rng.choice(self.size, size=n, replace=n > self.size)

    def draws(self, n: int, rng: np.random.Generator) -> list[dict[str, float | int]]:
        """``n`` override dictionaries for :meth:`Scenario.with_overrides` (see :meth:`choose`)."""
        return [self.overrides(i) for i in self.choose(n, rng)]

    def describe(self) -> str:
        """One line for reports: file, draws, levers and method."""
        kind = "weighted" if self.weighted else "equally weighted"
        return (
            f"{short(self.path)}: {self.size} {kind} draws of {len(self.levers)} levers "
            f"(method {self.meta.get('method', '?')}, commit {self.meta.get('commit', '?')})"
        )


def _check_frame(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, tuple[str, ...], Any]:
    """(values ordered by draw, lever keys, weights or None); PosteriorError otherwise."""
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise PosteriorError(f"{where}: a column name appears twice; allowed: each column once")
    if "draw" not in columns:
        raise PosteriorError(f"{where}: column 'draw' is missing; allowed: draw (int64, 0..n-1)")
    n = len(frame)
    if n == 0:
        raise PosteriorError(f"{where}: no rows; allowed: at least one draw")
    draw = frame["draw"]
    if not pd.api.types.is_integer_dtype(draw.dtype):
        raise PosteriorError(
            f"{where}: column 'draw' has type {draw.dtype}; allowed: whole numbers (int64)"
        )
    ids = draw.to_numpy(dtype=np.int64)
    if not np.array_equal(np.sort(ids), np.arange(n)):
        bad = _first_bad_id(ids)
        raise PosteriorError(
            f"{where}: column 'draw' value {bad}; allowed: each of 0..{n - 1} exactly once"
        )
    order = np.argsort(ids)
    levers = [c for c in columns if c not in ("draw", "weight")]
    if not levers:
        raise PosteriorError(f"{where}: no lever columns; allowed: one column per lever")
    values = np.empty((n, len(levers)))
    for j, key in enumerate(levers):
        values[:, j] = _lever_column(frame[key], key, where)[order]
    weights = None
    if "weight" in columns:
        weights = _weight_column(frame["weight"], where)[order]
    return values, tuple(levers), weights


def _first_bad_id(ids: np.ndarray) -> int:
    seen: set[int] = set()
    for value in ids.tolist():
        if value < 0 or value >= len(ids) or value in seen:
            return value
        seen.add(value)
    return int(ids[0])  # unreachable when the ids are not a permutation


def _lever_column(column: pd.Series, key: str, where: str) -> np.ndarray:
    lever = _LEVERS.get(key)
    if lever is None:
        if "." in key and key.split(".")[0] == "run":
            why = "the run section is how a run is made, not a parameter"
        else:
            why = "not a numeric lever of the scenario schema"
        raise PosteriorError(
            f"{where}: column {key!r}: {why}.{did_you_mean(key, _LEVERS)} Allowed: draw, "
            "weight and numeric levers as SECTION.KEY (e.g. dynamics.trust_gain)"
        )
    if not (pd.api.types.is_numeric_dtype(column.dtype) and not column.dtype == bool):
        raise PosteriorError(
            f"{where}: column {key!r} has type {column.dtype}; allowed: {lever.allowed()}"
        )
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = lever.admits(values)
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise PosteriorError(
            f"{where}: column {key!r} row {row} value {float(values[row])!r}; "
            f"allowed: {lever.allowed()}"
        )
    return values


def _weight_column(column: pd.Series, where: str) -> np.ndarray:
    if not (pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_integer_dtype(column)):
        raise PosteriorError(
            f"{where}: column 'weight' has type {column.dtype}; allowed: float64 weights >= 0 "
            "summing to 1"
        )
    weights = column.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise PosteriorError(
            f"{where}: column 'weight' row {row} value {float(weights[row])!r}; allowed: a finite "
            "number >= 0 (weights sum to 1)"
        )
    total = float(weights.sum())
    if not math.isclose(total, 1.0, rel_tol=0, abs_tol=_WEIGHT_TOLERANCE):
        raise PosteriorError(
            f"{where}: column 'weight' sums to {total!r}; allowed: weights summing to 1 "
            f"(within {_WEIGHT_TOLERANCE})"
        )
    return weights / total


def _check_meta(meta: Any, where: str) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise PosteriorError(
            f"{where}: metadata '{META_KEY}' is not a JSON object; allowed: an object with "
            f"{', '.join(META_FIELDS)}"
        )
    missing = [k for k in META_FIELDS if k not in meta]
    if missing:
        raise PosteriorError(
            f"{where}: metadata '{META_KEY}' lacks {', '.join(missing)}; allowed: an object "
            f"with {', '.join(META_FIELDS)}"
        )
    return meta


def apply_draw(
    scenario: Scenario, overrides: dict[str, Any], source: str = "posterior draw"
) -> tuple[Scenario, tuple[str, ...]]:
    """``scenario`` with a draw's lever values, except where it sets a lever itself.

    A lever the scenario (its file, ``extends``, ``--set`` or an experiment's arm) holds at a
    value other than the shipped default is a design choice or a what-if, and stays; only
    levers at their shipped default take the draw's value (the posterior replaces the
    defaults, not the user's choices). Returns the new scenario and the keys kept.

    Example:
        >>> s = Scenario().with_overrides({"dynamics.trust_gain": 0.2})
        >>> new, kept = apply_draw(s, {"dynamics.trust_gain": 0.1, "factors.trust": 0.4})
        >>> new.dynamics.trust_gain, new.factors.trust, kept
        (0.2, 0.4, ('dynamics.trust_gain',))
    """
    default, applied, kept = _DEFAULT, {}, []
    for key, value in overrides.items():
        section, name = key.split(".")
        if getattr(getattr(scenario, section), name) == getattr(getattr(default, section), name):
            applied[key] = value
        else:
            kept.append(key)
    return scenario.with_overrides(applied, source=source), tuple(kept)


_DEFAULT = Scenario()


def load_posterior(path: str | Path | None = None) -> Posterior:
    """Read and check a posterior file (default: the shipped ``posterior.parquet``).

    Raises:
        PosteriorError: the file is missing or unreadable, or a column, value, weight or the
            metadata breaks the rules of the module docstring (the message names which).
    """
    path = Path(POSTERIOR_FILE if path is None else path)
    where = short(path)
    if not path.is_file():
        hint = (
            "; none has been made yet: run `python run_simulation.py calibrate` first"
            if path == POSTERIOR_FILE
            else "; allowed: a Parquet file written by `calibrate`"
        )
        raise PosteriorError(f"{where}: posterior file not found{hint}")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PosteriorError(
            f"{where}: cannot read it as Parquet ({reason[:200]}); allowed: a Parquet file "
            "written by `calibrate`"
        ) from None
    raw = (table.schema.metadata or {}).get(META_KEY.encode())
    if raw is None:
        raise PosteriorError(
            f"{where}: Parquet metadata '{META_KEY}' is missing; allowed: a file written by "
            "`calibrate` (write_posterior), whose metadata records how it was made"
        )
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    meta = _check_meta(meta, where)
    values, levers, weights = _check_frame(table.to_pandas(), where)
    n = len(values)
    return Posterior(
        path=path,
        values=values,
        levers=levers,
        weights=np.full(n, 1.0 / n) if weights is None else weights,
        meta=meta,
        weighted=weights is not None,
    )


def write_posterior(frame: pd.DataFrame, path: str | Path, meta: dict[str, Any]) -> None:
    """Check ``frame`` and ``meta`` as :func:`load_posterior` would, then write atomically.

    The file is written under a temporary name in the same folder, flushed and renamed into
    place, so a reader never sees half a posterior. Columns are stored as ``draw`` (int64),
    the levers (float64) and ``weight`` (float64) if given, rows in draw order.

    Raises:
        PosteriorError: the frame or metadata breaks the rules, or the disk refused the write.
    """
    path = Path(path)
    where = f"{short(path)} (writing)"
    values, levers, weights = _check_frame(frame, where)
    meta = _check_meta(dict(meta), where)
    columns: dict[str, Any] = {"draw": np.arange(len(values), dtype=np.int64)}
    columns.update({key: values[:, j] for j, key in enumerate(levers)})
    if weights is not None:
        columns["weight"] = weights
    table = pa.table(columns)
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True)})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = fault_reason(exc)
        if reason is not None:
            raise PosteriorError(f"cannot write {short(path)}: {reason}") from exc
        raise
