"""The plan names `qnetlab.plans` imports on first use are exactly the plans of each family."""

from __future__ import annotations

import importlib

from qnetlab import plans


def test_every_family_plan_is_named_once_and_every_name_resolves():
    for family in set(plans._FAMILY.values()):
        module = importlib.import_module(f"qnetlab.plans.{family}")
        offered = {name for name in getattr(module, "__all__", [family]) if getattr(module, name, None) is not None}
        offered = {name for name in offered if getattr(getattr(module, name), "__qnetlab_plan__", False)}
        named = {name for name, owner in plans._FAMILY.items() if owner == family}
        assert offered <= named, (family, sorted(offered - named))
    for name in [*plans._FAMILY, "count_rates", "record_tags"]:  # after every family module was imported
        assert callable(getattr(plans, name)) and name in plans.__all__, name
    assert {"count_rates", "record_tags", "mount_zeros", "bb84", "chsh"} <= set(plans.list().names())
