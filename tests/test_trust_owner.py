"""Trust has one owner: the model's arrays; the graph's ties view the same values."""

from __future__ import annotations

import numpy as np
import pytest

from sim import PartnershipModel
from sim.mechanisms.network import TieTrust, get_trust, set_trust
from sim.mechanisms.partnership import COMMUNITY

SMALL = {"households": 300, "villages": 6}


@pytest.fixture
def model() -> PartnershipModel:
    return PartnershipModel(seed=4, **SMALL)


def test_org_tie_trust_is_a_view_of_org_trust(model):
    a, b = "government_0", "firm_1"
    i, j = model.org_index[a], model.org_index[b]
    assert isinstance(model.graph.edges[a, b]["trust"], TieTrust)
    assert get_trust(model.graph, a, b) == model.org_trust[i, j]
    assert get_trust(model.graph, b, a) == model.org_trust[j, i]
    set_trust(model.graph, a, b, 0.123)
    assert model.org_trust[i, j] == 0.123
    assert model.org_trust[j, i] != 0.123  # directional: the other direction is untouched
    model.org_trust[j, i] = 0.456
    assert get_trust(model.graph, b, a) == 0.456
    assert model.graph.edges[a, b]["trust"] == {a: 0.123, b: 0.456}
    t = model.trust_matrix()
    members = model.partnership.members
    assert t[members.index(a), members.index(b)] == 0.123
    assert t[members.index(b), members.index(a)] == 0.456


def test_representative_tie_trust_is_a_view_of_rep_trust(model):
    org = "firm_0"
    col = model.org_index[org]
    reps = model.structure.rep_households[model.org_index[org]]
    assert reps.size > 0
    for h in reps.tolist():
        assert (
            get_trust(model.graph, org, h)
            == model.rep_trust[col, model.representatives.tolist().index(h)]
        )
    # Untied representatives have no trust entry (NaN in the owner, no view on a tie).
    untied = np.setdiff1d(model.representatives, reps)
    pos = np.flatnonzero(np.isin(model.representatives, untied))
    assert np.isnan(model.rep_trust[col, pos]).all()
    for h in untied.tolist():
        assert not model.graph.has_edge(org, h)
    # Writing through the graph moves the organization's trust in the community.
    for h in reps.tolist():
        set_trust(model.graph, org, h, 0.25)
    members = model.partnership.members
    assert model.trust_matrix()[members.index(org), members.index(COMMUNITY)] == 0.25


def test_a_tie_rejects_trust_it_does_not_own(model):
    org = "ngo_0"
    h = int(model.structure.rep_households[model.org_index[org]][0])
    with pytest.raises(KeyError, match="lives elsewhere"):
        set_trust(model.graph, h, org, 0.5)  # the household's trust is in model.hh.trust
    with pytest.raises(KeyError):
        get_trust(model.graph, h, org)
    with pytest.raises(TypeError):
        del model.graph.edges[org, h]["trust"][org]


def test_trust_matrix_equals_the_graph_reading(model):
    """The array-backed matrix equals trust gathered tie by tie from the graph (the old way)."""
    model.run(5)
    p = model.partnership
    expected = np.eye(p.size)
    for i, a in enumerate(p.members):
        for j, b in enumerate(p.members):
            if i == j:
                continue
            if a == COMMUNITY:
                reps = [h for h in model.representatives.tolist() if model.graph.has_edge(b, h)]
                expected[i, j] = model.hh.trust[reps, model.org_index[b]].mean()
            elif b == COMMUNITY:
                reps = [h for h in model.representatives.tolist() if model.graph.has_edge(a, h)]
                expected[i, j] = np.mean([get_trust(model.graph, a, h) for h in reps])
            else:
                expected[i, j] = get_trust(model.graph, a, b)
    np.testing.assert_array_equal(model.trust_matrix(), expected)
