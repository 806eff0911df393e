"""Stakeholder maps: a district's own organizations, villages and ties, read from files.

A map is either a folder holding three CSV files or one GraphML file.

CSV folder:

- ``villages.csv``: ``id, households`` (optional ``name``), one row per village, in the order
  households are laid out;
- ``nodes.csv``: ``id, type`` (``government``, ``firm`` or ``ngo``), optional ``budget`` (per
  household per step, as ``organizations.budget_<type>``; empty = the scenario's) and ``name``;
- ``edges.csv`` (optional): ``source, target`` and optional ``trust``, ``trust_back`` and
  ``communication``. A tie between two organizations carries ``trust`` (the source's initial
  trust in the target, in [0, 1]), ``trust_back`` (the target's in the source; default: the
  same) and ``communication`` (channel quality; default: drawn from ``factors.communication``).
  A tie from an organization to a village says the organization works there.

GraphML file: nodes with a ``type`` attribute (``government``, ``firm``, ``ngo`` or
``village``; villages also ``households``, organizations optionally ``budget``) and edges
with the same attributes as ``edges.csv``. ``trust_back`` needs a directed graph, since an
undirected one does not say which end is the source.

What the map does not list keeps the scenario's rules: ties between organizations not in the
map start from ``factors.trust`` as usual, and an organization with no village ties works in
a random share of villages (``organizations.firm_coverage`` and so on; the government in all).
The map fixes ``population.households``, ``population.villages`` and the number of
organizations of each type, whatever the scenario says.

Every file is checked before any run: unknown types or columns, duplicate ids, ties to ids that
do not exist, trust outside [0, 1], missing or non-numeric values and files that are too large
raise :class:`MapError` naming the file, the row or key, the value and what is allowed.

Example:
    >>> m = load_map("scenarios/maps/example")  # doctest: +SKIP
    >>> len(m.villages), [o.kind for o in m.organizations][:2]  # doctest: +SKIP
    (6, ['government', 'government'])
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from sim.errors import UserError, did_you_mean
from sim.scenario.explain import shown
from sim.scenario.inputs import input_path, kind_of

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = [
    "LIMITS",
    "ORGANIZATION_TYPES",
    "MapError",
    "StakeholderMap",
    "fingerprint",
    "for_scenario",
    "load_map",
    "organization_id",
    "village_of_households",
]

ORGANIZATION_TYPES = ("government", "firm", "ngo")
"""Types an organization may have (the model's three organization kinds)."""

LIMITS = {
    "file_bytes": 20_000_000,
    "villages": 10_000,
    "organizations": {"government": 50, "firm": 200, "ngo": 200},
    "edges": 200_000,
    "households": 20_000_000,
}
"""Bounds on a map's size (the organization counts are the scenario schema's bounds)."""

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_COLUMNS = {
    "villages.csv": ({"id", "households"}, {"name"}),
    "nodes.csv": ({"id", "type"}, {"budget", "name"}),
    "edges.csv": ({"source", "target"}, {"trust", "trust_back", "communication"}),
}


class MapError(UserError):
    """A stakeholder map that cannot be used: names the file, row or key, value and rule."""


@dataclass(frozen=True)
class MapOrganization:
    """An organization of the map: id, type and optional budget per household per step."""

    id: str
    kind: str
    budget: float | None = None


@dataclass(frozen=True)
class MapVillage:
    """A village of the map and its number of households."""

    id: str
    households: int


@dataclass(frozen=True)
class MapTie:
    """A tie between two organizations with optional initial trust and channel quality."""

    source: str
    target: str
    trust: float | None = None
    trust_back: float | None = None
    communication: float | None = None


@dataclass(frozen=True)
class StakeholderMap:
    """A validated map: organizations, villages, ties and where each organization works."""

    path: str
    organizations: tuple[MapOrganization, ...]
    villages: tuple[MapVillage, ...]
    ties: tuple[MapTie, ...]
    serves: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def households(self) -> int:
        """Total households over all villages."""
        return sum(v.households for v in self.villages)

    def count(self, kind: str) -> int:
        """Number of organizations of a type."""
        return sum(o.kind == kind for o in self.organizations)


# ---------------------------------------------------------------------------- reading
def _kind(path: Path) -> str:
    """What is at ``path``, or ``"unusable"`` for a name the system refuses."""
    try:
        return kind_of(path)
    except (OSError, ValueError):
        return "unusable"


def load_map(path: str | Path) -> StakeholderMap:
    """Read and validate a map (a folder of CSVs or a ``.graphml`` file); cached per file state."""
    path = Path(path)
    expected = "a folder of CSVs or a .graphml file"
    if _kind(path) == "missing":
        raise MapError(f"{path}: stakeholder map not found (expected {expected})")
    input_path(path, "stakeholder map", MapError, ("file", "folder"), expected)
    files = [path / n for n in _COLUMNS] if path.is_dir() else [path]
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.is_file())
    return _load_cached(str(path.resolve()), stamp)


