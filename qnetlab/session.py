"""An interactive session: RunEngine, lab devices and catalog, wired together.

>>> from qnetlab import session
>>> s = session.start("config/sim_lab.yaml")
>>> from qnetlab import plans
>>> uid = s.RE(plans.count_rates(s.lab.tagger, duration_s=1))
>>> s.catalog[-1]            # the run just recorded
>>> s.table(-1)              # its events as a pandas DataFrame

The RunEngine prints a live table, shows a progress bar on timed acquisitions, and
pauses cleanly on Ctrl-C (``RE.resume()`` / ``RE.abort()``). Every run goes to the
catalog through bluesky's TiledWriter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bluesky import RunEngine

    from qnetlab.instruments.lab import Lab

DEFAULT_CONFIG = "config/sim_lab.yaml"


@dataclass
class Session:
    """What :func:`start` returns."""

    RE: RunEngine
    lab: Lab
    catalog: Any  # tiled container of Bluesky runs
    data_dir: Path
    config_path: Path
    writer: object = None  # the CatalogWriter (holds this process's live file)
    live_plots: Any = None  # the CalibrationLivePlots subscription, when live_plots=True

    def table(self, key: int | str = -1, stream: str = "primary"):
        """A recorded run's events as a pandas DataFrame (``key``: uid or index)."""
        from qnetlab.catalog import run_table

        return run_table(self.catalog[key], stream)

    def close(self) -> None:
        """Disconnect the instruments and stop the emulators."""
        try:
            self.lab.close()
        finally:
            if self.writer is not None:
                self.writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def start(
    config: str | Path = DEFAULT_CONFIG,
    *,
    data_dir: str | Path | None = None,
    catalog_uri: str | None = None,
    live_table: bool = True,
    progress: bool = True,
    live_plots: bool = False,
) -> Session:
    """Start the lab of ``config`` with a RunEngine that records into the catalog.

    Parameters
    ----------
    config : lab config file
    data_dir : data directory (default ``$QNETLAB_DATA_DIR``, else ``./data``)
    catalog_uri : a Tiled server URL instead of the embedded catalog
    live_table : print a live table of each run
    progress : show a progress bar while the RunEngine waits on long acquisitions
    live_plots : plot calibration scans as they run (matplotlib; for IPython, off in the CLI and CI);
        the subscription is ``session.live_plots`` (its ``figures`` by step)
    """
    from bluesky import RunEngine

    from qnetlab._run_liveness import CatalogWriter
    from qnetlab.catalog import open_catalog, resolve_data_dir
    from qnetlab.instruments import load_lab

    directory = resolve_data_dir(data_dir)
    lab = load_lab(config)
    for device in lab:
        if hasattr(device, "stream_directory"):
            device.stream_directory = directory / "timetags"
            device.disk_reserve = directory / ".disk-reserve"
    try:
        catalog = open_catalog(directory, uri=catalog_uri)
        RE = RunEngine({"lab": lab.config.name, "config_file": str(Path(config))})
        from qnetlab._failures import raise_status_cause

        RE.preprocessors.append(raise_status_cause)
        writer = CatalogWriter(catalog, directory if catalog_uri is None else None)
        RE.subscribe(writer)
        if live_table:
            from bluesky.callbacks.best_effort import BestEffortCallback

            bec = BestEffortCallback()
            bec.disable_plots()
            RE.subscribe(bec)
        plots = None
        if live_plots:
            from qnetlab.plans.calibration.live_plots import CalibrationLivePlots

            plots = CalibrationLivePlots()
            RE.subscribe(plots)
        if progress:
            from bluesky.utils import ProgressBarManager

            RE.waiting_hook = ProgressBarManager()  # pyright: ignore[reportAttributeAccessIssue]  # typed None in bluesky
    except Exception:
        lab.close()
        raise
    return Session(
        RE=RE,
        lab=lab,
        catalog=catalog,
        data_dir=directory,
        config_path=Path(config),
        writer=writer,
        live_plots=plots,
    )
