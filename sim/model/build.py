"""The district at step 0 (graph, representatives, a map's rewrites, structure) and the seed.

Each function takes arrays and scenario sections and returns what it built; the model wires
them in :meth:`~sim.model.PartnershipModel.__init__`. Randomness comes from the streams the
model spawns, one per use, so that the population and the graph stay identical across
scenarios that share a seed (common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import mesa
import networkx as nx
import numpy as np
import scipy.sparse as sp

from sim.mechanisms import network, welfare
from sim.mechanisms.welfare import Households
from sim.model.agents import NGO, Firm, Government, Organization
from sim.model.ties import Ties, beta_mean
from sim.scenario import maps
from sim.scenario.maps import StakeholderMap
from sim.scenario.schema import (
    FactorsSection,
    OrganizationsSection,
    PopulationSection,
    Scenario,
)

__all__ = [
    "District",
    "Structure",
    "apply_map",
    "district",
    "organizations",
    "representatives",
    "resolve_seed",
    "stakeholder_graph",
]


def organizations(
    model: mesa.Model, smap: StakeholderMap | None, rng: np.random.Generator
) -> list[Organization]:
    """The organizations in a fixed order (their column in ``hh.trust``): governments, firms, NGOs.

    They are Mesa agents of ``model``; their traits come from ``rng``, their own stream.
    """
    section, households = model.config.organizations, model.config.population.households
    saved, model.rng = model.rng, rng
    made = []
    for cls, count in ((Government, "governments"), (Firm, "firms"), (NGO, "ngos")):
        budget = getattr(section, f"budget_{cls.kind}") * households
        for k in range(getattr(section, count)):
            made.append(cls(model, maps.organization_id(smap, cls.kind, k), budget))
    model.rng = saved
    return made


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
        village_sizes: households in each village (indexed by village).
        village_index: each household's village as numpy's index type, for gathers by village
            (``np.take`` converts other integer indices at every call: five times the gather).
        village_starts: the first household of each village, when villages are contiguous
            blocks of households with none empty (as built); ``None`` otherwise.
        rep_positions: per organization, the tied representatives' positions in
            ``representatives`` (columns of ``rep_trust``).
        rep_households: per organization, the tied representatives' household indices.
    """

    service_areas: dict[str, np.ndarray]
    tied: np.ndarray
    tied_weight: np.ndarray
    tied_count: int
    village_size: float
    village_sizes: np.ndarray
    village_index: np.ndarray
    village_starts: np.ndarray | None
    rep_positions: list[np.ndarray]
    rep_households: list[np.ndarray]
    _tie_counts: dict[tuple[int, ...], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )

    def tie_counts(self, cols: Sequence[int]) -> np.ndarray:
        """How many of the organizations ``cols`` each household is tied to (floats).

        The ties do not change after the structure is read, so the counts are computed once
        per group of organizations (a partnership's members) and kept, read-only.
        """
        key = tuple(cols)
        counts = self._tie_counts.get(key)
        if counts is None:
            counts = self._tie_counts[key] = welfare.row_sums(self.tied_weight[:, list(key)])
            counts.flags.writeable = False
        return counts

    def village_sums(self, values: np.ndarray) -> np.ndarray:
        """The sum of ``values`` (one per household) over each village's households.

        Villages are contiguous blocks of households (:func:`sim.welfare.initial_households`,
        :func:`sim.maps.village_of_households`), so each sum is one ``np.add.reduceat``
        segment: a tenth of the cost of ``np.bincount`` at 100,000 households. The two add in
        different orders (numpy's pairwise summation against one running sum per village), so
        the sums agree to within a few units in the last place, not bit for bit. Without
        contiguous, non-empty villages (a structure built by hand) it is ``np.bincount``.

        Example:
            >>> from sim import PartnershipModel
            >>> s = PartnershipModel(seed=1, households=100, villages=10).structure
            >>> s.village_sums(np.arange(100.0))[:3].tolist()
            [45.0, 145.0, 245.0]
        """
        if self.village_starts is not None:
            return np.add.reduceat(values, self.village_starts)
        return np.bincount(self.village_index, weights=values, minlength=self.village_sizes.size)

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
        sizes = np.bincount(hh.village)
        return cls(
            service_areas=areas,
            tied=tied,
            tied_weight=tied.astype(float),
            tied_count=int(np.count_nonzero(tied)),
            village_size=n / max(1, int(hh.village.max()) + 1),
            village_sizes=sizes.astype(float),
            village_index=hh.village.astype(np.intp),
            village_starts=_village_starts(hh.village, sizes),
            rep_positions=positions,
            rep_households=[reps[pos] for pos in positions],
        )


