"""Interventions as a scenario declares them: the schema of an ``[[interventions]]`` table.

A scenario file lists its interventions as ``[[interventions]]`` tables. Each one is *when*
plus *what*:

- **when**: ``at = t`` (applied at the start of step ``t``), optionally ``until = t2`` (in
  force during steps ``t..t2``, undone at the start of step ``t2 + 1``); or a trigger
  ``when = "trust_partners < 0.3"`` on any model outcome (:data:`sim.scenario.outcomes.OUTCOMES`),
  checked at the start of every step against the outcomes recorded at the end of the previous
  step, with ``cooldown`` (steps between two firings, default 1) and ``max_times``.
- **what** (``action``): ``form`` a partnership (``kind`` and/or ``members``), ``dissolve``
  it, ``add_member`` / ``remove_member`` (an organization id or ``"community"``), or ``set`` a
  lever (``lever = "accountability.audit_probability"``, ``value = 0.5``).

This module holds what can be checked before a run: the table's keys and their rules
(:class:`Intervention`), the trigger condition (:func:`parse_condition`) and the checks
against the rest of the scenario (:func:`check_interventions`: levers, values, members,
horizon, outcome names). The engine that fires them during a run is
:class:`sim.model.interventions.Interventions`. See ``docs/policies.md``.

Example:
    >>> i = Intervention.model_validate(
    ...     {"name": "audits", "at": 13, "action": "set",
    ...      "lever": "accountability.audit_probability", "value": 0.5})
    >>> i.at, i.lever, i.value
    (13, 'accountability.audit_probability', 0.5)
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from sim.errors import UserError, did_you_mean
from sim.scenario import maps
from sim.scenario.explain import Table, allowed, fields_of, shown
from sim.scenario.outcomes import OUTCOMES

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = [
    "ACTIONS",
    "EVENT_COLUMNS",
    "FIXED_AT_START",
    "Intervention",
    "InterventionError",
    "check_horizon",
    "check_interventions",
    "check_setting",
    "parse_condition",
    "party_ids",
    "settable_levers",
]

ACTIONS = ("form", "dissolve", "add_member", "remove_member", "set")
"""What an intervention can do."""

EVENT_COLUMNS = ("step", "intervention", "action", "target", "old", "new", "note")
"""Columns of the event log (tables add ``scenario, replicate, seed`` in front)."""

FIXED_AT_START = (
    "run.",
    "population.",
    "organizations.governments",
    "organizations.firms",
    "organizations.ngos",
    "organizations.firm_coverage",
    "organizations.ngo_coverage",
    "organizations.representatives",
    "partnership.type",
    "factors.trust",
    "capabilities.",
    "preferences.",
    "authority.",
    "requirements.",
)
"""Levers (or section prefixes) the model reads only when it is built; ``set`` refuses them.

