"""The config's ``defaults``: which instrument plays each role, checked by name and role."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qnetlab.instruments.defaults import LabDefaults, resolve_defaults

ROLES = {"tdc": "tagger", "alice": "transmitter", "bob_pc": None}


def test_named_defaults_are_used():
    chosen = resolve_defaults(LabDefaults(tagger="tdc", transmitter="alice"), ROLES)
    assert chosen == {"tagger": "tdc", "transmitter": "alice"}


def test_a_role_left_out_falls_to_the_only_instrument_of_that_role():
    assert resolve_defaults(LabDefaults(), ROLES) == {"tagger": "tdc", "transmitter": "alice"}
    two_taggers = {**ROLES, "tdc2": "tagger"}
    assert resolve_defaults(LabDefaults(), two_taggers)["tagger"] is None


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        ({"tagger": "nope"}, r"defaults.tagger: 'nope' is not an instrument of the lab; it has \['alice', 'bob_pc'"),
        (
            {"tagger": "alice"},
            r"defaults.tagger: 'alice' is not a tagger \(its role is transmitter\); taggers: \['tdc'\]",
        ),
        ({"transmitter": "bob_pc"}, r"defaults.transmitter: 'bob_pc' is not a transmitter \(its role is None\)"),
    ],
)
def test_a_default_naming_no_instrument_or_another_role_is_refused(defaults, message):
    with pytest.raises(ValueError, match=message):
        resolve_defaults(LabDefaults(**defaults), ROLES)


def test_unknown_roles_are_refused():
    with pytest.raises(ValidationError, match="detector"):
        LabDefaults.model_validate({"detector": "snspd"})
