"""Scenario files: reading TOML, following ``extends``, and ``--set`` overrides.

A scenario file holds only what differs from the defaults, or from the scenario it
``extends`` (a path relative to the file; chains up to :data:`MAX_EXTENDS` files, no cycles).
A later file's tables are merged key by key over its parent's; its interventions are added to
the parent's timeline. ``population.map`` is relative to the file that names it.
``--set KEY=VALUE`` overrides take TOML values (strings bare or quoted).

Example:
    >>> s = load_scenario("scenarios/msp_low_trust.toml", ["run.steps=24"])  # doctest: +SKIP
    >>> s.run.steps  # doctest: +SKIP
    24
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.scenario.explain import shown
from sim.scenario.inputs import input_path
from sim.scenario.schema import Scenario, ScenarioError

__all__ = [
    "MAX_EXTENDS",
    "MAX_SCENARIO_BYTES",
    "apply_overrides",
    "load_scenario",
    "read_toml",
]


def _parse_value(text: str) -> Any:
    """Parse the right-hand side of ``--set key=value`` as a TOML value (strings bare or quoted)."""
    if len(text) > MAX_SET_VALUE:
        raise ScenarioError(
            f"--set value {shown(text)}: {len(text)} characters; allowed: at most {MAX_SET_VALUE}"
        )
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except ValueError:  # int() refuses numbers of more than 4,300 digits
        raise ScenarioError(
            f"--set value {shown(text)}: a number too long to read; allowed: a value within "
            "the lever's range ('python run_simulation.py levers')"
        ) from None


def apply_overrides(scenario: Scenario, assignments: list[str]) -> Scenario:
    """Apply ``KEY=VALUE`` strings (``--set``) to a scenario; keys may omit the section."""
    overrides: dict[str, Any] = {}
    for item in assignments:
        if "=" not in item:
            raise ScenarioError(
                f"--set {item!r}: expected KEY=VALUE, e.g. --set factors.communication=0.3"
            )
        key, text = item.split("=", 1)
        overrides[key.strip()] = _parse_value(text.strip())
    return scenario.with_overrides(overrides)


MAX_SET_VALUE = 1000
"""Longest value of one ``--set KEY=VALUE``."""

MAX_SCENARIO_BYTES = 1_000_000
"""Largest scenario file read: a scenario holds only what differs from its defaults."""

MAX_EXTENDS = 32
"""Longest ``extends`` chain followed."""


def read_toml(
    path: Path,
    what: str = "scenario file",
    error: type[UserError] = ScenarioError,
    max_bytes: int = MAX_SCENARIO_BYTES,
) -> dict[str, Any]:
    """The tables of a TOML file that a user names, or ``error`` saying why it cannot be read.

    Every loader of a declared file (scenarios, sweeps) reads through here, so all of them
    accept a byte-order mark, refuse what is not a regular file, a file over ``max_bytes``,
    text that is not UTF-8 and values nested too deeply, in the same words.
    """
    # A device or a pipe could block or never end: only a regular file is opened.
    input_path(path, what, error, ("file",), f"a {what} (.toml)")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {size} bytes; allowed: at most {max_bytes} bytes for a {what}")
        # utf-8-sig: editors on Windows start UTF-8 files with a byte-order mark.
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UserError:
        raise
    except RecursionError:
        raise error(f"{path}: values nested too deeply to be a {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; allowed: a TOML file saved as UTF-8") from None
    except ValueError:  # int() refuses numbers of more than 4,300 digits
        raise error(
            f"{path}: holds a number of more than 4300 digits; allowed: numbers within each "
            "key's range"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _usable_name(path: Path, what: str) -> Path:
    """``path`` made absolute, or a :class:`ScenarioError` for a name the system refuses."""
    try:
        path.exists()  # raises for a name too long or with a NUL byte
        return path.resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError(
            f"{what} {str(path)[:200]!r}: not a usable file name ({reason})"
        ) from None


def _resolve(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = _usable_name(path, "scenario file")
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError(f"{path}: circular 'extends': {cycle}")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            f"{chain[0]}: 'extends' chain longer than {MAX_EXTENDS} files (reached {path}); "
            f"allowed: at most {MAX_EXTENDS}"
        )
    data = read_toml(path)
    _anchor_map(data, path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends = {parent!r}: must be a path string")
    try:
        input_path(path.parent / parent, "scenario file", ScenarioError, ("file",), "a file")
    except ScenarioError as exc:
        raise ScenarioError(
            f"{path}: extends = {shown(parent)}: {exc}; allowed: the path of a scenario file, "
            "relative to this file"
        ) from None
    parent_path = _usable_name(path.parent / parent, f"{path}: extends =")
    try:
        base = _resolve(parent_path, (*chain, path))
    except ScenarioError as exc:
        raise ScenarioError(f"{exc} (in the parent file that {path} extends)") from None
    merged = _deep_merge(base, data)
    # A design that extends another adds its interventions to the parent's timeline.
    if isinstance(base.get("interventions"), list) and isinstance(data.get("interventions"), list):
        merged["interventions"] = base["interventions"] + data["interventions"]
    return merged


def _anchor_map(data: dict[str, Any], path: Path) -> None:
    """A ``population.map`` path in a file is relative to that file."""
    population = data.get("population")
    if isinstance(population, dict) and isinstance(population.get("map"), str):
        if population["map"] and not Path(population["map"]).is_absolute():
            # abspath, not resolve: a symbolic link keeps its own name in messages.
            population["map"] = os.path.abspath(path.parent / population["map"])


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load a scenario file, following ``extends``, and apply ``--set`` overrides.

    The scenario's name defaults to the file's stem.
    """
    path = Path(path)
    data = _resolve(path)
    data.setdefault("name", path.stem)
    scenario = Scenario.from_dict(data, str(path))
    if overrides:
        scenario = apply_overrides(scenario, overrides)
    return scenario