``partnership.type`` changes through ``form``/``dissolve``; the community's seat through
``add_member``/``remove_member``; initial trust is history and cannot be decreed. The trait
tables (``capabilities``, ``preferences``, ``authority``, ``requirements``) describe who the
parties are and what services need, not a policy: they are fixed for a run.
"""

MAX_CONDITION = 200
"""Longest trigger condition read (``"METRIC OP NUMBER"`` needs far fewer characters)."""

MAX_ID = 100
"""Longest lever name or party id an intervention may give."""

_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Unambiguous (each digit can belong to one place only), so a failed match never backtracks.
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


class InterventionError(UserError):
    """An intervention that cannot be used: names the intervention, key, value and what works."""


def parse_condition(text: str) -> tuple[str, str, float]:
    """Split a trigger condition ``"metric OP number"`` (OP one of ``< <= > >=``).

    Example:
        >>> parse_condition("trust_partners < 0.3")
        ('trust_partners', '<', 0.3)
    """
    if len(text) > MAX_CONDITION:
        raise ValueError(
            f"condition {shown(text)} is {len(text)} characters long; allowed: at most "
            f"{MAX_CONDITION}, as 'METRIC OP NUMBER', e.g. 'trust_partners < 0.3'"
        )
    # Read left to right, each piece once: linear in the length of the text.
    body = text.strip()
    metric = _METRIC.match(body)
    rest = body[metric.end() :].lstrip() if metric else ""
    op = next((o for o in ("<=", ">=", "<", ">") if rest.startswith(o)), None)
    number = rest[len(op) :].strip() if op else ""
    if metric is None or op is None or not _NUMBER.fullmatch(number):
        raise ValueError(
            f"condition {shown(text)} is not 'METRIC OP NUMBER' (OP one of <, <=, >, >=), "
            "e.g. 'trust_partners < 0.3'"
        )
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"condition {shown(text)}: the threshold must be a finite number")
    return metric.group(), op, value


class Intervention(Table):
    """One ``[[interventions]]`` table: when it fires and what it does."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field(min_length=1, max_length=80, description="label used in the event log")
    description: str = Field("", max_length=2000, description="what the intervention stands for")
    action: Literal["form", "dissolve", "add_member", "remove_member", "set"] = Field(
        description="form, dissolve, add_member, remove_member or set"
    )
    at: int | None = Field(None, ge=1, description="step at whose start it is applied")
    until: int | None = Field(
        None, ge=1, description="last step it is in force; undone at the start of until + 1"
    )
    when: str | None = Field(
        None,
        max_length=MAX_CONDITION,
        description="trigger 'METRIC OP NUMBER', e.g. 'leakage > 0.3'",
    )
    cooldown: int = Field(1, ge=1, le=100_000, description="steps between two firings")
    max_times: int | None = Field(None, ge=1, description="most firings of a trigger")
    lever: str | None = Field(
        None, max_length=MAX_ID, description="for set: SECTION.KEY (or a unique KEY)"
    )
    value: bool | int | float | str | None = Field(None, description="for set: the new value")
    member: str | None = Field(
        None, max_length=MAX_ID, description="for add_member/remove_member: id or community"
    )
    kind: Literal["ppp", "psp", "pmg", "msp"] | None = Field(
        None, description="for form: partnership type (members default to the type's)"
    )
    members: list[str] | None = Field(None, max_length=1000, description="for form: party ids")

    @model_validator(mode="after")
    def _consistent(self) -> Intervention:
        if (self.at is None) == (self.when is None):
            raise ValueError("give exactly one of 'at' (a step) or 'when' (a trigger condition)")
        if self.until is not None:
            if self.at is None:
                raise ValueError("'until' needs 'at' (a window from 'at' to 'until')")
            if self.until < self.at:
                raise ValueError(f"until = {self.until} is before at = {self.at}")
            if self.action == "dissolve":
                raise ValueError("'until' cannot undo 'dissolve'; schedule a 'form' instead")
        if self.when is not None:
            parse_condition(self.when)
        elif self.max_times is not None or self.cooldown != 1:
            raise ValueError("'cooldown' and 'max_times' apply only to triggers ('when')")
        needs = {
            "set": {"lever", "value"},
            "add_member": {"member"},
            "remove_member": {"member"},
            "form": set(),
            "dissolve": set(),
        }[self.action]
        allowed = needs | ({"kind", "members"} if self.action == "form" else set())
        for key in ("lever", "value", "member", "kind", "members"):
            given = getattr(self, key) is not None
            if key in needs and not given:
                raise ValueError(f"action '{self.action}' needs '{key}'")
            if given and key not in allowed:
                raise ValueError(f"'{key}' does not apply to action '{self.action}'")
        if self.action == "form" and self.kind is None and not self.members:
            raise ValueError("action 'form' needs 'kind' (ppp, psp, pmg, msp) or 'members'")
        seen: set[str] = set()
        for member in self.members or []:
            if len(member) > MAX_ID:
                raise ValueError(f"members: {shown(member)} is longer than {MAX_ID} characters")
            if member in seen:
                raise ValueError(
                    f"members = {shown(self.members)} names {member!r} twice; each party joins once"
                )
            seen.add(member)
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("value must be a finite number (not NaN or inf)")
        return self


def settable_levers(scenario: Scenario) -> list[str]:
    """Every ``SECTION.KEY`` that ``set`` may change mid-run."""
    # Scalar levers only: a value is one number, string or boolean.
    keys = [
        f"{section}.{key}"
        for section, key, field in fields_of(type(scenario))
        if not isinstance(field.default, tuple)
    ]
    return [k for k in keys if not any(k.startswith(p) for p in FIXED_AT_START)]


def resolve_lever(name: str, scenario: Scenario) -> str:
    """The full ``SECTION.KEY`` of a lever ``set`` may change (a unique bare KEY is completed).

    Raises:
        ValueError: for an unknown lever or one read only when the model is built.
    """
    every = [f"{section}.{key}" for section, key, _ in fields_of(type(scenario))]
    if "." not in name:
        owners = [k for k in every if k.split(".")[1] == name]
        if len(owners) == 1:
            name = owners[0]
    settable = settable_levers(scenario)
    if name in settable:
        return name
    if name in every:
        raise ValueError(
            f"lever '{name}' is read only when the model is built and cannot change mid-run. "
            "Use form/dissolve for the partnership type and add_member/remove_member for the "
            f"community's seat. Settable levers: {', '.join(settable)}"
        )
    hint = did_you_mean(name, settable)
    raise ValueError(f"unknown lever '{name}'.{hint} Settable levers: {', '.join(settable)}")


