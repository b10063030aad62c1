"""The ``world`` section of a lab config: the physics of the simulated bench.

Only physics that no instrument sets is here. What an instrument sets (SNSPD bias, SPAD
efficiency and dead time, tagger input delay, dead time and trigger level) is given once,
in that instrument's entry, and reaches the world through the driver as on the bench:
the twin starts in its power-on state, then the device applies the configured settings.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from qnetlab.instruments._strict import Fraction, NonNegative, Positive, Strict


class TransmitterPhysics(Strict):
    """Alice's pulsed laser and modulators (mean photon number = power / (hν·f) · 10^(−att/10))."""

    rep_rate_hz: Positive = 80e6
    power_dbm: float = -10.0
    wavelength_nm: Positive = 1550.0
    attenuation_db: NonNegative = 70.0
    output_on: bool = True
    encoding: Literal["none", "polarization", "time_bin"] = "none"
    decoy_ratio: Fraction = 0.25
    vacuum_ratio: Fraction = 0.0
    time_bin_separation_ps: Annotated[int, Field(gt=0)] = 2_000


class FiberPhysics(Strict):
    length_km: NonNegative = 0.0
    loss_db_per_km: NonNegative = 0.2
    polarization_drift_time_s: Positive = Field(float("inf"), description="τ of the SU(2) random walk (s)")
    phase_drift_time_s: Positive = Field(float("inf"), description="τ of the phase random walk (s)")
    initial_rotation: Literal["identity", "random"] = "identity"


class SplitterLinkPhysics(Strict):
    kind: Literal["splitter"]
    transmitter: str
    fiber: str
    fractions: dict[str, Fraction] = Field(description="detector -> fraction of the fiber output")
    receiver_loss_db: NonNegative = 0.0

    @model_validator(mode="after")
    def _fractions(self):
        if sum(self.fractions.values()) > 1.0 + 1e-9:
            raise ValueError(f"fractions sum to {sum(self.fractions.values()):g}, above 1")
        return self

    def detector_names(self) -> list[str]:
        return list(self.fractions)


class PolarizationLinkPhysics(Strict):
    kind: Literal["polarization_bb84"]
    transmitter: str
    fiber: str
    controller: str | None = Field(None, description="paddle controller actuator in front of Bob's receiver")
    misalignment: Fraction = 0.01
    receiver_loss_db: NonNegative = 0.0
    detectors: dict[Literal["H", "V", "D", "A"], str]
    eavesdropper: bool = Field(False, description="an intercept-resend eavesdropper on the fiber (QBER 1/4)")

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class TimeBinLinkPhysics(Strict):
    kind: Literal["time_bin_bb84"]
    transmitter: str
    fiber: str
    phase_shifter: str | None = None
    visibility: Fraction = 0.98
    phase_offset_rad: float = 0.0
    receiver_loss_db: NonNegative = 0.0
    detectors: dict[Literal["Z", "X0", "X1"], str]

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


class AnalyzerPlates(Strict):
    qwp: str | None = None
    hwp: str | None = None


class PairLinkPhysics(Strict):
    kind: Literal["entangled_pairs"]
    pair_rate_hz: NonNegative
    visibility: Fraction = 0.95
    heralding_a: Fraction = 0.2
    heralding_b: Fraction = 0.2
    analyzers: dict[Literal["A", "B"], AnalyzerPlates] = Field(default_factory=dict)
    detectors: dict[Literal["A_T", "A_R", "B_T", "B_R"], str]
    delay_b_ps: int = 0

    def detector_names(self) -> list[str]:
        return list(self.detectors.values())


LinkPhysics = Annotated[
    SplitterLinkPhysics | PolarizationLinkPhysics | TimeBinLinkPhysics | PairLinkPhysics, Field(discriminator="kind")
]


class WaveplatePhysics(Strict):
    kind: Literal["waveplate"]
    retardance_waves: Positive = 0.5
    angle_deg: float = 0.0


class PaddleControllerPhysics(Strict):
    kind: Literal["paddle_controller"]
    retardances_waves: tuple[Positive, Positive, Positive] = (0.25, 0.5, 0.25)
    angles_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)


class PhaseShifterPhysics(Strict):
    kind: Literal["phase_shifter"]
    v_2pi_v: Positive = 60.0
    voltage_v: float = 0.0
    voltage_range_v: tuple[float, float] = (0.0, 150.0)


ActuatorPhysics = Annotated[
    WaveplatePhysics | PaddleControllerPhysics | PhaseShifterPhysics, Field(discriminator="kind")
]


def _refuse_instrument_settings(data, owned: dict[str, str]):
    """Point a setting given in the world to the instrument entry that owns it."""
    if isinstance(data, dict):
        for key, owner in owned.items():
            if key in data:
                raise ValueError(f"{key} is an instrument setting, not world physics: give it as {owner}")
    return data


