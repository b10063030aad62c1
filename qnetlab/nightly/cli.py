"""``qnetlab nightly``: the unattended calibration job (typer only at import; the rest when it runs)."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from qnetlab.served.cli import DEFAULT_QUEUE_DIR, CatalogUriOption, QueueDirOption, served_catalog

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
    catalog_uri: CatalogUriOption = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue", help="submit the night to the node's queue (qnetlab queue start) as one item and wait for it"
        ),
    ] = False,
    queue_dir: QueueDirOption = DEFAULT_QUEUE_DIR,
    queue_timeout: Annotated[
        float, typer.Option("--queue-timeout", help="with --queue: how long to wait for the night (s)")
    ] = 4 * 3600.0,
) -> None:
    """Run the nightly calibration: each step's summary, an HTML report, exit 0 only if every step passed.

    Exit status: 0 all passed, 1 a step failed or was skipped, 2 bad arguments or config,
    130/143 stopped by Ctrl-C/SIGTERM (the running run aborted and closed, the steps left
    skipped, the report written). With --queue the node's worker runs the night (its lab config,
    data directory and catalog; --config is not used) and writes the report on the node; Ctrl-C
    stops waiting, not the night.
    """
    from qnetlab.cli import _check_config_file, _check_data_dir, _fail
    from qnetlab.config_source import resolve_config

    if queue:
        from qnetlab.nightly.config import NightlyConfigError, load_nightly_config
        from qnetlab.served.cli import run_queued_nightly

        if drift_hours is not None and not 0 <= drift_hours <= 24 * 30:
            _fail(f"--drift-hours must be between 0 and 720, got {drift_hours}")
        if report_dir is not None:
            _fail("--report-dir does not apply with --queue: the worker writes the report under its data directory")
        try:
            load_nightly_config(nightly_config)  # refuse a bad file here, before it is queued
        except NightlyConfigError as error:
            _fail(str(error))
        passed = run_queued_nightly(queue_dir, nightly_config, drift_hours, catalog_uri, data_dir, queue_timeout)
        raise typer.Exit(code=0 if passed else 1)
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
    uri, _ = served_catalog(catalog_uri)
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.instruments import ConfigError

    try:
        job, report = _run(config, steps, directory, report_dir or directory / "reports", drift_hours, quiet, uri)
    except (ConfigError, InstrumentError, ValueError) as error:
        _fail(str(error))
    typer.echo(job.verdict())
    for line in job.recoveries:
        typer.echo(f"  suspended and recovered: {line}")
    typer.echo(f"report: {report}")
    raise typer.Exit(code=0 if job.passed else 1)


def _run(config, steps, data_dir, report_dir, drift_hours, quiet, catalog_uri=None):
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

    with session.start(config, data_dir=data_dir, catalog_uri=catalog_uri, live_table=False, progress=False) as s:
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