@lru_cache(maxsize=32)
def _load_cached(path: str, stamp: tuple) -> StakeholderMap:
    p = Path(path)
    if p.is_dir():
        nodes, villages, edges = _read_csv_folder(p)
    elif p.suffix.lower() == ".graphml":
        nodes, villages, edges = _read_graphml(p)
    else:
        raise MapError(
            f"{p}: not a map; expected a folder with nodes.csv, villages.csv and "
            "edges.csv, or a .graphml file"
        )
    return _validate(p, nodes, villages, edges)


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > LIMITS["file_bytes"]:
        raise MapError(
            f"{path}: {size} bytes is too large for a stakeholder map; allowed: at most "
            f"{LIMITS['file_bytes']} bytes"
        )


def _read_csv(path: Path, required: bool = True) -> list[tuple[str, dict[str, str]]]:
    """Rows as (``file row N``, {column: text}); checks the header against the allowed columns."""
    if _kind(path) == "missing":
        if required:
            raise MapError(f"{path}: file not found; a map folder needs {path.name}")
        return []
    input_path(path, "map file", MapError, ("file",), f"a CSV file ({path.name})")
    _check_size(path)
    need, optional = _COLUMNS[path.name]
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            if not header:
                raise MapError(
                    f"{path}: empty file; expected a header row with {', '.join(sorted(need))}"
                )
            missing = need - set(header)
            if missing:
                raise MapError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                    f"columns: {', '.join(sorted(need | optional))}"
                )
            unknown = [h for h in header if h not in need | optional]
            if unknown:
                hint = did_you_mean(unknown[0], sorted(need | optional))
                raise MapError(
                    f"{path}: unknown column '{unknown[0]}'.{hint} Allowed: "
                    f"{', '.join(sorted(need | optional))}"
                )
            reader.fieldnames = header
            rows = []
            most = _max_rows(path.name)
            for row in reader:
                if len(rows) == most:
                    # Bounded while reading: a 20 MB file of tiny rows would otherwise become
                    # millions of dictionaries (gigabytes) before the counts are checked.
                    raise MapError(
                        f"{path} row {reader.line_num}: more than {most} rows; allowed: at "
                        f"most {most} rows in {path.name} (see maps.LIMITS)"
                    )
                if None in row:
                    raise MapError(f"{path} row {reader.line_num}: more values than columns")
                if all((v or "").strip() == "" for v in row.values()):
                    continue
                rows.append(
                    (
                        f"{path} row {reader.line_num}",
                        {k: (v or "").strip() for k, v in row.items()},
                    )
                )
    except UnicodeDecodeError:
        raise MapError(f"{path}: not a UTF-8 text file (expected CSV)") from None
    except csv.Error as exc:
        raise MapError(f"{path}: not valid CSV ({exc})") from None
    return rows


def _max_rows(name: str) -> int:
    """The most data rows ``name`` may hold (the map's limits on villages, organizations, ties)."""
    if name == "villages.csv":
        return LIMITS["villages"]
    if name == "nodes.csv":
        return sum(LIMITS["organizations"].values())
    return LIMITS["edges"]


def _read_csv_folder(path: Path):
    villages = _read_csv(path / "villages.csv")
    nodes = _read_csv(path / "nodes.csv")
    edges = _read_csv(path / "edges.csv", required=False)
    return nodes, villages, edges


