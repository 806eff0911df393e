"""Interventions: a policy design's timeline of actions, scheduled or triggered, and their log.

A scenario file lists its interventions as ``[[interventions]]`` tables. Each one is *when*
plus *what*:

- **when**: ``at = t`` (applied at the start of step ``t``), optionally ``until = t2`` (in
  force during steps ``t..t2``, undone at the start of step ``t2 + 1``); or a trigger
  ``when = "trust_partners < 0.3"`` on any model outcome (:data:`sim.model.OUTCOMES`),
  checked at the start of every step against the outcomes recorded at the end of the previous
  step, with ``cooldown`` (steps between two firings, default 1) and ``max_times``.
- **what** (``action``): ``form`` a partnership (``kind`` and/or ``members``), ``dissolve``
  it, ``add_member`` / ``remove_member`` (an organization id or ``"community"``), or ``set`` a
  lever (``lever = "accountability.audit_probability"``, ``value = 0.5``).

Every firing is written to the model's event log (:attr:`Interventions.events`): step,
intervention, action, target, old value, new value and a note (``skipped: ...`` when the action
could not apply, e.g. adding a member when no partnership is active).

The model calls :meth:`Interventions.apply` once per step, as phase 0 (``intervene``) before
any other phase, so a change made at step ``t`` acts on every phase of step ``t``. Levers the
model reads only when it is built (population, organization counts, the initial trust) cannot
be set mid-run; the two that matter to planners and are read at set-up are re-applied here:
``factors.communication`` shifts every tie's channel quality by the change, and
``organizations.budget_*`` resets the budget of every organization of that kind. See
``docs/policies.md``.

Example:
    >>> i = Intervention.model_validate(
    ...     {"name": "audits", "at": 13, "action": "set",
    ...      "lever": "accountability.audit_probability", "value": 0.5})
    >>> i.at, i.lever, i.value
    (13, 'accountability.audit_probability', 0.5)
"""

from __future__ import annotations

import math
import operator
import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import UserError, did_you_mean

if TYPE_CHECKING:
    from sim.model.model import PartnershipModel
    from sim.scenario.schema import Scenario

__all__ = [
    "ACTIONS",
    "EVENT_COLUMNS",
    "FIXED_AT_START",
    "Intervention",
    "InterventionError",
    "Interventions",
    "check_interventions",
    "parse_condition",
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
)
"""Levers (or section prefixes) the model reads only when it is built; ``set`` refuses them.

``partnership.type`` changes through ``form``/``dissolve``; the community's seat through
``add_member``/``remove_member``; initial trust is history and cannot be decreed.
"""

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_BUDGETS = {
    "organizations.budget_government": "government",
    "organizations.budget_firm": "firm",
    "organizations.budget_ngo": "ngo",
}


class InterventionError(UserError):
    """An intervention that cannot be used: names the intervention, key, value and what works."""


def parse_condition(text: str) -> tuple[str, str, float]:
    """Split a trigger condition ``"metric OP number"`` (OP one of ``< <= > >=``).

    Example:
        >>> parse_condition("trust_partners < 0.3")
        ('trust_partners', '<', 0.3)
    """
    match = _CONDITION.match(text)
    if not match:
        raise ValueError(
            f"condition {text!r} is not 'METRIC OP NUMBER' (OP one of <, <=, >, >=), "
            "e.g. 'trust_partners < 0.3'"
        )
    metric, op, number = match.groups()
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"condition {text!r}: the threshold must be a finite number")
    return metric, op, value


class Intervention(BaseModel):
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
    when: str | None = Field(None, description="trigger 'METRIC OP NUMBER', e.g. 'leakage > 0.3'")
    cooldown: int = Field(1, ge=1, le=100_000, description="steps between two firings")
    max_times: int | None = Field(None, ge=1, description="most firings of a trigger")
    lever: str | None = Field(None, description="for set: SECTION.KEY (or a unique KEY)")
    value: bool | int | float | str | None = Field(None, description="for set: the new value")
    member: str | None = Field(None, description="for add_member/remove_member: id or community")
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
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("value must be a finite number (not NaN or inf)")
        return self


