"""Plan arguments validated in one place, before the plan yields anything.

:func:`plan_arguments` wraps a plan in pydantic's ``validate_call``: each argument's
annotation (``Annotated[float, Field(gt=0, description="... (s)")]``, a bluesky protocol
for devices) is checked when the plan is called, and a failure raises
:class:`PlanArgumentError` naming the plan, the argument, the bound and the value given.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from pydantic import ValidationError, validate_call

from qnetlab.plans.protocols import HasInputs

P = ParamSpec("P")
R = TypeVar("R")


class PlanArgumentError(ValueError):
    """A plan was called with an argument outside its bounds or of the wrong kind."""


def plan_arguments(plan: Callable[P, R]) -> Callable[P, R]:
    """Validate ``plan``'s arguments against its annotations at call time (see module docstring)."""
    validated = validate_call(config={"arbitrary_types_allowed": True})(plan)
    names = list(inspect.signature(plan).parameters)

    @functools.wraps(plan)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return validated(*args, **kwargs)
        except ValidationError as error:
            problems = []
            for problem in error.errors():
                where = [
                    names[part] if i == 0 and isinstance(part, int) else str(part)
                    for i, part in enumerate(problem["loc"])
                ]
                problems.append(f"{'.'.join(where)}: {problem['msg']} (got {problem.get('input')!r})")
            raise PlanArgumentError(f"{plan.__name__}: " + "; ".join(problems)) from None

    setattr(call, "_is_plan_", True)  # still a plan to bluesky.utils.is_plan (queueserver lists it)  # noqa: B010
    setattr(call, "__qnetlab_plan__", True)  # found by plans.list()  # noqa: B010
    return call


def chosen_channels(plan_name: str, tagger: HasInputs, channels: Sequence[int] | None) -> list[int]:
    """The tagger inputs a plan records: ``channels`` (sorted) or, if None, all configured inputs.

    Raises :class:`PlanArgumentError` naming the plan, the unknown channels and the inputs.
    """
    configured = list(tagger.input_channels)
    chosen = sorted(int(c) for c in channels) if channels is not None else configured
    unknown = sorted(set(chosen) - set(configured))
    if unknown or not chosen:
        name = getattr(tagger, "name", tagger)
        raise PlanArgumentError(f"{plan_name}: channels {unknown or chosen} are not inputs of {name} {configured}")
    return chosen
