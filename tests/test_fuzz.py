"""Fuzzing with hypothesis: the loader only ever says "no" cleanly; the model stays sound.

Settings are derandomized (the same examples on every run, no example database) and bounded
(``max_examples``, tiny populations), so CI is deterministic and quick.

1. Random and malformed scenario documents (random dicts with known and unknown keys, wrong
   types, NaN and inf, nested garbage; TOML-ish text; random bytes; ``--set`` strings) against
   the loader: the only exception that may come out is :class:`ScenarioError`.
2. Random valid lever combinations, each lever drawn within its bounds from
   :func:`sim.scenario.lever_table`, against the model over long runs of tiny populations:
   every invariant of ``tests/invariants.py`` holds after every step.
3. Generated scenario, intervention, stakeholder-map and sweep files through the commands
   (run; run, compare, sweep then analyze, animate): exit code 0 or 2, never a traceback,
   bounded time, and no output left that claims completeness after a refusal.
"""

from __future__ import annotations

import math
import string
import typing

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
    if isinstance(default, str):  # a choice among named forms
        field = Scenario.model_fields[row["section"]].annotation.model_fields[row["key"]]
        return draw(st.sampled_from(typing.get_args(field.annotation)))
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


# Generated sweep files, stakeholder maps, scenarios and interventions through every command
# that reads them (run, compare, sweep then analyze, animate): exit code 0 or 2, never an
# exception or a traceback, in bounded time; a refusal leaves no output, a success a complete
# one (is_complete), and analyze of what sweep left answers 0 or 2 as well.
FILES = settings(COMMANDS, max_examples=24)

cells = st.sampled_from(["", "0", "-1", "0.5", "1.5", "nan", "1e400", "abc", "9" * 30, " 2 "])
village_rows = st.lists(
    st.tuples(st.sampled_from(["v1", "v2", "v1", "", "v 3"]), st.one_of(st.just("30"), cells)),
    max_size=4,
)
node_rows = st.lists(
    st.tuples(
        st.sampled_from(["gov", "firm", "ngo", "gov", "x" * 200]),
        st.sampled_from(["government", "firm", "ngo", "bank", ""]),
        st.one_of(st.just(""), cells),
    ),
    max_size=5,
)
edge_rows = st.lists(
    st.tuples(
        st.sampled_from(["gov", "firm", "ngo", "v1", "zzz"]),
        st.sampled_from(["gov", "firm", "ngo", "v2", ""]),
        st.one_of(st.just("0.5"), cells),
    ),
    max_size=5,
)
SOUND_MAP = {
    "villages.csv": "id,households\nv1,30\nv2,20\n",
    "nodes.csv": "id,type\ngov,government\nfirm,firm\nngo,ngo\n",
    "edges.csv": "source,target,trust\ngov,firm,0.5\nfirm,v1,\n",
}


@st.composite
def maps(draw):
    """A stakeholder map folder's files: sound, or with generated (mostly bad) rows."""
    if draw(st.booleans()):
        return dict(SOUND_MAP)
    files = dict(SOUND_MAP)
    which = draw(st.sampled_from(["villages.csv", "nodes.csv", "edges.csv"]))
    header = {"villages.csv": "id,households", "nodes.csv": "id,type,budget",
              "edges.csv": "source,target,trust"}[which]  # fmt: skip
    rows = draw(
        {"villages.csv": village_rows, "nodes.csv": node_rows, "edges.csv": edge_rows}[which]
    )
    files[which] = header + "\n" + "".join(",".join(r) + "\n" for r in rows)
    return files


lever_names = st.sampled_from(
    ["factors.trust", "factors.communication", "population.households", "factors.trsut", "run.x"]
)
grid_values = st.lists(
    st.one_of(st.sampled_from([0.2, 0.8, 20, 30]), st.booleans(), st.text(max_size=3)),
    max_size=3,
)
lever_specs = st.one_of(
    st.builds(lambda v: {"values": v}, grid_values),
    st.builds(lambda lo, hi: {"low": lo, "high": hi},
              st.sampled_from([0.1, 0.5, 20, -1]), st.sampled_from([0.9, 0.2, 40, 1e9])),
)  # fmt: skip


SOUND_SWEEP = {
    "scenarios": ["s.toml", "b.toml"],
    "replications": 2,
    "steps": 2,
    "reference": "b",
    "design": {"method": "grid", "levers": {"factors.trust": {"values": [0.2, 0.8]}}},
}


