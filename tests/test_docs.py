"""Keep docs/ODD.md from drifting away from the code."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from sim.model.model import OUTCOMES, PartnershipModel

from .conftest import ROOT, SCENARIOS

ODD = ROOT / "docs" / "ODD.md"
SCHEDULE_HEADING = "## 3. Process overview and scheduling"


def _load_table_module():
    path = ROOT / "docs" / "make_parameter_table.py"
    spec = importlib.util.spec_from_file_location("make_parameter_table", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def odd() -> str:
    return ODD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def table_module():
    return _load_table_module()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_parameter_table_is_what_the_generator_writes_now(odd, table_module):
    start, end = table_module.START, table_module.END
    assert odd.count(start) == 1 and odd.count(end) == 1
    block = odd.split(start, 1)[1].split(end, 1)[0].strip("\n")
    assert block == table_module.render_table(), (
        "docs/ODD.md parameter table is stale: run python docs/make_parameter_table.py"
    )
    assert table_module.update_text(odd) == odd


def test_every_lever_has_a_row(odd, table_module):
    from sim.scenario.schema import lever_table

    for row in lever_table():
        assert f"| `{row['section']}.{row['key']}` |" in odd


def test_every_outcome_is_documented(odd):
    outputs = _section(odd, "## 8. Outputs")
    missing = [name for name in OUTCOMES if f"`{name}`" not in outputs]
    assert not missing, f"outcomes not defined in ODD.md section 8: {missing}"
    for column in ("scenario", "replicate", "seed", "step"):
        assert f"| `{column}` |" in outputs


def _phases() -> list[str]:
    doc = PartnershipModel.step.__doc__ or ""
    return re.findall(r"^\s*\d+\.\s+(\w+):", doc, flags=re.MULTILINE)


def test_step_docstring_lists_the_phases():
    phases = _phases()
    assert len(phases) >= 1
    for name in phases:
        assert callable(getattr(PartnershipModel, name, None)), name


def test_every_phase_appears_in_the_schedule_section(odd):
    schedule = _section(odd, SCHEDULE_HEADING)
    missing = [name for name in _phases() if f"`{name}`" not in schedule]
    assert not missing, f"phases missing from ODD.md's schedule section: {missing}"
    # ... and in the order of step()'s docstring.
    positions = [schedule.index(f"`{name}`") for name in _phases()]
    assert positions == sorted(positions)


def test_every_scenario_file_is_mentioned(odd):
    files = sorted(SCENARIOS.glob("*.toml"))
    assert files
    missing = [p.name for p in files if p.name not in odd]
    assert not missing, f"scenario files not mentioned in docs/ODD.md: {missing}"


def test_update_text_refuses_missing_markers(table_module):
    with pytest.raises(ValueError, match="marker"):
        table_module.update_text("no markers here")
