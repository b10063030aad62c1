"""Read a calibration run's outcome back from the catalog (the contract's ``calibration`` stream).

Stands in for ``qnetlab.plans.calibration.outcome`` until the calib-plans branch lands;
same stream, same keys.
"""

from __future__ import annotations

import json
from typing import Any

OUTCOME_KEYS = ("passed", "reason", "applied", "figures_before", "figures_after", "settings")
_JSON_KEYS = ("figures_before", "figures_after", "settings")


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if item is not None else value


def outcome(run: Any) -> dict[str, Any]:
    """The decoded single event of ``run``'s ``calibration`` stream.

    Returns ``{"passed": bool, "reason": str, "applied": bool, "figures_before": dict,
    "figures_after": dict, "settings": dict}``. Raises ``ValueError`` naming the run when
    the stream is missing or malformed.
    """
    uid = run.metadata["start"]["uid"]
    if "calibration" not in run:
        raise ValueError(f"run {uid}: no 'calibration' stream (not a calibration step, or it did not finish)")
    table = run["calibration"].read()
    missing = [key for key in OUTCOME_KEYS if key not in table]
    if missing:
        raise ValueError(f"run {uid}: calibration stream lacks {missing}")
    if len(table["passed"]) != 1:
        raise ValueError(f"run {uid}: calibration stream has {len(table['passed'])} events, expected 1")
    decoded: dict[str, Any] = {key: _scalar(table[key].values[0]) for key in OUTCOME_KEYS}
    for key in _JSON_KEYS:
        decoded[key] = json.loads(decoded[key]) if decoded[key] else {}
    decoded["passed"], decoded["applied"] = bool(decoded["passed"]), bool(decoded["applied"])
    decoded["reason"] = str(decoded["reason"])
    return decoded
