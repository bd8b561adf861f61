"""The Dagster webserver on loopback: its GraphQL API lists the assets by stage, the asset checks,
the nightly schedule and the landing sensor."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

QUERY = """{
  repositoriesOrError { ... on RepositoryConnection { nodes {
    schedules { name cronSchedule executionTimezone }
    sensors { name }
  } } }
  assetNodes { assetKey { path } groupName assetChecksOrError { ... on AssetChecks { checks { name } } } }
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "CRM_INPUT_DIR": str(SAMPLE), "CRM_OUTPUT_DIR": str(tmp_path / "out")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-m", "pipelines.definitions", "-h", "127.0.0.1",
         "-p", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("the webserver did not answer within 120 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_graphql_lists_assets_checks_schedule_and_sensor(webserver):
    request = urllib.request.Request(f"{webserver}/graphql", data=json.dumps({"query": QUERY}).encode(),
                                     headers={"Content-Type": "application/json"})
    data = json.load(urllib.request.urlopen(request, timeout=60))["data"]
    (repository,) = data["repositoriesOrError"]["nodes"]
    assert repository["schedules"] == [{"name": "nightly_refresh", "cronSchedule": "0 2 * * *",
                                        "executionTimezone": "Asia/Shanghai"}]
    assert repository["sensors"] == [{"name": "landing_sensor"}]
    groups = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in data["assetNodes"]}
    assert groups["ingest/load_manifest"] == "ingest" and groups["identity/customers"] == "identity"
    assert groups["analytics/clv"] == "analytics" and groups["marts/customer_360"] == "marts"
    checks = {check["name"] for node in data["assetNodes"] for check in node["assetChecksOrError"]["checks"]}
    assert "rows_conserved" in checks
