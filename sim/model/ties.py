"""The ties between parties: the one owner of their trust and of their channels' quality.

Organizations trust each other (``org_trust``: row trusts column, 1 on the diagonal, NaN where
there is no tie) and trust the community's representatives they deal with (``rep_trust``:
organization x position in the representatives, NaN where not tied). The representatives'
trust in organizations is household state (``hh.trust``), owned by the households' arrays.

Every tie also has a communication channel. Its quality is drawn at set-up (the
``factors.communication`` lever is its mean) and is owned here: ``org_quality`` between
organizations (symmetric, NaN where there is no tie) and ``community_quality``, the quality of
each organization's channel to the representatives it deals with (one per organization).
The drawn qualities are kept as they were drawn; a later change of the lever moves every
channel by the lever's change since set-up, ``q = clip(q_drawn + (c - c_0), 0, 1)``, so a
change that is undone (a ``set … until`` window) restores every channel exactly.

The stakeholder graph keeps the ties' topology; each tie's ``trust`` attribute is a view of
these arrays (:class:`~sim.mechanisms.network.TieTrust`), so drawing the graph shows the owner's
values. Maps and interventions change ties only through the methods below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.mechanisms import network
from sim.mechanisms.partnership import COMMUNITY
from sim.model.outcomes import mean_of

__all__ = ["Ties", "beta_mean"]


def beta_mean(rng: np.random.Generator, mean: float, size: int, conc: float = 20.0) -> np.ndarray:
    """Beta draws with the given mean and concentration (exact 0 or 1 means give 0 or 1).

    ``Beta(mean * conc, (1 - mean) * conc)`` has mean ``mean`` and variance
    ``mean (1 - mean) / (conc + 1)``.

    Example:
        >>> beta_mean(np.random.default_rng(0), 1.0, 3).tolist()
        [1.0, 1.0, 1.0]
    """
    if mean <= 0.0 or mean >= 1.0:
        return np.full(size, float(np.clip(mean, 0.0, 1.0)))
    return rng.beta(mean * conc, (1.0 - mean) * conc, size=size)


@dataclass(frozen=True)
class _Plan:
    """Index arrays of :meth:`Ties.party_trust` for one partnership's members."""

    pairs: tuple[np.ndarray, ...]
    org_pairs: tuple[np.ndarray, ...]
    community: int | None
    representatives: list[tuple[int, np.ndarray, np.ndarray]]
    rep_households: Sequence[np.ndarray]


