"""The assembled model: determinism, invariants, the graph as the record of ties, agents."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from sim import OUTCOMES, PartnershipModel, Scenario
from sim.mechanisms.network import social_adjacency
from sim.mechanisms.partnership import COMMUNITY
from sim.model.agents import Household

from .invariants import SHARES as BOUNDED  # outcomes that are shares: always in [0, 1]

SMALL = {"households": 300, "villages": 6}


def test_results_table_has_the_output_contract():
    df = PartnershipModel(seed=3, **SMALL).run(5).results()
    assert list(df.columns[:4]) == ["scenario", "replicate", "seed", "step"]
    assert set(OUTCOMES) <= set(df.columns)
    assert df["step"].tolist() == list(range(6))
    assert (df["seed"] == 3).all()


def test_same_seed_same_table_different_seed_different():
    a = PartnershipModel(seed=11, **SMALL).run(20).results()
    b = PartnershipModel(seed=11, **SMALL).run(20).results()
    c = PartnershipModel(seed=12, **SMALL).run(20).results()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["welfare_mean"].iloc[1:], c["welfare_mean"].iloc[1:])


def test_no_global_random_state_is_used():
    np.random.seed(0)  # noqa: NPY002 - deliberately setting the legacy global state
    import random

    random.seed(0)
    a = PartnershipModel(seed=5, **SMALL).run(10).results()
    np.random.seed(999)  # noqa: NPY002
    random.seed(999)
    b = PartnershipModel(seed=5, **SMALL).run(10).results()
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("kind", ["none", "ppp", "psp", "pmg", "msp"])
def test_common_random_numbers_give_identical_populations_and_graphs(kind):
    ref = PartnershipModel(seed=8, **SMALL, **{"partnership.type": "none"})
    other = PartnershipModel(seed=8, **SMALL, **{"partnership.type": kind})
    np.testing.assert_array_equal(ref.hh.income0, other.hh.income0)
    np.testing.assert_array_equal(ref.hh.stock0, other.hh.stock0)
    assert {frozenset(e) for e in ref.graph.edges} == {frozenset(e) for e in other.graph.edges}


@pytest.mark.parametrize(
    "levers",
    [
        {},
        {
            "factors.goal_clarity": 0.0,
            "factors.power_balance": 0.0,
            "factors.communication": 0.0,
            "factors.trust": 0.0,
            "factors.evaluation_interval": 0,
        },
        {
            "factors.goal_clarity": 1.0,
            "factors.power_balance": 1.0,
            "factors.communication": 1.0,
            "factors.trust": 1.0,
            "factors.evaluation_interval": 1,
            "accountability.audit_probability": 1.0,
        },
        {
            "organizations.budget_government": 0.0,
            "organizations.budget_firm": 0.0,
            "organizations.budget_ngo": 0.0,
            "organizations.community_inkind": 0.0,
        },
        {"partnership.funding_horizon": 10, "partnership.funding_after": 0.0},
        {"organizations.budget_government": 50.0, "welfare.depreciation": 1.0},
    ],
    ids=["defaults", "all-factors-zero", "all-factors-one", "no-money", "funding-ends", "extreme"],
)
def test_bounded_quantities_stay_bounded_and_finite_over_long_runs(levers):
    model = PartnershipModel(seed=2, households=120, villages=3, **levers).run(600)
    df = model.results()
    for col in BOUNDED:
        values = df[col].dropna().to_numpy()
        assert np.all((values >= -1e-12) & (values <= 1 + 1e-12)), col
    assert (
        np.isfinite(df[["welfare_mean", "income_mean", "pooled_resources", "delivered"]])
        .all()
        .all()
    )
    hh = model.hh
    for arr in (hh.stock, hh.trust):
        assert np.all((arr >= 0) & (arr <= 1)) and np.isfinite(arr).all()
    assert np.all(hh.income > 0)
    assert len(hh) == 120  # households are conserved


def test_partnership_columns_are_nan_only_without_a_partnership():
    df = PartnershipModel(seed=1, **SMALL, **{"partnership.type": "none"}).run(3).results()
    assert df["trust_partners"].isna().all() and (df["partnership_active"] == 0).all()
    df = PartnershipModel(seed=1, **SMALL, **{"partnership.type": "msp"}).run(3).results()
    assert df["trust_partners"].notna().all() and (df["partnership_active"] == 1).all()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("ppp", {"government", "firm"}),
        ("psp", {"firm", COMMUNITY}),
        ("pmg", {"government", COMMUNITY}),
        ("msp", {"government", "firm", "ngo", COMMUNITY}),
    ],
)
def test_partnership_membership_follows_the_type(kind, expected):
    model = PartnershipModel(seed=1, **SMALL, **{"partnership.type": kind})
    kinds = {m if m == COMMUNITY else model.org_by_node[m].kind for m in model.partnership.members}
    assert kinds == expected


def test_graph_holds_every_agent_and_the_social_view_matches_it():
    model = PartnershipModel(seed=4, **SMALL)
    n = len(model.hh)
    assert set(range(n)) <= set(model.graph.nodes)
    assert {o.node for o in model.organizations} <= set(model.graph.nodes)
    sub = model.graph.subgraph(range(n))
    expected = nx.to_scipy_sparse_array(sub, nodelist=range(n), format="csr")
    assert (expected != model.social_ties).nnz == 0
    edges = np.array(list(sub.edges))
    assert (social_adjacency(edges, n) != model.social_ties).nnz == 0


def test_trust_is_directional_on_organization_ties():
    model = PartnershipModel(seed=4, **SMALL)
    a, b = "government_0", "firm_0"
    trust = model.graph.edges[a, b]["trust"]
    assert set(trust) == {a, b}
    assert trust[a] != trust[b]  # drawn independently: i's trust in j need not equal j's in i


def test_trust_matrix_round_trips_through_graph_and_arrays():
    model = PartnershipModel(seed=4, **SMALL)
    before = model.trust_matrix()
    target = np.clip(before + 0.05, 0, 1)
    np.fill_diagonal(target, 1.0)
    model.write_trust(target, before)
    np.testing.assert_allclose(model.trust_matrix(), target, atol=1e-12)


def test_household_agents_read_and_write_the_arrays():
    model = PartnershipModel(seed=4, **SMALL)
    h = model.households[17]
    assert isinstance(h, Household) and model.households[17] is h
    assert h.income == model.hh.income[17]
    h.capacity = 0.42
    assert model.hh.capacity[17] == 0.42
    assert h.trust_in("government_0") == model.hh.trust[17, model.org_index["government_0"]]
    assert h in model.agents_by_type[Household]
    with pytest.raises(IndexError):
        model.households[len(model.hh)]


def test_members_with_sustained_low_trust_leave_and_the_partnership_dissolves():
    model = PartnershipModel(
        seed=6,
        **SMALL,
        **{
            "partnership.type": "ppp",
            "factors.trust": 0.0,
            "factors.communication": 0.0,
            "factors.evaluation_interval": 0,
            "partnership.exit_patience": 3,
        },
    ).run(60)
    df = model.results()
    assert df["partnership_active"].iloc[0] == 1
    assert df["partnership_active"].iloc[-1] == 0
    assert model.partnership.size < 2


def test_funding_horizon_cuts_external_funding_after_it():
    external = {"organizations.external_government": 1.0, "organizations.external_firm": 1.0}
    model = PartnershipModel(
        seed=1,
        **SMALL,
        **external,
        **{
            "partnership.type": "none",
            "partnership.funding_horizon": 10,
            "partnership.funding_after": 0.0,
        },
    ).run(15)
    df = model.results()
    assert (df.loc[df["step"] <= 10, "delivered"].iloc[1:] > 0).all()
    assert (df.loc[df["step"] > 10, "delivered"] == 0).all()


def test_funding_horizon_leaves_own_budgets_alone():
    """Only the external part ends: by default the NGOs' budgets, not government's or firms'."""
    levers = {
        "partnership.type": "none",
        "partnership.funding_horizon": 10,
        "partnership.funding_after": 0.0,
    }
    model = PartnershipModel(seed=1, **SMALL, **levers).run(11)
    budgets = {o.node: o.budget for o in model.organizations}
    last = model.results().iloc[-1]  # programme spending: spent less the households' time
    spent = (last["spent"] - last["cost_participation"]) * len(model.hh)
    own = sum(b for node, b in budgets.items() if not node.startswith("ngo"))
    assert spent == pytest.approx(model.config.partnership.commitment * own)
    assert dict(zip(budgets, model.record.budget_share, strict=True)) == {
        node: (0.0 if node.startswith("ngo") else 1.0) for node in budgets
    }


