"""A corpus of bad lab configs: each is refused by ``load_config`` with a ConfigError naming the
file, the key path and the problem (never accepted, never another exception, never a hang).

Each case is the shipped ``config/sim_lab.yaml`` with one fault: a mutation of its data, or
an edit of its text (for faults YAML itself would hide, such as a key given twice).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from qnetlab.instruments.config import ConfigError, load_config

SIM_LAB = Path(__file__).resolve().parents[2] / "config" / "sim_lab.yaml"
NAN, INF = float("nan"), float("inf")
_LINES = SIM_LAB.read_text().splitlines()
LASER_LINE = _LINES.index("  laser:") + 1
TAGGER_LINE = _LINES.index("  tagger:") + 1  # where the edit below puts a second laser
LIMIT_LINE = next(n for n, line in enumerate(_LINES, 1) if "power_dbm: {min: -20.0, max: 0.0}" in line)


def _set(*path, value):
    """A mutation putting ``value`` at ``path`` (keys into the config's data)."""

    def mutate(raw):
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(*path):
    def mutate(raw):
        node = raw
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _edit(old, new):
    """A text edit of sim_lab.yaml (``old`` must occur once)."""

    def edit(text):
        assert text.count(old) == 1, old
        return text.replace(old, new)

    return edit


def _input(number, **wire):
    return _set("instruments", "tagger", "inputs", number, value={"detector": "pol_h", **wire})


def _moved_input(old, new):
    def mutate(raw):
        inputs = raw["instruments"]["tagger"]["inputs"]
        inputs[new] = inputs.pop(old)

    return mutate


# (case id, mutation of the data or edit of the text, key path, problem) -- both regexes
CASES = [
    # --- limits name a limited setting of the kind, with finite, ordered bounds ----------
    (
        "limit-misspelt-power",
        _set("instruments", "laser", "limits", value={"power": {"max": 0.0}}),
        r"instruments\.laser\.limits",
        r"\['power'\] are not settings of scpi_pulsed_laser; .* \['power_dbm', 'wavelength_nm'\]",
    ),
    (
        "limit-misspelt-bias",
        _set("instruments", "snspd", "limits", value={"bias_uA": {"max": 11.5}}),
        r"instruments\.snspd\.limits",
        r"\['bias_uA'\] are not settings of scpi_snspd_controller; .* \['bias_ua'\]",
    ),
    (
        "limit-piezo-without-unit",
        _set("instruments", "bob_piezo", "limits", value={"voltage": {"max": 100.0}}),
        r"instruments\.bob_piezo\.limits",
        r"\['voltage'\] are not settings of thorlabs_mdt693b",
    ),
    (
        "limit-read-only-parameter",
        _set("instruments", "bob_piezo", "limits", value={"voltage_limit_v": {"max": 9}}),
        r"instruments\.bob_piezo\.limits",
        r"\['voltage_limit_v'\] are not settings",
    ),
    (
        "limit-on-a-tagger",
        _set("instruments", "tagger", "limits", value={"trigger_level_v": {"max": 1.0}}),
        r"instruments\.tagger\.limits",
        r"no numeric setting to limit",
    ),
    (
        "limit-mount-angle",
        _set("instruments", "ent_a_qwp", "limits", value={"angle": {"max": 90.0}}),
        r"instruments\.ent_a_qwp\.limits",
        r"\['angle_deg', 'velocity_deg_s'\]",
    ),
    (
        "limit-max-nan",
        _set("instruments", "laser", "limits", "power_dbm", value={"min": -20.0, "max": NAN}),
        r"instruments\.laser\.limits\.power_dbm\.max",
        r"finite number",
    ),
    (
        "limit-min-minus-inf",
        _set("instruments", "snspd", "limits", "bias_ua", value={"min": -INF}),
        r"instruments\.snspd\.limits\.bias_ua\.min",
        r"finite number",
    ),
    (
        "limit-min-above-max",
        _set("instruments", "laser", "limits", "power_dbm", value={"min": 1.0, "max": 0.0}),
        r"instruments\.laser\.limits\.power_dbm",
        r"min 1\.0 is above max 0\.0",
    ),
    (
        "limit-not-a-range",
        _set("instruments", "laser", "limits", "power_dbm", value=0.0),
        r"instruments\.laser\.limits\.power_dbm",
        r"valid dictionary",
    ),
    # --- a key given twice (YAML would keep the last) ---------------------------------------
    (
        "duplicate-limit-max",
        _edit("{min: -20.0, max: 0.0}", "{min: -20.0, max: 0.0, max: 8.0}"),
        rf"line {LIMIT_LINE}: instruments\.laser\.limits\.power_dbm\.max",
        rf"duplicate key 'max' \(first given on line {LIMIT_LINE}\)",
    ),
    (
        "duplicate-instrument",
        _edit(
            "  tagger:\n    kind: swabian",
            "  laser: {kind: scpi_pulsed_laser, sim: true}\n  tagger:\n    kind: swabian",
        ),
        rf"line {TAGGER_LINE}: instruments\.laser",
        rf"duplicate key 'laser' \(first given on line {LASER_LINE}\)",
    ),
    (
        "duplicate-world-key",
        _edit("  time_scale: 20.0 ", "  time_scale: 20.0\n  time_scale: 5.0 "),
        r"line \d+: world\.time_scale",
        r"duplicate key 'time_scale'",
    ),
    (
        "duplicate-tagger-input",
        _edit("      3: {detector: pol_v", "      2: {detector: pol_v"),
        r"line \d+: instruments\.tagger\.inputs\.2",
        r"duplicate key 2",
    ),
    # --- references into the world, checked by kind ---------------------------------------
    (
        "mount-on-a-piezo",
        _set("instruments", "ent_a_qwp", "actuator", value="bob_piezo"),
        r"instruments\.ent_a_qwp\.actuator",
        r"world\.actuators\.bob_piezo is a phase_shifter, not a waveplate",
    ),
    (
        "paddles-on-a-waveplate",
        _set("instruments", "bob_pc", "actuator", value="ent_b_hwp"),
        r"instruments\.bob_pc\.actuator",
        r"is a waveplate, not a paddle_controller; those are \['bob_pc'\]",
    ),
    (
        "piezo-on-paddles",
        _set("instruments", "bob_piezo", "actuator", value="bob_pc"),
        r"instruments\.bob_piezo\.actuator",
        r"is a paddle_controller, not a phase_shifter",
    ),
    (
        "snspd-biasing-a-spad",
        _set("instruments", "snspd", "channels", 2, value="ent_a_t"),
        r"instruments\.snspd\.channels\.2",
        r"world\.detectors\.ent_a_t is a spad, not a snspd",
    ),
    (
        "spad-on-an-snspd",
        _set("instruments", "spad_a_t", "detector", value="pol_h"),
        r"instruments\.spad_a_t\.detector",
        r"is a snspd, not a spad",
    ),
    (
        "actuator-missing",
        _set("instruments", "ent_a_hwp", "actuator", value="ent_c_hwp"),
        r"instruments\.ent_a_hwp\.actuator",
        r"'ent_c_hwp' is not one of world\.actuators",
    ),
    (
        "laser-without-transmitter",
        _set("instruments", "laser", "transmitter", value="bob"),
        r"instruments\.laser\.transmitter",
        r"'bob' is not one of world\.transmitters \['alice'\]",
    ),
    (
        "two-mounts-one-waveplate",
        _set("instruments", "ent_a_hwp", "actuator", value="ent_a_qwp"),
        r"instruments\.ent_a_hwp\.actuator",
        r"world\.actuators\.ent_a_qwp is already driven by instruments\.ent_a_qwp",
    ),
    (
        "tagger-without-world-tagger",
        _set("world", "taggers", value={"other": {}}),
        r"instruments\.tagger",
        r"no world\.taggers entry 'tagger'",
    ),
    ("sim-without-world", _delete("world"), r"\(top level\)", r"sim: true but the config has no world section"),
    # --- tagger inputs ------------------------------------------------------------------------
    ("tagger-input-0", _moved_input(12, 0), r"instruments\.tagger", r"inputs \[0\] do not exist on a 16-input tagger"),
    ("tagger-input-17", _moved_input(12, 17), r"instruments\.tagger", r"inputs \[17\] do not exist"),
    ("tagger-input-200", _moved_input(12, 200), r"instruments\.tagger", r"inputs \[200\] do not exist"),
    ("tagger-input-minus-3", _moved_input(12, -3), r"instruments\.tagger", r"inputs \[-3\] do not exist"),
    (
        "tagger-input-beyond-model",
        _set("instruments", "tagger", "input_count", value=8),
        r"instruments\.tagger",
        r"inputs \[9, 10, 11, 12\] do not exist on a 8-input tagger",
    ),
    (
        "two-inputs-one-detector",
        _input(13),
        r"instruments\.tagger",
        r"one detector cabled to several inputs: \{'pol_h': \[2, 13\]\}",
    ),
    (
        "trigger-level-nan",
        _input(14, detector="spare", trigger_level_v=NAN),
        r"instruments\.tagger\.inputs\.14\.trigger_level_v",
        r"finite number",
    ),
    (
        "trigger-level-absurd",
        _set("instruments", "tagger", "inputs", 2, "trigger_level_v", value=100.0),
        r"instruments\.tagger\.inputs\.2\.trigger_level_v",
        r"less than or equal to 2\.5",
    ),
    (
        "input-dead-time-negative",
        _set("instruments", "tagger", "inputs", 2, "dead_time_ps", value=-1),
        r"instruments\.tagger\.inputs\.2\.dead_time_ps",
        r"greater than or equal to 0",
    ),
    (
        "input-delay-absurd",
        _set("instruments", "tagger", "inputs", 2, "delay_ps", value=10**13),
        r"instruments\.tagger\.inputs\.2\.delay_ps",
        r"less than or equal to 1000000000",
    ),
    (
        "input-to-unknown-detector",
        _set("instruments", "tagger", "inputs", 13, value={"detector": "pol_x"}),
        r"instruments\.tagger\.inputs\.13\.detector",
        r"'pol_x' is not one of world\.detectors\|syncs",
    ),
    # --- controller channels ------------------------------------------------------------------
    (
        "snspd-channel-9-of-8",
        _set("instruments", "snspd", "channels", 9, value="pol_h"),
        r"instruments\.snspd",
        r"channels \[9\] do not exist on a 8-channel controller",
    ),
    (
        "snspd-channel-0",
        _set("instruments", "snspd", "channels", 0, value="pol_h"),
        r"instruments\.snspd\.channels\.0\.\[key\]",
        r"greater than or equal to 1",
    ),
    (
        "snspd-two-channels-one-wire",
        _set("instruments", "snspd", "channels", 8, value="pol_h"),
        r"instruments\.snspd",
        r"one detector biased by several channels: \{'pol_h': \[1, 8\]\}",
    ),
    (
        "snspd-bias-unknown-channel",
        _set("instruments", "snspd", "bias_ua", 8, value=9.0),
        r"instruments\.snspd",
        r"bias_ua names channels \[8\] that are not in channels",
    ),
    (
        "snspd-bias-nan",
        _set("instruments", "snspd", "bias_ua", 1, value=NAN),
        r"instruments\.snspd\.bias_ua\.1",
        r"finite number",
    ),
    # --- bounded inputs -------------------------------------------------------------------------
    (
        "timeout-huge",
        _set("instruments", "laser", "timeout_s", value=1e6),
        r"instruments\.laser\.timeout_s",
        r"less than or equal to 300",
    ),
    (
        "timeout-zero",
        _set("instruments", "bob_pc", "timeout_s", value=0),
        r"instruments\.bob_pc\.timeout_s",
        r"greater than 0",
    ),
    (
        "timeout-inf",
        _set("instruments", "snspd", "timeout_s", value=INF),
        r"instruments\.snspd\.timeout_s",
        r"finite number",
    ),
    (
        "time-scale-tiny",
        _set("world", "time_scale", value=1e-6),
        r"world\.time_scale",
        r"greater than or equal to 0\.1",
    ),
    ("time-scale-nan", _set("world", "time_scale", value=NAN), r"world\.time_scale", r"greater than"),
    (
        "rep-rate-absurd",
        _set("world", "transmitters", "alice", "rep_rate_hz", value=1e15),
        r"world\.transmitters\.alice\.rep_rate_hz",
        r"less than or equal to 10000000000",
    ),
    (
        "rep-rate-zero",
        _set("world", "transmitters", "alice", "rep_rate_hz", value=0.0),
        r"world\.transmitters\.alice\.rep_rate_hz",
        r"greater than 0",
    ),
    (
        "detector-dead-time-absurd",
        _set("world", "detectors", "pol_h", "dead_time_ps", value=10**13),
        r"world\.detectors\.pol_h\.dead_time_ps",
        r"less than or equal to 1000000000",
    ),
    (
        "buffer-too-small",
        _set("world", "taggers", "tagger", "buffer_tags", value=10),
        r"world\.taggers\.tagger\.buffer_tags",
        r"greater than or equal to 32768",
    ),
    (
        "buffer-too-large",
        _set("world", "taggers", "tagger", "buffer_tags", value=2**40),
        r"world\.taggers\.tagger\.buffer_tags",
        r"less than or equal to 536870912",
    ),
    ("seed-negative", _set("world", "seed", value=-1), r"world\.seed", r"greater than or equal to 0"),
    (
        "fault-count-absurd",
        _set("instruments", "laser", "sim_faults", value=[{"fault": "drop", "count": 10**6}]),
        r"instruments\.laser\.sim_faults\.0\.count",
        r"less than or equal to 1000",
    ),
    (
        "pair-rate-inf",
        _set("world", "links", 2, "pair_rate_hz", value=INF),
        r"world\.links\.2\.pair_rate_hz",
        r"finite number",
    ),
    (
        "sync-divider-zero",
        _set("world", "syncs", "alice_sync", "divider", value=0),
        r"world\.syncs\.alice_sync\.divider",
        r"greater than or equal to 1",
    ),
    (
        "drift-time-nan",
        _set("world", "fibers", "pol_fiber", "polarization_drift_time_s", value=NAN),
        r"world\.fibers\.pol_fiber\.polarization_drift_time_s",
        r"greater than 0",
    ),
    (
        "start-up-power-inf",
        _set("instruments", "laser", "power_dbm", value=INF),
        r"instruments\.laser\.power_dbm",
        r"finite number",
    ),
    (
        "spad-dead-time-nan",
        _set("instruments", "spad_a_t", "dead_time_us", value=NAN),
        r"instruments\.spad_a_t\.dead_time_us",
        r"finite number",
    ),
    # --- defaults -------------------------------------------------------------------------------
    (
        "default-tagger-missing",
        _set("defaults", "tagger", value="tdc"),
        r"defaults\.tagger",
        r"'tdc' is not an instrument of the lab",
    ),
    (
        "default-of-another-role",
        _set("defaults", "transmitter", value="tagger"),
        r"defaults\.transmitter",
        r"'tagger' is not a transmitter \(its role is tagger\)",
    ),
    (
        "misspelt-start-up-setting",
        _set("instruments", "laser", "power", value=-5.0),
        r"instruments\.laser: ",
        r"unknown key\(s\) \['power'\]; the keys of this table are \[.*'power_dbm'",
    ),
    (
        "misspelt-world-key",
        _set("world", "transmitters", "alice", "rep_rate", value=1e9),
        r"world\.transmitters\.alice: ",
        r"unknown key\(s\) \['rep_rate'\]",
    ),
    (
        "world-gives-laser-power",
        _set("world", "transmitters", "alice", "power_dbm", value=8.0),
        r"world\.transmitters\.alice",
        r"power_dbm is an instrument setting, not world physics: give it as power_dbm of the scpi_pulsed_laser",
    ),
    (
        "world-gives-piezo-voltage",
        _set("world", "actuators", "bob_piezo", "voltage_v", value=30.0),
        r"world\.actuators\.bob_piezo",
        r"voltage_v is an instrument setting, not world physics: give it as voltage_v of the thorlabs_mdt693b entry",
    ),
    (
        "world-detector-misspelt",
        _set("world", "detectors", "pol_h", "efficency", value=0.9),
        r"world\.detectors\.pol_h: ",
        r"unknown key\(s\) \['efficency'\]; the keys of this table are \[.*'efficiency'",
    ),
    (
        "world-detector-runtime-state",
        _set("world", "detectors", "pol_h", "latched", value=True),
        r"world\.detectors\.pol_h: ",
        r"unknown key\(s\) \['latched'\]",
    ),
    (
        "snspd-dark-count-unused",
        _set("world", "detectors", "pol_h", "dark_count_hz", value=5.0),
        r"world\.detectors\.pol_h: ",
        r"dark_count_hz is not a parameter of this kind: an SNSPD's dark counts are dark_floor_hz",
    ),
    (
        "world-detector-unknown-kind",
        _set("world", "detectors", "pol_h", "kind", value="pmt"),
        r"world\.detectors\.pol_h: ",
        r"Input tag 'pmt' .* does not match any of the expected tags: 'generic', 'snspd', 'spad'",
    ),
    (
        "world-tagger-wiring",
        _set("world", "taggers", "tagger", "channels", value={1: {"detector": "pol_h"}}),
        r"world\.taggers\.tagger: ",
        r"channels is an instrument setting, not world physics: give it as inputs of the swabian_timetagger entry",
    ),
    (
        "world-tagger-jitter-nan",
        _set("world", "taggers", "tagger", "jitter_ps", value=NAN),
        r"world\.taggers\.tagger\.jitter_ps",
        r"finite number",
    ),
    (
        "waveplate-misspelt",
        _set("world", "actuators", "ent_a_qwp", "retardence_waves", value=0.25),
        r"world\.actuators\.ent_a_qwp: ",
        r"unknown key\(s\) \['retardence_waves'\]; the keys of this table are "
        r"\['angle_deg', 'mount_zero_deg', 'retardance_waves'\]",
    ),
    (
        "waveplate-retardance-zero",
        _set("world", "actuators", "ent_a_qwp", "retardance_waves", value=0.0),
        r"world\.actuators\.ent_a_qwp\.retardance_waves",
        r"greater than 0",
    ),
    (
        "transmitter-encoding-unknown",
        _set("world", "transmitters", "alice", "encoding", value="polarisation"),
        r"world\.transmitters\.alice",
        r"encoding 'polarisation' is not one of \['none', 'polarization', 'time_bin'\]",
    ),
    (
        "transmitter-decoy-above-one",
        _set("world", "transmitters", "alice", "decoy_ratio", value=1.5),
        r"world\.transmitters\.alice\.decoy_ratio",
        r"less than or equal to 1",
    ),
    (
        "transmitter-pattern-is-state",
        _set("world", "transmitters", "alice", "pattern_on", value=True),
        r"world\.transmitters\.alice: ",
        r"unknown key\(s\) \['pattern_on'\]",
    ),
    # --- the file itself ------------------------------------------------------------------------
    ("not-a-mapping", lambda text: "- just\n- a list\n", r"", r"expected a mapping at the top level, got list"),
    ("not-yaml", lambda text: text + "\n  : : [\n", r"", r"not valid YAML"),
    (
        "world-key-owned-by-an-instrument",
        _set("world", "detectors", "pol_h", "bias_ua", value=9.0),
        r"world\.detectors\.pol_h",
        r"bias_ua is an instrument setting, not world physics",
    ),
]


def _write_case(tmp_path: Path, change) -> Path:
    text = SIM_LAB.read_text()
    path = tmp_path / "bad_lab.yaml"
    try:
        changed = change(text)
    except TypeError:  # a data mutation, not a text edit
        changed = None
    if isinstance(changed, str):
        path.write_text(changed)
    else:
        raw = yaml.safe_load(text)
        change(raw)
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_the_corpus_covers_every_fault_kind():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("change", "where", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_is_refused_naming_file_key_and_problem(tmp_path, change, where, problem):
    path = _write_case(tmp_path, change)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert message.startswith(f"{path}:"), message
    assert re.search(where, message), f"key path {where!r} not in: {message}"
    assert re.search(problem, message), f"problem {problem!r} not in: {message}"
    assert "Traceback" not in message and "Value error," not in message


def test_a_directory_a_fifo_and_a_missing_file_are_refused_without_reading(tmp_path):
    fifo = tmp_path / "lab.fifo"
    os.mkfifo(fifo)  # opening it to read would block until a writer came
    for path, problem in (
        (tmp_path, "is a directory, not a config file"),
        (fifo, "is not a regular file"),
        (tmp_path / "absent.yaml", "no such config file"),
    ):
        with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: {problem}"):
            load_config(path)


def test_every_refusal_is_in_one_message(tmp_path):
    """Two faults in one file: both named, each on its own line with its key path."""

    def two_faults(raw):
        raw["instruments"]["laser"]["timeout_s"] = 1e6
        raw["world"]["time_scale"] = 1e-6

    path = _write_case(tmp_path, two_faults)
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    lines = str(refused.value).splitlines()
    assert lines[0] == f"{path}: 2 problem(s)"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["instruments.laser.timeout_s", "world.time_scale"]
