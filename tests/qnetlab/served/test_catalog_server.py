"""Runs written to a Tiled server on PostgreSQL by several clients, read back complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[3]
SIM_LAB = REPO / "config" / "sim_lab.yaml"

CLIENT = """
import sys
from qnetlab import plans, session
with session.start(sys.argv[1], data_dir=sys.argv[2], live_table=False, progress=False) as s:
    for _ in range(int(sys.argv[3])):
        (uid,) = s.RE(plans.count_rates(s.lab.tagger, duration_s=0.05, num=3), client=sys.argv[2])
        print(uid)
"""


def _env(uri, api_key):
    return dict(os.environ, QNETLAB_CATALOG_URI=uri, QNETLAB_API_KEY=api_key, PYTHONPATH=str(REPO))


def test_two_clients_write_concurrently_and_read_back_complete(catalog_server, tmp_path):
    uri, api_key, nodes = catalog_server
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(SIM_LAB), str(nodes / name), "3"],
            env=_env(uri, api_key),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("alice", "bob")
    ]
    outputs = [client.communicate(timeout=240) for client in clients]
    for client, (_, err) in zip(clients, outputs, strict=True):
        assert client.returncode == 0, err[-2000:]
    uids = [line for out, _ in outputs for line in out.split()]
    assert len(uids) == 6 and len(set(uids)) == 6

    from qnetlab.catalog import open_catalog

    catalog = open_catalog(uri=uri, api_key=api_key)
    for uid in uids:
        run = catalog[uid]
        assert run.metadata["stop"]["exit_status"] == "success"
        assert run.metadata["stop"]["num_events"]["primary"] == 3
        table = run["primary"].read()
        assert len(table["time"]) == 3
        assert (table["tagger_ch1_rate_hz"] > 0).all()


def test_without_the_api_key_the_server_refuses(catalog_server):
    uri, _, _ = catalog_server
    from tiled.client import from_uri

    with pytest.raises(Exception, match="401|[Uu]nauthori|API key|authenticat"):
        from_uri(uri, api_key="not-the-key")["runs"]


def test_raw_tags_are_read_through_the_server(catalog_server):
    uri, api_key, nodes = catalog_server
    script = """
import sys
from qnetlab import plans, session
with session.start(sys.argv[1], data_dir=sys.argv[2], live_table=False, progress=False) as s:
    (uid,) = s.RE(plans.record_tags(s.lab.tagger, duration_s=0.2, channels=[2, 3, 4, 5]))
    print(uid)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(SIM_LAB), str(nodes / "tags")],
        env=_env(uri, api_key),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    uid = done.stdout.split()[-1]

    from qnetlab.analysis.timetags import read_run_tags
    from qnetlab.analysis.timetags.from_catalog import read_run_tags_served
    from qnetlab.catalog import open_catalog

    catalog = open_catalog(uri=uri, api_key=api_key)
    served_t, served_ch = read_run_tags_served(catalog, uid)
    local_t, local_ch = read_run_tags(catalog, uid)
    assert served_t.size > 1000
    assert (served_t == local_t).all() and (served_ch == local_ch).all()