def _read_graphml(path: Path):
    input_path(path, "stakeholder map", MapError, ("file",), "a .graphml file")
    _check_size(path)
    try:
        g = nx.read_graphml(path)
    except Exception as exc:  # networkx raises several types for malformed XML
        raise MapError(f"{path}: not a readable GraphML file ({exc})") from None
    nodes, villages, edges = [], [], []
    for node, data in g.nodes(data=True):
        where = f"{path} node '{node}'"
        row = {k: _text(v) for k, v in data.items()}
        row["id"] = str(node)
        if row.get("type", "") == "village":
            row.pop("type")
            _only(where, row, _COLUMNS["villages.csv"])
            villages.append((where, row))
        else:
            _only(where, row, _COLUMNS["nodes.csv"])
            nodes.append((where, row))
    for u, v, data in g.edges(data=True):
        where = f"{path} edge '{u}' -> '{v}'"
        row = {k: _text(x) for k, x in data.items() if k != "id"}
        if not g.is_directed() and row.get("trust_back", "") != "":
            raise MapError(
                f"{where}: trust_back needs a directed graph (edgedefault="
                '"directed"); in an undirected one the source is not defined'
            )
        row.update(source=str(u), target=str(v))
        _only(where, row, _COLUMNS["edges.csv"])
        edges.append((where, row))
    return nodes, villages, edges


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _only(where: str, row: dict[str, str], columns: tuple[set[str], set[str]]) -> None:
    need, optional = columns
    allowed = need | optional | ({"type"} if "type" in need else set())
    for key in row:
        if key not in allowed and key not in ("id", "source", "target"):
            raise MapError(
                f"{where}: unknown attribute '{key}'.{did_you_mean(key, sorted(allowed))} "
                f"Allowed: {', '.join(sorted(allowed))}"
            )


# ---------------------------------------------------------------------------- validation
def _number(where: str, key: str, text: str, *, lo: float, hi: float, default=None) -> float:
    if text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise MapError(
            f"{where}: {key} = {shown(text)} is not a number; allowed: a number from {lo} to {hi}"
        ) from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise MapError(
            f"{where}: {key} = {shown(text)} is out of range; allowed: a number from {lo} to {hi}"
        )
    return value


def _identifier(where: str, key: str, text: str) -> str:
    if text == "community":
        raise MapError(
            f"{where}: {key} = 'community' is reserved for the community's seat in a "
            "partnership; choose another id"
        )
    if not _ID.match(text):
        raise MapError(
            f"{where}: {key} = {shown(text)} is not a valid id; allowed: 1 to 64 letters, "
            "digits, '_', '.', ':' or '-'"
        )
    return text