@st.composite
def sweeps(draw):
    """A sweep file's tables: sound, sound but for one design, or generated throughout."""
    choice = draw(st.sampled_from(["sound", "one design", "generated"]))
    if choice == "sound":
        return SOUND_SWEEP
    if choice == "one design":
        method = draw(st.sampled_from(["lhs", "morris", "sobol"]))
        levers = {"factors.trust": {"low": 0.1, "high": 0.9}}
        if draw(st.booleans()):
            levers["factors.communication"] = draw(lever_specs)
        design = {"method": method, "samples": 2, "levers": levers}
        return dict(SOUND_SWEEP, replications=1, design=design)
    doc = {
        "scenarios": draw(
            st.sampled_from([["s.toml"], ["s.toml", "b.toml"], ["nope.toml"], [], ["s.toml"] * 2])
        ),
        "replications": draw(st.one_of(st.integers(1, 2), st.sampled_from([0, True, 10**6]))),
        "steps": draw(st.sampled_from([2, 3, 0, 10**9, "3", 2.5])),
    }
    for key, values in (
        ("name", ["t", "../x", "", "a b", "x" * 300]),
        ("record", ["every_step", "horizon", 1, 0, "x"]),
        ("reference", ["s", "b", "nobody"]),
        ("seed", [1, -1, 2**70, True]),
    ):
        if draw(st.booleans()):
            doc[key] = draw(st.sampled_from(values))
    design = {"method": draw(st.sampled_from(["grid", "lhs", "sobol", "morris", "x"]))}
    if draw(st.booleans()):
        design["samples"] = draw(st.sampled_from([1, 2, 4, 3, 10**7]))
    design["levers"] = draw(st.dictionaries(lever_names, lever_specs, max_size=2))
    doc["design"] = design
    return doc


def toml_table(prefix: str, table: dict) -> list[str]:
    lines, subtables = [], []
    for key, value in table.items():
        if isinstance(value, dict):
            subtables.append((key, value))
        else:
            lines.append(f"{json_key(key)} = {toml_value(value)}")
    out = ([f"[{prefix}]"] if prefix else []) + lines
    for key, value in subtables:
        out += toml_table(f"{prefix}.{json_key(key)}" if prefix else json_key(key), value)
    return out


def json_key(key: str) -> str:
    import json

    return json.dumps(key)


@FILES
@given(
    command=st.sampled_from(["run", "compare", "sweep", "animate"]),
    items=st.lists(st.one_of(valid_tables, intervention_tables), max_size=2),
    on_map=st.booleans(),
    map_files=maps(),
    sweep=sweeps(),
)
def test_generated_files_through_every_command_exit_0_or_2(
    tmp_path_factory, capsys, command, items, on_map, map_files, sweep
):
    import time

    from sim.experiments.results import is_complete

    tmp = tmp_path_factory.mktemp("files")
    lines = ["name = 's'", "[run]", "steps = 6"]
    if on_map:
        (tmp / "m").mkdir()
        for name, text in map_files.items():
            (tmp / "m" / name).write_text(text)
        lines += ["[population]", "map = 'm'", "[partnership]", "type = 'msp'"]
    else:
        lines += ["[population]", "households = 20", "villages = 2"]
    for item in items:
        lines.append("[[interventions]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in item.items()]
    (tmp / "s.toml").write_text("\n".join(lines) + "\n")
    (tmp / "b.toml").write_text("name = 'b'\n[run]\nsteps = 6\n[population]\nhouseholds = 20\n")
    (tmp / "sweep.toml").write_text("\n".join(toml_table("", sweep)) + "\n")
    out = tmp / ("out.gif" if command == "animate" else "out")
    argv = {
        "run": ["run", "--no-progress", "--no-figure", "--replications", "1",
                "--scenario", str(tmp / "s.toml")],
        "compare": ["compare", str(tmp / "b.toml"), str(tmp / "s.toml"), "--replications", "2",
                    "--no-progress"],
        "sweep": ["sweep", str(tmp / "sweep.toml"), "--engine", "serial", "--no-progress"],
        "animate": ["animate", "--scenario", str(tmp / "s.toml"), "--steps", "2", "--dpi", "20"],
    }[command] + ["--out", str(out)]  # fmt: skip
    start = time.perf_counter()
    code = main(argv)  # any exception other than a refusal fails the test
    event(f"{command}: exit code {code}")
    assert time.perf_counter() - start < 60
    err = capsys.readouterr().err
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert [line for line in err.splitlines() if line.startswith("error:")], err
        assert not out.exists(), "a refusal left output behind"
    elif command == "animate":
        assert out.stat().st_size > 0
    else:
        assert is_complete(out)
    if command == "sweep" and code == 0:
        code = main(["analyze", str(out), "--no-figures"])
        err = capsys.readouterr().err
        assert code in (0, 2) and "Traceback" not in err, err
