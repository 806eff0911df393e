"""The bad-input catalogue: every way a user can get an input wrong, and what they are told.

Each :class:`Case` is one mistake: the files to create, the command line, and fragments the
message must contain (file, key, value, what is allowed). Every case must end with exit code 2,
exactly one ``error:`` message on stderr, no traceback, and nothing written or changed: every
file that existed before (inputs included) keeps its bytes, and no new file or folder appears.

To add a case for a new entry point (a sweep file, a stakeholder map, a new command), append a
``Case`` to ``CASES``; ``{tmp}`` in ``argv``, ``files`` and ``fragments`` is the case's own
temporary folder. Most cases run in-process through :func:`sim.cli.main` (fast); a few run as a
real ``python run_simulation.py`` process to prove the exit code and the absence of a traceback
end to end.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.errors import UserError
from sim.model import memory
from sim.model.model import PartnershipModel
from sim.present.cli import main
from sim.scenario import Scenario, load_scenario

from .conftest import ROOT, SCENARIOS

# Prepended to every ``run`` case (the case's own arguments come later and win): if a case were
# wrongly accepted it would run two steps of one replication, not the default comparison.
QUICK = ("--no-progress", "--no-figure", "--steps", "2", "--replications", "1")


@dataclass(frozen=True)
class Case:
    """One bad input: create ``files`` under ``{tmp}``, run ``argv``, expect a refusal."""

    name: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...]
    files: dict[str, str | bytes] = field(default_factory=dict)
    folders: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    exit_code: int = 2
    command: str = "run"  # "run" cases get QUICK and an --out under {tmp} unless they set one


def scenario(name: str, text: str | bytes, *fragments: str, **kw) -> Case:
    """A scenario file ``{tmp}/<name>.toml`` holding ``text``; the message must name the file."""
    path = f"{{tmp}}/{name}.toml"
    return Case(name, ("--scenario", path), (path, *fragments), files={f"{name}.toml": text}, **kw)


def override(name: str, assignment: str, *fragments: str) -> Case:
    return Case(name, ("--scenario", str(SCENARIOS / "msp.toml"), "--set", assignment), fragments)


CASES: list[Case] = [
    # ---- scenario files: can it be read at all?
    Case("missing file", ("--scenario", "{tmp}/nope.toml"), ("{tmp}/nope.toml", "not found")),
    Case(
        "folder instead of file",
        ("--scenario", "{tmp}/adir"),
        ("{tmp}/adir", "is a folder", ".toml"),
        folders=("adir",),
    ),
    scenario("not_toml", "[factors\ntrust = 0.2\n", "not valid TOML", "line 1"),
    scenario("not_utf8", b"\xff\xfe[run]\nsteps = 3\n", "not UTF-8 text", "saved as UTF-8"),
    scenario("latin1", "description = 'Désa'\n".encode("latin-1"), "not UTF-8 text"),
    scenario("binary", bytes(range(256)) * 4, "not"),
    scenario("nested_too_deeply", "a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    scenario("too_large", "# " + "x" * 1_000_000 + "\n", "bytes; allowed: at most 1000000"),
    Case(
        "a device, not a file", ("--scenario", "/dev/zero"), ("/dev/zero", "a device, not a file")
    ),
    Case(
        "file name with a NUL byte",
        ("--scenario", "{tmp}/a\x00b.toml"),
        ("not a usable file name", "null byte"),
    ),
    Case(
        "file name too long",
        ("--scenario", "{tmp}/" + "x" * 5000 + ".toml"),
        ("not a usable file name", "too long"),
    ),
    # ---- wrong types
    scenario("text_for_int", "[run]\nsteps = 'ten'\n", "run.steps = 'ten'", "int >= 1"),
    scenario("bool_for_int", "[run]\nsteps = true\n", "run.steps = True", "not true/false"),
    scenario("bool_for_float", "[factors]\ntrust = false\n", "factors.trust = False", "<= 1.0"),
    scenario("fraction_for_int", "[run]\nsteps = 3.5\n", "run.steps = 3.5", "fractional"),
    scenario("section_is_number", "factors = 3\n", "factors = 3", "dictionary"),
    scenario("section_is_list", "factors = [1, 2]\n", "factors = [1, 2]", "dictionary"),
    scenario("nested_garbage", "[factors.trust]\nx = 1\n", "factors.trust = {'x': 1}", "number"),
    scenario("name_not_text", "name = 3\n", "name = 3", "valid string"),
    scenario(
        "unknown_type",
        "[partnership]\ntype = 'joint'\n",
        "partnership.type = 'joint'",
        "'none', 'ppp', 'psp', 'pmg' or 'msp'",
    ),
    scenario(
        "tuple_too_short",
        "[dynamics]\nmotivation_weights = [1, 2]\n",
        "dynamics.motivation_weights = [1, 2]",
        "item 2",
    ),
    # ---- NaN and inf (TOML has nan and inf literals)
    scenario("nan", "[factors]\ntrust = nan\n", "factors.trust = nan", ">= 0.0 and <= 1.0"),
    scenario("inf", "[population]\nincome_median = inf\n", "income_median = inf", "finite"),
    scenario("minus_inf", "[organizations]\nbudget_firm = -inf\n", "budget_firm = -inf", ">= 0"),
    scenario(
        "nan_in_tuple",
        "[dynamics]\nmotivation_weights = [nan, 1, 1, 1, 1]\n",
        "motivation_weights = [nan, 1, 1, 1, 1]",
        "[0, 100]",
    ),
    # ---- sizes: zero, negative, too many, too big for memory
    scenario("zero_households", "[population]\nhouseholds = 0\n", "households = 0", ">= 2"),
    scenario("negative_households", "[population]\nhouseholds = -5\n", "households = -5", ">= 2"),
    scenario("zero_villages", "[population]\nvillages = 0\n", "villages = 0", ">= 1"),
    scenario("zero_steps", "[run]\nsteps = 0\n", "run.steps = 0", ">= 1"),
    scenario(
        "more_villages_than_households",
        "[population]\nhouseholds = 5\nvillages = 12\n",
        "population.villages = 12",
        "population.households = 5",
        "villages <= households",
    ),
    scenario(
        "too_big_for_memory",
        "[population]\nhouseholds = 20000000\nvillages = 1000\nties_across = 10\n",
        "population.households = 20000000",
        "would need about",
        "GB",
        "at most about",
    ),
    # The documented cap: a 200 000-household model (~0.3 GB) refused under a 50 MB cap.
    scenario(
        "over_the_memory_cap",
        "[population]\nhouseholds = 200000\n",
        "population.households = 200000",
        "KEMITRAAN_MEMORY_LIMIT",
        "50 MB",
        env={"KEMITRAAN_MEMORY_LIMIT": "50MB"},
    ),
    Case(
        "unreadable memory cap",
        ("--scenario", str(SCENARIOS / "msp.toml")),
        ("KEMITRAAN_MEMORY_LIMIT='lots'", "2GB or 500MB"),
        env={"KEMITRAAN_MEMORY_LIMIT": "lots"},
    ),
    override(
        "set too big for memory",
        "population.households=20000000",
        "msp.toml",
        "population.households = 20000000",
        "would need about",
    ),
    scenario(
        "odd_ties", "[population]\nties_within = 3\n", "ties_within = 3", "must be even", ">= 0"
    ),
    # ---- unknown keys and misspellings
    scenario("misspelled_section", "[factor]\ntrust = 0.2\n", "'factor'", "Did you mean 'factors'"),
    scenario("misspelled_key", "[factors]\ntrsut = 0.2\n", "factors.trsut", "Did you mean 'trust'"),
    scenario("unknown_top_key", "colour = 'red'\n", "'colour'", "Allowed keys: name"),
    # ---- empty partnerships: a type whose member kinds do not exist
    scenario(
        "msp_without_firms",
        "[organizations]\nfirms = 0\n",
        "partnership.type = 'msp'",
        "organizations.firms = 0",
        "organizations.firms >= 1",
    ),
    scenario(
        "ppp_without_government",
        "[organizations]\ngovernments = 0\n[partnership]\ntype = 'ppp'\n",
        "partnership.type = 'ppp'",
        "organizations.governments = 0",
        "(none, psp)",
    ),
    # ---- extends
    Case(
        "circular extends",
        ("--scenario", "{tmp}/a.toml"),
        ("circular 'extends'", "{tmp}/a.toml -> {tmp}/b.toml -> {tmp}/a.toml"),
        files={"a.toml": "extends = 'b.toml'\n", "b.toml": "extends = 'a.toml'\n"},
    ),
    scenario("extends_itself", "extends = 'extends_itself.toml'\n", "circular 'extends'"),
    scenario("extends_missing", "extends = 'gone.toml'\n", "extends = 'gone.toml'", "not found"),
    Case(
        "extends chain too long",
        ("--scenario", "{tmp}/c0.toml"),
        ("{tmp}/c0.toml", "chain longer than 32 files"),
        files={f"c{i}.toml": f"extends = 'c{i + 1}.toml'\n" for i in range(40)} | {"c40.toml": ""},
    ),
    scenario("extends_number", "extends = 3\n", "extends = 3", "path string"),
    scenario("extends_folder", "extends = '.'\n", "extends = '.'", "is a folder"),
    Case(
        "bad value inherited through extends",
        ("--scenario", "{tmp}/child.toml"),
        ("{tmp}/child.toml", "factors.trust = 2"),
        files={"base.toml": "[factors]\ntrust = 2\n", "child.toml": "extends = 'base.toml'\n"},
    ),
    # ---- --set overrides
    override("set without =", "trust", "--set 'trust'", "expected KEY=VALUE"),
    override("set empty key", "=0.3", "unknown key ''", "SECTION.KEY"),
    override("set section only", "factors=3", "unknown key 'factors'", "SECTION.KEY"),
    override("set misspelled", "factors.trsut=0.2", "Did you mean 'factors.trust'"),
    override("set too deep", "factors.trust.x=1", "unknown key 'factors.trust.x'"),
    override("set out of range", "factors.trust=2", "factors.trust = 2", "<= 1.0"),
    override("set text for number", "factors.trust=high", "factors.trust = 'high'", "number"),
    override("set nan", "factors.trust=nan", "factors.trust = nan", ">= 0.0"),
    override("set bad type", "partnership.type=xyz", "partnership.type = 'xyz'", "'msp'"),
    # ---- command-line arguments
    Case("unknown argument", ("--frobnicate",), ("unrecognized arguments: --frobnicate",)),
    Case("zero steps", ("--steps", "0"), ("--steps", "at least 1", "got 0")),
    Case("too many steps", ("--steps", "99999999999"), ("--steps", "at most 100000")),
    Case("replications not a number", ("--replications", "two"), ("whole number", "'two'")),
    Case("too many replications", ("--replications", "10000000"), ("at most 10000",)),
    Case("too many workers", ("--workers", "100000"), ("--workers", "at most")),
    Case("negative seed", ("--seed", "-3"), ("--seed", "0 or more", "-3")),
    Case("unknown format", ("--format", "xlsx"), ("--format", "invalid choice: 'xlsx'")),
    Case("levers takes no argument", ("--x",), ("unrecognized arguments: --x",), command="levers"),
    Case(
        "two scenarios with one name",
        ("--scenario", str(SCENARIOS / "msp.toml"), "{tmp}/msp.toml"),
        ("names must be unique", "{tmp}/msp.toml (msp)"),
        files={"msp.toml": "[factors]\ntrust = 0.1\n"},
    ),
    # ---- the output folder (pre-existing files are hashed before and after)
    Case(
        "existing non-empty folder",
        ("--out", "{tmp}/res"),
        ("--out {tmp}/res", "not empty", "--overwrite"),
        files={"res/timeseries.csv": "step,welfare\n0,0.5\n", "res/manifest.json": "{}"},
    ),
    Case(
        "out is a file",
        ("--out", "{tmp}/res.txt"),
        ("--out {tmp}/res.txt", "is a file"),
        files={"res.txt": "keep me"},
    ),
    Case(
        "out below a regular file",
        ("--out", "{tmp}/plain/results"),
        ("--out {tmp}/plain/results", "cannot create or write", "Not a directory"),
        files={"plain": "a regular file, not a folder"},
    ),
    Case("out with a NUL byte", ("--out", "{tmp}/r\x00s"), ("--out", "not a usable name")),
    Case("out name too long", ("--out", "{tmp}/" + "r" * 5000), ("--out", "File name too long")),
]


# ----------------------------------------------------------------------------- sweep files
# A valid, tiny sweep; each case changes one thing. ``--out`` is always under {tmp}, so a case
# wrongly accepted would write there (and fail the snapshot), never into results/.
SWEEP = """scenarios = ["baseline"]
replications = 1
steps = 2
{top}
[set]
"population.households" = 30
"population.villages" = 3
{set}
[design]
method = "{method}"
{design}
[design.levers]
{levers}
"""
GRID_LEVER = '"factors.trust" = { values = [0.2] }'


def sweep_text(top="", set="", method="grid", design="", levers=GRID_LEVER) -> str:
    return SWEEP.format(top=top, set=set, method=method, design=design, levers=levers)


def sweep_case(name: str, text: str, *fragments: str, argv=(), **kw) -> Case:
    """A sweep file ``{tmp}/<name>.toml`` run with ``sweep``; the message must name the file."""
    path = f"{{tmp}}/{name}.toml"
    return Case(
        f"sweep {name}",
        (path, "--engine", "serial", "--no-progress", "--out", "{tmp}/out", *argv),
        (path, *fragments) if not kw.pop("unnamed", False) else fragments,
        files={f"{name}.toml": text, **kw.pop("files", {})},
        command="sweep",
        **kw,
    )


# A scenario on a stakeholder map ``{tmp}/m`` (relative to the scenario file); each map case
# replaces one of its files.
MAP = {
    "villages.csv": "id,households\nv1,30\nv2,20\n",
    "nodes.csv": "id,type\ngov,government\nfirm,firm\nngo,ngo\n",
    "edges.csv": "source,target,trust\ngov,firm,0.5\nfirm,v1,\n",
}


def map_case(name: str, fragments: tuple[str, ...], **files: str | bytes) -> Case:
    content = {f"m/{k}": v for k, v in MAP.items()}
    content.update({f"m/{k.replace('_csv', '.csv')}": v for k, v in files.items()})
    return Case(
        f"map {name}",
        ("--scenario", "{tmp}/s.toml"),
        fragments,
        files={"s.toml": "[population]\nmap = 'm'\n", **content},
    )


def intervention(name: str, item: str, *fragments: str, steps: int = 12) -> Case:
    """A scenario ``{tmp}/<name>.toml`` with one ``[[interventions]]`` table."""
    text = f"[run]\nsteps = {steps}\n[[interventions]]\nname = 'x'\n{item}\n"
    path = f"{{tmp}}/{name}.toml"
    return Case(
        f"intervention {name}",
        ("--scenario", path, "--steps", str(steps)),
        (path, "interventions[1]", *fragments),
        files={f"{name}.toml": text},
    )


MSP = str(SCENARIOS / "msp.toml")

CASES += [
    # ---- sweep files
    Case(
        "sweep file missing",
        ("{tmp}/nope.toml", "--out", "{tmp}/out"),
        ("{tmp}/nope.toml", "sweep file not found"),
        command="sweep",
    ),
    sweep_case("not_toml", "scenarios = [\n", "not valid TOML"),
    sweep_case(
        "unknown_lever",
        sweep_text(levers='"factors.trsut" = { values = [0.2] }'),
        "unknown lever 'factors.trsut'",
        "Did you mean 'factors.trust'",
    ),
    sweep_case(
        "unknown_key",
        sweep_text(top="replicatons = 3"),
        "unknown key 'replicatons'",
        "Did you mean 'replications'",
    ),
    sweep_case(
        "low_above_high",
        sweep_text(method="lhs", levers='"factors.trust" = { low = 0.8, high = 0.2 }'),
        "design.levers.factors.trust",
        "low = 0.8 must be below high = 0.2",
    ),
    sweep_case(
        "range_outside_lever",
        sweep_text(method="lhs", levers='"factors.trust" = { low = 0.2, high = 3.0 }'),
        "factors.trust = 3.0",
        "<= 1.0",
    ),
    sweep_case(
        "unknown_design",
        sweep_text(method="factorial"),
        "design.method = 'factorial'",
        "'grid', 'lhs', 'sobol' or 'morris'",
    ),
    sweep_case(
        "sobol_not_power_of_two",
        sweep_text(
            method="sobol", design="samples = 10", levers='"factors.trust" = {low=0.1, high=0.9}'
        ),
        "design.samples = 10",
        "power of 2",
    ),
    sweep_case(
        "zero_replications",
        sweep_text().replace("replications = 1", "replications = 0"),
        "replications = 0",
        "greater than or equal to 1",
    ),
    sweep_case(
        "unknown_outcome",
        sweep_text(top='outcomes = ["welfare_men"]'),
        "outcomes",
        "unknown outcome 'welfare_men'",
        "Did you mean 'welfare_mean'",
    ),
    sweep_case("record_zero", sweep_text(top="record = 0"), "record = 0", "at least 1"),
    sweep_case(
        "record_unknown", sweep_text(top="record = 'weekly'"), "record", "'every_step'", "horizon"
    ),
    sweep_case(
        "unknown_engine",
        sweep_text(),
        "--engine",
        "invalid choice: 'ray'",
        "'local', 'dask', 'serial'",
        argv=("--engine", "ray"),
        unnamed=True,
    ),
    sweep_case(
        "zero_workers",
        sweep_text(),
        "--workers",
        "at least 1",
        argv=("--workers", "0"),
        unnamed=True,
    ),
    sweep_case(
        "too_many_workers",
        sweep_text(),
        "--workers",
        "at most",
        argv=("--workers", "100000"),
        unnamed=True,
    ),
    # Nothing listens on port 9 (discard) of this computer: refused at once, before --out exists.
    sweep_case(
        "unreachable_scheduler",
        sweep_text(),
        "--scheduler tcp://127.0.0.1:9",
        "cannot connect",
        argv=("--scheduler", "tcp://127.0.0.1:9"),
        unnamed=True,
    ),
    sweep_case(
        "scheduler_not_an_address",
        sweep_text(),
        "--scheduler 'tcp://'",
        "HOST:PORT",
        argv=("--scheduler", "tcp://"),
        unnamed=True,
    ),
    sweep_case(
        "too_big_for_memory",
        sweep_text(set='"population.ties_across" = 10').replace("= 30", "= 20000000"),
        "population.households = 20000000",
        "would need about",
        "GB",
    ),
    sweep_case(
        "out_holds_another_sweep",
        sweep_text(),
        "--out {tmp}/out",
        "holds a different sweep",
        "choose a new --out",
        files={"out/manifest.json": '{"sweep": {}, "sweep_fingerprint": "0123"}'},
        unnamed=True,
    ),
    sweep_case(
        "out_holds_a_run",
        sweep_text(),
        "{tmp}/out",
        "not a sweep folder",
        files={"out/manifest.json": '{"complete": true}', "out/timeseries.csv": "step\n0\n"},
        unnamed=True,
    ),
    sweep_case(
        "out_not_a_sweep_folder",
        sweep_text(),
        "--out {tmp}/out",
        "holds no sweep",
        files={"out/notes.txt": "mine"},
        unnamed=True,
    ),
    sweep_case(
        "out_is_a_file",
        sweep_text(),
        "--out {tmp}/out",
        "is a file",
        files={"out": "keep me"},
        unnamed=True,
    ),
    # ---- analyze
    Case(
        "analyze a missing folder",
        ("{tmp}/nowhere",),
        ("{tmp}/nowhere", "not a sweep folder"),
        command="analyze",
    ),
    Case(
        "analyze an empty folder",
        ("{tmp}/empty",),
        ("{tmp}/empty", "not a sweep folder (no manifest.json)"),
        folders=("empty",),
        command="analyze",
    ),
    Case(
        "analyze a run folder, not a sweep",
        ("{tmp}/run",),
        ("{tmp}/run", "not a sweep folder"),
        files={"run/timeseries.csv": "step\n0\n", "run/manifest.json": '{"complete": true}'},
        command="analyze",
    ),
    Case(
        "analyze a folder with an unreadable manifest",
        ("{tmp}/bad",),
        ("{tmp}/bad/manifest.json", "unreadable manifest"),
        files={"bad/manifest.json": "{not json", "bad/runs/.keep": ""},
        command="analyze",
    ),
    # ---- interventions in scenario files
    intervention("beyond_horizon", "at = 13\naction = 'dissolve'", "at = 13", "run.steps = 12"),
    intervention("unknown_action", "at = 2\naction = 'dissolv'", "action", "'form'"),
    intervention(
        "unknown_lever",
        "at = 2\naction = 'set'\nlever = 'audit_probabilty'\nvalue = 0.5",
        "audit_probabilty",
        "Did you mean 'accountability.audit_probability'",
    ),
    intervention(
        "unknown_metric",
        "when = 'trust_partner < 0.3'\naction = 'dissolve'",
        "trust_partner",
        "Did you mean 'trust_partners'",
    ),
    intervention(
        "malformed_condition",
        "when = 'trust_partners about 0.3'\naction = 'dissolve'",
        "trust_partners about 0.3",
        "METRIC OP NUMBER",
    ),
    intervention(
        "negative_cooldown",
        "when = 'leakage > 0.1'\ncooldown = -1\naction = 'dissolve'",
        "cooldown = -1",
        "greater than or equal to 1",
    ),
    intervention(
        "unknown_member",
        "at = 2\naction = 'add_member'\nmember = 'firm_7'",
        "member 'firm_7'",
        "Did you mean 'firm_2'",
        "Allowed: government_0",
    ),
    # ---- stakeholder maps (a folder of CSVs beside the scenario)
    map_case(
        "dangling edge",
        ("{tmp}/m/edges.csv row 2", "target = 'firn'", "Did you mean 'firm'"),
        edges_csv="source,target\ngov,firn\n",
    ),
    map_case(
        "duplicate id",
        ("{tmp}/m/nodes.csv row 3", "id = 'gov' is a duplicate"),
        nodes_csv="id,type\ngov,government\ngov,firm\n",
    ),
    map_case(
        "trust above one",
        ("{tmp}/m/edges.csv row 2", "trust = '1.5'", "from 0.0 to 1.0"),
        edges_csv="source,target,trust\ngov,firm,1.5\n",
    ),
    map_case(
        "nan trust",
        ("{tmp}/m/edges.csv row 2", "trust = 'nan'", "from 0.0 to 1.0"),
        edges_csv="source,target,trust\ngov,firm,nan\n",
    ),
    map_case(
        "unknown type",
        ("{tmp}/m/nodes.csv row 2", "type = 'goverment'", "Did you mean 'government'"),
        nodes_csv="id,type\ngov,goverment\n",
    ),
    map_case("empty file", ("{tmp}/m/villages.csv", "empty file", "households"), villages_csv=""),
    map_case(
        "oversized file",
        ("{tmp}/m/edges.csv", "too large for a stakeholder map", "at most 20000000 bytes"),
        edges_csv="source,target\n" + "gov,firm\n" * 2_300_000,
    ),
    map_case(
        "too many rows",
        ("{tmp}/m/villages.csv row 10002", "more than 10000 rows", "at most 10000"),
        villages_csv="id,households\n" + "".join(f"v{i},2\n" for i in range(12_000)),
    ),
    Case(
        "map graphml not readable",
        ("--scenario", "{tmp}/s.toml"),
        ("{tmp}/m.graphml", "not a readable GraphML file"),
        files={"s.toml": "[population]\nmap = 'm.graphml'\n", "m.graphml": "<graphml><oops"},
    ),
    Case(
        "map not found",
        ("--scenario", "{tmp}/s.toml"),
        ("{tmp}/gone", "stakeholder map not found"),
        files={"s.toml": "[population]\nmap = 'gone'\n"},
    ),
    # ---- compare
    Case(
        "compare one file", (MSP, "--out", "{tmp}/out"), ("at least one design",), command="compare"
    ),
    Case(
        "compare duplicate names",
        (MSP, "{tmp}/msp.toml", "--out", "{tmp}/out"),
        ("design names must be unique", "'msp', 'msp'"),
        files={"msp.toml": "[factors]\ntrust = 0.1\n"},
        command="compare",
    ),
    Case(
        "compare zero workers",
        (MSP, MSP, "--workers", "0", "--out", "{tmp}/out"),
        ("--workers", "at least 1"),
        command="compare",
    ),
    Case(
        "compare too many workers",
        (MSP, str(SCENARIOS / "pmg.toml"), "--workers", "100000", "--out", "{tmp}/out"),
        ("--workers", "at most"),
        command="compare",
    ),
    Case(
        "compare too many steps",
        (MSP, str(SCENARIOS / "pmg.toml"), "--steps", "99999999999", "--out", "{tmp}/out"),
        ("--steps", "at most 100000"),
        command="compare",
    ),
    Case(
        "compare too big for memory",
        (
            MSP,
            str(SCENARIOS / "pmg.toml"),
            "--set",
            "population.households=20000000",
            "--out",
            "{tmp}/out",
        ),
        ("population.households = 20000000", "would need about", "GB"),
        command="compare",
    ),
    Case(
        "compare into a non-empty folder",
        (MSP, str(SCENARIOS / "pmg.toml"), "--out", "{tmp}/res"),
        ("--out {tmp}/res", "not empty", "--overwrite"),
        files={"res/report.html": "<p>old</p>"},
        command="compare",
    ),
    Case(
        "compare funding end after the horizon",
        (
            MSP,
            str(SCENARIOS / "pmg.toml"),
            "--steps",
            "10",
            "--funding-end",
            "10",
            "--out",
            "{tmp}/out",
        ),
        ("--funding-end 10", "before the last step"),
        command="compare",
    ),
    # ---- animate
    Case(
        "animate every zero",
        ("--every", "0", "--out", "{tmp}/a.gif"),
        ("--every", "at least 1", "got 0"),
        command="animate",
    ),
    Case(
        "animate fps not a number",
        ("--fps", "fast", "--out", "{tmp}/a.gif"),
        ("--fps", "whole number", "'fast'"),
        command="animate",
    ),
    Case(
        "animate too many steps",
        ("--steps", "99999999999", "--out", "{tmp}/a.gif"),
        ("--steps", "at most 100000"),
        command="animate",
    ),
    Case(
        "animate unknown format",
        ("--out", "{tmp}/a.avi"),
        ("--out {tmp}/a.avi", "unknown format '.avi'", ".gif"),
        command="animate",
    ),
    Case(
        "animate into a missing folder",
        ("--out", "{tmp}/no/a.gif"),
        ("--out {tmp}/no/a.gif", "does not exist"),
        command="animate",
    ),
    Case(
        "animate over an existing file",
        ("--out", "{tmp}/a.gif"),
        ("--out {tmp}/a.gif", "exists", "--overwrite"),
        files={"a.gif": b"GIF89a old"},
        command="animate",
    ),
    Case(
        "animate too big for memory",
        ("--set", "population.households=20000000", "--out", "{tmp}/a.gif"),
        ("population.households = 20000000", "would need about", "GB"),
        command="animate",
    ),
    # ---- dashboard (refusals only: nothing is served)
    Case(
        "dashboard port zero",
        ("--port", "0"),
        ("--port", "between 1 and 65535"),
        command="dashboard",
    ),
    Case(
        "dashboard port too high",
        ("--port", "70000"),
        ("--port", "between 1 and 65535", "70000"),
        command="dashboard",
    ),
    Case(
        "dashboard host not of this computer",
        ("--host", "no.such.host.invalid"),
        ("--host 'no.such.host.invalid'", "not an address of this computer"),
        command="dashboard",
    ),
]


# ---- Reliability II, by class. Each class is closed by one mechanism, named in the comment.
_AT8 = "[run]\nsteps = 12\n[[interventions]]\nname = 'late'\nat = 8\naction = 'dissolve'\n"
_DESIGN = "[run]\nsteps = 12\n"
_SWEEP_ON = (
    "scenarios = ['late.toml']\nreplications = 1\nsteps = {steps}\n[design]\nmethod = 'grid'\n"
    '[design.levers]\n"factors.trust" = {{ values = [0.2] }}\n'
)
_BIG = "9" * 5000
CASES += [
    # Same input, same judgement in every command: interventions are checked against the
    # horizon the run will really make (interventions.check_horizon, called by run, compare
    # and sweep before any folder exists).
    Case(
        "horizon run --steps",
        ("--scenario", "{tmp}/late.toml", "--steps", "5"),
        ("{tmp}/late.toml", "interventions[1] 'late'", "at = 8", "--steps 5", "from 1 to 5"),
        files={"late.toml": _AT8},
    ),
    Case(
        "horizon compare --steps",
        ("{tmp}/base.toml", "{tmp}/late.toml", "--steps", "5", "--out", "{tmp}/out"),
        ("{tmp}/late.toml", "interventions[1] 'late'", "at = 8", "--steps 5"),
        files={"base.toml": _DESIGN, "late.toml": _AT8},
        command="compare",
    ),
    sweep_case(
        "horizon",
        _SWEEP_ON.format(steps=5),
        "scenario 'late'",
        "at = 8",
        "steps = 5",
        files={"late.toml": _AT8},
    ),
    # Checks before any folder: the map must hold every kind of party the type needs
    # (schema: checked where the map fixes the organizations); a form names each party once
    # (Intervention's own rules, at load).
    map_case(
        "lacks a firm",
        ("{tmp}/s.toml", "population.map", "no organization of type firm", "partnership.type"),
        nodes_csv="id,type\ngov,government\nngo,ngo\n",
        edges_csv="source,target,trust\ngov,ngo,0.5\n",
    ),
    intervention(
        "form_twice",
        "at = 2\naction = 'form'\nmembers = ['government_0', 'government_0']",
        "names 'government_0' twice",
    ),
    # Bounded work on user input: the condition is read in one pass with a length limit;
    # counts are read only up to 9 digits; messages quote a bounded excerpt.
    intervention(
        "long_when",
        f"when = '{'a' * 40_000} < 1'\naction = 'dissolve'",
        "when",
        "at most 200 characters",
    ),
    map_case(
        "5000-digit count",
        ("villages.csv row 2", "households", "...", "from 1 to 20000000"),
        villages_csv=f"id,households\nv1,{_BIG}\nv2,20\n",
    ),
    scenario("seed_5000_digits", f"[run]\nseed = {_BIG}\n", "more than 4300 digits"),
    scenario(
        "seed_4000_digits",
        f"[run]\nseed = {'9' * 4000}\n",
        "run.seed = <a whole number of 4000 digits>",
        "less than or equal to 9223372036854775807",
    ),
    override("set 5000-digit seed", f"run.seed={_BIG}", "--set value", "at most 1000"),
    Case("--seed 5000 digits", ("--seed", _BIG), ("--seed", "5000 digits", "out of range")),
    # One reader for every declared file (files.read_toml) and one base for its tables
    # (explain.Table): a sweep file refuses true/false where a number goes.
    sweep_case("bool_replications", sweep_text(top="seed = true"), "not true/false"),
    sweep_case(
        "bool_in_grid_values",
        sweep_text(levers='"factors.trust" = { values = [true, 0.5] }'),
        "not true/false",
    ),
    scenario(
        "bool_in_tuple", "[dynamics]\nmotivation_weights = [true, 1, 1, 1, 1]\n", "true/false"
    ),
    # Paths: every input path is checked for its kind first (inputs.input_path).
    scenario("map_is_a_device", "[population]\nmap = '/dev/null'\n", "a device, not a file"),
    # Names that become paths cannot leave their folder (inputs.child_name).
    sweep_case("name_dotdot", sweep_text(top="name = '../escape'"), "name", "plain name"),
    sweep_case("name_absolute", sweep_text(top="name = '/tmp/escape'"), "name", "plain name"),
    # Outputs: what is at --out is named (inputs.output_path, called by every writer first).
    Case("out is a device", ("--out", "/dev/null"), ("--out /dev/null", "is a device")),
    sweep_case(
        "out_is_a_device",
        sweep_text(),
        "--out /dev/null",
        "is a device",
        argv=("--out", "/dev/null"),
        unnamed=True,
    ),
    Case(
        "compare out is a device",
        (MSP, "{tmp}/b.toml", "--out", "/dev/null"),
        ("--out /dev/null", "is a device"),
        files={"b.toml": "name = 'b'\n"},
        command="compare",
    ),
    Case(
        "animate out is a device",
        ("--out", "/dev/null"),
        ("--out /dev/null", "is a device, not a file"),
        command="animate",
    ),
    Case(
        "init into a file", ("{tmp}/f",), ("{tmp}/f", "is a file"), files={"f": "x"}, command="init"
    ),
    Case(
        "validate report is a device",
        ("--size", "ci", "--out", "/dev/null"),
        ("--out /dev/null", "is a device, not a file"),
        command="validate",
    ),
    Case(
        "validate figures is a device",
        ("--size", "ci", "--out", "{tmp}/v.md", "--figures", "/dev/null"),
        ("--figures /dev/null", "is a device, not a folder"),
        command="validate",
    ),
    # Sizes of designs, estimated from the file before a point is generated (sweep_spec).
    sweep_case(
        "huge_grid",
        sweep_text(
            levers="\n".join(
                f'"factors.{k}" = {{ values = [{", ".join(str(i / 100) for i in range(100))}] }}'
                for k in ("trust", "communication", "power_balance", "goal_clarity")
            )
        ),
        "a grid of 100 x 100 x 100 x 100 values makes 100,000,000 design points",
        "at most 1,000,000",
    ),
    sweep_case(
        "too_many_runs",
        sweep_text(
            top="replications = 100000",
            levers=f'"factors.trust" = {{ values = [{", ".join(["0.5"] * 101)}] }}',
        ).replace("replications = 1\n", ""),
        "1 scenarios x 101 design points x 100000 replications make 10,100,000 runs",
        "at most 10,000,000",
    ),
    sweep_case(
        "sobol_too_big",
        sweep_text(
            method="sobol",
            design="samples = 524288",
            levers='"factors.trust" = { low = 0.1, high = 0.9 }',
        ),
        "a sobol design of 524288 samples over 1 levers makes 1,572,864 design points",
    ),
    sweep_case(
        "grid_lever_too_many_values",
        sweep_text(levers=f'"factors.trust" = {{ values = [{", ".join(["0.5"] * 1001)}] }}'),
        "values",
        "at most 1000",
    ),
    # Schedulers: only tcp:// (engines.check_scheduler, before the folder is made).
    *(
        sweep_case(
            f"scheduler_{scheme}",
            sweep_text(),
            f"--scheduler '{scheme}://127.0.0.1:8786'",
            f"the '{scheme}' transport is not supported",
            "tcp://HOST:PORT",
            argv=("--scheduler", f"{scheme}://127.0.0.1:8786"),
            unnamed=True,
        )
        for scheme in ("tls", "inproc", "ucx", "ws")
    ),
    # Option ranges: every option declares what it accepts (args.Parser refuses one that does
    # not); animate's limits (animation.LIMITS) and a GIF's memory come before any drawing.
    Case(
        "animate dpi too high",
        ("--dpi", "100000", "--out", "{tmp}/a.gif"),
        ("--dpi", "at most 300", "100000"),
        command="animate",
    ),
    Case(
        "animate fps too high",
        ("--fps", "100000", "--out", "{tmp}/a.gif"),
        ("--fps", "at most 60"),
        command="animate",
    ),
    Case(
        "animate too many frames",
        ("--steps", "100000", "--out", "{tmp}/a.gif"),
        ("100001 frames", "at most 2000", "--every 51 or more"),
        command="animate",
    ),
    Case(
        "animate gif too big for memory",
        ("--steps", "600", "--dpi", "300", "--out", "{tmp}/a.gif"),
        ("--dpi 300 with 601 frames", "a GIF holds every frame in memory", "GB"),
        command="animate",
        env={"KEMITRAAN_MEMORY_LIMIT": "2GB"},
    ),
    Case(
        "animate seed too big",
        ("--seed", str(2**63), "--out", "{tmp}/a.gif"),
        ("--seed", "at most 9223372036854775807"),
        command="animate",
    ),
    Case(
        "compare retention lag too big",
        (MSP, MSP, "--retention-lag", "99999999999"),
        ("--retention-lag", "at most 100000"),
        command="compare",
    ),
    Case(
        "validate workers too many",
        ("--workers", "100000"),
        ("--workers", "at most"),
        command="validate",
    ),
    Case(
        "sweep scheduler text too long",
        ("{tmp}/s.toml", "--scheduler", "x" * 20_000),
        ("--scheduler", "20000 characters", "at most 10000"),
        command="sweep",
    ),
]


def _expand(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


def _prepare(case: Case, tmp: Path) -> list[str]:
    for name in case.folders:
        (tmp / name).mkdir(parents=True)
    for name, content in case.files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(_expand(content, tmp))
    argv = [_expand(a, tmp) for a in case.argv]
    if case.command != "run":
        return [case.command, *argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp / "out")]
    return [*QUICK, *argv]


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with the SHA-256 of its bytes (folders as 'dir')."""
    return {
        str(p.relative_to(folder)): "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
    }


