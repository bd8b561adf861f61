"""One identity model, two engines: Febrl's first set resolved on DuckDB and on Spark (local
mode, one session for the whole test run), each against its truth, against each other, and with
the model file of one scored on the other.

Where the engines may differ, and why: the two train on differently drawn samples of pairs (u by
random sampling, EM on a share of the records), so their m and u differ slightly; and the same
level is computed by different code (DuckDB's Jaro-Winkler and Damerau-Levenshtein against
Splink's Scala UDFs on Spark). A pair scored near the threshold may then fall on either side.
With the same model file the parameters are equal, and what is left is the functions: scores
agree within 1e-6.
"""

from __future__ import annotations

import os
import shutil
from importlib.util import find_spec
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench.public_data import accuracy, write_febrl_landing
from models.engines import DuckDBEngine, SparkEngine, spark_session
from models.identity import TrainedModel, score_signatures
from models.settings import IdentitySettings
from tests.conftest import run_stages

CROSSWALK = "select dealer_code, source, record_id, customer_id as person_id from identity.identity_crosswalk"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    missing = [what for what, found in (("Java", shutil.which("java")), ("pyspark (the spark extra)",
                                                                       find_spec("pyspark"))) if not found]
    if missing:
        message = f"the Spark engine needs {' and '.join(missing)}: .ci/run installs both"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    session = spark_session("local[2]", tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def febrl1_on_both(spark, tmp_path_factory) -> tuple[pl.DataFrame, dict[str, Path]]:
    """febrl1 as one dealer's sales, through ingest and identity on each engine."""
    work = tmp_path_factory.mktemp("febrl1_engines")
    truth = write_febrl_landing("febrl1", work / "landing")
    outputs = {engine: work / engine for engine in ("duckdb", "spark")}
    for engine, output in outputs.items():
        run_stages(work / "landing", output, "ingest", "identity", engine=engine)
    return truth, outputs


def _scored(output: Path) -> pl.DataFrame:
    with duckdb.connect(str(output / "warehouse.duckdb"), read_only=True) as con:
        return con.table("identity.scored_signature_pairs").pl()


def test_identity_on_each_engine_meets_the_targets_and_they_agree(febrl1_on_both):
    """Each engine: pairwise precision >= 0.995 and recall >= 0.99 against Febrl's truth (issue
    9's targets), with a model trained on its own engine. Against each other: the customers of
    one are those of the other to a pairwise precision and recall of 0.998 (one pair in 500 may
    differ), both score the same pairs at the floor or above, and every score agrees within 0.01."""
    truth, outputs = febrl1_on_both
    for engine, output in outputs.items():
        with duckdb.connect(str(output / "warehouse.duckdb"), read_only=True) as con:
            figures = accuracy(con, truth)
        assert TrainedModel.from_json((output / "models" / "linkage_model.json").read_text()).engine == engine
        assert figures["true_pairs"] == 500
        assert figures["precision"] >= 0.995 and figures["recall"] >= 0.99, (engine, figures)
    with duckdb.connect(str(outputs["duckdb"] / "warehouse.duckdb"), read_only=True) as con:
        duckdb_customers = con.sql(CROSSWALK).pl()
    with duckdb.connect(str(outputs["spark"] / "warehouse.duckdb"), read_only=True) as con:
        agreement = accuracy(con, duckdb_customers)
    assert agreement["precision"] >= 0.998 and agreement["recall"] >= 0.998, agreement
    both = _scored(outputs["duckdb"]).join(_scored(outputs["spark"]), on=["signature_id_l", "signature_id_r"],
                                           how="full", coalesce=True, suffix="_spark")
    assert both.height == _scored(outputs["duckdb"]).height > 240
    assert (both["match_probability"] - both["match_probability_spark"]).abs().max() < 0.01


def test_a_model_file_from_either_engine_scores_on_the_other(spark, febrl1_on_both, tmp_path):
    """The model file is parameters, not engine SQL: each engine's file scores on the other
    engine the same pairs its own engine scored, every score within 1e-6 (the functions' code
    differs, the parameters do not)."""
    _, outputs = febrl1_on_both
    other = {"duckdb": "spark", "spark": "duckdb"}
    for trained_on, output in outputs.items():
        model = TrainedModel.from_json((output / "models" / "linkage_model.json").read_text())
        copy = tmp_path / f"{trained_on}.duckdb"
        shutil.copy(output / "warehouse.duckdb", copy)
        with duckdb.connect(str(copy)) as con:
            engine = (DuckDBEngine(con) if other[trained_on] == "duckdb"
                      else SparkEngine(con, spark, tmp_path / "exchange"))
            score_signatures(engine, "identity.signatures", "identity.signature_profiles", "rescored", model,
                             IdentitySettings())
            rescored = con.table("rescored").pl()
        own = _scored(output)
        both = own.join(rescored, on=["signature_id_l", "signature_id_r"], how="full", coalesce=True, suffix="_other")
        assert both.height == own.height == rescored.height > 240, trained_on
        assert (both["match_probability"] - both["match_probability_other"]).abs().max() < 1e-6, trained_on
