"""The ``qnetlab`` command line.

Only light modules are imported here; each command imports the lab, the plans and the
catalog when it runs, so ``qnetlab --help`` stays fast.
"""

from __future__ import annotations

import logging
import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,  # help text is plain: "[default: ...]" and "[1, 2]" are shown, not eaten as markup
    help="Run a quantum-networking lab: plans, and the runs they record.",
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="lab config file",
        show_default="$QNETLAB_CONFIG, else ~/.config/qnetlab/lab.yaml, else the simulated lab shipped with qnetlab",
    ),
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory", show_default="$QNETLAB_DATA_DIR, else ./data")
]

ENTANGLEMENT_PLANS = ("chsh", "visibility", "tomography")  # qnetlab/_entanglement_cli.py
PLANS = ("count_rates", "record_tags", "bb84", "bbm92", *ENTANGLEMENT_PLANS)

from qnetlab.served.cli import CatalogUriOption, served_catalog  # noqa: E402 (light: typer only)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


MAX_DURATION_S = 86_400.0  # one reading or recording: at most a day
MAX_READINGS = 1_000_000


@app.command()
def run(
    plan: Annotated[str, typer.Argument(help=f"plan to run: {', '.join(PLANS)}")],
    duration: Annotated[
        float, typer.Option("--duration", "-d", help="integration time per reading, or recording time (s)")
    ] = 1.0,
    channels: Annotated[
        str | None, typer.Option(help="comma-separated tagger channels", show_default="all inputs")
    ] = None,
    num: Annotated[int, typer.Option(help="number of readings")] = 1,
    seed: Annotated[
        int | None,
        typer.Option(help="seed of the simulated world", show_default="$QNETLAB_SEED, else the config's, else fresh"),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    catalog_uri: CatalogUriOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no live table or progress bar (the bar is shown only on a terminal)")
    ] = False,
) -> None:
    """Run a plan on the lab, record it in the catalog and print its uid and results.

    Exit status: 0 success, 1 the run failed (its stop document says why), 2 bad arguments
    or config, 130/143 aborted by Ctrl-C/SIGTERM (the run is closed, its tags linked).
    """
    from qnetlab.config_source import resolve_config

    source = resolve_config(config)
    chosen = _check_run_arguments(plan, duration, channels, num, source)
    directory = _check_data_dir(data_dir)
    uri, _ = served_catalog(catalog_uri)
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.instruments import ConfigError

    child = None
    if uri is None:  # the catalog opens in a child process while this one starts the lab
        from qnetlab._catalog_process import CatalogProcess

        child = CatalogProcess(directory)
    try:
        _run_plan(plan, source.path, directory, duration, chosen, num, quiet, seed, uri, child)
    except (ConfigError, InstrumentError, ValueError) as error:
        _fail(str(error))
    finally:
        if child is not None:
            child.close()
        # the lab and its files are closed, the run is in the catalog: exit without waiting for the
        # simulated world's worker to finish drawing a slice nobody will read (about a second)
        global _hard_exit
        _hard_exit = True


def _check_run_arguments(plan: str, duration: float, channels: str | None, num: int, config) -> list | None:
    """Refuse bad arguments before anything starts (one line each, exit 2)."""
    if plan not in PLANS:
        _fail(f"unknown plan {plan!r}; choose from {', '.join(PLANS)}")
    if not math.isfinite(duration) or not 0 < duration <= MAX_DURATION_S:
        _fail(f"--duration must be a finite time in (0, {MAX_DURATION_S:g}] s, got {duration!r}")
    if not 1 <= num <= MAX_READINGS:
        _fail(f"--num must be between 1 and {MAX_READINGS}, got {num}")
    if plan in ENTANGLEMENT_PLANS and (channels or num != 1):
        _fail(f"{plan} counts on the pair analyzers' inputs, one run per setting: --channels and --num do not apply")
    chosen = None
    if channels:
        try:
            chosen = [int(c) for c in channels.split(",")]
        except ValueError:
            _fail(f"--channels must be comma-separated integers, got {channels!r}")
    _check_config_file(config)
    return chosen


def _check_config_file(source) -> None:
    """Refuse a config that is missing, a directory, a FIFO or unreadable, naming where its path came from."""
    config, where = source.path, ("--config" if source.origin == "--config" else f"config from {source.origin}")
    try:
        mode = config.stat().st_mode  # stat never blocks, even on a FIFO
    except FileNotFoundError:
        _fail(f"{where} {config}: no such file")
    except OSError as error:
        _fail(f"{where} {config}: {error.strerror}")
    else:
        if stat.S_ISDIR(mode):
            _fail(f"{where} {config}: is a directory, not a config file")
        if not stat.S_ISREG(mode):
            _fail(f"{where} {config}: not a regular file (a FIFO or device cannot be a lab config)")
        if not os.access(config, os.R_OK):
            _fail(f"{where} {config}: not readable")


