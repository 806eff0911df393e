"""The floors of ``sim/``: every import points down, and no two modules import each other.

``sim/`` is built in floors (see docs/architecture.md)::

    scenario < mechanisms < model < experiments < present

A module may import its own floor and the floors below it, plus the base modules
(``sim.errors``, ``sim.paths``). The package faces (``sim/__init__.py`` and the top-level
shims kept for users' scripts) sit above every floor. The imports are read from the source
with :mod:`ast`, so the test sees imports inside functions too; imports under
``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

FLOORS = ("scenario", "mechanisms", "model", "experiments", "present")
BASE = ("sim.errors", "sim.paths")
HEAVY = (
    "matplotlib",
    "solara",
    "dask",
    "distributed",
    "SALib",
    "mesa",
    "playwright",
    "imageio_ffmpeg",
    "numba",
)
"""Optional or slow libraries: a function may import a ``sim`` module that needs one of these
(directly or through the ``sim`` modules it imports), so that a command answers ``--help`` and
refuses bad arguments before paying for them, and commands that never draw or distribute
never load them."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / "sim").rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported sim module, line, inside a function) for every runtime import of ``path``."""
    found: list[tuple[str, int, bool]] = []

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module.split(".")[0] == "sim":
                    names = [f"{child.module}.{a.name}" for a in child.names]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names if a.name.split(".")[0] == "sim"]
            for name in names:
                target = resolve(name)
                if target and target != "sim":
                    found.append((target, child.lineno, in_function))
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return found


def floor(module: str) -> int:
    """Rank of a module: -1 base, 0..4 the floors, 5 the faces above them."""
    if module in BASE:
        return -1
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in FLOORS:
        return FLOORS.index(parts[1])
    return len(FLOORS)


def heavy(module: str, known: dict[str, Path], seen: set[str] | None = None) -> bool:
    """Whether importing ``module`` loads a heavy library (its own imports or its sim ones)."""
    seen = set() if seen is None else seen
    if module in seen:
        return False
    seen.add(module)
    for node in ast.parse(known[module].read_text()).body:
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        if any(r in HEAVY for r in roots):
            return True
    return any(
        heavy(target, known, seen)
        for target, _, inside in imports(known[module], known)
        if not inside
    )


def test_every_import_points_down_a_floor():
    known = modules()
    bad = [
        f"{known[m].relative_to(ROOT)}:{line} imports {target} (a higher floor)"
        for m in known
        for target, line, _ in imports(known[m], known)
        if floor(target) > floor(m)
    ]
    assert bad == []


def test_no_import_cycles():
    known = modules()
    graph = {m: {t for t, _, _ in imports(known[m], known) if t != m} for m in known}
    # Package faces re-export their own floor: an edge from a package to its own submodule
    # and back is how Python packages work, not a cycle of responsibilities.
    for m in graph:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    cycles, state = [], dict.fromkeys(graph, 0)

    def walk(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(" -> ".join([*trail[trail.index(t) :], t]))
            elif state.get(t) == 0:
                walk(t, [*trail, t])
        state[m] = 2

    for m in sorted(graph):
        if state[m] == 0:
            walk(m, [m])
    assert cycles == []


def test_sim_imports_inside_functions_only_defer_a_heavy_library():
    known = modules()
    bad = [
        f"{known[m].relative_to(ROOT)}:{line} imports {target} inside a function"
        for m in known
        for target, line, inside in imports(known[m], known)
        if inside and not heavy(target, known)
    ]
    assert bad == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sim.present.cli import main\n", [("sim.present.cli", 1, False)]),
        ("def f():\n    from sim.model import model\n", [("sim.model.model", 2, True)]),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sim.present.app\n", []),
        ("import numpy\n", []),
    ],
)
def test_the_reader_sees_each_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    known = {"sim.present.cli": path, "sim.model": path, "sim.model.model": path}
    known["sim.present.app"] = path
    assert imports(path, known) == expected


def test_the_floor_ranks():
    assert floor("sim.errors") < floor("sim.scenario.schema") < floor("sim.mechanisms.power")
    assert floor("sim.mechanisms.power") < floor("sim.model.model") < floor("sim.experiments.runs")
    assert floor("sim.experiments.runs") < floor("sim.present.cli") < floor("sim")
