"""The intervention engine of one run: fires a scenario's interventions and keeps their log.

What an intervention may say, and the checks made before a run, are in
:mod:`sim.scenario.interventions` (the schema, re-exported here for older imports). This module
applies them while the model runs.

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
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.mechanisms.partnership import member_nodes
from sim.scenario.interventions import (
    ACTIONS,
    EVENT_COLUMNS,
    FIXED_AT_START,
    Intervention,
    InterventionError,
    check_interventions,
    check_setting,
    parse_condition,
    settable_levers,
)

if TYPE_CHECKING:
    from sim.model.model import PartnershipModel

__all__ = [
    "ACTIONS",
    "EVENT_COLUMNS",
    "FIXED_AT_START",
    "Intervention",
    "InterventionError",
    "Interventions",
    "add_member",
    "check_interventions",
    "parse_condition",
    "set_lever",
    "settable_levers",
]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_BUDGETS = {
    "organizations.budget_government": "government",
    "organizations.budget_firm": "firm",
    "organizations.budget_ngo": "ngo",
}


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
        if model.config.interventions:
            # Scenarios built directly (not through from_dict) get the same checks here.
            model.config = check_interventions(model.config, f"scenario {model.config.name!r}")
        self.items: list[Intervention] = list(model.config.interventions)
        self.events: list[dict[str, Any]] = []
        self._fired: dict[str, list[int]] = {i.name: [] for i in self.items}
        self._undo: dict[int, list[tuple[Intervention, Any]]] = {}
        self._conditions = {
            i.name: parse_condition(i.when) for i in self.items if i.when is not None
        }
        # The model's own copy: interventions and live changes write levers into it, and the
        # object it was built from may be shared with other models.
        model.config = model.config.model_copy(deep=True)

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
        return check_setting(self.model.config, lever, value)

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
        df.insert(0, "scenario", m.config.name)
        return df


# ---------------------------------------------------------------------------- lever plumbing
def _default_members(model: PartnershipModel, kind: str | None) -> list[str]:
    return member_nodes(kind or "msp", model.orgs_by_kind())


def _get_lever(model: PartnershipModel, lever: str) -> Any:
    section, key = lever.split(".")
    return getattr(getattr(model.config, section), key)


def set_lever(model: PartnershipModel, lever: str, value: Any) -> None:
    """Change a lever of a running model so that the next phase that reads it sees the change.

    Most levers are read from ``model.config`` every step, so writing them there is enough.
    Two are read when the model is built and are re-applied:

    - ``factors.communication``: every tie's channel quality moves by the lever's change since
      set-up, ``q = clip(q_drawn + (c − c_0), 0, 1)`` (``Ties.set_communication``), so the
      mean quality follows the lever and undoing the change restores every channel;
    - ``organizations.budget_<kind>``: every organization of that kind gets the new budget per
      household.
    """
    section, key = lever.split(".")
    setattr(getattr(model.config, section), key, value)
    if lever == "factors.communication":
        model.ties.set_communication(float(value))
    elif lever in _BUDGETS:
        n = len(model.hh)
        for o in model.organizations:
            if o.kind == _BUDGETS[lever]:
                o.budget = float(value) * n


def add_member(model: PartnershipModel, node: str) -> None:
    """Admit ``node`` to the active partnership, holding a view drawn as at formation."""
    view = model.new_member_view()
    model.active_partnership.add_member(node, view, model.config.partnership.commitment)
