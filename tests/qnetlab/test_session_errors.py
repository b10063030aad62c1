"""Operator errors in IPython: one line and where to look; other errors keep their traceback; %tb works."""

from __future__ import annotations

import pytest

IPython = pytest.importorskip("IPython")


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    from qnetlab._operator_errors import install_ipython_handler

    shell = InteractiveShell.instance(colors="nocolor")
    assert install_ipython_handler()
    yield shell
    shell.set_custom_exc((), None)


def test_limit_error_inside_a_failed_status_is_one_line(shell, capsys):
    shell.run_cell(
        "from bluesky.utils import FailedStatus\n"
        "from ophyd.status import Status\n"
        "from qnetlab.drivers.errors import LimitError\n"
        "status = Status()\n"
        "status.set_exception(LimitError('laser', 'POW 3', 'power_dbm 3 is above its limit 0 dBm'))\n"
        "raise FailedStatus(status)\n"
    )
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines == ["LimitError: laser: 'POW 3': power_dbm 3 is above its limit 0 dBm  (full traceback: %tb)"]
    shell.run_cell("%tb")
    assert "Traceback" in capsys.readouterr().out  # the full traceback stays available


def test_plan_argument_error_is_one_line(shell, capsys):
    shell.run_cell("from qnetlab import plans\nplans.count_rates(None, duration_s=-1)")
    out = capsys.readouterr().out.strip()
    assert out.startswith("PlanArgumentError: count_rates: ") and "duration_s" in out and "greater than 0" in out
    assert len(out.splitlines()) == 1


def test_a_programming_error_keeps_its_traceback(shell, capsys):
    shell.run_cell("def broken():\n    return 1 / 0\nbroken()")
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out and "broken()" in out and "%tb" not in out
