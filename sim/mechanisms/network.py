"""The stakeholder graph: who is tied to whom, with trust and communication on the ties.

``model.graph`` is an undirected :class:`networkx.Graph` and the single record of ties:

- household–household *social* ties: a Watts–Strogatz small world inside each village
  (Watts & Strogatz 1998, Nature 393:440) plus a few ties across villages;
- organization–household *service* ties: an organization serves every household of the
  villages it works in (the government serves all);
- organization–organization ties among all organizations.

Nodes are household indices (``int``) and organization names (``str``). Trust is directional
and is read and written through the tie: an organization–organization edge carries
``trust = {u: T_uv, v: T_vu}`` (keyed by the one who trusts) and ``communication`` (channel
quality). On a service tie the household's trust in the organization is household state and
lives in the model's household arrays (``model.hh.trust[h, org]``, structure of arrays); the
organization's trust in a community representative is on that tie as ``trust = {org: T}``.

In a model, the ``trust`` of organization ties and representative ties is a :class:`TieTrust`:
a mapping with the same keys whose values are stored in one array owned by the model
(``model.org_trust``, ``model.rep_trust``), so the vectorized rules read trust without a
graph lookup and the graph and the arrays cannot drift apart (the value has one owner; the
edge attribute is a view of it). :func:`get_trust` and :func:`set_trust` work the same on
either kind of edge attribute.

The social ties are never rewired during a run, so :func:`social_adjacency` returns a
read-only sparse view of them for the vectorized household rules; a test checks that the view
equals the graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, MutableMapping

import networkx as nx
import numpy as np
import scipy.sparse as sp

__all__ = [
    "TieTrust",
    "add_organizations",
    "get_trust",
    "service_area",
    "set_trust",
    "small_world_edges",
    "social_adjacency",
    "village_blocks",
]


def small_world_edges(
    village: np.ndarray,
    k: int,
    rewiring: float,
    across: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Social ties as an (e, 2) array of household pairs, built vectorized.

    Within each village of size ``s`` households form a ring lattice where each is tied to its
    ``k/2`` nearest neighbours on each side (capped at ``s − 1``); each tie's far end is rewired
    with probability ``rewiring`` to a random household of the same village (Watts–Strogatz).
    Then ``round(across · n)`` ties join a random household to a random household of another
    village. Self-ties and duplicates are dropped, so the result is a simple graph.

    Args:
        village: (n,) village index of each household, in contiguous blocks.
        k: ties within the village per household (even).
        rewiring: Watts–Strogatz rewiring probability.
        across: cross-village ties, as a multiple of the number of households.
        rng: the model's generator.

    Returns:
        (e, 2) int64 array of unique pairs ``(u, v)`` with ``u < v``.
    """
    n = village.size
    start, size = village_blocks(village)
    base = np.repeat(start, size)
    vsize = np.repeat(size, size)
    local = np.arange(n) - base
    pairs = []
    for d in range(1, k // 2 + 1):
        ok = vsize > d
        u = np.flatnonzero(ok)
        v = base[u] + (local[u] + d) % vsize[u]
        rewire = rng.random(u.size) < rewiring
        v[rewire] = base[u[rewire]] + rng.integers(0, vsize[u[rewire]])
        pairs.append(np.column_stack([u, v]))
    m = round(across * n)
    if m > 0 and start.size > 1:
        # Draw the far end among the households outside u's village (villages are contiguous
        # blocks, so skip over u's block): exactly m cross-village draws.
        u = rng.integers(0, n, size=m)
        v = (rng.random(m) * (n - vsize[u])).astype(np.int64)
        v = np.where(v >= base[u], v + vsize[u], v)
        pairs.append(np.column_stack([u, v]))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    e = np.concatenate(pairs).astype(np.int64)
    e = e[e[:, 0] != e[:, 1]]
    e.sort(axis=1)
    # Unique pairs in (u, v) order through one int64 key per pair (a 1-D unique is far
    # faster than ``np.unique(e, axis=0)``, and gives the same sorted pairs).
    key = np.sort(e[:, 0] * np.int64(n) + e[:, 1])
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if key.size else key
    return np.column_stack([key // n, key % n])


def village_blocks(village: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First household and size of each village, for villages stored in contiguous blocks.

    Equal to ``np.unique(village, return_index=True, return_counts=True)[1:]`` for sorted
    input, in linear time (numpy 2.4's ``unique`` is about 100 times slower here).

    Example:
        >>> village_blocks(np.array([0, 0, 1, 2, 2, 2]))
        (array([0, 2, 3]), array([2, 1, 3]))
    """
    if village.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    start = np.flatnonzero(np.concatenate([[True], village[1:] != village[:-1]]))
    size = np.diff(np.append(start, village.size))
    return start, size


def social_adjacency(edges: np.ndarray, n: int) -> sp.csr_array:
    """Symmetric (n, n) CSR adjacency of the social ties (a read-only view of the graph)."""
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    data = np.ones(rows.size, dtype=np.float64)
    adj = sp.csr_array((data, (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


def add_organizations(
    graph: nx.Graph,
    orgs: list[str],
    village: np.ndarray,
    coverage: dict[str, float],
    rng: np.random.Generator,
) -> None:
    """Add organization nodes, their service ties and the ties among them.

    Each organization works in a random share ``coverage[org]`` of the villages (at least one)
    and is tied to every household there.
    """
    n_villages = int(village.max()) + 1 if village.size else 0
    start, size = village_blocks(village)
    for org in orgs:
        graph.add_node(org)
        share = coverage[org]
        count = max(1, round(share * n_villages))
        chosen = np.sort(rng.choice(n_villages, size=count, replace=False))
        members = np.concatenate([np.arange(start[v], start[v] + size[v]) for v in chosen])
        graph.add_edges_from(zip(itertools.repeat(org), members.tolist(), strict=False))
    for i, a in enumerate(orgs):
        for b in orgs[i + 1 :]:
            graph.add_edge(a, b)


def service_area(graph: nx.Graph, org: str) -> np.ndarray:
    """Sorted indices of the households an organization is tied to (read from the graph)."""
    # Nodes are household indices or organization names: drop the names (a C-level filter,
    # not a Python loop over the households).
    nbrs = np.fromiter(itertools.filterfalse(str.__instancecheck__, graph.adj[org]), np.int64)
    nbrs.sort()
    return nbrs


class TieTrust(MutableMapping):
    """The trust values of one tie, stored in an array owned by the model (a view, not a copy).

    ``TieTrust(values, {truster: (row, col)})`` maps each truster on the tie to its entry of
    ``values``. Reading gives a ``float``; writing stores into the array. The set of trusters
    is fixed: a key the tie does not own raises ``KeyError`` (that trust lives elsewhere).

    Example:
        >>> values = np.array([[1.0, 0.3], [0.9, 1.0]])
        >>> t = TieTrust(values, {"a": (0, 1), "b": (1, 0)})
        >>> t["a"], dict(t)
        (0.3, {'a': 0.3, 'b': 0.9})
        >>> t["a"] = 0.5
        >>> float(values[0, 1])
        0.5
    """

    __slots__ = ("_at", "_values")

    def __init__(self, values: np.ndarray, at: dict[object, tuple[int, int]]) -> None:
        self._values = values
        self._at = at

    def __getitem__(self, truster: object) -> float:
        return float(self._values[self._at[truster]])

    def __setitem__(self, truster: object, value: float) -> None:
        if truster not in self._at:
            raise KeyError(
                f"{truster!r} does not hold trust on this tie; its trust lives elsewhere"
            )
        self._values[self._at[truster]] = float(value)

    def __delitem__(self, truster: object) -> None:
        raise TypeError("trust on a tie cannot be deleted; set it instead")

    def __iter__(self) -> Iterator[object]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def __repr__(self) -> str:
        return f"TieTrust({dict(self)!r})"


def get_trust(graph: nx.Graph, truster: object, trustee: object) -> float:
    """``truster``'s trust in ``trustee``, read from their tie."""
    return graph.edges[truster, trustee]["trust"][truster]


def set_trust(graph: nx.Graph, truster: object, trustee: object, value: float) -> None:
    """Write ``truster``'s trust in ``trustee`` on their tie."""
    graph.edges[truster, trustee].setdefault("trust", {})[truster] = float(value)
