"""The parties' trait tables as levers: capabilities, preferences, authority, service requirements.

Every entry of the four tables is a lever of its own (a number with a range, a meaning and a
source), so a scenario file, ``--set`` and a sweep's sensitivity analysis reach each one:

.. code-block:: toml

    [capabilities]          # PARTY_CAPABILITY, in [0, 1]
    firm_technical = 0.6
    [preferences]           # ORGANIZATION_SERVICE, weights (each party's row is normalized)
    ngo_participation = 0.5
    [authority]             # PARTY, formal authority in decisions
    community = 0.3
    [requirements]          # SERVICE_CAPABILITY, Cobb–Douglas exponents (rows normalized)
    health_local_knowledge = 0.3

The vocabularies (:data:`CAPABILITIES`, :data:`SERVICES`, :data:`PARTIES`) live here, on the
scenario floor, because the levers are named after them; :mod:`sim.mechanisms.partnership`
re-exports them. The defaults are the tables of ``docs/ODD.md`` (2.2, 2.3 and 7.6).

Example:
    >>> CapabilitiesSection().table()["firm"]
    (0.9, 0.8, 0.1, 0.2, 0.1)
    >>> [round(v, 3) for v in RequirementsSection(health_finance=0.6).matrix()[0]]  # normalized
    [0.462, 0.231, 0.154, 0.0, 0.154]
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, Field, create_model, model_validator

from sim.scenario.explain import Table

__all__ = [
    "CAPABILITIES",
    "ORGANIZATION_KINDS",
    "PARTIES",
    "SERVICES",
    "AuthoritySection",
    "CapabilitiesSection",
    "PreferencesSection",
    "RequirementsSection",
]

CAPABILITIES = ("finance", "technical", "authority", "facilitation", "local_knowledge")
"""What a party can bring to joint delivery (Bryson, Crosby & Stone 2006: cross-sector
collaborations form because each sector holds capabilities the others lack)."""

SERVICES = ("health", "education", "infrastructure", "training", "participation")
"""What a programme delivers: three access services, training (capacity) and participation in
decisions (empowerment), the essay's impact dimensions."""

ORGANIZATION_KINDS = ("government", "firm", "ngo")
"""The kinds of organization, in the order the model builds them."""

PARTIES = (*ORGANIZATION_KINDS, "community")
"""Every kind of party to a partnership: the organizations and the community."""

_CAPABILITIES = {
    "government": (0.5, 0.5, 0.9, 0.3, 0.3),
    "firm": (0.9, 0.8, 0.1, 0.2, 0.1),
    "ngo": (0.3, 0.3, 0.1, 0.9, 0.6),
    "community": (0.05, 0.2, 0.1, 0.3, 0.9),
}
_CAPABILITY_WHY = {
    "government": "a district agency: authority, some finance and technical staff",
    "firm": "a firm: finance and technical know-how",
    "ngo": "an NGO: facilitation and local knowledge",
    "community": "the community brings little money but local knowledge (Ostrom 1996, "
    "World Dev. 24:1073, co-production)",
}
_PREFERENCES = {
    "government": (0.3, 0.3, 0.3, 0.1, 0.0),
    "firm": (0.1, 0.1, 0.5, 0.3, 0.0),
    "ngo": (0.2, 0.2, 0.0, 0.3, 0.3),
}
_PREFERENCE_WHY = {
    "government": "a public-service mandate: health, education, infrastructure",
    "firm": "infrastructure and a trained workforce (its social licence to operate)",
    "ngo": "capacity and empowerment",
}
_CONSTANT = ("community_finance", "community_technical", "community_authority")
"""Capability entries that are constants, not levers: under the shipped best-member pooling a
partnership's capability is its best member's, and every member the community can join is
better than it in finance and technical, in every partnership type, over its whole plausible
range (half to one and a half times these values); where members' capabilities are
complements (substitutability <= 0) every member leaves after ``exit_patience`` months in
every run. So they moved nothing (docs/levers.md) and were removed as levers. The
community's authority as a capability (0.1) could be the best member's only in psp, against
firms at 0.1 each with their own noise; there its range 0.05-0.15 moved services delivered by
+0.0006 [-0.0002, +0.0013] (materiality 0.0025) and welfare by +0.0002 (full size, 6
replicates): authority is a small requirement of every service (exponents 0-0.2). It acts on
nothing else (the community's decision power is the separate lever ``authority.community``),
so it was removed as a lever too."""
_AUTHORITY = {"government": 1.0, "firm": 0.3, "ngo": 0.2, "community": 0.1}
_REQUIREMENTS = {
    # finance technical authority facilitation local_knowledge
    "health": (0.3, 0.3, 0.2, 0.0, 0.2),
    "education": (0.3, 0.2, 0.2, 0.1, 0.2),
    "infrastructure": (0.4, 0.4, 0.1, 0.0, 0.1),
    "training": (0.2, 0.2, 0.0, 0.4, 0.2),
    "participation": (0.0, 0.0, 0.2, 0.4, 0.4),
}
_NOISE = {
    k: " (each one draws its own around it: normal noise, sd 0.05, clipped to [0.01, 0.99])"
    for k in ORGANIZATION_KINDS
}
_ASSUMED = "calibration assumption (docs/ODD.md 2.2, 2.3 and 7.6)"