def _validate(path: Path, nodes, villages, edges) -> StakeholderMap:
    if not villages:
        raise MapError(f"{path}: no villages; a map needs at least one village with households")
    if not nodes:
        raise MapError(f"{path}: no organizations; a map needs at least one organization")
    if len(villages) > LIMITS["villages"]:
        raise MapError(f"{path}: {len(villages)} villages; allowed: at most {LIMITS['villages']}")
    if len(edges) > LIMITS["edges"]:
        raise MapError(f"{path}: {len(edges)} ties; allowed: at most {LIMITS['edges']}")
    seen: dict[str, str] = {}

    def unique(where: str, ident: str) -> None:
        if ident in seen:
            raise MapError(
                f"{where}: id = {ident!r} is a duplicate (first at {seen[ident]}); "
                "ids must be unique across organizations and villages"
            )
        seen[ident] = where

    vs = []
    for where, row in villages:
        ident = _identifier(where, "id", row["id"])
        unique(where, ident)
        text = row.get("households", "")
        # At most 9 digits before int(): a count is never longer, and int() of thousands of
        # digits is slow (and refused beyond 4,300).
        if not re.fullmatch(r"\d{1,9}", text) or not 1 <= int(text) <= LIMITS["households"]:
            raise MapError(
                f"{where}: households = {shown(text)}; allowed: a whole number from 1 to "
                f"{LIMITS['households']}"
            )
        vs.append(MapVillage(ident, int(text)))
    total = sum(v.households for v in vs)
    if not 2 <= total <= LIMITS["households"]:
        raise MapError(f"{path}: {total} households in all; allowed: 2 to {LIMITS['households']}")
    orgs = []
    for where, row in nodes:
        ident = _identifier(where, "id", row["id"])
        unique(where, ident)
        kind = row.get("type", "")
        if kind not in ORGANIZATION_TYPES:
            raise MapError(
                f"{where}: type = {shown(kind)} is unknown.{did_you_mean(kind, ORGANIZATION_TYPES)}"
                f" Allowed: {', '.join(ORGANIZATION_TYPES)}"
            )
        budget = _number(where, "budget", row.get("budget", ""), lo=0.0, hi=1e6)
        orgs.append(MapOrganization(ident, kind, budget))
    for kind, most in LIMITS["organizations"].items():
        count = sum(o.kind == kind for o in orgs)
        if count > most:
            raise MapError(f"{path}: {count} organizations of type {kind}; allowed: at most {most}")
    # Organizations in the model's fixed order: governments, firms, NGOs, each in file order.
    orgs.sort(key=lambda o: ORGANIZATION_TYPES.index(o.kind))
    org_ids = {o.id for o in orgs}
    village_index = {v.id: i for i, v in enumerate(vs)}
    ties, serves, pairs = [], {}, set()
    for where, row in edges:
        a, b = row["source"], row["target"]
        for key, end in (("source", a), ("target", b)):
            if end not in org_ids and end not in village_index:
                options = sorted(org_ids | set(village_index))
                raise MapError(
                    f"{where}: {key} = {shown(end)} is not an organization or village of "
                    f"the map.{did_you_mean(end, options)} Known ids: {', '.join(options[:30])}"
                    + (" ..." if len(options) > 30 else "")
                )
        if a == b:
            raise MapError(f"{where}: a tie from {a!r} to itself; ties join two different ids")
        if a in village_index and b in village_index:
            raise MapError(
                f"{where}: a tie between two villages ({a!r}, {b!r}); allowed: "
                "organization-organization or organization-village ties"
            )
        pair = frozenset((a, b))
        if pair in pairs:
            raise MapError(f"{where}: the tie between {a!r} and {b!r} is listed twice")
        pairs.add(pair)
        values = {
            k: _number(where, k, row.get(k, ""), lo=0.0, hi=1.0)
            for k in ("trust", "trust_back", "communication")
        }
        if a in village_index or b in village_index:
            given = [k for k, v in values.items() if v is not None]
            if given:
                raise MapError(
                    f"{where}: {given[0]} is set on a tie between an organization "
                    "and a village; trust and communication belong to ties between "
                    "organizations (leave them empty here)"
                )
            org, village = (a, b) if a in org_ids else (b, a)
            serves.setdefault(org, []).append(village_index[village])
            continue
        if values["trust_back"] is not None and values["trust"] is None:
            raise MapError(
                f"{where}: trust_back is set but trust is empty; give both or trust only"
            )
        back = values["trust_back"] if values["trust_back"] is not None else values["trust"]
        ties.append(MapTie(a, b, values["trust"], back, values["communication"]))
    return StakeholderMap(
        path=str(path),
        organizations=tuple(orgs),
        villages=tuple(vs),
        ties=tuple(ties),
        serves={k: tuple(sorted(v)) for k, v in serves.items()},
    )


def fingerprint(path: str | Path) -> dict[str, str]:
    """SHA-256 of each file of a map, for manifests (a map folder may change after a run)."""
    path = Path(path)
    files = [path / n for n in _COLUMNS if (path / n).exists()] if path.is_dir() else [path]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


# ---------------------------------------------------------------------------- using a map
def for_scenario(scenario: Scenario) -> tuple[Scenario, StakeholderMap | None]:
    """The scenario with the map's villages, households and organization counts, and the map.

    Without ``population.map`` the scenario comes back unchanged with ``None``.
    """
    if not scenario.population.map:
        return scenario, None
    smap = load_map(scenario.population.map)
    population = type(scenario.population).model_validate(
        {
            **scenario.population.model_dump(),
            "households": smap.households,
            "villages": len(smap.villages),
        }
    )
    organizations = type(scenario.organizations).model_validate(
        {
            **scenario.organizations.model_dump(),
            "governments": smap.count("government"),
            "firms": smap.count("firm"),
            "ngos": smap.count("ngo"),
        }
    )
    fitted = scenario.model_copy(update={"population": population, "organizations": organizations})
    return fitted, smap


def village_of_households(smap: StakeholderMap) -> np.ndarray:
    """Each household's village on the map: contiguous blocks of the map's village sizes."""
    sizes = [v.households for v in smap.villages]
    return np.repeat(np.arange(len(sizes)), sizes)


def organization_id(smap: StakeholderMap | None, kind: str, k: int) -> str:
    """The node id of the ``k``-th organization of ``kind``: ``kind_k``, or the map's id."""
    if smap is None:
        return f"{kind}_{k}"
    return [o.id for o in smap.organizations if o.kind == kind][k]