class DetectorPhysics(Strict):
    kind: Literal["generic"] = "generic"
    efficiency: Fraction = 0.2
    dark_count_hz: NonNegative = 100.0
    dead_time_ps: Annotated[int, Field(ge=0)] = 50_000
    jitter_ps: NonNegative = 50.0


class SnspdPhysics(Strict):
    """An SNSPD channel; its bias is the bias controller's setting (it starts at 0 µA), not here."""

    kind: Literal["snspd"]
    efficiency: Fraction = 0.85
    dead_time_ps: Annotated[int, Field(ge=0)] = 40_000
    jitter_ps: NonNegative = 20.0
    switching_current_ua: Positive = 12.0
    bias_mid_ua: Positive = 8.0
    bias_width_ua: Positive = 0.6
    dark_floor_hz: NonNegative = 20.0
    dark_at_switching_hz: NonNegative = 1.0e5
    dark_slope_ua: Positive = 0.35
    latch_rate_hz: Positive = 2.0e7
    retrap_current_ua: NonNegative = 2.0

    @model_validator(mode="before")
    @classmethod
    def _settings_elsewhere(cls, data):
        return _refuse_instrument_settings(data, {"bias_ua": "bias_ua of the scpi_snspd_controller entry (µA)"})


class SpadPhysics(Strict):
    """An InGaAs SPAD; its efficiency and dead time are the SPAD instrument's settings, not here."""

    kind: Literal["spad"]
    dark_count_hz: NonNegative = Field(300.0, description="dark counts at the 10 % efficiency setting (Hz)")
    jitter_ps: NonNegative = 100.0
    dark_exponent: NonNegative = 2.0
    afterpulse_probability: Fraction = 0.0
    afterpulse_tau_ps: Positive = 2_000_000.0

    @model_validator(mode="before")
    @classmethod
    def _settings_elsewhere(cls, data):
        owner = "the scpi_free_running_spad entry"
        return _refuse_instrument_settings(
            data, {"efficiency": f"efficiency of {owner}", "dead_time_ps": f"dead_time_us of {owner} (µs)"}
        )


AnyDetectorPhysics = Annotated[DetectorPhysics | SnspdPhysics | SpadPhysics, Field(discriminator="kind")]


class TaggerPhysics(Strict):
    """The tagger's hardware; each input's wiring and settings are in the tagger instrument's ``inputs``."""

    jitter_ps: NonNegative = 8.0
    detector_pulse_v: Positive = 1.0
    max_rate_hz: Positive = 6.5e7
    buffer_tags: Annotated[int, Field(gt=0)] = 64 * 2**20  # on-board buffer (vendor default 64 MTags)


class SyncPhysics(Strict):
    transmitter: str
    divider: Annotated[int, Field(gt=0)] = 1024


class WorldConfig(Strict):
    """Physics of the simulated bench (only used by ``sim: true`` instruments)."""

    seed: int = 0
    time_scale: Positive = Field(float("inf"), description="simulated seconds per real second")
    threads: Annotated[int, Field(ge=1, le=2)] = Field(
        1,
        description="threads for the busiest links' draws (2: the stream differs from one thread's for the same seed)",
    )
    transmitters: dict[str, TransmitterPhysics]
    fibers: dict[str, FiberPhysics]
    links: list[LinkPhysics]
    actuators: dict[str, ActuatorPhysics] = Field(default_factory=dict)
    detectors: dict[str, Annotated[DetectorPhysics | SnspdPhysics | SpadPhysics, Field(discriminator="kind")]]
    taggers: dict[str, TaggerPhysics]
    syncs: dict[str, SyncPhysics] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_detector_kind(cls, data):
        if isinstance(data, dict) and isinstance(data.get("detectors"), dict):
            data = dict(data)
            data["detectors"] = {
                k: ({"kind": "generic", **v} if isinstance(v, dict) and "kind" not in v else v)
                for k, v in data["detectors"].items()
            }
        return data

    @model_validator(mode="after")
    def _references(self):
        problems = []
        for index, link in enumerate(self.links):
            where = f"links.{index}"
            for attr, table in (("transmitter", self.transmitters), ("fiber", self.fibers)):
                ref = getattr(link, attr, None)
                if ref is not None and ref not in table:
                    problems.append(f"{where}.{attr}: {ref!r} is not one of {sorted(table)}")
            for ref in link.detector_names():
                if ref not in self.detectors:
                    problems.append(f"{where}: detector {ref!r} is not one of {sorted(self.detectors)}")
            plates = [getattr(link, "controller", None), getattr(link, "phase_shifter", None)]
            for side in getattr(link, "analyzers", {}).values():
                plates += [side.qwp, side.hwp]
            for ref in filter(None, plates):
                if ref not in self.actuators:
                    problems.append(f"{where}: actuator {ref!r} is not one of {sorted(self.actuators)}")
        for name, sync in self.syncs.items():
            if sync.transmitter not in self.transmitters:
                problems.append(f"syncs.{name}.transmitter: {sync.transmitter!r} is not a transmitter")
        if problems:
            raise ValueError("; ".join(problems))
        return self