class Ties:
    """Trust and channel quality of the organizations' ties, drawn at set-up.

    Args:
        graph: the stakeholder graph (organizations already tied); the ties get trust views.
        nodes: organization ids in their fixed order (their row in the arrays).
        representatives: household indices of the community's representatives.
        trust: the ``factors.trust`` lever (mean of the initial trust draws).
        communication: the ``factors.communication`` lever (mean of the quality draws).
        trust_rng, quality_rng: separate streams, so changing one factor leaves the other's
            draws untouched.
    """

    def __init__(
        self,
        graph: nx.Graph,
        nodes: Sequence[str],
        representatives: np.ndarray,
        *,
        trust: float,
        communication: float,
        trust_rng: np.random.Generator,
        quality_rng: np.random.Generator,
    ) -> None:
        self.graph = graph
        self.communication = self._communication_at_start = communication
        self._drawn: tuple[np.ndarray, np.ndarray] | None = None
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self.nodes = list(nodes)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        self.representatives = representatives
        n_orgs = len(self.nodes)
        self.org_trust = np.full((n_orgs, n_orgs), np.nan)
        np.fill_diagonal(self.org_trust, 1.0)
        self.org_quality = np.full((n_orgs, n_orgs), np.nan)
        # Pairs in the organizations' fixed order: iterating a subgraph would follow a set of
        # strings, whose order changes with Python's hash seed and breaks reproducibility.
        for i, a in enumerate(self.nodes):
            for j in range(i + 1, n_orgs):
                b = self.nodes[j]
                if not graph.has_edge(a, b):
                    continue
                self.org_trust[i, j], self.org_trust[j, i] = beta_mean(trust_rng, trust, 2)
                quality = float(beta_mean(quality_rng, communication, 1)[0])
                self.org_quality[i, j] = self.org_quality[j, i] = quality
                graph.edges[a, b]["trust"] = network.TieTrust(
                    self.org_trust, {a: (i, j), b: (j, i)}
                )
        self.rep_trust = np.full((n_orgs, representatives.size), np.nan)
        self.community_quality = np.full(n_orgs, np.nan)
        self._rep_trust_drawn = np.full(n_orgs, np.nan)
        reps = representatives.tolist()
        for oi, node in enumerate(self.nodes):
            trust_in_community = float(beta_mean(trust_rng, trust, 1)[0])
            quality = float(beta_mean(quality_rng, communication, 1)[0])
            tied = [r for r, h in enumerate(reps) if graph.has_edge(node, h)]
            if tied:
                self._rep_trust_drawn[oi] = trust_in_community
                self.community_quality[oi] = quality
            for r in tied:
                self.rep_trust[oi, r] = trust_in_community
                graph.edges[node, reps[r]]["trust"] = network.TieTrust(
                    self.rep_trust, {node: (oi, r)}
                )

    # ------------------------------------------------------------------ channel quality
    def quality(self, a: str, b: str) -> float:
        """Quality of the channel between organizations ``a`` and ``b`` (NaN: no tie)."""
        return float(self.org_quality[self.index[a], self.index[b]])

    def quality_to_community(self, org: str) -> float:
        """Quality of ``org``'s channel to the representatives it deals with."""
        return float(self.community_quality[self.index[org]])

    def set_quality(self, a: str, b: str, value: float) -> None:
        """Set the quality of the channel between organizations ``a`` and ``b`` (at set-up)."""
        i, j = self.index[a], self.index[b]
        self.org_quality[i, j] = self.org_quality[j, i] = float(value)

    def set_communication(self, communication: float) -> None:
        """The ``factors.communication`` lever changed: every channel follows it.

        ``q = clip(q_drawn + (c − c_0), 0, 1)`` with ``c_0`` the lever at set-up: a
        communication programme improves every channel alike, so the mean quality follows the
        lever, and setting the lever back to ``c_0`` gives every channel its drawn quality
        again, bit for bit (clipping is never compounded).
        """
        if self._drawn is None:  # the qualities as set up (drawn, then a map's)
            self._drawn = (self.org_quality.copy(), self.community_quality.copy())
        self.communication = communication
        change = communication - self._communication_at_start
        for q, drawn in zip((self.org_quality, self.community_quality), self._drawn, strict=True):
            np.clip(drawn + change, 0.0, 1.0, out=q)  # NaN (no tie) stays NaN

    def channels(self) -> np.ndarray:
        """Every channel's quality: organizations' ties (upper triangle), then the community's."""
        upper = self.org_quality[np.triu_indices(len(self.nodes), 1)]
        both = np.concatenate([upper, self.community_quality])
        return both[~np.isnan(both)]

    # ------------------------------------------------------------------ the community's ties
    def serve_villages(self, org: str, households: Sequence[int]) -> None:
        """Tie ``org`` to exactly ``households`` (a map's service area).

        The representatives among them keep the trust and channel quality ``org`` was drawn
        with.
        """
        oi = self.index[org]
        graph = self.graph
        reps = self.representatives.tolist()
        rep_position = {h: r for r, h in enumerate(reps)}
        drawn = self._rep_trust_drawn[oi]
        old = [h for h in graph.adj[org] if isinstance(h, int | np.integer)]
        graph.remove_edges_from((org, h) for h in old)
        self.rep_trust[oi] = np.nan  # trust in representatives exists only on ties
        for h in households:
            r = rep_position.get(h)
            if r is None:
                graph.add_edge(org, h)
                continue
            self.rep_trust[oi, r] = drawn
            graph.add_edge(org, h, trust=network.TieTrust(self.rep_trust, {org: (oi, r)}))

    def default_community_tie(self, org: str, trust: float, communication: float) -> None:
        """Where ``org`` had no representative when drawn: its tie takes the levers' means."""
        oi = self.index[org]
        if np.isnan(self._rep_trust_drawn[oi]):
            self._rep_trust_drawn[oi] = trust
            self.community_quality[oi] = communication

    # ------------------------------------------------------------------ trust
    def party_trust(
        self,
        members: Sequence[str],
        hh_trust: np.ndarray,
        rep_households: Sequence[np.ndarray],
        rep_positions: Sequence[np.ndarray],
    ) -> np.ndarray:
        """Directional trust among partnership members (``T[i, j]``: i's trust in j).

        The community's trust in an organization is its representatives' mean trust in it
        (``hh_trust``, the households' own); an organization's trust in the community is its
        mean trust in the representatives it deals with (``rep_households``/``rep_positions``
        per organization, as in :class:`~sim.model.build.Structure`).
        """
        plan = self._plan(members, hh_trust.shape[1], rep_households, rep_positions)
        t = np.eye(len(members))
        t[plan.pairs] = self.org_trust[plan.org_pairs]
        if plan.community is not None:
            c, households, reps = plan.community, hh_trust.reshape(-1), self.rep_trust.reshape(-1)
            for i, own, theirs in plan.representatives:
                t[c, i] = mean_of(households.take(own))
                t[i, c] = mean_of(reps.take(theirs))
        np.fill_diagonal(t, 1.0)
        return t

    def _plan(
        self,
        members: Sequence[str],
        organizations: int,
        rep_households: Sequence[np.ndarray],
        rep_positions: Sequence[np.ndarray],
    ) -> _Plan:
        """Where :meth:`party_trust` reads each entry for these members, kept per partnership.

        The representatives' trust is gathered from the flat arrays by positions (the same
        entries in the same order as the two-dimensional fancy index, so the same means; a
        plain take costs a fraction of it, and a step reads the matrix five times).
        """
        key = tuple(members)
        plan = self._plans.get(key)
        if plan is not None and plan.rep_households is rep_households:
            return plan
        pos = [i for i, a in enumerate(members) if a != COMMUNITY]
        cols = [self.index[members[i]] for i in pos]
        community = key.index(COMMUNITY) if COMMUNITY in key else None
        width = self.rep_trust.shape[1]
        representatives = [
            (i, rep_households[col] * organizations + col, col * width + rep_positions[col])
            for i, col in zip(pos, cols, strict=True)
        ]
        plan = self._plans[key] = _Plan(
            np.ix_(pos, pos), np.ix_(cols, cols), community, representatives, rep_households
        )
        return plan

    def write_party_trust(
        self,
        members: Sequence[str],
        new: np.ndarray,
        old: np.ndarray,
        hh_trust: np.ndarray,
        rep_households: Sequence[np.ndarray],
        rep_positions: Sequence[np.ndarray],
    ) -> None:
        """Scatter an updated :meth:`party_trust` matrix back to the arrays that own trust.

        The community's change moves each representative's trust by the same amount
        (clipped to [0, 1]); an organization's trust in the community is set on every tie to
        a representative.
        """
        for i, a in enumerate(members):
            for j, b in enumerate(members):
                if i == j or new[i, j] == old[i, j]:
                    continue
                if a == COMMUNITY:
                    col = self.index[b]
                    reps = rep_households[col]
                    hh_trust[reps, col] = np.clip(
                        hh_trust[reps, col] + (new[i, j] - old[i, j]), 0.0, 1.0
                    )
                elif b == COMMUNITY:
                    row = self.index[a]
                    self.rep_trust[row, rep_positions[row]] = float(new[i, j])
                else:
                    self.org_trust[self.index[a], self.index[b]] = float(new[i, j])

    def party_quality(self, members: Sequence[str]) -> np.ndarray:
        """Channel quality between partnership members (symmetric, 0 on the diagonal)."""
        m = len(members)
        q = np.zeros((m, m))
        for i, a in enumerate(members):
            for j in range(i + 1, m):
                b = members[j]
                if COMMUNITY in (a, b):
                    q[i, j] = q[j, i] = self.quality_to_community(b if a == COMMUNITY else a)
                else:
                    q[i, j] = q[j, i] = self.quality(a, b)
        return q

    def set_trust(self, truster: str, trustee: str, value: float) -> None:
        """Organization ``truster``'s trust in organization ``trustee``."""
        self.org_trust[self.index[truster], self.index[trustee]] = float(value)
