"""The README's "Use" section typed into IPython and a shell under tmux, asserted on the screen.

What lab staff see: short reprs of the session and the lab, plans listed with units and
limits, ordered tables, an operator error as one line (``%tb`` keeps the traceback), and
the shell commands working from an empty directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed: the scripted terminal session needs it")


def _use_blocks() -> tuple[list[str], list[str]]:
    """The statements of the README's "Use" section: its python block and its bash block."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Use\n") : text.index("\n## ", text.index("## Use\n") + 1)]
    python = re.search(r"```python\n(.*?)```", section, re.S)
    bash = re.search(r"```bash\n(.*?)```", section, re.S)
    assert python and bash, "README's Use section must hold a python and a bash block"

    def statements(block: str) -> list[str]:
        return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]

    return statements(python.group(1)), statements(bash.group(1))


class Terminal:
    """One tmux window on a private server: type lines, wait for text, read the screen."""

    def __init__(self, socket: str, command: list[str], cwd: Path, env: dict[str, str]):
        self.base = [TMUX or "tmux", "-L", socket]
        size = ["-x", "170", "-y", "50"]
        subprocess.run([*self.base, "new-session", "-d", *size, "-c", str(cwd), "env", *env_args(env), *command],
                       check=True)  # fmt: skip

    def type(self, line: str) -> None:
        subprocess.run([*self.base, "send-keys", "-l", line], check=True)
        subprocess.run([*self.base, "send-keys", "Enter"], check=True)

    def screen(self) -> str:
        out = subprocess.run([*self.base, "capture-pane", "-p", "-J", "-S", "-20000"], capture_output=True, text=True)
        return out.stdout

    def wait_for(self, pattern: str, timeout_s: float = 240) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen, re.M):
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{pattern!r} did not appear within {timeout_s} s; the screen:\n{self.screen()[-3000:]}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def env_args(env: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]


def _output_of(screen: str, number: int) -> list[str]:
    """The non-empty lines IPython printed between prompt ``In [number]`` and the next prompt."""
    after = screen.split(f"In [{number}]: ", 1)[1]
    lines = after.split(f"In [{number + 1}]: ", 1)[0].splitlines()[1:]
    return [line for line in lines if line.strip()]


@pytest.fixture
def environment(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("QNETLAB_")}
    env |= {"PYTHONPATH": str(REPO), "QNETLAB_SEED": "20261123", "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TERM": "xterm", "COLUMNS": "170"}
    work = tmp_path / "empty"
    work.mkdir()
    return env, work


def test_readme_use_section_in_ipython(environment):
    env, work = environment
    python_lines, _ = _use_blocks()
    ipython = [sys.executable, "-m", "IPython", "--no-banner", "--colors=nocolor", "--simple-prompt"]
    terminal = Terminal(f"qnetlab-test-{os.getpid()}-ipy", ipython, work, env)
    try:
        terminal.wait_for(r"^In \[1\]: ", 60)
        numbers = {}
        for number, line in enumerate([*python_lines, 's.table(uid, "nope")', "%tb"], start=1):
            terminal.type(line)
            numbers[line] = number
            terminal.wait_for(rf"^In \[{number + 1}\]: ")
        screen = terminal.screen()
    finally:
        terminal.close()
    (work.parent / "screen.txt").write_text(screen)  # kept beside the test's data for a reader

    def shown(line: str) -> list[str]:
        return _output_of(screen, numbers[line])

    session_repr = shown(next(line for line in python_lines if line.startswith("s  #")))
    assert session_repr[0].startswith("Out[") and len(session_repr) <= 6, session_repr
    assert "qnetlab session: lab 'sim_lab' (13 instruments, 13 simulated, seed 20261123" in session_repr[1]
    lab = shown(next(line for line in python_lines if line.startswith("s.lab  #")))
    assert lab[2].split() == ["name", "kind", "address", "state"] and len(lab) == 3 + 13
    listed = "\n".join(shown(next(line for line in python_lines if line.startswith("plans.list()"))))
    assert "count_rates: Record the count rate" in listed and "duration_s: float, default 1.0, unit s, > 0" in listed
    table = shown(next(line for line in python_lines if line.startswith("s.table(-1)")))
    assert re.search(r"^\s+tagger_ch1_rate_hz\s+tagger_ch2_rate_hz\s+tagger_ch3_rate_hz\s", table[1])  # natural order
    assert table[2].split()[0] == "time" and re.match(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00:00 ", table[3])
    over = shown(next(line for line in python_lines if "set(3)" in line))
    assert over == [
        "LimitError: laser: 'power_dbm': 3 is outside the safe range [-20.0, 0.0] set in the lab config  "
        "(full traceback: %tb)"
    ]
    summary = "\n".join(shown(next(line for line in python_lines if '"summary"' in line)))
    assert "tagger_ch2_tags  tagger_ch3_tags" in summary
    assert shown('s.table(uid, "nope")') == [
        f"StreamNotFound: run {_uid_prefix(screen)} (scan 2, record_tags) has no stream 'nope'; "
        "its streams: summary, timetags, transmitter  (full traceback: %tb)"
    ]
    assert "Traceback" in "\n".join(shown("%tb"))
    assert "Traceback" not in screen.split(f"In [{numbers['%tb']}]: ")[0]  # no traceback before %tb asked for one


def _uid_prefix(screen: str) -> str:
    match = re.findall(r"Persistent Unique Scan ID: '([0-9a-f]{8})", screen)
    assert len(match) == 2, "the live table names both runs"
    return match[-1]


def test_readme_shell_commands(environment):
    env, work = environment
    _, bash_lines = _use_blocks()
    shell = ["bash", "--norc", "--noprofile"]
    terminal = Terminal(f"qnetlab-test-{os.getpid()}-sh", shell, work, env | {"PS1": "$ "})
    try:
        for number, line in enumerate(bash_lines, start=1):
            terminal.type(line)
            terminal.type(f"echo step{number}=$?")
            terminal.wait_for(rf"^step{number}=\d+$")
        screen = terminal.screen()
    finally:
        terminal.close()
    (work.parent / "screen.txt").write_text(screen)
    codes = re.findall(r"^step\d+=(\d+)$", screen, re.M)
    assert codes == ["0"] * len(bash_lines), screen[-3000:]
    assert re.search(r"^\s+plans\s+List the plans", screen, re.M) and re.search(r"^\s+config\s", screen, re.M)
    assert "[default: 1.0]" in screen or "qnetlab --help" in screen
    assert "duration_s: float, default 1.0, unit s, > 0" in screen
    assert "# chosen by: the simulated lab shipped with qnetlab" in screen
    assert "seed: 20261123 (pinned by $QNETLAB_SEED; --seed 20261123 repeats this run)" in screen
    # the CLI names simulated and wall time only when they differ by more than 10 % (machine load decides)
    # (each such line gives the simulated time of one of the durations the README's commands ask for)
    durations = {float(d) for line in bash_lines for d in re.findall(r"--duration (\S+)", line)}
    timings = re.findall(r"^simulated time (\S+) s in ([\d.]+) s of wall time", screen, re.M)
    assert all(float(simulated) in durations for simulated, _ in timings), (durations, timings)
    assert len(timings) == len(re.findall(r"simulated time", screen))
    assert re.search(r"^  tagger_ch1_rate_hz: 78125 counts/s", screen, re.M)
    assert (work / "data" / "catalog.db").exists()  # ./data of an empty directory