def check_value(scenario: Scenario, lever: str, value: Any) -> Any:
    """``value`` validated (and coerced) for ``lever`` (``SECTION.KEY``) of ``scenario``.

    Raises:
        ValueError: naming the value, the lever and what is allowed.
    """
    section_name, key = lever.split(".")
    section = getattr(scenario, section_name)
    try:
        checked = type(section).model_validate({**section.model_dump(), key: value})
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        hint = allowed(type(section).model_fields.get(key))
        raise ValueError(f"value = {value!r} for {lever}: {msg}.{hint}") from None
    return getattr(checked, key)


def check_setting(scenario: Scenario, lever: str, value: Any) -> tuple[str, Any]:
    """The full name of ``lever`` and ``value`` as validated, for a change mid-run.

    Raises:
        ValueError: for a lever that cannot change mid-run, or a value outside its bounds.
    """
    name = resolve_lever(lever, scenario)
    return name, check_value(scenario, name, value)


def party_ids(scenario: Scenario) -> list[str]:
    """The organization ids of a scenario (from its map, if any) and ``"community"``."""
    if scenario.population.map:
        ids = [o.id for o in maps.load_map(scenario.population.map).organizations]
    else:
        o = scenario.organizations
        ids = [
            f"{kind}_{k}"
            for kind, count in (("government", o.governments), ("firm", o.firms), ("ngo", o.ngos))
            for k in range(count)
        ]
    return [*ids, "community"]


def check_horizon(scenario: Scenario, steps: int, source: str, horizon: str) -> None:
    """Refuse an intervention scheduled beyond the last step the run will make.

    Every command checks its scenarios here against the horizon it will really run (the
    scenario's ``run.steps``, a ``--steps`` option or a sweep's ``steps``), before it creates
    any folder, so that no command ignores a step another refuses.

    Args:
        scenario: the scenario.
        steps: the number of steps the run will make.
        source: what to name in front of the message (the file, the command's option).
        horizon: how the user set the horizon, e.g. ``"run.steps = 120"`` or ``"--steps 24"``.

    Raises:
        InterventionError: naming the intervention, its step and the horizon.
    """
    for i, item in enumerate(scenario.interventions):
        for key in ("at", "until"):
            step = getattr(item, key)
            if step is not None and step > steps:
                raise InterventionError(
                    f"{source}: interventions[{i + 1}] '{item.name}': {key} = {step} is beyond "
                    f"the run's horizon ({horizon}); allowed: a step from 1 to {steps}"
                )


def check_interventions(scenario: Scenario, source: str) -> Scenario:
    """Check the interventions against the scenario: names, levers, values, members, horizon.

    Returns the scenario with each ``set`` lever written in full (``SECTION.KEY``) and its
    value coerced to the lever's type. Raises :class:`InterventionError`.
    """
    seen: set[str] = set()
    check_horizon(scenario, scenario.run.steps, source, f"run.steps = {scenario.run.steps}")
    parties: list[str] | None = None
    fixed = []
    for i, item in enumerate(scenario.interventions):
        where = f"{source}: interventions[{i + 1}] '{item.name}'"
        if item.name in seen:
            raise InterventionError(f"{where}: name used twice; give each intervention its own")
        seen.add(item.name)
        if item.when is not None:
            metric = parse_condition(item.when)[0]
            if metric not in OUTCOMES:
                hint = did_you_mean(metric, OUTCOMES)
                raise InterventionError(
                    f"{where}: when = {shown(item.when)}: unknown metric '{metric}'.{hint} "
                    f"Allowed: {', '.join(OUTCOMES)}"
                )
        update: dict[str, Any] = {}
        if item.action == "set":
            try:
                lever, value = check_setting(scenario, item.lever, item.value)
                update = {"lever": lever, "value": value}
            except ValueError as exc:
                raise InterventionError(f"{where}: lever = {shown(item.lever)}: {exc}") from None
        names = [item.member] if item.member else list(item.members or [])
        if names:
            parties = parties if parties is not None else party_ids(scenario)
            for name in names:
                if name not in parties:
                    hint = did_you_mean(name, parties)
                    raise InterventionError(
                        f"{where}: member {shown(name)} is not a party of this scenario.{hint} "
                        f"Allowed: {', '.join(parties)}"
                    )
        fixed.append(item.model_copy(update=update) if update else item)
    if any(a is not b for a, b in zip(fixed, scenario.interventions, strict=True)):
        scenario = scenario.model_copy(update={"interventions": fixed})
    return scenario