def test_from_scenario_reads_files(root):
    model = PartnershipModel.from_scenario(
        root / "scenarios" / "msp_low_trust.toml", overrides=["population.households=100"]
    )
    assert model.config.factors.trust == 0.2
    assert model.config.partnership.type == "msp"
    assert len(model.hh) == 100


def test_step_advances_mesa_time_and_collects_each_step():
    model = PartnershipModel(seed=1, **SMALL)
    for _ in range(3):
        model.step()
    assert model.steps == 3
    assert len(model.datacollector.get_model_vars_dataframe()) == 4


def test_household_frame_is_one_row_per_household():
    model = PartnershipModel(seed=1, **SMALL).run(2)
    frame = model.household_frame()
    assert len(frame) == 300 and frame["step"].eq(2).all()
    np.testing.assert_allclose(frame["welfare"], model.hh.welfare())


def test_scenario_object_is_accepted_directly():
    s = Scenario.from_dict({"population": {"households": 50}, "partnership": {"type": "pmg"}})
    model = PartnershipModel(s, seed=1)
    assert len(model.hh) == 50 and model.partnership.kind == "pmg"


def test_results_do_not_depend_on_python_hash_seed():
    import subprocess
    import sys

    code = (
        "from sim import PartnershipModel;"
        "df = PartnershipModel(seed=3, households=80).run(10).results();"
        "print(df.drop(columns=['scenario']).to_numpy(dtype=float).tobytes().hex())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": str(h)},
        ).stdout
        for h in (1, 2, 3)
    }
    assert len(outs) == 1


