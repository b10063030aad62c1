"""The config's ``defaults``: which instrument plays each role a plan needs by default.

``defaults: {tagger: tagger, transmitter: laser}`` says which time tagger and which
transmitter the command line (and any plan run without naming them) uses. A role left
out falls to the one instrument of that role, if the lab has exactly one. Each
instrument model's role is given by its config model
(:attr:`qnetlab.instruments.config.InstrumentConfig.role`), so ``load_config`` checks the
defaults without importing any device.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

ROLES = ("tagger", "transmitter")


class LabDefaults(BaseModel):
    """The top-level ``defaults`` table of a lab config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tagger: str | None = Field(default=None, description="instrument used as the time tagger when a plan names none")
    transmitter: str | None = Field(
        default=None, description="instrument used as Alice's transmitter when a plan names none"
    )


def resolve_defaults(defaults: LabDefaults, roles: Mapping[str, str | None]) -> dict[str, str | None]:
    """Role -> instrument name, from ``defaults`` or else the only instrument of that role.

    Parameters
    ----------
    defaults : the config's ``defaults`` table
    roles : instrument name -> its model's role (None for an instrument no plan needs by role)

    Raises ValueError ``defaults.<role>: ...`` when a default names no instrument or one of
    another role.
    """
    chosen: dict[str, str | None] = {}
    for role in ROLES:
        name = getattr(defaults, role)
        candidates = sorted(n for n, r in roles.items() if r == role)
        if name is None:
            chosen[role] = candidates[0] if len(candidates) == 1 else None
        elif name not in roles:
            raise ValueError(f"defaults.{role}: {name!r} is not an instrument of the lab; it has {sorted(roles)}")
        elif roles[name] != role:
            raise ValueError(
                f"defaults.{role}: {name!r} is not a {role} (its role is {roles[name]}); {role}s: {candidates}"
            )
        else:
            chosen[role] = name
    return chosen
