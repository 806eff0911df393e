"""Declared tables: how they read a file's values, and their errors told in one line each.

A :class:`Table` (the base of the scenario's sections, an intervention, a sweep file) refuses
unknown keys and reads numbers strictly: no ``true`` or text where a number goes, no NaN.

Every declared schema of the project (the scenario's levers, an intervention, a sweep file)
is a pydantic model. Its errors are explained here, once, by walking the model along the
error's location: a key the model does not know is answered with "did you mean" and the
allowed keys of the table it was found in; a bad value with its key, a bounded excerpt of the
value, pydantic's reason and the field's allowed range, meaning and default.

Example:
    >>> from pydantic import BaseModel, ConfigDict, Field, ValidationError
    >>> class Run(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     steps: int = Field(120, ge=1, description="number of steps")
    >>> try:
    ...     Run.model_validate({"stpes": 3})
    ... except ValidationError as exc:
    ...     print(explain(exc, "run.toml", Run))
    run.toml: unknown key 'stpes'. Did you mean 'steps'? Allowed keys: steps
"""

from __future__ import annotations

import math
import numbers
import re
import reprlib
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from sim.errors import did_you_mean

__all__ = ["Table", "allowed", "bounds", "explain", "fields_of", "sections", "shown"]


class _Shown(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        # repr() of a huge int is quadratic and refused beyond 4,300 digits.
        if x.bit_length() > 128:
            digits = int((x.bit_length() - 1) * math.log10(2)) + 1
            digits += abs(x) >= 10**digits  # exact: powers of ten are cheap to compare
            return f"<a whole number of {digits} digits>"
        return repr(x)


_SHOWN = _Shown()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother, _SHOWN.maxlist = 3, 80, 80, 8


def shown(value: Any) -> str:
    """A value as it appears in a message: its repr, shortened if it is long or deep.

    Example:
        >>> shown("x" * 500)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"
        >>> shown(10**5000)
        '<a whole number of 5001 digits>'
    """
    return _SHOWN.repr(value)


def _leaf_types(annotation: Any) -> set[Any]:
    """The scalar types a field admits, looking into unions, lists, tuples and dicts."""
    if annotation is Any:
        return {Any}
    if typing.get_origin(annotation) is Literal:
        return {type(a) for a in typing.get_args(annotation)}
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    if typing.get_origin(annotation) is dict:
        args = args[1:]
    return set().union(*(_leaf_types(a) for a in args if a is not Ellipsis))


def _misread(value: Any, leaves: set[Any], depth: int = 0) -> str | None:
    """What pydantic would silently convert: true/false or text where only numbers go."""
    if not leaves & {int, float}:
        return None
    if isinstance(value, bool):
        return None if bool in leaves else "true/false"
    if isinstance(value, str):
        return None if str in leaves else "text"
    if depth < 3 and isinstance(value, list | tuple):
        return next((m for v in value if (m := _misread(v, leaves, depth + 1))), None)
    return None


class Table(BaseModel):
    """A table of a declared file: unknown keys are refused, and numbers are numbers.

    Pydantic would read ``true`` as 1 and ``"0.5"`` as 0.5; a file says what it means. A
    ``true``, ``false`` or text where the field takes only numbers (itself or as items of a
    list) is refused, and so is NaN or infinity anywhere.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        leaves = _leaf_types(cls.model_fields[info.field_name].annotation)
        if Any not in leaves:
            misread = _misread(value, leaves)
            if misread is not None:
                raise ValueError(f"must be a number, not {misread}")
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            if not math.isfinite(value):  # numpy floats too; an int is always finite
                raise ValueError("must be a finite number (not NaN or inf)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number (not NaN or inf)")
        return value


def _model(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _items(annotation: Any) -> Any:
    """The item type of ``list[X]``, ``tuple[X, ...]`` or ``dict[str, X]`` (``X | None`` too)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _items(inner[0]) if len(inner) == 1 else None
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def sections(model: type[BaseModel]) -> dict[str, list[str]]:
    """The keys of each table (a field that is itself a model) of ``model``."""
    return {
        name: list(sub.model_fields)
        for name, field in model.model_fields.items()
        if (sub := _model(field.annotation)) is not None
    }


def fields_of(model: type[BaseModel]) -> Iterator[tuple[str, str, FieldInfo]]:
    """(table, key, field) for every key of every table of ``model``, in declaration order."""
    for name, field in model.model_fields.items():
        sub = _model(field.annotation)
        if sub is not None:
            for key, inner in sub.model_fields.items():
                yield name, key, inner


def bounds(field: FieldInfo) -> dict[str, Any]:
    """The numeric bounds declared on a field (``ge``, ``gt``, ``le``, ``lt``)."""
    return {
        attr: getattr(meta, attr)
        for meta in field.metadata
        for attr in ("ge", "gt", "le", "lt")
        if getattr(meta, attr, None) is not None
    }


def allowed(field: FieldInfo | None) -> str:
    """`` Allowed: <type> <bounds> (<meaning>; default <default>)`` for a field, or ``""``."""
    if field is None:
        return ""
    symbols = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    kind = getattr(field.annotation, "__name__", str(field.annotation))
    parts = [f" Allowed: {kind}"]
    limits = bounds(field)
    if limits:
        parts.append(" " + " and ".join(f"{symbols[a]} {v}" for a, v in limits.items()))
    if field.is_required():
        parts.append(f" ({field.description}; required)")
    else:
        default = field.get_default(call_default_factory=True)
        parts.append(f" ({field.description}; default {shown(default)})")
    return "".join(parts)


def _walk(model: type[BaseModel], loc: list[str]) -> tuple[type[BaseModel] | None, int]:
    """The innermost model on ``loc`` (skipping list indices and dict keys) and its depth."""
    current: Any = model
    depth = 0
    i = 0
    while i < len(loc) - 1:
        sub = _model(current)
        if sub is None or loc[i] not in sub.model_fields:
            break
        annotation = sub.model_fields[loc[i]].annotation
        inner = _model(annotation)
        if inner is not None:
            current, depth, i = inner, i + 1, i + 1
            continue
        item = _model(_items(annotation))
        if item is None or i + 1 >= len(loc) - 1:
            break
        current, depth, i = item, i + 2, i + 2
    return _model(current), depth


_TAG = re.compile(r"^(?:int|float|str|bool|none|bytes|[a-z][a-z_-]*\[.*\])$", re.S)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """The errors of ``exc`` with their location as text, one per location.

    A value that fits no member of a union (``int | str``) gets one error per member, each
    with the member's tag in its location (``record.int``); they become one error whose
    message lists the reasons.
    """
    merged: dict[tuple[str, ...], dict[str, Any]] = {}
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"] if not _TAG.match(str(p)))
        msg = err["msg"].removeprefix("Value error, ")
        if loc in merged:
            if msg not in merged[loc]["msg"]:
                merged[loc]["msg"] += f"; or {msg[0].lower()}{msg[1:]}"
            continue
        merged[loc] = {**err, "loc": list(loc), "msg": msg}
    return list(merged.values())


def _label(loc: list[str], list_fields: set[str]) -> str:
    """``interventions[2].at`` for ``["interventions", "1", "at"]`` (lists count from 1)."""
    out = ""
    for i, part in enumerate(loc):
        if i and loc[i - 1] in list_fields and part.isdigit():
            out += f"[{int(part) + 1}]"
        else:
            out += ("." if out else "") + part
    return out


def explain(
    exc: ValidationError,
    source: str,
    model: type[BaseModel],
    data: Any = None,
    *,
    lists: tuple[str, ...] = (),
) -> str:
    """One line per error of ``exc``, raised validating ``data`` against ``model``.

    Args:
        exc: the error pydantic raised.
        source: what the user gave (a file name, ``--set``), put in front of every line.
        model: the model that was validated (for the allowed keys, bounds and meanings).
        data: the validated input; an item of a tuple field is then reported with the
            field's whole value, once.
        lists: fields whose items are numbered from 1 in messages (``interventions[1]``).
    """
    lines = []
    reported: set[tuple[str, ...]] = set()
    list_fields = set(lists)
    for err in _errors(exc):
        loc, msg = err["loc"], err["msg"]
        if not loc:  # a rule between fields; the message names them
            lines.append(f"{source}: {msg}")
            continue
        owner, depth = _walk(model, loc)
        if err["type"] == "extra_forbidden":
            options = list(owner.model_fields) if owner is not None else []
            table = _label(loc[:depth], list_fields)
            if lists and loc[0] in list_fields and len(loc) > 2:
                where = _label(loc[:2], list_fields)
                key = ".".join(loc[2:])
                lines.append(
                    f"{source}: {where}: unknown key '{key}'.{did_you_mean(loc[-1], options)} "
                    f"Allowed keys: {', '.join(options)}"
                )
                continue
            in_table = f" in [{table}]" if table and model is not owner and depth == 1 else ""
            lines.append(
                f"{source}: unknown key '{'.'.join(loc)}'.{did_you_mean(loc[-1], options)} "
                f"Allowed keys{in_table}: {', '.join(options)}"
            )
            continue
        if loc[0] in list_fields and len(loc) >= 2:
            where = f"{source}: {_label(loc[:2], list_fields)}"
            if len(loc) == 2:
                lines.append(f"{where}: {msg}")
                continue
            field = owner.model_fields.get(loc[2]) if owner is not None else None
            meaning = f" ({field.description})" if field is not None and field.description else ""
            key = ".".join(loc[2:])
            lines.append(f"{where}: {key} = {shown(err.get('input'))}: {msg}.{meaning}")
            continue
        field = (
            owner.model_fields.get(loc[depth]) if owner is not None and depth < len(loc) else None
        )
        if depth >= 1 and depth + 1 < len(loc) and field is not None and isinstance(data, dict):
            # An item of a tuple field: report the field once, with its whole value.
            whole = tuple(loc[: depth + 1])
            if whole in reported:
                continue
            reported.add(whole)
            value: Any = data
            for part in whole:
                value = value.get(part) if isinstance(value, dict) else None
            lines.append(
                f"{source}: {'.'.join(whole)} = {shown(value)}: item {loc[depth + 1]}: {msg}."
                f"{allowed(field)}"
            )
            continue
        hint = allowed(field) if depth + 1 == len(loc) and depth >= 1 else ""
        lines.append(f"{source}: {'.'.join(loc)} = {shown(err.get('input'))}: {msg}.{hint}")
    return "\n".join(lines)