@pytest.mark.parametrize(
    "levers",
    [
        {"factors.trust": 0.1},
        {"factors.communication": 0.2},
        {"factors.trust": 1.0, "factors.communication": 0.0},
    ],
)
def test_common_random_numbers_hold_across_trust_and_communication_levels(levers):
    ref = PartnershipModel(seed=9, **SMALL)
    other = PartnershipModel(seed=9, **SMALL, **levers)
    np.testing.assert_array_equal(ref.representatives, other.representatives)
    org_ties = [(a, b) for a, b in ref.graph.edges if isinstance(a, str) and isinstance(b, str)]
    for a, b in org_ties:
        if "factors.trust" not in levers:
            assert ref.graph.edges[a, b]["trust"] == other.graph.edges[a, b]["trust"]
        if "factors.communication" not in levers:
            assert ref.ties.quality(a, b) == other.ties.quality(a, b)


MEDIATION = """
[[interventions]]
name = "mediation"
when = "trust_partners < 0.65"
max_times = 1
action = "set"
lever = "factors.evaluation_interval"
value = 3
"""


@pytest.mark.parametrize("scenario", ["msp", "msp_with_mediation"])
def test_recording_some_steps_keeps_exactly_those_rows_of_the_full_run(scenario, tmp_path):
    """The second is triggered by an outcome ("when"): outcomes are computed every step."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scenarios" / "msp.toml"
    if scenario == "msp_with_mediation":  # msp's trust among partners dips below 0.65 early
        text = f'extends = "{path.as_posix()}"\nname = "{scenario}"\n' + MEDIATION
        path = tmp_path / "mediation.toml"
        path.write_text(text)
    kwargs = {"seed": 11, "households": 300, "villages": 3}
    full = PartnershipModel.from_scenario(path, **kwargs).run(40)
    keep = [0, 5, 25, 40]
    some = PartnershipModel.from_scenario(path, record_steps=keep, **kwargs).run(40)
    got = some.results()
    assert got["step"].tolist() == keep
    expected = full.results().set_index("step").loc[keep].reset_index()
    pd.testing.assert_frame_equal(got, expected[got.columns])  # exact
    np.testing.assert_array_equal(some.hh.trust, full.hh.trust)  # the same course
    assert some.events == full.events
    if scenario == "msp":
        assert len(full.events) == 0
    else:  # the trigger read the outcomes of a step that was not recorded
        fired = [e["step"] for e in some.events if e["intervention"] == "mediation"]
        assert fired and fired[0] - 1 not in keep


def test_outcomes_are_computed_only_on_recorded_steps_without_triggers():
    model = PartnershipModel(seed=2, households=200, villages=2, record_steps=[0, 5])
    calls = []
    outcomes = model.outcomes
    model.outcomes = lambda: calls.append(int(model.steps)) or outcomes()
    model.run(6)
    assert calls == [5]
    assert model.results()["step"].tolist() == [0, 5]


def test_rng_is_mesas_name_for_the_seed_and_both_give_the_same_run():
    by_seed = PartnershipModel(seed=11, households=150).run(4).results()
    by_rng = PartnershipModel(rng=11, households=150).run(4).results()
    pd.testing.assert_frame_equal(by_seed, by_rng)
    with pytest.raises(ValueError, match="either seed or rng"):
        PartnershipModel(seed=1, rng=1, households=150)


def test_no_seed_draws_fresh_entropy_and_records_it():
    a, b = PartnershipModel(households=150), PartnershipModel(households=150)
    assert a.seed != b.seed and 0 <= a.seed < 2**63
    again = PartnershipModel(seed=a.seed, households=150)
    np.testing.assert_array_equal(again.hh.income, a.hh.income)
    assert not np.array_equal(a.hh.income, b.hh.income)


def test_running_turns_false_at_the_horizon_and_mesa_batch_run_gives_distinct_replicates():
    import mesa

    model = PartnershipModel(seed=3, households=150, steps=4)
    for _ in range(3):
        model.step()
        assert model.running
    model.step()
    assert not model.running
    rows = mesa.batch_run(
        PartnershipModel,
        parameters={"households": 150, "steps": 5},
        iterations=3,
        max_steps=50,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    # Stopped at the horizon (5 steps), not at max_steps = 50. Mesa 3.3 labels the last row
    # ``model.steps - 1``; Mesa 3.4+ labels it with the model's time.
    assert len(rows) == 3 and {r["Step"] for r in rows} in ({4}, {5})
    welfare = [r["welfare_mean"] for r in rows]
    assert len(set(welfare)) == 3  # fresh entropy per iteration, as Mesa's own models


def test_results_store_yes_no_and_counts_as_bool_and_int():
    df = PartnershipModel(seed=5, households=60).run(3).results()
    assert df["partnership_active"].dtype == bool
    assert df["partnership_size"].dtype == np.int64
    assert df["partnership_active"].tolist() == [True] * 4
    assert (df["partnership_size"] >= 2).all()
    floats = [c for c in OUTCOMES if c not in ("partnership_active", "partnership_size")]
    assert all(df[c].dtype == np.float64 for c in floats)
