"""Interventions: they fire exactly when specified, are logged, and their changes take effect."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments.runs import run_comparison
from sim.model.model import OUTCOMES, PartnershipModel
from sim.scenario import Scenario, load_scenario

from .conftest import ROOT

SMALL = {"population": {"households": 80, "villages": 4}, "run": {"steps": 12}}


def scenario(*interventions: dict, **sections) -> Scenario:
    data = {**SMALL, **sections, "interventions": list(interventions)}
    return Scenario.from_dict(data, "test.toml")


def run(s: Scenario, steps: int = 12, seed: int = 3) -> PartnershipModel:
    return PartnershipModel(s, seed=seed).run(steps)


def events(model: PartnershipModel) -> list[tuple]:
    return [(e["step"], e["intervention"], e["action"], e["target"]) for e in model.events]


# ----------------------------------------------------------------------------- timing
def test_scheduled_set_fires_at_its_step_and_window_is_restored_the_step_after_until():
    s = scenario(
        {
            "name": "audits",
            "at": 3,
            "until": 5,
            "action": "set",
            "lever": "audit_probability",
            "value": 0.9,
        }
    )
    model = PartnershipModel(s, seed=1)
    seen = []
    for _ in range(8):
        model.step()
        seen.append((int(model.steps), model.config.accountability.audit_probability))
    assert seen == [(1, 0.04), (2, 0.04), (3, 0.9), (4, 0.9), (5, 0.9), (6, 0.04), (7, 0.04),
                    (8, 0.04)]  # fmt: skip
    assert model.events == [
        {
            "step": 3,
            "intervention": "audits",
            "action": "set",
            "target": "accountability.audit_probability",
            "old": "0.04",
            "new": "0.9",
            "note": "",
        },
        {
            "step": 6,
            "intervention": "audits",
            "action": "restore",
            "target": "accountability.audit_probability",
            "old": "0.9",
            "new": "0.04",
            "note": "window ended at 5",
        },
    ]
    # The scenario passed in is never changed: runs sharing it stay independent.
    assert s.accountability.audit_probability == 0.04


def test_trigger_fires_when_condition_holds_respecting_cooldown_and_max_times():
    # `spent` is 0 at step 0 (nothing spent yet) and positive after every step, so the trigger
    # is first true at the start of step 2; cooldown 4 then allows steps 2, 6, 10.
    s = scenario(
        {"name": "t", "when": "spent > 0", "cooldown": 4, "action": "set",
         "lever": "meeting_cost", "value": 0.001},
        {"name": "once", "when": "partnership_size >= 2", "max_times": 1, "action": "set",
         "lever": "exit_patience", "value": 6},
    )  # fmt: skip
    model = run(s, 12)
    steps = [e["step"] for e in model.events if e["intervention"] == "t"]
    assert steps == [2, 6, 10]
    assert [e["step"] for e in model.events if e["intervention"] == "once"] == [1]


def test_trigger_reads_outcomes_of_the_previous_step():
    # Dissolved at the start of step 4: the outcomes recorded at the end of step 4 show no
    # partnership, so the trigger re-forms it at the start of step 5, not earlier or later.
    s = scenario(
        {"name": "end", "at": 4, "action": "dissolve"},
        {"name": "reform", "when": "partnership_active < 0.5", "max_times": 1,
         "action": "form", "kind": "pmg"},
    )  # fmt: skip
    model = run(s, 8)
    assert events(model) == [
        (4, "end", "dissolve", "partnership"),
        (5, "reform", "form", "partnership"),
    ]
    active = model.results()["partnership_active"].tolist()
    assert active == [1, 1, 1, 1, 0, 1, 1, 1, 1]
    assert model.partnership.members == ["government_0", "community"]


def test_nan_metric_never_triggers():
    # trust_partners is NaN without a partnership: the comparison is false, nothing fires.
    s = scenario(
        {"name": "t", "when": "trust_partners < 2", "action": "dissolve"},
        partnership={"type": "none"},
    )
    assert run(s, 6).events == []


# ----------------------------------------------------------------------------- effect
def _compare(lever: str, value, at: int = 4, steps: int = 6, **sections):
    """The treated run equals the control before ``at`` and differs from step ``at`` on."""
    base = scenario(**sections)
    treated = scenario(
        {"name": "x", "at": at, "action": "set", "lever": lever, "value": value}, **sections
    )
    a = run(base, steps).results()[list(OUTCOMES)]
    b = run(treated, steps).results()[list(OUTCOMES)]
    pd.testing.assert_frame_equal(a.iloc[:at], b.iloc[:at])
    return a.iloc[at], b.iloc[at]


@pytest.mark.parametrize(
    ("lever", "value", "outcome"),
    [
        ("accountability.audit_probability", 1.0, "leakage"),
        ("factors.communication", 0.1, "trust_partners"),
        ("factors.evaluation_interval", 1, "trust_partners"),
        ("factors.power_balance", 0.0, "power_balance"),
        ("accountability.capture_propensity", 1.0, "welfare_q1"),
        ("organizations.budget_government", 0.0, "spent"),
        ("organizations.community_inkind", 0.5, "pooled_resources"),
        ("partnership.funding_horizon", 2, "spent"),
        ("factors.goal_clarity", 0.0, "leakage"),
        ("welfare.depreciation", 0.2, "access_mean"),
    ],
)
def test_set_lever_takes_effect_in_the_step_it_is_applied(lever, value, outcome):
    before, after = _compare(lever, value)
    assert before[outcome] != pytest.approx(after[outcome], rel=1e-9, abs=1e-12)


def test_lever_directions():
    # Cutting the government budget cuts what is spent; audits cut leakage.
    before, after = _compare("organizations.budget_government", 0.0)
    assert after["spent"] < before["spent"]
    before, after = _compare("accountability.audit_probability", 1.0)
    assert after["leakage"] < before["leakage"]


def test_a_communication_window_restores_every_channel_bit_for_bit():
    """A set ... until window on communication is undone exactly, clipped channels included."""
    s = scenario(
        {"name": "c", "at": 2, "until": 4, "action": "set", "lever": "communication", "value": 1.0}
    )
    model = PartnershipModel(s, seed=2)
    before = model.ties.channels().copy()
    model.run(3)  # the window is in force from step 2
    during = model.ties.channels()
    np.testing.assert_array_equal(during, np.clip(before + (1.0 - s.factors.communication), 0, 1))
    clipped = during == 1.0
    assert clipped.any() and (before[clipped] < 1.0).all()  # the old rule lost these values
    model.run(2)  # step 5: the window ended at step 4 and was undone
    assert [e["action"] for e in model.events] == ["set", "restore"]
    np.testing.assert_array_equal(model.ties.channels(), before)


def test_communication_programme_shifts_every_channel_and_budget_resets_organizations():
    s = scenario(
        {"name": "c", "at": 2, "action": "set", "lever": "communication", "value": 0.5},
        {"name": "b", "at": 2, "action": "set", "lever": "budget_ngo", "value": 0.05},
    )
    model = PartnershipModel(s, seed=2)
    model.step()
    before = model.ties.channels()
    model.step()
    after = model.ties.channels()
    assert before.size == after.size > 10
    shifted = after - before
    expected = np.clip(before - 0.3, 0, 1) - before
    np.testing.assert_allclose(shifted, expected, atol=1e-12)
    ngos = [o for o in model.organizations if o.kind == "ngo"]
    assert [o.budget for o in ngos] == [pytest.approx(0.05 * 80)] * 2


def test_membership_actions_change_the_partnership_from_their_step():
    s = scenario(
        {"name": "seat", "at": 3, "action": "add_member", "member": "community"},
        {"name": "out", "at": 5, "until": 6, "action": "remove_member", "member": "firm_0"},
        partnership={"type": "ppp"},
    )
    model = run(s, 8)
    size = model.results()["partnership_size"].tolist()
    # ppp = government + 3 firms; community joins at 3; firm_0 out during 5-6, back at 7.
    assert size == [4, 4, 4, 5, 5, 4, 4, 5, 5]
    assert model.results()["community_voice"].iloc[2] == 0.0
    assert model.results()["community_voice"].iloc[3] > 0.0
    assert events(model) == [
        (3, "seat", "add_member", "community"),
        (5, "out", "remove_member", "firm_0"),
        (7, "out", "restore", "firm_0"),
    ]


def test_form_on_the_no_partnership_baseline_and_skips_are_logged():
    s = scenario(
        {"name": "add", "at": 1, "action": "add_member", "member": "community"},
        {"name": "forum", "at": 2, "action": "form", "kind": "msp"},
        {"name": "again", "at": 3, "action": "form", "kind": "ppp"},
        partnership={"type": "none"},
    )
    model = run(s, 4)
    assert model.results()["partnership_active"].tolist() == [0, 0, 1, 1, 1]
    notes = [(e["step"], e["note"]) for e in model.events]
    assert notes == [
        (1, "skipped: no active partnership"),
        (2, ""),
        (3, "skipped: a partnership is already active"),
    ]


def test_events_are_collected_by_run_comparison_with_keys():
    s = scenario({"name": "d", "at": 2, "action": "dissolve"})
    logs: list[pd.DataFrame] = []
    df = run_comparison([s], replications=2, steps=3, root_seed=1, progress=False, events=logs)
    ev = pd.concat(logs, ignore_index=True)
    assert ev[["replicate", "step", "intervention"]].values.tolist() == [[0, 2, "d"], [1, 2, "d"]]
    assert ev["seed"].tolist() == sorted(set(df["seed"]), key=df["seed"].tolist().index)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"at": 13, "action": "dissolve"}, r"at = 13 is beyond the run's horizon \(run.steps = 12"),
        (
            {"at": 2, "until": 20, "action": "set", "lever": "trust_gain", "value": 0.1},
            "until = 20 is beyond",
        ),
        (
            {"at": 2, "action": "set", "lever": "audit_probabilty", "value": 0.5},
            "Did you mean 'accountability.audit_probability'",
        ),
        (
            {"at": 2, "action": "set", "lever": "audit_probability", "value": 1.5},
            r"value = 1.5 .*less than or equal to 1",
        ),
        (
            {"at": 2, "action": "set", "lever": "factors.trust", "value": 0.5},
            "read only when the model is built",
        ),
        ({"when": "trust_partner < 0.3", "action": "dissolve"}, "Did you mean 'trust_partners'"),
        ({"when": "trust_partners about 0.3", "action": "dissolve"}, "METRIC OP NUMBER"),
        ({"at": 2, "action": "add_member", "member": "firm_7"}, "Did you mean 'firm_2'"),
        ({"at": 2, "when": "leakage > 0.1", "action": "dissolve"}, "exactly one of 'at'"),
        ({"at": 5, "until": 3, "action": "form", "kind": "msp"}, "until = 3 is before at = 5"),
        ({"at": 2, "cooldown": 3, "action": "dissolve"}, "apply only to triggers"),
        ({"at": 2, "action": "set", "lever": "trust_gain"}, "needs 'value'"),
        ({"at": 2, "action": "dissolve", "member": "x"}, "'member' does not apply"),
        ({"at": 2, "action": "dissolv"}, "Input should be 'form'"),
        ({"at": 2, "action": "dissolve", "membr": "x"}, "unknown key 'membr'. Did you mean"),
    ],
)
def test_bad_interventions_are_refused_with_a_clear_message(item, message):
    with pytest.raises(UserError, match=message) as info:
        scenario({"name": "bad", **item})
    assert "test.toml: interventions[1]" in str(info.value)


def test_duplicate_names_are_refused():
    item = {"name": "a", "at": 2, "action": "dissolve"}
    with pytest.raises(UserError, match="name used twice"):
        scenario(item, item)


def test_extends_appends_interventions_and_policies_load(tmp_path):
    child = tmp_path / "child.toml"
    child.write_text(
        f'extends = "{ROOT / "scenarios/policies/community_seat.toml"}"\nname = "c"\n'
        '[[interventions]]\nname = "audits"\nat = 2\naction = "set"\n'
        'lever = "audit_probability"\nvalue = 0.5\n'
    )
    names = [i.name for i in load_scenario(child).interventions]
    assert names == ["community seat", "budget veto", "audits"]
    for path in sorted((ROOT / "scenarios" / "policies").glob("*.toml")):
        s = load_scenario(path)
        assert s.run.steps == 72, path


def test_run_command_writes_the_event_log_beside_the_time_series(tmp_path):
    design = tmp_path / "d.toml"
    design.write_text(
        'name = "d"\n[population]\nhouseholds = 60\nvillages = 3\n'
        '[[interventions]]\nname = "audits"\nat = 2\nuntil = 3\naction = "set"\n'
        'lever = "audit_probability"\nvalue = 0.5\n'
    )
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), "--scenario", str(design), "--steps",
         "5", "--replications", "2", "--no-progress", "--no-figure", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ev = pd.read_csv(out / "events.csv")
    assert ev[["replicate", "step", "action"]].values.tolist() == [
        [0, 2, "set"], [0, 4, "restore"], [1, 2, "set"], [1, 4, "restore"]
    ]  # fmt: skip
    assert "events.csv" in (out / "manifest.json").read_text()


class _Recorder:
    """Stands in for a scenario section and records which levers the model reads."""

    def __init__(self, name: str, section, reads: set[str]) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_section", section)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, key: str):
        self._reads.add(f"{self._name}.{key}")
        return getattr(self._section, key)


def test_every_settable_lever_is_read_while_the_model_steps():
    """A lever the model copied at set-up would ignore ``set``: catch that here.

    Every settable lever must be read from ``model.config`` during ``step()`` (or, for
    ``view_spread``, when a member joins or a partnership forms, which the actions do).
    """
    from sim.model.interventions import settable_levers

    s = scenario(
        partnership={"type": "msp", "funding_horizon": 1},
        factors={"evaluation_interval": 1},
    )
    model = PartnershipModel(s, seed=1)
    reads: set[str] = set()
    real = model.config

    class Proxy:
        def __getattr__(self, key):
            value = getattr(real, key)
            if key in {"run", "population", "organizations", "partnership", "factors",
                       "accountability", "dynamics", "welfare"}:  # fmt: skip
                return _Recorder(key, value, reads)
            return value

    model.config = Proxy()
    model.run(3)
    unread = set(settable_levers(s)) - reads
    # Re-applied by set_lever itself: budgets (to the organizations) and communication (to the
    # ties); view_spread acts when a partnership forms or a member joins.
    expected = {
        "organizations.budget_government",
        "organizations.budget_firm",
        "organizations.budget_ngo",
        "factors.communication",
        "dynamics.view_spread",
    }
    assert unread == expected, sorted(unread ^ expected)


def test_scenarios_built_without_from_dict_are_checked_and_resolved():
    s = Scenario.model_validate(
        {"interventions": [{"name": "a", "at": 2, "action": "set", "lever": "audit_probability",
                            "value": 1}]}
    )  # fmt: skip
    model = PartnershipModel(s, seed=1).run(2)  # no overrides: from_dict is never called
    assert model.config.accountability.audit_probability == 1.0
    assert model.events[0]["target"] == "accountability.audit_probability"
    bad = Scenario.model_validate(
        {"interventions": [{"name": "b", "at": 2, "action": "set", "lever": "trust",
                            "value": 0.1}]}
    )  # fmt: skip
    with pytest.raises(UserError, match="read only when the model is built"):
        PartnershipModel(bad, seed=1)


def test_windows_undo_form_and_add_member_the_step_after_until():
    s = scenario(
        {"name": "pilot", "at": 2, "until": 4, "action": "form", "kind": "pmg"},
        {"name": "guest", "at": 3, "until": 3, "action": "add_member", "member": "ngo_0"},
        partnership={"type": "none"},
    )
    model = run(s, 6)
    r = model.results()
    assert r["partnership_active"].tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert r["partnership_size"].tolist() == [0, 0, 2, 3, 2, 0, 0]
    assert events(model) == [
        (2, "pilot", "form", "partnership"),
        (3, "guest", "add_member", "ngo_0"),
        (4, "guest", "restore", "ngo_0"),
        (5, "pilot", "restore", "partnership"),
    ]


def test_a_change_now_equals_a_set_scheduled_for_the_next_step():
    """What the dashboard's live sliders do between steps (Interventions.set_now)."""
    from sim import PartnershipModel, Scenario

    kwargs = {"seed": 3, "households": 300, "villages": 3}
    live = PartnershipModel(**kwargs).run(5)
    live.interventions.set_now("factors.communication", 0.3, by="talk")
    live.interventions.set_now("power_balance", 0.2, by="share")  # a bare key resolves
    live.run(10)
    scheduled = Scenario.from_dict(
        {
            "interventions": [
                {"name": "talk", "at": 6, "action": "set",
                 "lever": "factors.communication", "value": 0.3},
                {"name": "share", "at": 6, "action": "set",
                 "lever": "factors.power_balance", "value": 0.2},
            ]
        }
    )  # fmt: skip
    ref = PartnershipModel(scheduled, **kwargs).run(15)
    cols = [c for c in live.results().columns if c != "scenario"]
    pd.testing.assert_frame_equal(live.results()[cols], ref.results()[cols])
    assert live.events == ref.events
    assert [e["step"] for e in live.events] == [6, 6]
    untouched = PartnershipModel(**kwargs).run(15)
    assert untouched.results()["shared_understanding"].iloc[-1] != pytest.approx(
        live.results()["shared_understanding"].iloc[-1], abs=1e-6
    )


