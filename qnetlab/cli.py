"""The ``qnetlab`` command line.

Only light modules are imported here; each command imports the lab, the plans and the
catalog when it runs, so ``qnetlab --help`` stays fast.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Run a quantum-networking lab: plans, and the runs they record."
)

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="lab config file")]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory [default: $QNETLAB_DATA_DIR, else ./data]")
]
DEFAULT_CONFIG = Path("config/sim_lab.yaml")

PLANS = ("count_rates", "record_tags")


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def run(
    plan: Annotated[str, typer.Argument(help=f"plan to run: {', '.join(PLANS)}")],
    duration: Annotated[
        float, typer.Option("--duration", "-d", help="integration time per reading, or recording time (s)")
    ] = 1.0,
    channels: Annotated[str | None, typer.Option(help="comma-separated tagger channels [default: all]")] = None,
    num: Annotated[int, typer.Option(help="number of readings")] = 1,
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no live table or progress bar (the bar is shown only on a terminal)")
    ] = False,
) -> None:
    """Run a plan on the lab, record it in the catalog and print its uid and results."""
    if plan not in PLANS:
        _fail(f"unknown plan {plan!r}; choose from {', '.join(PLANS)}")
    try:
        chosen = [int(c) for c in channels.split(",")] if channels else None
    except ValueError:
        _fail(f"--channels must be comma-separated integers, got {channels!r}")
    from qnetlab.drivers.errors import InstrumentError
    from qnetlab.instruments import ConfigError

    try:
        _run_plan(plan, config, data_dir, duration, chosen, num, quiet)
    except (ConfigError, InstrumentError, ValueError) as error:
        _fail(str(error))


def _run_plan(plan, config, data_dir, duration, channels, num, quiet) -> None:
    from qnetlab import plans, session

    progress = not quiet and sys.stderr.isatty()  # a log file (cron, CI) gets no redrawn bars
    with session.start(config, data_dir=data_dir, live_table=not quiet, progress=progress) as s:
        tagger = s.lab.default_device("tagger")
        transmitter = s.lab.default_device("transmitter", required=False)
        if plan == "count_rates":
            uid = _run_uid(
                s.RE(
                    plans.count_rates(tagger, duration_s=duration, channels=channels, num=num, transmitter=transmitter)
                )
            )
            table, unit = s.table(uid), "counts/s"
        else:
            uid = _run_uid(
                s.RE(plans.record_tags(tagger, duration_s=duration, channels=channels, transmitter=transmitter))
            )
            table, unit = s.table(uid, "summary"), "tags"
    typer.echo(f"run uid: {uid}")
    typer.echo(f"data directory: {s.data_dir}")
    for column in sorted(table.columns, key=_natural_key):
        if column.endswith(("_rate_hz", "_tags")):
            values = table[column]
            typer.echo(
                f"  {column}: {values.mean():.6g} {unit}" + (f" (mean of {len(values)})" if len(values) > 1 else "")
            )


def _run_uid(result) -> str:
    """The uid of the one run a plan made (the RunEngine returns a tuple of uids or a RunEngineResult)."""
    uids = result if isinstance(result, tuple) else result.run_start_uids
    return uids[0]


def _natural_key(name: str) -> list:
    """Sort key putting ``ch2`` before ``ch10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


@app.command()
def runs(
    limit: Annotated[int, typer.Option(help="how many of the newest runs")] = 20,
    config: ConfigOption = DEFAULT_CONFIG,
    data_dir: DataDirOption = None,
) -> None:
    """List the newest runs in the catalog."""
    del config  # every command takes --config; the catalog does not depend on the lab
    from datetime import datetime

    from qnetlab.catalog import open_catalog

    catalog = open_catalog(data_dir)
    uids = list(catalog.keys())[-limit:] if len(catalog) else []
    if not uids:
        typer.echo("no runs yet")
        return
    typer.echo(f"{'uid':36}  {'time':19}  {'plan':16}  status")
    for uid in uids:
        meta = catalog[uid].metadata
        start, stop = meta.get("start", {}), meta.get("stop") or {}
        when = datetime.fromtimestamp(start.get("time", 0)).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{uid:36}  {when}  {start.get('plan_name', '?'):16}  {stop.get('exit_status', 'running?')}")


from qnetlab.kms.cli import app as _kms_app  # noqa: E402 (light: typer only)

app.add_typer(_kms_app, name="kms")


def main() -> None:
    sys.exit(app())
