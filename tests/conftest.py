"""Shared fixtures: an in-memory DuckDB with the project's macros, small landing folders written
by hand, and one pipeline run over data/sample shared by the tests that read it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

import sql
from assets.resources import IdentityEngine, LandingFolder, RunSettings, Warehouse
from pipelines.definitions import run_everything

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SAMPLE_TRUTH = ROOT / "data" / "sample_truth"


@pytest.fixture
def con():
    connection = duckdb.connect()
    sql.install_macros(connection)
    yield connection
    connection.close()


def write_file(root: Path, relative: str, text: str, encoding: str = "utf-8") -> Path:
    """Write one landing file exactly as given (no newline translation)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def run_pipeline(input_dir: Path, output_dir: Path, as_of: str = "",
                 instance: dg.DagsterInstance | None = None, full: bool = False) -> dg.ExecuteInProcessResult:
    """Materialize every asset through Dagster, in process, as `crm run` does (`full`: as `crm run --full`)."""
    result = run_everything(_resources(input_dir, output_dir, as_of, full=full),
                            instance or dg.DagsterInstance.ephemeral())
    assert result.success
    return result


def run_stages(input_dir: Path, output_dir: Path, *stages: str, as_of: str = "", retrain: bool = False,
               tags: dict | None = None, instance: dg.DagsterInstance | None = None,
               engine: str = "duckdb") -> dg.ExecuteInProcessResult:
    """Materialize the assets of `stages` (asset groups) and their checks, as the one job does: a
    test of identity runs ingest and identity, not the analytics and marts it does not read;
    `engine` is the identity engine."""
    result = run_everything(_resources(input_dir, output_dir, as_of, retrain, engine),
                            instance or dg.DagsterInstance.ephemeral(), stages=stages, tags=tags)
    assert result.success
    return result


def _resources(input_dir: Path, output_dir: Path, as_of: str, retrain: bool = False, engine: str = "duckdb",
               full: bool = False) -> dict:
    return {"landing": LandingFolder(input_dir=str(input_dir)), "warehouse": Warehouse(output_dir=str(output_dir)),
            "run_settings": RunSettings(as_of=as_of, retrain=retrain, full=full),
            "identity_engine": IdentityEngine(engine=engine)}


def query(output_dir: Path, text: str, params=None) -> list[tuple]:
    with duckdb.connect(str(output_dir / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(text, params).fetchall()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:
    output = tmp_path_factory.mktemp("sample_out")
    return output, run_pipeline(SAMPLE, output)