class _TraitTable(Table):
    """A table of traits: rows (parties or services) by columns, one lever per entry."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
    ROWS: ClassVar[tuple[str, ...]] = ()
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    FIXED: ClassVar[dict[str, float]] = {}
    """Entries that are constants, not levers (``row_column``: value), and why in the ODD."""

    def row(self, name: str) -> tuple[float, ...]:
        """One row of the table, in the order of ``COLUMNS``."""
        keys = (f"{name}_{c}" for c in self.COLUMNS)
        return tuple(self.FIXED[k] if k in self.FIXED else getattr(self, k) for k in keys)

    def table(self) -> dict[str, tuple[float, ...]]:
        """Every row, by name."""
        return {r: self.row(r) for r in self.ROWS}

    def _no_empty_row(self, what: str) -> None:
        for r in self.ROWS:
            if not any(self.row(r)):
                keys = ", ".join(f"{r}_{c}" for c in self.COLUMNS)
                raise ValueError(
                    f"every {what} of {r} is 0 ({keys}); allowed: at least one positive "
                    "entry per row (a row is normalized to sum 1)"
                )


def _table(
    name: str,
    doc: str,
    rows: tuple[str, ...],
    columns: tuple[str, ...],
    values: dict[str, tuple[float, ...]],
    meaning: str,
    why: dict[str, str],
    upper: float,
    base: type[_TraitTable],
    fixed: tuple[str, ...] = (),
) -> type[_TraitTable]:
    fields: dict[str, Any] = {
        f"{r}_{c}": (
            float,
            Field(
                values[r][j],
                description=meaning.format(row=r, column=c, noise=_NOISE.get(r, "")),
                json_schema_extra={"source": why.get(r, _ASSUMED)},
                ge=0.0,
                le=upper,
            ),
        )
        for r in rows
        for j, c in enumerate(columns)
        if f"{r}_{c}" not in fixed
    }
    cls = create_model(name, __base__=base, __doc__=doc, **fields)
    cls.ROWS, cls.COLUMNS = rows, columns
    cls.FIXED = {f"{r}_{c}": values[r][j] for r in rows for j, c in enumerate(columns)}
    cls.FIXED = {k: v for k, v in cls.FIXED.items() if k in fixed}
    return cls


class _Weights(_TraitTable):
    """A table whose rows are weights normalized to sum 1: a row of zeros means nothing."""

    WHAT: ClassVar[str] = "entry"

    @model_validator(mode="after")
    def _rows_mean_something(self) -> _Weights:
        self._no_empty_row(self.WHAT)
        return self

    def matrix(self) -> tuple[tuple[float, ...], ...]:
        """The rows normalized to sum 1, in the order of ``ROWS``."""
        return tuple(tuple(v / sum(row) for v in row) for row in map(self.row, self.ROWS))


class _Preferences(_Weights):
    WHAT: ClassVar[str] = "preference"


class _Requirements(_Weights):
    WHAT: ClassVar[str] = "requirement"


CapabilitiesSection = _table(
    "CapabilitiesSection",
    "Each party's capabilities, by capability (organizations draw theirs around these).",
    PARTIES,
    CAPABILITIES,
    _CAPABILITIES,
    "{row}'s capability in {column}{noise}",
    {k: f"calibration assumption: {v}" for k, v in _CAPABILITY_WHY.items()}
    | {"community": _CAPABILITY_WHY["community"]},
    1.0,
    _TraitTable,
    fixed=_CONSTANT,
)
PreferencesSection = _table(
    "PreferencesSection",
    "Each kind of organization's wishes over services (weights; the community's follow its "
    "households' unmet needs).",
    ORGANIZATION_KINDS,
    SERVICES,
    _PREFERENCES,
    "{row}'s wish for {column} (a weight; each organization's row is normalized to sum 1 "
    "after ±20% noise)",
    {k: f"calibration assumption: {v}" for k, v in _PREFERENCE_WHY.items()},
    1.0,
    _Preferences,
)
RequirementsSection = _table(
    "RequirementsSection",
    "How much each service needs of each capability: Cobb–Douglas exponents (rows normalized "
    "to sum 1, constant returns).",
    SERVICES,
    CAPABILITIES,
    _REQUIREMENTS,
    "exponent of {column} in the effectiveness of {row} (each service's row is normalized "
    "to sum 1)",
    {},
    1.0,
    _Requirements,
)


class AuthoritySection(Table):
    """Each party's formal authority, a source of decision power (Purdy 2012, PAR 72:409)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    government: float = Field(
        _AUTHORITY["government"],
        description="a government agency's formal authority (relative to the others')",
        json_schema_extra={"source": "calibration assumption: the state holds office"},
        ge=0.0,
        le=100.0,
    )
    firm: float = Field(
        _AUTHORITY["firm"],
        description="a firm's formal authority",
        json_schema_extra={"source": _ASSUMED},
        ge=0.0,
        le=100.0,
    )
    ngo: float = Field(
        _AUTHORITY["ngo"],
        description="an NGO's formal authority",
        json_schema_extra={"source": _ASSUMED},
        ge=0.0,
        le=100.0,
    )
    community: float = Field(
        _AUTHORITY["community"],
        description="the community's formal authority in a partnership",
        json_schema_extra={"source": "calibration assumption: a party without office"},
        ge=0.0,
        le=100.0,
    )