def settable_levers(scenario: Scenario) -> list[str]:
    """Every ``SECTION.KEY`` that ``set`` may change mid-run."""
    from sim.scenario.schema import lever_table

    # Scalar levers only: a value is one number, string or boolean.
    keys = [
        f"{r['section']}.{r['key']}" for r in lever_table() if not isinstance(r["default"], tuple)
    ]
    return [k for k in keys if not any(k.startswith(p) for p in FIXED_AT_START)]


def _resolve_lever(name: str, scenario: Scenario) -> str:
    from sim.scenario.schema import lever_table

    every = [f"{r['section']}.{r['key']}" for r in lever_table()]
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


def _check_value(scenario: Scenario, lever: str, value: Any) -> Any:
    from sim.scenario.schema import _allowed

    section_name, key = lever.split(".")
    section = getattr(scenario, section_name)
    try:
        checked = type(section).model_validate({**section.model_dump(), key: value})
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
        allowed = _allowed([section_name, key])
        raise ValueError(f"value = {value!r} for {lever}: {msg}.{allowed}") from None
    return getattr(checked, key)


def party_ids(scenario: Scenario) -> list[str]:
    """The organization ids of a scenario (from its map, if any) and ``"community"``."""
    if scenario.population.map:
        from sim.scenario import maps

        ids = [o.id for o in maps.load_map(scenario.population.map).organizations]
    else:
        o = scenario.organizations
        ids = [
            f"{kind}_{k}"
            for kind, count in (("government", o.governments), ("firm", o.firms), ("ngo", o.ngos))
            for k in range(count)
        ]
    return [*ids, "community"]


def check_interventions(scenario: Scenario, source: str) -> Scenario:
    """Check the interventions against the scenario: names, levers, values, members, horizon.

    Returns the scenario with each ``set`` lever written in full (``SECTION.KEY``) and its
    value coerced to the lever's type. Raises :class:`InterventionError`.
    """
    seen: set[str] = set()
    horizon = scenario.run.steps
    parties: list[str] | None = None
    fixed = []
    for i, item in enumerate(scenario.interventions):
        where = f"{source}: interventions[{i + 1}] '{item.name}'"
        if item.name in seen:
            raise InterventionError(f"{where}: name used twice; give each intervention its own")
        seen.add(item.name)
        for key in ("at", "until"):
            step = getattr(item, key)
            if step is not None and step > horizon:
                raise InterventionError(
                    f"{where}: {key} = {step} is beyond the run's horizon (run.steps = "
                    f"{horizon}); allowed: a step from 1 to {horizon}"
                )
        if item.when is not None:
            from sim.model.model import OUTCOMES

            metric = parse_condition(item.when)[0]
            if metric not in OUTCOMES:
                hint = did_you_mean(metric, OUTCOMES)
                raise InterventionError(
                    f"{where}: when = {item.when!r}: unknown metric '{metric}'.{hint} "
                    f"Allowed: {', '.join(OUTCOMES)}"
                )
        update: dict[str, Any] = {}
        if item.action == "set":
            try:
                lever = _resolve_lever(item.lever, scenario)
                update = {"lever": lever, "value": _check_value(scenario, lever, item.value)}
            except ValueError as exc:
                raise InterventionError(f"{where}: lever = {item.lever!r}: {exc}") from None
        names = [item.member] if item.member else list(item.members or [])
        if names:
            parties = parties if parties is not None else party_ids(scenario)
            for name in names:
                if name not in parties:
                    hint = did_you_mean(name, parties)
                    raise InterventionError(
                        f"{where}: member {name!r} is not a party of this scenario.{hint} "
                        f"Allowed: {', '.join(parties)}"
                    )
        fixed.append(item.model_copy(update=update) if update else item)
    if any(a is not b for a, b in zip(fixed, scenario.interventions, strict=True)):
        scenario = scenario.model_copy(update={"interventions": fixed})
    return scenario


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


