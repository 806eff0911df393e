"""The district at step 0: the stakeholder graph, representatives, a map's rewrites, structure.

Each function takes arrays and scenario sections and returns what it built; the model wires
them in :meth:`~sim.model.PartnershipModel.__init__`. Randomness comes from the streams the
model spawns, one per use, so that the population and the graph stay identical across
scenarios that share a seed (common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp

from sim.mechanisms import network
from sim.mechanisms.welfare import Households
from sim.model.ties import Ties
from sim.scenario.maps import StakeholderMap
from sim.scenario.schema import FactorsSection, OrganizationsSection, PopulationSection

__all__ = ["Structure", "apply_map", "representatives", "stakeholder_graph"]


def stakeholder_graph(
    village: np.ndarray,
    population: PopulationSection,
    organizations: OrganizationsSection,
    orgs: Sequence[tuple[str, str]],
    rng: np.random.Generator,
) -> tuple[nx.Graph, sp.csr_array]:
    """Households on a small world within and across villages; organizations tied to them.

    ``orgs`` lists ``(node, kind)`` in the organizations' fixed order. Returns the graph
    (households are nodes ``0..n-1``; organizations carry ``kind``) and the households'
    social ties as a sparse adjacency matrix.
    """
    n = village.size
    social = network.small_world_edges(
        village, population.ties_within, population.rewiring, population.ties_across, rng
    )
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(social.tolist())
    reach = {"government": 1.0, "firm": organizations.firm_coverage}
    coverage = {node: reach.get(kind, organizations.ngo_coverage) for node, kind in orgs}
    network.add_organizations(graph, [node for node, _ in orgs], village, coverage, rng)
    return graph, network.social_adjacency(social, n)


def representatives(
    village: np.ndarray, voice: np.ndarray, per_village: int, rng: np.random.Generator
) -> np.ndarray:
    """Each village's representatives, drawn without replacement in proportion to voice.

    Representatives speak for the community in a partnership. Returns household indices,
    sorted within each village.
    """
    chosen = []
    start, size = network.village_blocks(village)
    for s0, sz in zip(start, size, strict=True):
        v = voice[s0 : s0 + sz]
        pick = rng.choice(sz, size=min(per_village, sz), replace=False, p=v / v.sum())
        chosen.append(s0 + np.sort(pick))
    return np.concatenate(chosen)


def apply_map(
    smap: StakeholderMap | None,
    ties: Ties,
    budgets: dict[str, float],
    households: int,
    factors: FactorsSection,
) -> dict[str, float]:
    """Impose a map on the district being built: budgets, where organizations work, ties.

    Called once the default ties and representatives exist; it rewrites what the map lists.
    Returns the budgets (per organization) after the map.
    """
    if smap is None:
        return budgets
    budgets = dict(budgets)
    sizes = np.array([v.households for v in smap.villages])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for o in smap.organizations:
        if o.budget is not None:
            budgets[o.id] = o.budget * households
        if o.id not in smap.serves:
            continue
        ties.default_community_tie(o.id, factors.trust, factors.communication)
        served = [
            h for v in smap.serves[o.id] for h in range(int(start[v]), int(start[v] + sizes[v]))
        ]
        ties.serve_villages(o.id, served)
    for tie in smap.ties:
        if tie.trust is not None:
            ties.set_trust(tie.source, tie.target, tie.trust)
            ties.set_trust(tie.target, tie.source, tie.trust_back)
        if tie.communication is not None:
            ties.set_quality(tie.source, tie.target, tie.communication)
    return budgets


@dataclass(frozen=True)
class Structure:
    """Who is tied to whom, read from the graph once it is built (read again after ties change).

    Attributes:
        service_areas: per organization, the households it serves (sorted indices).
        tied: (households, organizations) bool, True where a household is tied.
        tied_weight: ``tied`` as 0/1 floats: which trust a programme's benefits update, and
            over which the community's mean trust is taken.
        tied_count: number of household-organization ties.
        village_size: mean households per village.
        rep_positions: per organization, the tied representatives' positions in
            ``representatives`` (columns of ``rep_trust``).
        rep_households: per organization, the tied representatives' household indices.
    """

    service_areas: dict[str, np.ndarray]
    tied: np.ndarray
    tied_weight: np.ndarray
    tied_count: int
    village_size: float
    rep_positions: list[np.ndarray]
    rep_households: list[np.ndarray]

    @classmethod
    def read(
        cls, graph: nx.Graph, nodes: Sequence[str], hh: Households, reps: np.ndarray
    ) -> Structure:
        """Read the structure of ``graph`` for organizations ``nodes`` (in their fixed order)."""
        n = len(hh)
        areas = {node: network.service_area(graph, node) for node in nodes}
        tied = np.zeros((n, len(nodes)), dtype=bool)
        for col, node in enumerate(nodes):
            tied[areas[node], col] = True
        positions = [np.flatnonzero(tied[reps, col]) for col in range(tied.shape[1])]
        return cls(
            service_areas=areas,
            tied=tied,
            tied_weight=tied.astype(float),
            tied_count=int(np.count_nonzero(tied)),
            village_size=n / max(1, int(hh.village.max()) + 1),
            rep_positions=positions,
            rep_households=[reps[pos] for pos in positions],
        )
