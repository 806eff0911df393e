"""The spin-up scenarios: the status quo for 36 months, then each partnership type for 120.

They check that the comparison of types is not an artefact of the status quo's start-up
transient (README, "What the model says"); these tests check that they say what they claim.
"""

from __future__ import annotations

import pytest

from sim.model import PartnershipModel
from sim.paths import SCENARIOS
from sim.scenario import load_scenario

FOLDER = SCENARIOS / "spinup"
TYPES = ("ppp", "psp", "pmg", "msp")


def _spun(name: str):
    return load_scenario(FOLDER / f"{name}.toml")


def test_every_file_runs_156_months_and_differs_from_the_status_quo_only_by_the_partnership():
    base = _spun("baseline")
    assert base.run.steps == 156 and not base.interventions
    for kind in TYPES:
        s = _spun(kind)
        assert s.run.steps == 156
        assert s.factors == base.factors and s.partnership == base.partnership
        (form,) = s.interventions
        assert (form.at, form.action, form.kind) == (36, "form", kind)
    # The factors are msp.toml's (the success factors good), so the types compare as shipped.
    assert base.factors == load_scenario(SCENARIOS / "msp.toml").factors


@pytest.mark.parametrize("kind", ["pmg", "msp"])
def test_the_partnership_forms_at_month_36_and_not_before(kind):
    model = PartnershipModel(_spun(kind), seed=3, households=120, villages=3)
    model.run(35)
    assert model.active_partnership is None
    model.run(2)  # months 36 and 37: formed at the start of step 36
    p = model.active_partnership
    assert p is not None and p.kind == kind
    assert [e["action"] for e in model.events] == ["form"]
    assert model.events[0]["step"] == 36


def test_the_status_quo_part_is_the_baseline_run_month_for_month():
    # Before the partnership forms, a spin-up file and the plain status quo are the same run.
    spun = PartnershipModel(_spun("msp"), seed=5, households=120, villages=3).run(35)
    plain = PartnershipModel(_spun("baseline"), seed=5, households=120, villages=3).run(35)
    a, b = spun.results(), plain.results()
    cols = [c for c in a.columns if c not in ("scenario",)]
    assert a[cols].equals(b[cols])