class Interventions:
    """The interventions of one model run: fires them and keeps the event log.

    Args:
        model: the model; its scenario is copied so that changing levers never touches a
            scenario shared with other runs.
    """

    def __init__(self, model: PartnershipModel) -> None:
        self.model = model
        if model.scenario.interventions:
            # Scenarios built directly (not through from_dict) get the same checks here.
            model.scenario = check_interventions(
                model.scenario, f"scenario {model.scenario.name!r}"
            )
        self.items: list[Intervention] = list(model.scenario.interventions)
        self.events: list[dict[str, Any]] = []
        self._fired: dict[str, list[int]] = {i.name: [] for i in self.items}
        self._undo: dict[int, list[tuple[Intervention, Any]]] = {}
        self._conditions = {
            i.name: parse_condition(i.when) for i in self.items if i.when is not None
        }
        # The model's own copy: interventions and live changes write levers into it, and the
        # object it was built from may be shared with other models.
        model.scenario = model.scenario.model_copy(deep=True)

    def set_now(self, lever: str, value: Any, by: str) -> None:
        """Set ``lever`` of the running model to ``value`` from the next step on.

        What the dashboard's live controls do between steps: the same change as an
        intervention ``{at = t + 1, action = "set"}`` (``t``, the steps done), logged in
        ``events`` at step ``t + 1`` under the name ``by``. Nothing is logged when the value
        does not change.

        Raises:
            ValueError: for a lever that cannot change mid-run, or a value outside its bounds.
        """
        m = self.model
        name, value = self.check_setting(lever, value)
        old = _get_lever(m, name)
        if old == value:
            return
        set_lever(m, name, value)
        self._record_event(int(m.steps) + 1, by, "set", name, old, value)

    def check_setting(self, lever: str, value: Any) -> tuple[str, Any]:
        """The full name of ``lever`` and ``value`` as validated, for a change mid-run.

        Raises:
            ValueError: for a lever that cannot change mid-run, or a value outside its bounds.
        """
        name = _resolve_lever(lever, self.model.scenario)
        return name, _check_value(self.model.scenario, name, value)

    @property
    def reads_outcomes(self) -> bool:
        """Whether an intervention is triggered by an outcome (``when``).

        The model must then compute its outcomes every step, recorded or not.
        """
        return bool(self._conditions)

    def apply(self) -> None:
        """Phase 0: undo windows that ended, then fire what is due, in file order."""
        if not self.items:
            return
        t = int(self.model.steps)
        for item, state in self._undo.pop(t, []):
            self._undo_one(item, state, t)
        metrics = self.model.metrics
        for item in self.items:
            if item.at is not None:
                due = item.at == t
            else:
                due = self._triggered(item, metrics, t)
            if not due:
                continue
            self._fired[item.name].append(t)
            state = self._do(item, t)
            if item.until is not None and state is not None:
                self._undo.setdefault(item.until + 1, []).append((item, state))

    def _triggered(self, item: Intervention, metrics: dict[str, float], t: int) -> bool:
        metric, op, threshold = self._conditions[item.name]
        value = metrics.get(metric, float("nan"))
        if not (math.isfinite(value) and _OPS[op](value, threshold)):
            return False
        fired = self._fired[item.name]
        if item.max_times is not None and len(fired) >= item.max_times:
            return False
        return not fired or t - fired[-1] >= item.cooldown

    # ------------------------------------------------------------------ actions
    def _do(self, item: Intervention, t: int) -> Any:
        """Apply one action; returns what undoing it needs (None if nothing changed)."""
        m = self.model
        p = m.active_partnership
        if item.action == "set":
            old = _get_lever(m, item.lever)
            set_lever(m, item.lever, item.value)
            self._log(t, item, item.action, item.lever, old, item.value)
            return old
        if item.action == "dissolve":
            if p is None:
                return self._skip(t, item, "partnership", "no active partnership")
            p.active = False
            self._log(t, item, "dissolve", "partnership", _fmt(p.members), "none")
            return None
        if item.action == "form":
            if p is not None:
                return self._skip(t, item, "partnership", "a partnership is already active")
            members = list(item.members) if item.members else _default_members(m, item.kind)
            if len(members) < 2:
                return self._skip(t, item, "partnership", f"fewer than two members {members}")
            m.form_partnership(item.kind or "msp", members)
            self._log(t, item, "form", "partnership", "none", _fmt(members))
            return "formed"
        node = item.member
        if p is None:
            return self._skip(t, item, node, "no active partnership")
        if item.action == "add_member":
            if node in p.members:
                return self._skip(t, item, node, "already a member")
            old = _fmt(p.members)
            add_member(m, node)
            self._log(t, item, "add_member", node, old, _fmt(p.members))
            return node
        if node not in p.members:
            return self._skip(t, item, node, "not a member")
        old = _fmt(p.members)
        p.remove_member(node)
        note = "" if p.active else "partnership ended: fewer than two members"
        self._log(t, item, "remove_member", node, old, _fmt(p.members), note)
        return node

    def _undo_one(self, item: Intervention, state: Any, t: int) -> None:
        m = self.model
        p = m.active_partnership
        if item.action == "set":
            old = _get_lever(m, item.lever)
            set_lever(m, item.lever, state)
            self._log(t, item, "restore", item.lever, old, state, f"window ended at {item.until}")
        elif item.action == "form":
            if p is None:
                return self._skip(t, item, "partnership", "already ended", "restore")
            p.active = False
            self._log(t, item, "restore", "partnership", _fmt(p.members), "none")
        elif item.action == "add_member":
            if p is None or state not in p.members:
                return self._skip(t, item, state, "no longer a member", "restore")
            old = _fmt(p.members)
            p.remove_member(state)
            self._log(t, item, "restore", state, old, _fmt(p.members))
        elif item.action == "remove_member":
            if p is None or state in p.members:
                return self._skip(t, item, state, "no active partnership to rejoin", "restore")
            old = _fmt(p.members)
            add_member(m, state)
            self._log(t, item, "restore", state, old, _fmt(p.members))
        return None

    def _skip(
        self, t: int, item: Intervention, target: Any, why: str, action: str | None = None
    ) -> None:
        self._log(t, item, action or item.action, target, "", "", f"skipped: {why}")

    def _log(
        self,
        t: int,
        item: Intervention,
        action: str,
        target: Any,
        old: Any,
        new: Any,
        note: str = "",
    ) -> None:
        self._record_event(t, item.name, action, target, old, new, note)

    def _record_event(
        self, t: int, name: str, action: str, target: Any, old: Any, new: Any, note: str = ""
    ) -> None:
        self.events.append(
            {
                "step": t,
                "intervention": name,
                "action": action,
                "target": str(target),
                "old": _fmt(old),
                "new": _fmt(new),
                "note": note,
            }
        )

    def frame(self) -> pd.DataFrame:
        """The event log as a tidy table keyed like the results (scenario, replicate, seed)."""
        m = self.model
        df = pd.DataFrame(self.events, columns=list(EVENT_COLUMNS))
        df.insert(0, "seed", m.seed)
        df.insert(0, "replicate", m.replicate)
        df.insert(0, "scenario", m.scenario.name)
        return df


