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


def test_cli_run_with_catalog_uri_writes_to_the_served_catalog(catalog_server, tmp_path):
    uri, api_key, nodes = catalog_server
    from typer.testing import CliRunner

    from qnetlab.catalog import open_catalog
    from qnetlab.cli import app

    data = nodes / "cli"
    env = {"QNETLAB_API_KEY": api_key, "QNETLAB_CATALOG_URI": None}
    args = ["run", "count_rates", "-d", "0.05", "--num", "2", "-c", str(SIM_LAB), "--data-dir", str(data), "-q"]
    result = CliRunner().invoke(app, [*args, "--catalog-uri", uri], env=env)
    assert result.exit_code == 0, result.output
    (uid,) = [line.split()[-1] for line in result.output.splitlines() if line.startswith("run uid:")]
    run = open_catalog(uri=uri, api_key=api_key)[uid]
    assert run.metadata["stop"]["exit_status"] == "success"
    assert len(run["primary"].read()["time"]) == 2
    assert not (data / "catalog.db").exists()  # nothing went to an embedded catalog

    listed = CliRunner().invoke(app, ["runs", "--limit", "50", "--catalog-uri", uri], env=env)
    assert listed.exit_code == 0 and uid in listed.output, listed.output


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("not-a-url", "not a catalog server URL"),
        ("http://127.0.0.1:1", "cannot connect"),
        ("http://127.0.0.1:port", "Port could not be cast"),
        ("served", "refused the API key"),  # the real server, with a wrong key
    ],
)
def test_a_bad_catalog_uri_is_one_line_naming_it(catalog_server, tmp_path, uri, why):
    from typer.testing import CliRunner

    from qnetlab.cli import app

    if uri == "served":
        uri = catalog_server[0]
    env = {"QNETLAB_API_KEY": "not-the-key", "QNETLAB_CATALOG_URI": None}
    for command in (
        ["run", "count_rates", "-c", str(SIM_LAB), "--data-dir", str(tmp_path), "-q", "--catalog-uri", uri],
        ["runs", "--catalog-uri", uri],
    ):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 2, result.output
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"error: --catalog-uri {uri!r}: ") and why in line, line