def _check_refusal(case: Case, tmp: Path, code: int, stderr: str, before, results_before):
    assert code == case.exit_code, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for fragment in case.fragments:
        assert _expand(fragment, tmp) in stderr, f"{fragment!r} not in: {stderr}"
    assert _snapshot(tmp) == before, "a refused run wrote or changed files"
    assert _results_listing() == results_before, "a refused run wrote into results/"


def _results_listing() -> list[str]:
    folder = ROOT / "results"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_catalogue_is_large_and_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_cleanly(case, tmp_path, capsys, monkeypatch):
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    argv = _prepare(case, tmp_path)
    before, results_before = _snapshot(tmp_path), _results_listing()
    code = main(argv)
    captured = capsys.readouterr()
    assert captured.out == ""
    _check_refusal(case, tmp_path, code, captured.err, before, results_before)


SUBPROCESS_CASES = [
    "not_toml",
    "too_big_for_memory",
    "unknown argument",
    "existing non-empty folder",
]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_input_in_a_real_process_exits_2_without_traceback(name, tmp_path):
    case = next(c for c in CASES if c.name == name)
    argv = _prepare(case, tmp_path)
    before, results_before = _snapshot(tmp_path), _results_listing()
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **case.env},
    )
    assert result.stdout == ""
    _check_refusal(case, tmp_path, result.returncode, result.stderr, before, results_before)