def test_a_change_now_refuses_what_cannot_change_and_skips_no_change():
    from sim import PartnershipModel, Scenario

    shared = Scenario().with_overrides({"population.households": 100, "population.villages": 2})
    a = PartnershipModel(shared, seed=1)  # both built from the one object, unchanged
    b = PartnershipModel(shared, seed=1)
    with pytest.raises(ValueError, match="read only when the model is built"):
        a.interventions.set_now("factors.trust", 0.1, by="x")
    with pytest.raises(ValueError, match=r"value = 1.5 for factors\.communication"):
        a.interventions.set_now("factors.communication", 1.5, by="x")
    a.interventions.set_now("factors.communication", a.config.factors.communication, by="x")
    assert a.events == []  # the same value: nothing to log
    a.interventions.set_now("factors.communication", 0.1, by="x")
    assert a.config.factors.communication == 0.1
    # The scenario the two models were built from is not changed under the other model.
    assert b.config.factors.communication == shared.factors.communication == 0.8


def test_dashboard_live_changes_reach_a_and_b_in_the_same_month_while_playing():
    """Mesa's Play steps in a worker thread while slider handlers run in another."""
    import threading
    import time

    from sim.present.app import DashboardModel

    m = DashboardModel(households=60, compare="poor communication")
    done = threading.Event()

    def play() -> None:
        for _ in range(40):
            m.step()
            time.sleep(0.002)  # Play's interval between steps
        done.set()

    worker = threading.Thread(target=play)
    worker.start()
    values = [0.2, 0.9, 0.4, 0.6]
    i = 0
    while not done.is_set():
        m.set_live("factors.power_balance", values[i % 4])
        m.set_live("factors.communication", values[(i + 1) % 4])  # B keeps its own
        i += 1
    worker.join()
    m.step()  # applies what was still waiting
    a = [(e["step"], e["new"]) for e in m.a.events if e["target"] == "factors.power_balance"]
    b = [(e["step"], e["new"]) for e in m.b.events if e["target"] == "factors.power_balance"]
    assert a == b and len(a) > 1  # the same change in the same month, in both runs
    assert not any(e["target"] == "factors.communication" for e in m.b.events)
    assert m.b.config.factors.communication == 0.2
