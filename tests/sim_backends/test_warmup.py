"""Compile ahead: no instrument timeout counts numba's compile time, even with its cache cold."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

REPO = pathlib.Path(__file__).resolve().parents[2]


def _compiled(dispatchers) -> dict[str, int]:
    """Signatures compiled per pass (inlined helpers and the test-only generator left out)."""
    return {
        name: len(d.signatures)
        for name, d in dispatchers.items()
        if d.targetoptions.get("inline") != "always" and name != "splitmix.uniforms"
    }


def test_after_the_warm_up_the_sim_lab_world_compiles_nothing_more():
    from qnetlab.instruments.lab import load_lab
    from qnetlab.sim_backends.world.warmup import compile_world_kernels, kernel_dispatchers

    compile_world_kernels()
    before = _compiled(kernel_dispatchers())
    called_from_python = set(before) - {"pulsed_walk.alias_table"}  # (that one only inside link_tables)
    assert len(called_from_python) == 7 and all(before[name] >= 1 for name in called_from_python), before
    with load_lab(REPO / "config" / "sim_lab.yaml") as lab:  # the instruments set the world (SNSPD bias, ...)
        world = lab.world
    for flush in (False, False, True):
        world.acquire(5_000_000_000, "tagger", flush=flush)
    assert _compiled(kernel_dispatchers()) == before  # no signature compiled during the lab's use


def test_a_cold_numba_cache_does_not_time_out_the_first_reading(tmp_path):
    """A fresh process, NUMBA_CACHE_DIR empty: the lab starts (compiling ahead, with a
    message) and the first count-rate reading finishes well inside a 5 s timeout, shorter
    than a cold compile (~15 s), so compile time counted against it would fail this."""
    script = textwrap.dedent(
        f"""
        from qnetlab.instruments.lab import load_lab
        with load_lab({str(REPO / "config" / "sim_lab.yaml")!r}) as lab:
            driver = lab.default_device("tagger").driver
            rates = driver.count_rates([1, 2, 3, 4], 0.05, timeout_s=5.0)
            print("rates", *rates)
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rates = [float(value) for value in done.stdout.split("rates", 1)[1].split()]
    assert len(rates) == 4 and min(rates) > 1e4
    assert "compiling the simulated world's kernels" in done.stderr
    assert any((tmp_path / "numba").rglob("*.nbi"))  # and numba cached them for the next process