def _check_data_dir(data_dir: Path | None) -> Path:
    from qnetlab.catalog import DataDirError, resolve_data_dir

    try:
        return resolve_data_dir(data_dir)
    except DataDirError as error:
        _fail(f"--data-dir: {error}")
        raise  # unreachable: _fail exits


def _run_plan(plan, config, data_dir, duration, channels, num, quiet, seed, catalog_uri=None, child=None) -> None:
    from qnetlab import plans, session
    from qnetlab._cli_signals import aborting_on_signals
    from qnetlab._run_events import RunEvents

    progress = not quiet and sys.stderr.isatty()  # a log file (cron, CI) gets no redrawn bars
    uids: list[str] = []
    with session.start(
        config,
        seed=seed,
        data_dir=data_dir,
        catalog_uri=catalog_uri,
        live_table=not quiet,
        progress=progress,
        catalog_process=child if child is not None else False,
    ) as s:
        s.RE.subscribe(lambda name, doc: uids.append(doc["uid"]), "start")
        events = RunEvents()  # the results printed below, as the catalog wrote them
        s.RE.subscribe(events)
        tagger = s.lab.default_device("tagger")
        transmitter = s.lab.default_device("transmitter", required=False)
        if plan == "count_rates":
            recipe = plans.count_rates(tagger, duration_s=duration, channels=channels, num=num, transmitter=transmitter)
        elif plan == "bb84":
            from qnetlab._qkd_cli import bb84_recipe

            recipe = bb84_recipe(s, duration, typer.echo)
        elif plan == "bbm92":
            from qnetlab._qkd_cli import bbm92_recipe

            recipe = bbm92_recipe(s, duration, typer.echo)
        elif plan in ENTANGLEMENT_PLANS:
            from qnetlab._entanglement_cli import entanglement_recipe

            recipe = entanglement_recipe(s, plan, duration, seed)
        else:
            # collect every 0.25 s: a process killed outright loses at most about that much from the catalog
            recipe = plans.record_tags(
                tagger, duration_s=duration, channels=channels, transmitter=transmitter, collect_every_s=0.25
            )
        # the console gets one line per failure from this command, not bluesky's tracebacks
        logging.getLogger("bluesky").setLevel(logging.CRITICAL)
        with aborting_on_signals(s.RE, s.writer) as received:
            try:
                s.RE(recipe)
            except Exception as error:
                if received.signum is None:
                    _run_failed(uids, s.data_dir, error)
        if received.signum is not None:
            typer.secho(f"aborted: run {uids[-1] if uids else '(none)'} closed", fg=typer.colors.YELLOW, err=True)
            raise typer.Exit(code=received.exit_code)
        s.lab.close()  # while the catalog process writes the run's last documents
        if child is not None:
            from qnetlab._catalog_process import CatalogWriteError

            try:
                child.flush()  # the run is in the catalog
            except CatalogWriteError as error:
                _run_failed(uids, s.data_dir, error)
        uid = uids[-1]
        lines: list[str] = []
        if plan in ENTANGLEMENT_PLANS:  # one summary line (and the figures) instead of the count table
            from qnetlab._entanglement_cli import summary_lines

            lines, columns, unit = summary_lines(plan, events.table("results").iloc[0]), {}, ""
        else:  # (plain lists: pandas costs a third of a second to import)
            stream, unit = ("primary", "counts/s") if plan == "count_rates" else ("summary", "tags")
            columns = events.columns(stream)
    typer.echo(f"run uid: {uid}")
    typer.echo(f"data directory: {s.data_dir}")
    if catalog_uri:
        typer.echo(f"catalog: {catalog_uri}")
    if s.seed is not None:
        typer.echo(f"seed: {s.seed} ({s.seed_origin}; --seed {s.seed} repeats this run)")
    timing = s.clock.summary() if s.clock is not None else None
    if timing:
        typer.echo(f"{timing} (the simulated world keeps its own clock)")
    for line in lines:
        typer.echo(line)
    for column in sorted(columns, key=_natural_key):
        if column.endswith(("_rate_hz", "_tags")):
            values = columns[column]
            mean = sum(values) / len(values)
            typer.echo(f"  {column}: {mean:.6g} {unit}" + (f" (mean of {len(values)})" if len(values) > 1 else ""))


def _run_failed(uids: list[str], data_dir: Path, error: BaseException) -> None:
    """A run that started and failed: say which and why, exit 1 (its stop document holds the reason)."""
    from bluesky.utils import FailedStatus

    from qnetlab._failures import status_cause
    from qnetlab.catalog import is_disk_full

    if isinstance(error, FailedStatus):
        error = status_cause(error) or error
    if is_disk_full(error):
        global _hard_exit
        _hard_exit = True
    where = f"run {uids[-1]} failed" if uids else "the plan failed before its run started"
    message = " ".join(str(error).split("\n[SQL:")[0].split()) or type(error).__name__  # one line, no SQL
    if _hard_exit and "no space left" not in message.lower():
        message = f"No space left on device: {message}"
    typer.secho(f"error: {where}: {message}", fg=typer.colors.RED, err=True)
    typer.echo(f"data directory: {data_dir}", err=True)
    raise typer.Exit(code=1)


