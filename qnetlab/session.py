"""An interactive session: RunEngine, lab devices and catalog, wired together.

>>> from qnetlab import session, plans
>>> s = session.start()      # the lab of --config / $QNETLAB_CONFIG / user config / the shipped sim lab
>>> uid = s.RE(plans.count_rates(s.lab.tagger, duration_s=1))
>>> s.catalog[-1]            # the run just recorded
>>> s.table(-1)              # its events as a pandas DataFrame

The RunEngine prints a live table, shows a progress bar on timed acquisitions, and
pauses cleanly on Ctrl-C (``RE.resume()`` / ``RE.abort()``). Every run goes to the
catalog through bluesky's TiledWriter, with the simulated world's seed in its start
document (``sim_seed``); scan ids continue from the catalog's last run. In IPython, an
error the operator causes prints as one line (``%tb`` shows the traceback).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qnetlab.config_source import ConfigSource, resolve_config

if TYPE_CHECKING:
    from bluesky import RunEngine

    from qnetlab._catalog_process import CatalogProcess
    from qnetlab.instruments.config import LabConfig
    from qnetlab.instruments.lab import Lab

ENV_SEED = "QNETLAB_SEED"


@dataclass(eq=False)  # hashable: the RunEngine keeps its subscribers in a registry
class RunClock:
    """Simulated and wall time of the last run (a RunEngine subscriber reading the world's clock)."""

    world: Any
    simulated_s: float | None = None
    wall_s: float | None = None
    _started: tuple[int, float] | None = field(default=None, repr=False)

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start":
            self._started = (self.world.now_ps, time.monotonic())
        elif name == "stop" and self._started is not None:
            begin_ps, begin_s = self._started
            self.simulated_s = (self.world.now_ps - begin_ps) / 1e12
            self.wall_s = time.monotonic() - begin_s

    def summary(self) -> str | None:
        """``simulated time 30 s in 7.1 s of wall time``, or None when they agree within 10 %."""
        if self.simulated_s is None or self.wall_s is None:
            return None
        if abs(self.simulated_s - self.wall_s) <= 0.1 * max(self.wall_s, 1e-3):
            return None
        return f"simulated time {self.simulated_s:.3g} s in {self.wall_s:.3g} s of wall time"


@dataclass(repr=False)
class Session:
    """What :func:`start` returns: ``RE``, ``lab``, ``catalog`` and where they came from."""

    RE: RunEngine
    lab: Lab
    catalog: Any  # tiled container of Bluesky runs
    data_dir: Path
    config: ConfigSource
    seed: int | None = None  # the simulated world's seed (None: no simulated instrument)
    seed_origin: str = ""
    writer: Any = None  # the CatalogWriter (holds this process's live file)
    clock: RunClock | None = None
    live_plots: Any = None  # the CalibrationLivePlots subscription, when live_plots=True
    qkd_plots: Any = None  # the QkdLivePlots subscription (QKD runs' blocks), when live_plots=True

    @property
    def config_path(self) -> Path:
        return self.config.path

    def __repr__(self) -> str:
        sims = sum(entry.sim for entry in self.lab.config.instruments.values())
        seed = f", seed {self.seed} ({self.seed_origin})" if self.seed is not None else ""
        return (
            f"qnetlab session: lab {self.lab.config.name!r} ({len(self.lab.config.instruments)} instruments, "
            f"{sims} simulated{seed})\n  config: {self.config}\n  data: {self.data_dir}\n"
            f"  next scan id: {self.RE.md.get('scan_id', 0) + 1}  (s.lab, s.RE, s.catalog, s.table(-1))"
        )

    def table(self, key: int | str = -1, stream: str = "primary"):
        """A recorded run's stream as a pandas DataFrame, indexed by event time.

        Parameters
        ----------
        key : uid, negative index (``-1``: the newest run) or positive scan id
        stream : event stream (``primary``, ``summary``, ``transmitter``...)

        Indexed by event ``time`` (UTC datetimes); the readings in natural order (``ch2``
        before ``ch10``). An unknown stream raises ``KeyError``
        listing the streams the run has.
        """
        from qnetlab._catalog_process import CatalogProcess
        from qnetlab._run_tables import stream_table

        if isinstance(self.catalog, CatalogProcess):
            return self.catalog.table(key, stream)
        return stream_table(self.catalog[key], stream)

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


def choose_seed(config: LabConfig, seed: int | None) -> tuple[int | None, str]:
    """The simulated world's seed and where it came from.

    ``seed`` (e.g. ``--seed``), else ``$QNETLAB_SEED``, else the config's ``world.seed``
    when it is written there, else a fresh one; None for a lab with no simulated world.
    """
    if config.world is None:
        return None, ""
    if seed is not None:
        return int(seed), "pinned by argument"
    if os.environ.get(ENV_SEED):
        text = os.environ[ENV_SEED]
        try:
            return int(text), f"pinned by ${ENV_SEED}"
        except ValueError:
            from qnetlab.instruments import ConfigError

            raise ConfigError(f"${ENV_SEED} must be an integer seed, got {text!r}") from None
    if "seed" in config.world.model_fields_set:
        return config.world.seed, "pinned by the config"
    return secrets.randbits(32), "fresh"


def start(
    config: str | Path | None = None,
    *,
    seed: int | None = None,
    data_dir: str | Path | None = None,
    catalog_uri: str | None = None,
    live_table: bool = True,
    progress: bool = True,
    live_plots: bool = False,
    catalog_process: bool | CatalogProcess = False,
) -> Session:
    """Start the lab of ``config`` with a RunEngine that records into the catalog.

    Parameters
    ----------
    config : lab config file (default: ``$QNETLAB_CONFIG``, else ``~/.config/qnetlab/lab.yaml``,
        else the simulated lab shipped with qnetlab; see :mod:`qnetlab.config_source`)
    seed : the simulated world's seed (default ``$QNETLAB_SEED``, else the config's, else fresh)
    data_dir : data directory (default ``$QNETLAB_DATA_DIR``, else ``./data``)
    catalog_uri : a Tiled server URL instead of the embedded catalog (default ``$QNETLAB_CATALOG_URI``)
    live_table : print a live table of each run
    progress : show a progress bar while the RunEngine waits on long acquisitions

    The settings in force in the data directory's calibration store
    (:mod:`qnetlab.calibration_store`) are applied after the config's start-up settings.
    live_plots : plot calibration scans and QKD runs as they run (matplotlib; for IPython, off in the CLI
        and CI); the subscriptions are ``session.live_plots`` (its ``figures`` by step) and
        ``session.qkd_plots`` (QBER per basis, sifted and secret key rate per block)
    catalog_process : open and write the embedded catalog in a child process
        (:mod:`qnetlab._catalog_process`; the command line's runs): it opens while the lab
        starts, and ``session.catalog`` only answers ``table``; ignored for a served catalog.
        A :class:`~qnetlab._catalog_process.CatalogProcess` already started for ``data_dir``
        is used as it is (the command line starts it before it imports the lab)
    """
    from bluesky import RunEngine

    from qnetlab._run_liveness import CatalogWriter
    from qnetlab.catalog import (
        CATALOG_URI_ENV,
        STREAM_RESERVE_FILE,
        last_scan_id,
        newest_scan_id,
        open_catalog,
        resolve_data_dir,
    )
    from qnetlab.instruments import load_lab
    from qnetlab.instruments.config import load_config

    source = resolve_config(config)
    directory = resolve_data_dir(data_dir)
    catalog_uri = catalog_uri or os.environ.get(CATALOG_URI_ENV) or None
    lab_config = load_config(source.path)
    chosen_seed, seed_origin = choose_seed(lab_config, seed)
    if lab_config.world is not None and chosen_seed is not None:
        world = lab_config.world.model_copy(update={"seed": chosen_seed})
        lab_config = lab_config.model_copy(update={"world": world})
    child = None
    if catalog_process is not False and catalog_uri is None:
        from qnetlab._catalog_process import CatalogProcess

        # opens the catalog on the other core while the lab starts
        child = catalog_process if isinstance(catalog_process, CatalogProcess) else CatalogProcess(directory)
    try:
        lab = load_lab(lab_config)
    except BaseException:
        if child is not None:
            child.close()
        raise
    for device in lab:
        if hasattr(device, "stream_directory"):
            device.stream_directory = directory / "timetags"
            device.disk_reserve = directory / STREAM_RESERVE_FILE
    try:
        from qnetlab.calibration_store import CalibrationStore, apply_settings

        apply_settings(lab, CalibrationStore(directory).current())  # start from the last good calibration
        md: dict[str, Any] = {"lab": lab.config.name, "config_file": str(source.path)}
        if child is not None:  # the run may start before the child has the catalog open
            md["scan_id"] = newest_scan_id(directory)
            catalog = writer = child
        else:
            catalog = open_catalog(directory, uri=catalog_uri)
            md["scan_id"] = last_scan_id(catalog)
            writer = CatalogWriter(catalog, directory, lock=catalog_uri is None)  # live file also when served
        if chosen_seed is not None:
            md["sim_seed"] = chosen_seed
        RE = RunEngine(md)
        from qnetlab._failures import raise_status_cause

        RE.preprocessors.append(raise_status_cause)
        RE.subscribe(writer)
        clock = RunClock(lab.world) if lab.world is not None else None
        if clock is not None:
            RE.subscribe(clock)
        if live_table:
            from bluesky.callbacks.best_effort import BestEffortCallback

            bec = BestEffortCallback()
            bec.disable_plots()
            RE.subscribe(bec)
        plots = qkd_plots = None
        if live_plots:
            from qnetlab.plans.calibration.live_plots import CalibrationLivePlots
            from qnetlab.plans.qkd.live import QkdLivePlots

            plots = CalibrationLivePlots()
            RE.subscribe(plots)
            qkd_plots = QkdLivePlots()
            RE.subscribe(qkd_plots)
        if progress:
            from bluesky.utils import ProgressBarManager

            RE.waiting_hook = ProgressBarManager()  # pyright: ignore[reportAttributeAccessIssue]  # typed None in bluesky
    except BaseException:
        lab.close()
        if child is not None:
            child.close()
        raise
    from qnetlab._operator_errors import install_ipython_handler, quiet_ophyd_set_failures

    quiet_ophyd_set_failures()
    install_ipython_handler()
    return Session(
        RE=RE,
        lab=lab,
        catalog=catalog,
        data_dir=directory,
        config=source,
        seed=chosen_seed,
        seed_origin=seed_origin,
        writer=writer,
        clock=clock,
        live_plots=plots,
        qkd_plots=qkd_plots,
    )
