"""The report of a real night on the sim lab: every calibration step's own figure, drawn from the catalog.

One night runs every shipped step (short acquisitions), a second night only the dark
counts (so one step has a trend). The numbers printed under each figure were derived
again from the run's recorded streams and tags; they must equal the step's own outcome
in the catalog. The PNGs must decode to images of a readable size.
"""

from __future__ import annotations

import base64
import io
import re
import time

import pytest
from conftest import SIM_LAB

from qnetlab import session
from qnetlab.nightly.config import NightlyConfig
from qnetlab.nightly.job import run_job
from qnetlab.nightly.outcome import outcome
from qnetlab.nightly.report import write_report

pytestmark = pytest.mark.slow

STEPS = [
    {"name": "detector_dark_counts", "plan": "detector_dark_counts", "devices": ["tagger", "laser"],
     "args": {"duration_s": 0.2}},
    {"name": "snspd_bias", "plan": "snspd_bias", "devices": ["tagger", "laser", "snspd"],
     "args": {"biases_ua": [6.0, 7.0, 8.0, 9.0, 9.5, 10.0, 10.5, 11.0], "duration_s": 0.02}},
    {"name": "tagger_delays", "plan": "tagger_delays", "devices": ["tagger"], "args": {"duration_s": 1.0}},
    {"name": "tagger_sync_delays", "plan": "tagger_sync_delays", "devices": ["tagger", "laser"],
     "args": {"duration_s": 0.03}},
    {"name": "polarization_compensation", "plan": "polarization_compensation",
     "devices": ["tagger", "laser", "bob_pc"], "args": {"duration_s": 0.03}},
    {"name": "timebin_phase", "plan": "timebin_phase", "devices": ["tagger", "laser", "bob_piezo"],
     "args": {"num": 10, "duration_s": 0.01}},
    {"name": "pair_source", "plan": "pair_source", "devices": ["tagger", "ent_a_hwp", "ent_b_hwp"],
     "args": {"duration_s": 0.3}},
]  # fmt: skip
FIGURES = {
    "detector_dark_counts": "detector rates",
    "snspd_bias": "bias curves",
    "tagger_delays": "delay peaks",
    "tagger_sync_delays": "sync offsets",
    "polarization_compensation": "QBER before/after",
    "timebin_phase": "fringe fit",
    "pair_source": "pair visibility",
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    with session.start(SIM_LAB, data_dir=root / "data", live_table=False, progress=False) as s:
        first = run_job(s, NightlyConfig.model_validate({"drift_hours": 6, "steps": STEPS}))
        began = time.perf_counter()
        first_html = write_report(first, s.catalog, root / "reports1").read_text()
        print(*(step.summary_line()[:100] for step in first.steps), sep="\n")
        print(f"report {time.perf_counter() - began:.1f} s")
        second = run_job(s, NightlyConfig.model_validate({"drift_hours": 1, "steps": STEPS[:1]}))
        second_html = write_report(second, s.catalog, root / "reports2").read_text()
        yield s.catalog, (first, first_html), (second, second_html)


def test_every_step_passes_and_has_its_own_figure(nights):
    _, (job, html), _ = nights
    assert job.passed, [s.summary_line() for s in job.steps if s.status != "passed"]
    assert html.index('class="verdict"') < html.index("<h2")  # the verdict first
    for step, alt in FIGURES.items():
        assert f'alt="{step} {alt}"' in html, step
    assert "before/after" not in html.replace("QBER before/after", "")  # no generic plot where a step has its own
    assert "figure-error" not in html


def test_derived_numbers_match_each_steps_outcome_in_the_catalog(nights):
    catalog, (job, html), _ = nights
    derived = re.findall(r'data-derived="([^".]+)\.([^"]+)">([^<]+)<', html)
    outcomes = {step.name: outcome(catalog[step.run_uids[-1]]) for step in job.steps}  # read back, once per run
    checked = set()
    for step, name, shown in derived:
        decoded = outcomes[step]
        when, _, figure = name.rpartition(" ")
        recorded = decoded["figures_before" if when == "before" else "figures_after"][figure]
        assert float(shown) == pytest.approx(recorded, rel=1e-5, abs=1e-9), (step, name)
        checked.add(step)
    assert checked == set(FIGURES)  # every step's figure re-derived numbers the outcome holds


def test_images_are_pngs_of_a_readable_size_and_the_trend_reads_both_nights(nights):
    from matplotlib.image import imread

    _, (_, first), (_, second) = nights
    for html in (first, second):
        for alt, data in re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html):
            image = imread(io.BytesIO(base64.b64decode(data)), format="png")
            assert image.shape[0] >= 250 and image.shape[1] >= 400, alt
    assert 'alt="detector_dark_counts trend"' in second and 'trend"' not in first  # one night: no trend yet