def _natural_key(name: str) -> list:
    """Sort key putting ``ch2`` before ``ch10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@app.command("plans")
def list_plans() -> None:
    """List the plans with their parameters: type, default, unit and limits."""
    from qnetlab import plans

    typer.echo(repr(plans.list()))


config_app = typer.Typer(no_args_is_help=True, help="The lab config: which file is used and what it holds.")


@config_app.command("show")
def show_config(config: ConfigOption = None) -> None:
    """Print the resolved lab config and where it came from."""
    from qnetlab.config_source import resolve_config

    source = resolve_config(config)
    _check_config_file(source)
    typer.echo(f"# lab config: {source.path}")
    typer.echo(f"# chosen by: {source.origin}")
    typer.echo(source.path.read_text(), nl=False)


app.add_typer(config_app, name="config")


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="how many of the newest runs")] = 20,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    catalog_uri: CatalogUriOption = None,
) -> None:
    """List the newest runs in the catalog (runs whose process died are closed as failed first)."""
    del config  # every command takes --config; the catalog does not depend on the lab
    from datetime import datetime

    from qnetlab.catalog import list_runs

    if limit < 1:
        _fail(f"--limit must be at least 1, got {limit}")
    _, served = served_catalog(catalog_uri)
    if served is not None:
        from qnetlab.served.catalog_client import list_served_runs

        listed = list_served_runs(served, limit)
    else:
        listed = list_runs(_check_data_dir(data_dir), limit)
    if not listed:
        typer.echo("no runs yet")
        return
    typer.echo(f"{'uid':36}  {'time':19}  {'plan':16}  status")
    for uid, meta in listed:
        start, stop = meta.get("start", {}), meta.get("stop") or {}
        when = datetime.fromtimestamp(start.get("time", 0)).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{uid:36}  {when}  {start.get('plan_name', '?'):16}  {stop.get('exit_status', 'running')}")


@app.command()
def repair(data_dir: DataDirOption = None, catalog_uri: CatalogUriOption = None) -> None:
    """Close the runs whose recording process died: exit_status fail, every tag in their files linked.

    With a served catalog: the runs that this data directory's dead processes left open there.
    """
    from qnetlab._run_liveness import close_orphaned_runs
    from qnetlab.catalog import data_dir_lock, open_catalog

    directory = _check_data_dir(data_dir)
    _, served = served_catalog(catalog_uri)
    catalog = served if served is not None else open_catalog(directory, close_orphans=False)
    with data_dir_lock(directory):
        closed = close_orphaned_runs(catalog, directory)
    for uid in closed:
        typer.echo(f"closed run {uid}: {catalog[uid].metadata['stop']['reason']}")
    typer.echo(f"{len(closed)} run(s) closed" if closed else "no run left open by a dead process")


_hard_exit = False  # set once a run's command has closed everything (and after a full disk: HDF5's teardown can crash)


from qnetlab.kms.cli import app as _kms_app  # noqa: E402 (light: typer only)

app.add_typer(_kms_app, name="kms")

from qnetlab.served.cli import queue_app as _queue_app  # noqa: E402 (light: typer only)
from qnetlab.served.cli import serve_app as _serve_app  # noqa: E402

app.add_typer(_serve_app, name="serve")
app.add_typer(_queue_app, name="queue")
from qnetlab.nightly.cli import nightly as _nightly  # noqa: E402 (light: typer only)

app.command(name="nightly")(_nightly)

report_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Reports read back from the catalog.")
app.add_typer(report_app, name="report")


@report_app.command(name="qkd")
def report_qkd(
    day: Annotated[str, typer.Option("--day", help="the day of the runs, YYYY-MM-DD (local time)")],
    data_dir: DataDirOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="report directory", show_default="<data>/reports")] = None,
) -> None:
    """The QKD runs of one day: QBER, sifted and secret key rate, availability (HTML with PNG plots)."""
    from datetime import date

    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        _fail(f"--day {day!r} is not a date YYYY-MM-DD")
    from qnetlab.catalog import open_catalog, resolve_data_dir
    from qnetlab.qkd_report import write_day_report

    directory = resolve_data_dir(data_dir)
    path = write_day_report(open_catalog(directory), chosen, out or directory / "reports")
    typer.echo(f"report: {path}")


def main() -> None:
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    if _hard_exit:  # every file is closed and the run recorded; skip the interpreter's teardown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