def test_unwritable_output_folder_is_refused_before_any_run(tmp_path, capsys):
    """A folder nobody may write in. chmod does not stop root, so as root use /proc, where no
    one (root included) can create a folder; as another user, a read-only folder."""
    if os.geteuid() == 0:
        if not Path("/proc/self").exists():
            pytest.skip("running as root without /proc: no folder that root cannot write")
        out = Path("/proc/kemitraan-results")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "results"
    code = main([*QUICK, "--scenario", str(SCENARIOS / "msp.toml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"--out {out}: cannot create or write" in err
    assert not out.exists()


# ----------------------------------------------------------------------------- the model API
def _nested(depth: int) -> dict:
    """{'a': {'a': ...}} ``depth`` levels deep (its full repr would exceed the recursion limit)."""
    doc: dict = {}
    for _ in range(depth):
        doc = {"a": doc}
    return doc


@pytest.mark.parametrize(
    ("levers", "fragments"),
    [
        ({"households": 0}, ["population.households = 0", ">= 2"]),
        ({"trust": float("nan")}, ["factors.trust = nan"]),
        ({"trsut": 0.2}, ["unknown key 'trsut'", "Did you mean"]),
        ({"factors.communication": "high"}, ["factors.communication = 'high'", "number"]),
        ({"steps": True}, ["run.steps = True", "not true/false"]),
        ({"firms": 0}, ["partnership.type = 'msp'", "organizations.firms = 0"]),
        ({"households": 20_000_000, "ties_across": 10.0}, ["households = 20000000", "GB"]),
        ({"trust": _nested(3000)}, ["factors.trust = {'a': {'a': {'a': {...}}}}"]),
        ({"trust": list(range(100_000))}, ["factors.trust = [0, 1, 2, 3, 4, 5, 6, 7, ...]"]),
    ],
)
def test_model_api_refuses_bad_levers_with_a_user_error(levers, fragments):
    with pytest.raises(UserError) as info:
        PartnershipModel(seed=1, **levers)
    message = str(info.value)
    assert message.startswith("PartnershipModel"), message
    for fragment in fragments:
        assert fragment in message


def test_memory_estimate_is_close_to_measured():
    """The estimate against the traced peak of a real 20 000-household model.

    ``tracemalloc`` sees Python objects (the graph's dicts) and numpy arrays alike; it agreed
    with peak resident memory within 5% when the constants were fitted (20 000 to 80 000
    households, estimate 1.04 to 1.15 times the peak). The band allows for library-version
    differences; an estimate far off in either direction fails.
    """
    s = Scenario.from_dict({"population": {"households": 20_000}})
    tracemalloc.start()
    try:
        PartnershipModel(s, seed=1).run(2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    estimate = memory.model_bytes(s, 2)
    assert 0.8 * peak < estimate < 1.5 * peak, (peak, estimate)


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[factors]\ntrust = 0.25\r\n".encode())
    assert load_scenario(path).factors.trust == 0.25


def test_a_sweep_file_with_a_byte_order_mark_is_read(tmp_path):
    from sim.experiments.sweep import load_sweep

    path = tmp_path / "bom.toml"
    path.write_bytes(("\ufeff" + sweep_text()).encode())
    assert load_sweep(path).spec.replications == 1


@pytest.mark.parametrize("role", ["scenario", "map", "out-of-tree parent"])
def test_a_dangling_symbolic_link_is_named_as_such(tmp_path, capsys, role):
    link = tmp_path / ("link.toml" if role != "map" else "m")
    link.symlink_to(tmp_path / "gone")
    if role == "scenario":
        argv = ["--scenario", str(link)]
    elif role == "map":
        (tmp_path / "s.toml").write_text("[population]\nmap = 'm'\n")
        argv = ["--scenario", str(tmp_path / "s.toml")]
    else:
        (tmp_path / "s.toml").write_text("extends = 'link.toml'\n")
        argv = ["--scenario", str(tmp_path / "s.toml")]
    assert main([*QUICK, *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "symbolic link whose target does not exist" in err or "file not found" in err, err
    assert not (tmp_path / "out").exists()


def test_the_condition_check_is_linear_in_its_length():
    import time

    from sim.scenario.interventions import parse_condition

    for n in (1_000, 100_000, 1_000_000):
        text = "trust_partners " + " " * n + "< 0.3"
        start = time.perf_counter()
        with pytest.raises(ValueError, match="at most 200") as info:
            parse_condition(text)
        assert time.perf_counter() - start < 0.05
        assert len(str(info.value)) < 300  # a bounded excerpt, not the whole value


# ----------------------------------------------------------------------------- Reliability II
# Faults and stored data, by class (docs/reliability.md, "Checks that live once").
TINY_SET = ("--set", "population.households=20", "--set", "population.villages=2")


def _outputs(kind: str, out: Path, tmp: Path) -> list[str]:
    """A command line of ``kind`` writing to ``out``: small and quick if it were accepted."""
    if kind == "run":
        return [*QUICK, "--scenario", MSP, *TINY_SET, "--out", str(out)]
    if kind == "compare":
        (tmp / "b.toml").write_text("name = 'b'\n")
        return ["compare", MSP, str(tmp / "b.toml"), "--steps", "2", "--replications", "2",
                "--no-progress", *TINY_SET, "--out", str(out)]  # fmt: skip
    if kind == "sweep":
        (tmp / "s.toml").write_text(sweep_text())
        return ["sweep", str(tmp / "s.toml"), "--engine", "serial", "--no-progress",
                "--out", str(out)]  # fmt: skip
    return ["animate", "--steps", "2", *TINY_SET, "--out", str(out)]


@pytest.mark.parametrize("kind", ["run", "compare", "sweep", "animate"])
def test_a_dangling_link_as_out_is_named_and_its_target_not_created(kind, tmp_path, capsys):
    link = tmp_path / ("out.gif" if kind == "animate" else "out")
    target = tmp_path / "elsewhere" / "gone"
    link.symlink_to(target)
    argv = _outputs(kind, link, tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out {link}: is a symbolic link whose target {target} does not exist" in err, err
    assert "Traceback" not in err and not target.parent.exists()
    assert sorted(os.listdir(tmp_path)) == before


def _parsers(monkeypatch) -> dict[str, object]:
    """Every command's parser, as the command builds it (parse_args stopped before parsing)."""
    from sim.present import args as opts
    from sim.present.cli import COMMANDS

    class Built(Exception):
        pass

    found = {}

    def grab(self, args=None, namespace=None):
        found[name] = self
        raise Built

    with monkeypatch.context() as patch:
        patch.setattr(opts.Parser, "parse_args", grab)
        for name in COMMANDS:
            with pytest.raises(Built):
                main([name])
    return found


def test_every_option_of_every_command_refuses_values_beyond_its_range(
    monkeypatch, tmp_path, capsys
):
    """Each option declares its range (args.Parser refuses one that does not, at build time);
    a value one past either end is refused in one line, before anything is written."""
    monkeypatch.chdir(tmp_path)
    checked = []
    for name, parser in _parsers(monkeypatch).items():
        for action in parser.options:
            bounds = getattr(action.type, "bounds", None)
            if not action.option_strings or bounds is None or action.type.__name__ == "text":
                continue
            option = action.option_strings[-1]
            for value in (bounds[0] - 1, bounds[1] + 1):
                before, results_before = _snapshot(tmp_path), _results_listing()
                assert main([name, option, str(value)]) == 2, (name, option, value)
                err = capsys.readouterr().err
                assert "Traceback" not in err and err.count("error:") == 1, err
                assert option in err and str(value) in err, err
                assert _snapshot(tmp_path) == before and _results_listing() == results_before
            checked.append(f"{name} {option}")
    # the numeric options of run, compare, sweep, validate, animate and dashboard
    assert {"run --steps", "animate --dpi", "animate --fps", "dashboard --port"} <= set(checked)
    assert len(checked) >= 15, checked


def test_every_text_option_is_bounded(capsys):
    assert main(["analyze", "x", "--reference", "r" * 20_000]) == 2
    assert "at most 10000" in capsys.readouterr().err


def test_an_option_without_a_range_is_refused_when_the_parser_is_built():
    from sim.present import args as opts

    parser = opts.Parser(prog="p")
    with pytest.raises(TypeError, match="declare the values it accepts"):
        parser.add_argument("--dpi", type=int)
    parser.add_argument("--name")  # text: bounded by MAX_TEXT
    parser.add_argument("--dpi", type=opts.int_at_least(10, maximum=300))


# ---- disk full and other write faults: one line, exit 2, nothing claims completeness
def test_write_atomic_turns_a_full_disk_into_one_write_error(tmp_path, monkeypatch):
    import errno

    from sim.experiments.disk import WriteError, write_atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    (tmp_path / "a.csv").write_text("old")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=r"cannot write .*a\.csv: No space left on device"):
        write_atomic(tmp_path / "a.csv", lambda p: p.write_text("new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no temporary left
    assert (tmp_path / "a.csv").read_text() == "old"  # the old file is whole


def test_write_atomic_never_replaces_a_device_or_a_folder(tmp_path):
    """The rename would replace the node itself (as root, even /dev/null)."""
    import stat

    from sim.experiments.disk import WriteError, write_atomic

    for path in (Path("/dev/null"), tmp_path):
        with pytest.raises(WriteError, match="exists and is not a regular file"):
            write_atomic(path, lambda p: p.write_text("x"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_flushes_the_file_before_and_the_folder_after_the_rename(
    tmp_path, monkeypatch
):
    from sim.experiments.disk import write_atomic

    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(a, b):
        calls.append(("replace", str(b)))
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / "a.csv", lambda p: p.write_text("x"))
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"]
    assert calls[0][1].startswith(str(tmp_path / ".a.csv.")) and calls[0][1].endswith(".tmp")
    assert calls[2][1] == str(tmp_path)


def _small_files(limit: int):
    """In the child: files may grow to ``limit`` bytes (writes beyond fail with EFBIG)."""

    def limit_files():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
@pytest.mark.parametrize("kind", ["run", "compare", "sweep"])
def test_a_write_fault_in_a_real_process_ends_in_one_line_and_nothing_complete(kind, tmp_path):
    """A real fault at the write layer: the process may write files of at most 2 KB, so a
    table, a part or a manifest fails in the kernel (EFBIG) as on a full disk (ENOSPC)."""
    from sim.experiments.results import is_complete

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "run_simulation.py"), *_outputs(kind, out, tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        preexec_fn=_small_files(2048),
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "File too large" in errors[0], result.stderr
    assert not is_complete(out)
    assert not list(out.rglob(".*.tmp")), "a temporary file was left behind"
    if kind != "sweep":
        assert not (out / "manifest.json").exists()


def test_a_full_disk_in_a_real_process_on_a_tiny_file_system(tmp_path):
    """ENOSPC itself, on a 64 KB tmpfs (needs the right to mount: root in a VM or CI)."""
    from sim.experiments.results import is_complete

    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        out = mount / "out"
        argv = _outputs("run", out, tmp_path)  # about 600 rows of outcomes: over 64 KB
        argv[argv.index("--steps") + 1] = "300"
        argv[argv.index("--replications") + 1] = "2"
        result = subprocess.run(
            [sys.executable, str(ROOT / "run_simulation.py"), *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "No space left on device" in result.stderr
        assert not is_complete(out) and not (out / "manifest.json").exists()
    finally:
        subprocess.run(["umount", str(mount)], check=False)


# ---- stored sweep parts are verified, moved aside when bad, and computed again
@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """A finished two-scenario sweep (reference 'baseline'), 8 runs of 2 steps."""
    tmp = tmp_path_factory.mktemp("sweep")
    text = sweep_text().replace('scenarios = ["baseline"]', 'scenarios = ["baseline", "msp"]')
    (tmp / "s.toml").write_text(
        text.replace("replications = 1", "replications = 2\nreference = 'baseline'").replace(
            "values = [0.2]", "values = [0.2, 0.8]"
        )
    )
    assert main(["sweep", str(tmp / "s.toml"), "--engine", "serial", "--no-progress",
                 "--out", str(tmp / "done")]) == 0  # fmt: skip
    return tmp / "done"


def _copy(folder: Path, tmp: Path) -> Path:
    import shutil

    shutil.copytree(folder, tmp / "copy")
    return tmp / "copy"


def test_a_truncated_or_garbage_part_is_reported_moved_aside_and_computed_again(
    tiny_sweep, tmp_path, capsys
):
    import pandas as pd

    from sim.experiments import store
    from sim.experiments.results import is_complete

    out = _copy(tiny_sweep, tmp_path)
    assert is_complete(out)
    original = store.read_table(out)
    parts = sorted((out / "runs").glob("*.parquet"))
    with parts[0].open("r+b") as fh:
        fh.truncate(100)
    parts[1].write_bytes(os.urandom(3000))
    assert not is_complete(out)  # a damaged part is never taken for a complete sweep
    capsys.readouterr()
    assert main(["analyze", str(out), "--no-figures"]) == 0
    err = capsys.readouterr().err
    for part in parts[:2]:
        assert f"runs/{part.name}: its SHA-256 differs from the one recorded; moved to " in err
    assert "6 of 8 runs are stored" in err and "Traceback" not in err
    kept = sorted(p.name.split(".")[0] for p in (out / "damaged").iterdir())
    assert kept == sorted(p.stem for p in parts[:2])  # moved aside, not deleted
    info = store.read_manifest(out)
    assert main(["sweep", info["sweep_file"], "--engine", "serial", "--no-progress",
                 "--out", str(out)]) == 0  # fmt: skip
    assert is_complete(out)
    pd.testing.assert_frame_equal(store.read_table(out), original)


def test_a_part_without_a_checksum_is_read_whole_and_a_bad_one_is_refused(tiny_sweep, tmp_path):
    from sim.experiments import store

    out = _copy(tiny_sweep, tmp_path)
    (out / store.CHECKSUMS).unlink()  # as a sweep written before checksums
    parts = sorted((out / "runs").glob("*.parquet"))
    parts[2].write_bytes(b"PAR1" + b"\0" * 50 + b"PAR1")
    bad = store.verify(out)
    assert len(bad) == 1 and bad[0].startswith(f"runs/{parts[2].name}: unreadable")
    assert not store.is_complete(out)  # a run is missing now
    sums = store.read_checksums(out)
    assert sorted(sums) == sorted(
        ["design.parquet", *(f"runs/{p.name}" for p in parts if p != parts[2])]
    )  # the sound parts were adopted


def test_analyze_a_sweep_killed_while_only_the_reference_was_stored(tiny_sweep, tmp_path, capsys):
    import pandas as pd
    import pyarrow.parquet as pq

    out = _copy(tiny_sweep, tmp_path)
    for part in (out / "runs").glob("*.parquet"):
        if pq.read_table(part, columns=["scenario"])["scenario"][0].as_py() != "baseline":
            part.unlink()
    capsys.readouterr()
    assert main(["analyze", str(out), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert "note: no run of msp is stored yet: no paired differences for them" in err
    assert "4 of 8 runs are stored" in err
    diffs = pd.read_csv(out / "analysis" / "paired_differences.csv")
    assert diffs.empty and {"scenario", "reference", "point", "mean", "ci_low"} <= set(diffs)


# ---- misleading messages
def test_one_replicate_says_an_interval_needs_two(tmp_path, capsys):
    out = tmp_path / "c"
    argv = _outputs("compare", out, tmp_path)
    argv[argv.index("--replications") + 1] = "1"
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed
    assert "no 95% interval: it needs at least 2 replicates, there is 1" in printed
    assert main([*QUICK, "--scenario", MSP, *TINY_SET, "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert "nan" not in printed and "(needs 2+ replicates)" in printed


def test_compare_names_the_horizon_it_applies_not_set(tmp_path, capsys):
    (tmp_path / "late.toml").write_text(_AT8.replace("[run]", "name = 'late'\n[run]"))
    argv = ["compare", MSP, str(tmp_path / "late.toml"), "--set", "run.steps=7",
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "at = 8" in err and "7" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
