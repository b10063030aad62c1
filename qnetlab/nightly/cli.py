"""``qnetlab nightly``: the unattended calibration job (typer only at import; the rest when it runs)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

# the nightly steps of the simulated lab, shipped with qnetlab (a copy of config/nightly.yaml, checked equal)
DEFAULT_NIGHTLY = Path(__file__).resolve().parent.parent / "data" / "nightly.yaml"


def nightly(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="lab config file [default: $QNETLAB_CONFIG, user config, shipped sim lab]"),
    ] = None,
    nightly_config: Annotated[
        Path,
        typer.Option(
            "--nightly", "-n", help="nightly config: steps, arguments, retries, depends_on [default: shipped]"
        ),
    ] = DEFAULT_NIGHTLY,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="data directory [default: $QNETLAB_DATA_DIR, else ./data]")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="where the HTML report goes [default: <data-dir>/reports]")
    ] = None,
    drift_hours: Annotated[
        float | None,
        typer.Option("--drift-hours", help="simulated labs: run the world forward this long first [default: config]"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Run the nightly calibration: each step's summary, an HTML report, exit 0 only if every step passed.

    Exit status: 0 all passed, 1 a step failed or was skipped, 2 bad arguments or config,
    130/143 stopped by Ctrl-C/SIGTERM (the running run aborted and closed, the steps left
    skipped, the report written).
    """
    from qnetlab.cli import _check_config_file, _check_data_dir, _fail
    from qnetlab.config_source import resolve_config

    source = resolve_config(config)
    _check_config_file(source)
    config = source.path
    if drift_hours is not None and not 0 <= drift_hours <= 24 * 30:
        _fail(f"--drift-hours must be between 0 and 720, got {drift_hours}")
    from qnetlab.nightly.config import NightlyConfigError, load_nightly_config

    try:
        steps = load_nightly_config(nightly_config)
    except NightlyConfigError as error:
        _fail(str(error))
    directory = _check_data_dir(data_dir)
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.instruments import ConfigError

    try:
        job, report = _run(config, steps, directory, report_dir or directory / "reports", drift_hours, quiet)
    except (ConfigError, InstrumentError, ValueError) as error:
        _fail(str(error))
    typer.echo(job.verdict())
    for line in job.recoveries:
        typer.echo(f"  suspended and recovered: {line}")
    typer.echo(f"report: {report}")
    raise typer.Exit(code=0 if job.passed else 1)


def _run(config, steps, data_dir, report_dir, drift_hours, quiet):
    from tqdm import tqdm

    from qnetlab import session
    from qnetlab._cli_signals import aborting_on_signals
    from qnetlab.nightly.job import run_job
    from qnetlab.nightly.report import write_report
    from qnetlab.nightly.suspenders import LabHealthWatch

    show_bar = not quiet and sys.stderr.isatty()  # cron and systemd logs get the summary lines only
    bar = tqdm(total=len(steps.steps), desc="nightly", unit="step", file=sys.stderr, disable=not show_bar)

    def on_step(result):
        bar.write(result.summary_line(), file=sys.stdout)
        bar.update(1)

    with session.start(config, data_dir=data_dir, live_table=False, progress=False) as s:
        logging.getLogger("bluesky").setLevel(logging.CRITICAL)  # one line per step here, not tracebacks
        watch = LabHealthWatch(s.lab, s.RE)
        watch.install()
        try:
            with aborting_on_signals(s.RE, s.writer) as received:
                stop = lambda: signal.Signals(received.signum).name if received.signum else None  # noqa: E731
                job = run_job(s, steps, drift_hours=drift_hours, on_step=on_step, watch=watch, stop_requested=stop)
        finally:
            watch.close()
            bar.close()
        report = write_report(job, s.catalog, report_dir)
    if received.signum is not None:
        typer.secho(f"stopped by {stop()}: report {report}", fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(code=received.exit_code)
    return job, report
