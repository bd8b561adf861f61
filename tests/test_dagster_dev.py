"""`dagster dev` as an analyst starts it: the landing sensor requests a run at once, and that run
succeeds the first time (no retry), as of the same day as `crm run` on the same input."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, SAMPLE
from tests.test_webserver import free_port

RUNS = """{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"""


def _runs(url: str) -> list[dict]:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": RUNS}).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=30))["data"]["runsOrError"]["results"]


def test_the_sensors_first_run_succeeds_without_a_retry(tmp_path, sample_run):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    port, out = free_port(), tmp_path / "dev_out"
    env = {**os.environ, "DAGSTER_HOME": str(home), "CRM_INPUT_DIR": str(SAMPLE), "CRM_OUTPUT_DIR": str(out),
           "DAGSTER_DISABLE_TELEMETRY": "true", "GX_ANALYTICS_ENABLED": "false"}
    env.pop("CRM_AS_OF", None)
    dev = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-m", "pipelines.definitions",
                            "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    url, runs = f"http://127.0.0.1:{port}", []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                runs = _runs(url)
            except OSError:
                runs = []
            if runs and all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in runs):
                break
            time.sleep(3)
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: the daemon's shutdown is not under test
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
    assert [run["status"] for run in runs] == ["SUCCESS"], runs
    assert not any(tag["key"] == "dagster/retry_number" for tag in runs[0]["tags"])
    manifest = json.loads((out / "marts" / "_manifest.json").read_text(encoding="utf-8"))
    expected = json.loads((sample_run[0] / "marts" / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == expected["as_of"] and manifest["input_fingerprint"] == expected["input_fingerprint"]
