"""Gaussian-process emulators of a simulator's targets, implausibility and the NROY region.

The statistics of history matching (:mod:`sim.experiments.history_matching` runs the waves):
an :class:`Observation` is a measured target with its observation and discrepancy sd; an
:class:`Emulator` fits one Gaussian process per target on the unit cube (scikit-learn's
:class:`~sklearn.gaussian_process.GaussianProcessRegressor`, anisotropic RBF plus a white-noise
term for the simulator's own randomness) and gives each point's implausibility

``I_j(x) = |z_j - mu_j(x)| / sqrt(s2_j(x) + v_obs_j + v_disc_j)``

(Vernon, Goldstein & Bower 2010, Bayesian Analysis 5:619) and the Gaussian log-likelihood of
the observations; :func:`nroy` and :func:`plausible_points` find the region not ruled out
yet; :func:`systematic_resample` turns importance weights into equally weighted draws
(Kitagawa 1996).

Example:
    >>> Observation.from_band("x", -12.0, -4.0).band
    (-12.0, -4.0)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Emulator", "Observation", "nroy", "plausible_points", "systematic_resample"]


@dataclass(frozen=True)
class Observation:
    """A measured target: its centre, the observation sd and the model-discrepancy sd."""

    id: str
    value: float
    sd: float
    discrepancy: float = 0.0

    @classmethod
    def from_band(cls, id: str, low: float, high: float, discrepancy: float = 0.0):
        """The band as a 95% interval: centre (low + high) / 2, sd (high - low) / 3.92.

        A band of zero width (a stated exact value) gets a tiny sd; the discrepancy then
        carries the tolerance.

        Example:
            >>> Observation.from_band("x", -12.0, -4.0).sd
            2.0408163265306123
        """
        sd = max((high - low) / (2 * 1.96), 1e-9)
        return cls(id, (low + high) / 2.0, sd, discrepancy)

    @property
    def variance(self) -> float:
        """Observation plus discrepancy variance."""
        return self.sd**2 + self.discrepancy**2

    @property
    def band(self) -> tuple[float, float]:
        """The 95% band the observation stands for."""
        return (self.value - 1.96 * self.sd, self.value + 1.96 * self.sd)


class Emulator:
    """One Gaussian process per target, fitted on the unit cube."""

    def __init__(self, u: np.ndarray, y: pd.DataFrame, seed: int = 0) -> None:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        self.targets = list(y.columns)
        self.models = {}
        d = u.shape[1]
        for name in self.targets:
            ok = np.isfinite(y[name].to_numpy())
            kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(
                np.full(d, 0.5), (1e-2, 1e2)
            ) + WhiteKernel(1e-2, (1e-8, 1e1))
            gp = GaussianProcessRegressor(
                kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed
            )
            with warnings.catch_warnings():  # bounds reached: a flat or noise-free direction
                warnings.simplefilter("ignore")
                gp.fit(u[ok], y[name].to_numpy()[ok])
            self.models[name] = gp

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Means and variances (rows: points; columns: targets, in order)."""
        means, variances = [], []
        for name in self.targets:
            m, s = self.models[name].predict(u, return_std=True)
            means.append(m)
            variances.append(s**2)
        return np.column_stack(means), np.column_stack(variances)

    def length_scales(self) -> dict[str, np.ndarray]:
        """Each target's fitted RBF length scales (unit cube; large = the target ignores it)."""
        return {n: np.atleast_1d(gp.kernel_.k1.k2.length_scale) for n, gp in self.models.items()}

    def implausibility(self, u: np.ndarray, obs: Sequence[Observation]) -> np.ndarray:
        """``I_j(x)`` for every point (rows) and target (columns)."""
        mean, var = self.predict(u)
        z = np.array([o.value for o in obs])
        v = np.array([o.variance for o in obs])
        return np.abs(z - mean) / np.sqrt(var + v)

    def loglik(self, u: np.ndarray, obs: Sequence[Observation]) -> np.ndarray:
        """Gaussian log-likelihood of the observations at every point."""
        mean, var = self.predict(u)
        z = np.array([o.value for o in obs])
        total = var + np.array([o.variance for o in obs])
        return -0.5 * np.sum((z - mean) ** 2 / total + np.log(total), axis=1)


def nroy(
    emulators: list[Emulator], u: np.ndarray, obs: Sequence[Observation], cutoff: float
) -> np.ndarray:
    """Which points no emulator rules out: every target's implausibility at most ``cutoff``."""
    keep = np.ones(len(u), dtype=bool)
    for em in emulators:
        if keep.any():
            keep[keep] = em.implausibility(u[keep], obs).max(axis=1) <= cutoff
    return keep


def plausible_points(
    emulators: list[Emulator],
    screen: np.ndarray,
    obs: Sequence[Observation],
    cutoff: float,
    candidates: int,
    wanted: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """At least ``wanted`` points of the NROY region (unit cube), if it can find them.

    The screen (uniform on the cube) finds the region; more points come from the box around
    the screen's NROY points (widened by a tenth of its width each side), which is uniform,
    so the prior's weights stay equal. Up to 20 batches of ``candidates`` points.
    """
    keep = nroy(emulators, screen, obs, cutoff)
    found = [screen[keep]]
    if not keep.any() or keep.sum() >= wanted:
        return found[0]
    lo, hi = screen[keep].min(axis=0), screen[keep].max(axis=0)
    pad = 0.1 * (hi - lo) + 0.02
    lo, hi = np.clip(lo - pad, 0.0, 1.0), np.clip(hi + pad, 0.0, 1.0)
    for _ in range(20):
        batch = lo + (hi - lo) * rng.uniform(size=(candidates, screen.shape[1]))
        found.append(batch[nroy(emulators, batch, obs, cutoff)])
        if sum(len(f) for f in found[1:]) >= wanted:
            return np.concatenate(found[1:])
    return np.concatenate(found[1:]) if sum(len(f) for f in found[1:]) else found[0]


def systematic_resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` systematic-resampling draws (Kitagawa 1996) from ``weights``."""
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0
    positions = (rng.uniform() + np.arange(n)) / n
    return np.searchsorted(cumulative, positions)
