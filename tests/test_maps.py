"""Stakeholder maps: the example loads the same from CSV and GraphML, drives the model, and
every kind of bad input is refused with a message naming the file, the row and the value."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.errors import UserError
from sim.mechanisms.network import get_trust
from sim.model.model import PartnershipModel
from sim.scenario import maps
from sim.scenario.maps import MapError, load_map
from sim.scenario.schema import Scenario

from .conftest import ROOT

EXAMPLE = ROOT / "scenarios" / "maps" / "example"
GRAPHML = ROOT / "scenarios" / "maps" / "example.graphml"


def test_csv_and_graphml_twins_are_the_same_map():
    a, b = load_map(EXAMPLE), load_map(GRAPHML)
    assert a.organizations == b.organizations
    assert a.villages == b.villages
    assert set(a.ties) == set(b.ties)
    assert a.serves == b.serves
    assert a.households == 500 and len(a.villages) == 6
    # organizations in the model's order: governments, firms, NGOs
    assert [o.kind for o in a.organizations] == ["government"] + ["firm"] * 3 + ["ngo"] * 2


def test_model_on_the_map_has_its_villages_organizations_and_ties():
    s = Scenario.from_dict({"population": {"map": str(EXAMPLE)}, "partnership": {"type": "msp"}})
    assert (s.population.households, s.population.villages) == (500, 6)
    assert (s.organizations.governments, s.organizations.firms, s.organizations.ngos) == (1, 3, 2)
    model = PartnershipModel(s, seed=5)
    assert np.bincount(model.hh.village).tolist() == [140, 110, 90, 70, 50, 40]
    assert [o.node for o in model.organizations][:2] == ["dinas_pmd", "pt_sawit"]
    # directional trust from the map: source -> target and target -> source
    assert get_trust(model.graph, "dinas_pmd", "pt_sawit") == 0.6
    assert get_trust(model.graph, "pt_sawit", "dinas_pmd") == 0.7
    assert (
        model.ties.quality("pt_sawit", "lsm_air")
        == model.ties.quality("lsm_air", "pt_sawit")
        == 0.3
    )
    # pt_tambang works in tanjung (70) and bukit_indah (50), after 340 others: 340..459
    area = model.service_areas["pt_tambang"]
    assert area.tolist() == list(range(340, 460))
    assert model.service_areas["dinas_pmd"].size == 500  # not listed: the government serves all
    # budgets: the map's, or the scenario's when empty
    budgets = {o.node: o.budget / 500 for o in model.organizations}
    assert budgets["pt_sawit"] == pytest.approx(0.2)
    assert budgets["koperasi_bank"] == pytest.approx(s.organizations.budget_firm)
    assert model.partnership.members[-1] == "community"
    model.run(3)
    assert np.isfinite(model.results()["trust_partners"]).all()


def test_fingerprint_names_every_file_with_its_hash():
    prints = maps.fingerprint(EXAMPLE)
    assert sorted(Path(f).name for f in prints) == ["edges.csv", "nodes.csv", "villages.csv"]
    assert all(re.fullmatch("[0-9a-f]{64}", h) for h in prints.values())


def test_map_path_is_relative_to_the_scenario_file(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "m")
    (tmp_path / "s.toml").write_text('[population]\nmap = "m"\n')
    from sim.scenario import load_scenario

    s = load_scenario(tmp_path / "s.toml")
    assert s.population.map == str((tmp_path / "m").resolve())
    assert s.population.households == 500


def _map(tmp_path, villages=None, nodes=None, edges=None):
    d = tmp_path / "bad"
    d.mkdir(exist_ok=True)
    default_villages = "id,households\nv1,30\nv2,20\n"
    (d / "villages.csv").write_text(villages if villages is not None else default_villages)
    (d / "nodes.csv").write_text(
        nodes if nodes is not None else "id,type\ngov,government\nfirm,firm\n"
    )
    (d / "edges.csv").write_text(
        edges if edges is not None else "source,target,trust\ngov,firm,0.5\nfirm,v1,\n"
    )
    return d


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        ({"nodes": "id,type\ngov,government\nfirm,frim\n"}, "nodes.csv row 3",
         "type = 'frim' is unknown. Did you mean 'firm'"),
        ({"edges": "source,target,trust\ngov,firn,0.5\n"}, "edges.csv row 2",
         "target = 'firn' is not an organization or village of the map. Did you mean 'firm'"),
        ({"edges": "source,target,trust\ngov,firm,1.5\n"}, "edges.csv row 2",
         "trust = '1.5' is out of range; allowed: a number from 0.0 to 1.0"),
        ({"edges": "source,target,trust\ngov,firm,nan\n"}, "edges.csv row 2",
         "trust = 'nan' is out of range"),
        ({"edges": "source,target,trust\ngov,firm,high\n"}, "edges.csv row 2",
         "trust = 'high' is not a number"),
        ({"nodes": "id,type\ngov,government\ngov,firm\n"}, "nodes.csv row 3",
         "id = 'gov' is a duplicate"),
        ({"nodes": "id,type\nv1,government\n"}, "nodes.csv row 2", "id = 'v1' is a duplicate"),
        ({"villages": "id,households\nv1,0\n"}, "villages.csv row 2", "households = '0'"),
        ({"villages": "id,households\nv1,2.5\n"}, "villages.csv row 2", "households = '2.5'"),
        ({"villages": ""}, "villages.csv", "empty file"),
        ({"villages": "id,households\n"}, "bad", "no villages"),
        ({"nodes": "id,kind\ngov,government\n"}, "nodes.csv", "missing column(s) type"),
        ({"nodes": "id,type,budjet\ngov,government,1\n"}, "nodes.csv",
         "unknown column 'budjet'. Did you mean 'budget'"),
        ({"nodes": "id,type,budget\ngov,government,-1\n"}, "nodes.csv row 2", "budget = '-1'"),
        ({"edges": "source,target,trust\ngov,v1,0.5\n"}, "edges.csv row 2",
         "trust is set on a tie between an organization and a village"),
        ({"edges": "source,target\nv1,v2\n"}, "edges.csv row 2", "a tie between two villages"),
        ({"edges": "source,target,trust\ngov,firm,0.5\nfirm,gov,0.4\n"}, "edges.csv row 3",
         "listed twice"),
        ({"edges": "source,target\ngov,gov\n"}, "edges.csv row 2", "to itself"),
        ({"nodes": "id,type\ncommunity,government\n"}, "nodes.csv row 2", "reserved"),
        ({"nodes": "id,type\ngov one,government\n"}, "nodes.csv row 2", "not a valid id"),
        ({"edges": "source,target,trust,trust_back\ngov,firm,,0.3\n"}, "edges.csv row 2",
         "trust_back is set but trust is empty"),
    ],
)  # fmt: skip
def test_bad_maps_are_refused_naming_file_row_and_value(tmp_path, files, where, message):
    d = _map(tmp_path, **files)
    with pytest.raises(MapError) as info:
        load_map(d)
    text = str(info.value)
    assert where in text, text
    assert message in text, text


def test_size_limits(tmp_path, monkeypatch):
    d = _map(tmp_path)
    monkeypatch.setitem(maps.LIMITS, "villages", 1)
    with pytest.raises(MapError, match=r"villages.csv row 3: more than 1 rows; allowed: at most 1"):
        load_map(d)
    monkeypatch.setitem(maps.LIMITS, "file_bytes", 10)
    with pytest.raises(MapError, match=r"villages.csv: \d+ bytes is too large"):
        maps._load_cached.cache_clear() or load_map(d)
    monkeypatch.undo()
    big = "id,type\n" + "".join(f"f{i},firm\n" for i in range(201))
    with pytest.raises(MapError, match="201 organizations of type firm; allowed: at most 200"):
        load_map(_map(tmp_path, nodes=big))


def test_missing_files_and_graphml_errors(tmp_path):
    with pytest.raises(MapError, match="stakeholder map not found"):
        load_map(tmp_path / "nowhere")
    d = _map(tmp_path)
    (d / "nodes.csv").unlink()
    with pytest.raises(MapError, match=r"nodes\.csv: file not found"):
        load_map(d)
    g = nx.Graph()
    g.add_node("v", type="village", households=10)
    g.add_node("a", type="government")
    g.add_node("b", type="firm")
    g.add_edge("a", "b", trust=0.5, trust_back=0.2)
    nx.write_graphml(g, tmp_path / "u.graphml")
    with pytest.raises(MapError, match="trust_back needs a directed graph"):
        load_map(tmp_path / "u.graphml")
    g.edges["a", "b"].pop("trust_back")
    g.nodes["b"]["type"] = "company"
    nx.write_graphml(g, tmp_path / "t.graphml")
    with pytest.raises(MapError, match="node 'b': type = 'company' is unknown"):
        load_map(tmp_path / "t.graphml")
    (tmp_path / "x.graphml").write_text("<graphml><oops")
    with pytest.raises(MapError, match="not a readable GraphML file"):
        load_map(tmp_path / "x.graphml")


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ("id,type\ngov,government\nfirm,firm\nfirm,ngo\n", "id = 'firm' is a duplicate"),
        ("id,type\ngov,goverment\n", "Did you mean 'government'"),
    ],
)
def test_cli_refuses_a_bad_map_with_exit_code_2(tmp_path, nodes, message):
    d = _map(tmp_path, nodes=nodes, edges="source,target\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), "--scenario",
         str(ROOT / "scenarios" / "msp.toml"), "--set", f"population.map={d}", "--steps", "2",
         "--replications", "1", "--no-progress", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "nodes.csv row" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_interventions_name_the_map_organizations():
    base = {"population": {"map": str(EXAMPLE)}, "run": {"steps": 4}}
    item = {"name": "join", "at": 2, "action": "add_member", "member": "lsm_ari"}
    with pytest.raises(UserError, match="Did you mean 'lsm_air'"):
        Scenario.from_dict({**base, "partnership": {"type": "ppp"}, "interventions": [item]})
    item["member"] = "lsm_air"
    s = Scenario.from_dict({**base, "partnership": {"type": "ppp"}, "interventions": [item]})
    model = PartnershipModel(s, seed=1).run(3)
    assert "lsm_air" in model.partnership.members
    assert model.results()["partnership_size"].tolist() == [4, 4, 5, 5]
