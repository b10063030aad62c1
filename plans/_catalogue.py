"""What plans there are, with each parameter's type, default, unit and limits.

Read from the plans' own signatures (the pydantic-validated ``Annotated[..., Field(...)]``
of :mod:`qnetlab.plans._arguments`), so the listing cannot drift from what the plans check.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass

_UNIT_IN_DESCRIPTION = re.compile(r"\(([^()]+)\)\s*(?:;|$)")
_UNIT_SUFFIXES = {"_s": "s", "_ps": "ps", "_hz": "Hz", "_dbm": "dBm", "_deg": "deg", "_v": "V", "_ua": "uA"}
_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


@dataclass(frozen=True)
class PlanParameter:
    """One parameter of a plan: ``limits`` like ``> 0``; ``default`` is ``inspect.Parameter.empty`` if required."""

    name: str
    type: str
    default: object
    unit: str
    limits: str
    description: str

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def line(self) -> str:
        default = "required" if self.required else f"default {self.default!r}"
        parts = [f"{self.name}: {self.type}", default]
        parts += [f"unit {self.unit}"] if self.unit else []
        parts += [self.limits] if self.limits else []
        return ", ".join(parts) + (f" - {self.description}" if self.description else "")


@dataclass(frozen=True)
class PlanInfo:
    """A plan: its name, the first line of its docstring and its parameters (``md`` left out)."""

    name: str
    summary: str
    parameters: tuple[PlanParameter, ...]

    def __str__(self) -> str:
        return "\n".join([f"{self.name}: {self.summary}", *(f"    {p.line()}" for p in self.parameters)])


class PlanList(list[PlanInfo]):
    """The plans, printed one block per plan."""

    def __repr__(self) -> str:
        return "\n".join(str(info) for info in self)

    def names(self) -> list[str]:
        return [info.name for info in self]


def describe(plan: Callable) -> PlanInfo:
    """The :class:`PlanInfo` of one plan function."""
    original = inspect.unwrap(plan)
    hints = typing.get_type_hints(original, include_extras=True)
    parameters = []
    for name, parameter in inspect.signature(original).parameters.items():
        if name == "md":
            continue
        hint = hints.get(name, parameter.annotation)
        base, fields = hint, []
        if typing.get_origin(hint) is typing.Annotated:
            base, *fields = typing.get_args(hint)
        description = next((f.description for f in fields if getattr(f, "description", None)), "") or ""
        parameters.append(
            PlanParameter(
                name=name,
                type=_type_name(base),
                default=parameter.default,
                unit=_unit(name, description),
                limits=" and ".join(_limits(fields)),
                description=description,
            )
        )
    summary = (inspect.getdoc(original) or "").split("\n", 1)[0]
    return PlanInfo(plan.__name__, summary, tuple(parameters))


def _type_name(annotation: object) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:[\w]+\.)+(\w+)", r"\1", str(annotation)).replace("typing.", "")


def _unit(name: str, description: str) -> str:
    match = _UNIT_IN_DESCRIPTION.search(description)
    if match and len(match.group(1)) <= 8:
        return match.group(1)
    return next((unit for suffix, unit in _UNIT_SUFFIXES.items() if name.endswith(suffix)), "")


def _limits(fields: list) -> list[str]:
    found = []
    for field in fields:
        for constraint in getattr(field, "metadata", []):
            for attribute, symbol in _BOUNDS:
                value = getattr(constraint, attribute, None)
                if value is not None:
                    found.append(f"{symbol} {value:g}" if isinstance(value, int | float) else f"{symbol} {value}")
    return found


def plan_catalogue(namespace: dict[str, object]) -> PlanList:
    """Every validated plan (made by :func:`~qnetlab.plans._arguments.plan_arguments`) in ``namespace``."""
    plans = [value for value in namespace.values() if callable(value) and getattr(value, "__qnetlab_plan__", False)]
    return PlanList(describe(plan) for plan in sorted(plans, key=lambda p: p.__name__))