def _village_starts(village: np.ndarray, sizes: np.ndarray) -> np.ndarray | None:
    """Each village's first household, or None unless villages are non-empty contiguous blocks."""
    if village.size == 0 or not (sizes > 0).all() or (np.diff(village) < 0).any():
        return None
    return np.concatenate(([0], np.cumsum(sizes[:-1]))).astype(np.intp)


@dataclass(frozen=True)
class District:
    """Everything built at step 0 around the organizations (see :func:`district`).

    Attributes:
        hh: the households' state (structure of arrays).
        graph: the stakeholder graph.
        social_ties: the households' social ties (sparse adjacency).
        ties: trust and channel quality of the organizations' ties.
        structure: who is tied to whom.
    """

    hh: Households
    graph: nx.Graph
    social_ties: sp.csr_array
    ties: Ties
    structure: Structure


def district(
    scenario: Scenario,
    smap: StakeholderMap | None,
    organizations: Sequence[Organization],
    streams: Sequence[np.random.Generator],
) -> District:
    """Build the district around ``organizations`` (in their fixed order; budgets set here).

    ``streams`` are four independent generators: population, network, ties, representatives.
    Trust and channel quality draw from two streams spawned from the ties' stream, so changing
    one factor leaves the other's draws (and the representatives) untouched.
    """
    pop_rng, net_rng, tie_rng, rep_rng = streams
    pop, f = scenario.population, scenario.factors
    n, n_orgs = pop.households, len(organizations)
    hh = welfare.initial_households(
        n, min(pop.villages, n), n_orgs, income_median=pop.income_median,
        income_sigma=pop.income_sigma, initial_access=pop.initial_access,
        initial_capacity=pop.initial_capacity, initial_empowerment=pop.initial_empowerment,
        initial_trust=pop.initial_trust, status_gradient=pop.status_gradient, rng=pop_rng,
    )  # fmt: skip
    if smap is not None:  # the map's villages, in contiguous blocks of its sizes
        hh.village[:] = maps.village_of_households(smap)
    graph, social_ties = stakeholder_graph(
        hh.village, pop, scenario.organizations, [(o.node, o.kind) for o in organizations],
        net_rng,
    )  # fmt: skip
    for o in organizations:
        graph.nodes[o.node].update(kind=o.kind, agent=o)
    trust_rng, quality_rng = tie_rng.spawn(2)
    reps = representatives(hh.village, hh.voice, scenario.organizations.representatives, rep_rng)
    nodes = [o.node for o in organizations]
    ties = Ties(
        graph, nodes, reps, trust=f.trust, communication=f.communication,
        trust_rng=trust_rng, quality_rng=quality_rng,
    )  # fmt: skip
    # The representatives' trust in each organization starts from the trust factor too.
    hh.trust[reps] = beta_mean(trust_rng, f.trust, reps.size * n_orgs).reshape(
        reps.size,
        n_orgs,  # (k, 0) when there are no organizations; -1 cannot be inferred
    )
    budgets = apply_map(smap, ties, {o.node: o.budget for o in organizations}, n, f)
    for o in organizations:
        o.budget = budgets[o.node]
    structure = Structure.read(graph, nodes, hh, reps)
    return District(hh, graph, social_ties, ties, structure)


def resolve_seed(seed: int | None, rng: int | np.random.Generator | None) -> int:
    """One integer seed from Mesa's two spellings; fresh OS entropy when neither is given."""
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both")
    value = rng if seed is None else seed
    if value is None:
        return int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(value, np.random.Generator):
        return int(value.integers(2**63))
    return int(value)
