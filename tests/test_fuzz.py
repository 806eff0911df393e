"""Fuzzing with hypothesis: the loader only ever says "no" cleanly; the model stays sound.

Settings are derandomized (the same examples on every run, no example database) and bounded
(``max_examples``, tiny populations), so CI is deterministic and quick.

1. Random and malformed scenario documents (random dicts with known and unknown keys, wrong
   types, NaN and inf, nested garbage; TOML-ish text; random bytes; ``--set`` strings) against
   the loader: the only exception that may come out is :class:`ScenarioError`.
2. Random valid lever combinations, each lever drawn within its bounds from
   :func:`sim.scenario.lever_table`, against the model over long runs of tiny populations:
   every invariant of ``tests/invariants.py`` holds after every step.
"""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.model.model import PartnershipModel
from sim.scenario import (
    PARTNERSHIP_TYPES,
    Scenario,
    ScenarioError,
    apply_overrides,
    lever_table,
    load_scenario,
)

from .invariants import run_checked

LOADER = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

LEVERS = lever_table()
SECTIONS = sorted({row["section"] for row in LEVERS})
KEYS = sorted({row["key"] for row in LEVERS})

# ----------------------------------------------------------------------------- documents
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["msp", "ppp", "none", "0.5", "nan", "", "extends"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
names = st.one_of(
    st.sampled_from(SECTIONS + KEYS + ["name", "description", "extends", "factor", "trsut"]),
    st.text(max_size=10),
)


@st.composite
def documents(draw):
    """A scenario-like dict: real sections and keys mixed with garbage, values of any type."""
    doc = {}
    for _ in range(draw(st.integers(0, 6))):
        section = draw(names)
        if draw(st.booleans()):
            doc[section] = {draw(names): draw(values) for _ in range(draw(st.integers(0, 5)))}
        else:
            doc[section] = draw(values)
    return doc


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + "}"


toml_lines = st.one_of(
    st.builds(lambda s: f"[{s}]", st.sampled_from([*SECTIONS, "factor", "run.x", "a b"])),
    st.builds(lambda k, v: f"{k} = {_toml_value(v)}", st.sampled_from(KEYS), values),
    st.text(alphabet=string.printable, max_size=30),  # often not TOML at all
)


@LOADER
@given(documents())
def test_any_dict_is_either_a_scenario_or_a_scenario_error(doc):
    try:
        scenario = Scenario.from_dict(doc, "fuzz")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz"), str(exc)
    else:
        assert isinstance(scenario, Scenario)


@LOADER
@given(st.lists(toml_lines, max_size=8))
def test_any_toml_ish_text_is_either_a_scenario_or_a_scenario_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "doc.toml"
    path.write_text("\n".join(lines))
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert str(path) in str(exc), str(exc)


@settings(LOADER, max_examples=60)
@given(st.binary(max_size=300))
def test_any_bytes_are_either_a_scenario_or_a_scenario_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "bytes.toml"
    path.write_bytes(data)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert str(path) in str(exc), str(exc)


@LOADER
@given(
    st.lists(
        st.one_of(
            st.text(max_size=30),
            st.builds(
                lambda k, v: f"{k}={v}",
                st.sampled_from(KEYS + [f"{r['section']}.{r['key']}" for r in LEVERS]),
                st.text(max_size=12),
            ),
        ),
        max_size=4,
    )
)
def test_any_set_overrides_are_applied_or_refused_with_a_scenario_error(assignments):
    try:
        apply_overrides(Scenario(), assignments)
    except ScenarioError as exc:
        assert str(exc).startswith("--set"), str(exc)


# ----------------------------------------------------------------------------- the model
# Sizes are tiny so that long runs stay fast; everything else ranges over its full bounds.
SIZES = {"households", "villages", "ties_within", "representatives", "steps", "replications"}
SKIP = SIZES | {"seed", "steps_per_year", "type", "map"}  # map: a file path, fuzzed in test_maps


def _draw_lever(draw, row):
    default, bounds = row["default"], row["bounds"]
    if isinstance(default, tuple):
        return tuple(draw(st.floats(0.0, 100.0)) for _ in default)
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if isinstance(default, int):
        return draw(st.integers(int(low), int(min(high, 10 * max(default, 1)))))
    value = draw(st.floats(float(low), float(high), allow_nan=False))
    if "gt" in bounds and value <= bounds["gt"]:
        value = math.nextafter(bounds["gt"], math.inf)
    if "lt" in bounds and value >= bounds["lt"]:
        value = math.nextafter(bounds["lt"], -math.inf)
    return value


@st.composite
def lever_sets(draw):
    """A valid scenario: about half the levers drawn within bounds, a tiny population."""
    levers = {}
    for row in LEVERS:
        if row["key"] in SKIP or not draw(st.booleans()):
            continue
        levers[f"{row['section']}.{row['key']}"] = _draw_lever(draw, row)
    households = draw(st.integers(2, 24))
    levers.update(
        {
            "population.households": households,
            "population.villages": draw(st.integers(1, min(3, households))),
            "population.ties_within": draw(st.sampled_from([0, 2, 4, 6])),
            "organizations.representatives": draw(st.integers(1, 4)),
            "run.steps_per_year": draw(st.sampled_from([1, 4, 12, 52])),
            "partnership.type": draw(st.sampled_from(PARTNERSHIP_TYPES)),
        }
    )
    # Integer counts drawn up to 10x the default would make runs slow; a few of each.
    for kind in ("governments", "firms", "ngos"):
        levers[f"organizations.{kind}"] = draw(st.integers(0, 3))
    return levers


def _valid(levers) -> dict | None:
    try:
        Scenario().with_overrides(levers)
    except ScenarioError:
        return None  # a partnership type missing a member kind: refused, as it should be
    return levers


@settings(
    max_examples=8,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(lever_sets().map(_valid).filter(lambda levers: levers is not None), st.integers(0, 2**32))
@pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow or 0/0 is a finding
def test_random_valid_levers_keep_every_invariant_over_long_runs(levers, seed):
    model = PartnershipModel(seed=seed, **levers)
    path = run_checked(model, 1000)
    assert len(path) == 1001


# ----------------------------------------------------------------------------- commands
# Generated scenario files with generated [[interventions]] tables (real keys, actions, levers,
# metrics and party ids mixed with garbage), run through the real commands: every example ends
# with exit code 0 or 2, never an exception, in bounded time, and a refusal leaves no folder.
from sim.present.cli import main  # noqa: E402
from sim.scenario.outcomes import OUTCOMES  # noqa: E402

COMMANDS = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def toml_value(value) -> str:
    """A TOML literal for a generated value (json strings are valid TOML basic strings)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


steps_like = st.one_of(st.integers(-2, 8), st.integers(), st.sampled_from([True, 2.5, "3"]))
parties = st.sampled_from(
    ["government_0", "firm_0", "firm_1", "ngo_0", "community", "firm_9", "", "x" * 300]
)
intervention_tables = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a", "b"]), st.text(max_size=5))},
    optional={
        "action": st.sampled_from(["form", "dissolve", "add_member", "remove_member", "set", "x"]),
        "at": steps_like,
        "until": steps_like,
        "when": st.one_of(
            st.builds(
                "{} {} {}".format,
                st.sampled_from([*OUTCOMES[:6], "trsut", ""]),
                st.sampled_from(["<", ">=", "=", "<<"]),
                st.sampled_from(["0.3", "1e999", "x", "-0"]),
            ),
            st.text(max_size=30),
            st.just("a" * 5000 + " < 1"),
        ),
        "cooldown": steps_like,
        "max_times": steps_like,
        "lever": st.sampled_from(
            ["factors.communication", "audit_probability", "run.steps", "factors.trsut", "zzz"]
        ),
        "value": st.one_of(st.floats(), st.booleans(), st.text(max_size=4), st.integers()),
        "member": parties,
        "members": st.lists(parties, max_size=4),
        "kind": st.sampled_from(["ppp", "msp", "pmg", "psp", "none", "x"]),
    },
)


valid_tables = st.sampled_from(
    [
        {"name": "d", "at": 2, "action": "dissolve"},
        {"name": "f", "at": 3, "until": 5, "action": "form", "kind": "ppp"},
        {"name": "s", "when": "trust_partners < 0.9", "action": "set", "max_times": 2,
         "lever": "factors.communication", "value": 0.3},
        {"name": "r", "at": 1, "action": "remove_member", "member": "community"},
    ]
)  # fmt: skip


@COMMANDS
@given(
    items=st.lists(st.one_of(valid_tables, intervention_tables), max_size=3),
    steps=st.sampled_from([None, 3, 6]),
)
def test_generated_scenarios_through_the_run_command_exit_0_or_2(
    tmp_path_factory, capsys, items, steps
):
    import time

    tmp = tmp_path_factory.mktemp("cmd")
    lines = ["[run]", "steps = 6", "[population]", "households = 20", "villages = 2"]
    for item in items:
        lines.append("[[interventions]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in item.items()]
    path = tmp / "s.toml"
    path.write_text("\n".join(lines) + "\n")
    argv = ["--no-progress", "--no-figure", "--replications", "1", "--scenario", str(path)]
    argv += ["--out", str(tmp / "out")] + (["--steps", str(steps)] if steps else [])
    start = time.perf_counter()
    code = main(argv)  # any exception other than a refusal fails the test
    event(f"exit code {code}")
    assert time.perf_counter() - start < 30
    err = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert err.startswith("error: ") and len(err) < 2000, err
        assert not (tmp / "out").exists(), "a refusal left a folder"
    else:
        assert (tmp / "out" / "manifest.json").is_file()