# ---------------------------------------------------------------------------- lever plumbing
def _default_members(model: PartnershipModel, kind: str | None) -> list[str]:
    from sim.mechanisms.partnership import member_nodes

    return member_nodes(kind or "msp", model.orgs_by_kind())


def _get_lever(model: PartnershipModel, lever: str) -> Any:
    section, key = lever.split(".")
    return getattr(getattr(model.scenario, section), key)


def set_lever(model: PartnershipModel, lever: str, value: Any) -> None:
    """Change a lever of a running model so that the next phase that reads it sees the change.

    Most levers are read from ``model.scenario`` every step, so writing them there is enough.
    Two are read when the model is built and are re-applied:

    - ``factors.communication``: every tie's channel quality moves by the change,
      ``q' = clip(q + (c' − c), 0, 1)``, so the mean quality follows the lever (a
      communication programme improves every channel alike);
    - ``organizations.budget_<kind>``: every organization of that kind gets the new budget per
      household.
    """
    section, key = lever.split(".")
    old = getattr(getattr(model.scenario, section), key)
    setattr(getattr(model.scenario, section), key, value)
    if lever == "factors.communication":
        shift = float(value) - float(old)
        for _, _, data in model.graph.edges(data=True):
            if "communication" in data:
                data["communication"] = float(np.clip(data["communication"] + shift, 0.0, 1.0))
    elif lever in _BUDGETS:
        n = len(model.hh)
        for o in model.organizations:
            if o.kind == _BUDGETS[lever]:
                o.budget = float(value) * n


def add_member(model: PartnershipModel, node: str) -> None:
    """Admit ``node`` to the active partnership, holding a view drawn as at formation."""
    from sim.mechanisms.partnership import initial_views

    s = model.scenario
    view = initial_views(1, s.factors.goal_clarity, s.dynamics.view_spread, model._form_rng)
    model.active_partnership.add_member(node, float(view[0]), s.partnership.commitment)
