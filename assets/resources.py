"""Resources: where the landing folder is, where the warehouse and marts go, the as-of date.

Entry points configure them: `crm run` from its arguments, `dagster dev` from `CRM_*`
environment variables resolved at run time (`dg.EnvVar`, in `pipelines/definitions.py`)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field, field_validator

import sql
from models.engines import DuckDBEngine, Engine, SparkEngine, spark_session


class LandingFolder(dg.ConfigurableResource):
    """The folder dealers' DMS exports land in (`<dealer_code>/{sales,service}/*.csv`)."""

    input_dir: str = Field(description="Landing folder (CRM_INPUT_DIR).")

    @property
    def path(self) -> Path:
        return Path(self.input_dir)


DEFAULT_MEMORY_LIMIT = "4GB"
"""DuckDB's memory cap unless CRM_MEMORY_LIMIT says otherwise: below it the largest aggregations
of identity and analytics spill to disk at scale 1, above it the run's peak RSS nears the 6 GB
target (bench/RESULTS.md)."""


WAREHOUSE_POOL = "warehouse"
"""The Dagster pool of every step that opens the warehouse (dagster.yaml gives each pool a limit of
one): DuckDB takes one writer per file, so those steps go one at a time across runs, while steps
parsing dealers (which never open it) run beside them."""


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse and the Parquet marts under one output folder.

    Our own resource rather than dagster-duckdb's because every connection needs the project's
    parsing macros, and the marts and UTF-8 copies live beside the database file.
    """

    output_dir: str = Field(description="Output folder (CRM_OUTPUT_DIR).")
    memory_limit: str = Field(default=DEFAULT_MEMORY_LIMIT, description="DuckDB memory_limit (CRM_MEMORY_LIMIT); "
                                                                      "beyond it DuckDB spills to disk; empty: "
                                                                      f"{DEFAULT_MEMORY_LIMIT}.")
    batch_bytes: int = Field(default=128 * 2**20, description="CSV bytes parsed per batch of whole dealers.")

    @property
    def path(self) -> Path:
        return Path(self.output_dir)

    @property
    def marts_dir(self) -> Path:
        """Where readers find the marts: a link to the folder of the last run that published a set."""
        return self.path / "marts"

    def run_marts_dir(self, run_id: str) -> Path:
        """Where one run writes its marts before they are published together."""
        return self.path / "marts_runs" / run_id

    @property
    def linkage_model_file(self) -> Path:
        """The kept identity model: trained when asked or needed, read by every other run."""
        return self.path / "models" / "linkage_model.json"

    @property
    def clv_model_file(self) -> Path:
        """The kept CLV model: fitted when asked or due, read by every other run."""
        return self.path / "models" / "clv_model.json"

    @property
    def term_frequencies_file(self) -> Path:
        """The term frequencies frozen with the kept model (its file names their sha256)."""
        return self.path / "models" / "linkage_model.term_frequencies.parquet"

    @property
    def checked_dir(self) -> Path:
        """Every dealer's parsed rows, as Parquet in a folder per source and dealer."""
        return self.path / "checked"

    @property
    def crosswalk_dir(self) -> Path:
        """identity.identity_crosswalk's rows, as Parquet in a folder per dealer."""
        return self.path / "crosswalk"

    @property
    def parse_inputs_dir(self) -> Path:
        """What parsing reads of the warehouse, as Parquet (written by ingest/landing_files)."""
        return self.path / "parse_inputs"

    @property
    def utf8_dir(self) -> Path:
        return self.path / "landing_utf8"

    def empty_file(self) -> Path:
        """An empty file for DuckDB to read when a source has no files at all."""
        path = self.path / "empty.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return path

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._connect(str(self.path / "warehouse.duckdb"), "duckdb_tmp") as con:
            yield con

    @contextmanager
    def parsing_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory connection for parsing dealers: it never opens the warehouse, so steps
        parsing dealers can run at once, beside a step that writes the warehouse. It spills to
        a folder of its own process."""
        spill = f"duckdb_tmp/parsing_{os.getpid()}"
        try:
            with self._connect(":memory:", spill) as con:
                yield con
        finally:
            shutil.rmtree(self.path / spill, ignore_errors=True)

    @contextmanager
    def _connect(self, database: str, temp_dir: str) -> Iterator[duckdb.DuckDBPyConnection]:
        (self.path / temp_dir).mkdir(parents=True, exist_ok=True)
        config = {"temp_directory": str(self.path / temp_dir),
                  "memory_limit": self.memory_limit or DEFAULT_MEMORY_LIMIT}
        con = duckdb.connect(database, config=config)
        try:
            sql.install_macros(con)
            yield con
        finally:
            con.close()


class IdentityEngine(dg.ConfigurableResource):
    """Where identity's pair work runs (Splink's training and scoring, the deterministic rules,
    connected components): DuckDB in the warehouse (the default), or Spark for a network too large
    for one machine. Either scores with the same kept model file."""

    engine: str = Field(default="duckdb", description="duckdb or spark (CRM_ENGINE).")
    spark_master: str = Field(default="local[2]", description="Spark master URL (CRM_SPARK_MASTER), e.g. "
                                                              "spark://host:7077; local[N] runs in this process.")
    exchange_dir: str = Field(default="", description="Where the warehouse and Spark exchange Parquet "
                                                      "(CRM_SPARK_EXCHANGE); empty: <output>/spark. On a "
                                                      "cluster: storage the driver and executors share.")

    @field_validator("engine")
    @classmethod
    def _is_an_engine(cls, value: str) -> str:
        if value not in ("duckdb", "spark"):
            raise ValueError(f"engine must be duckdb or spark, not {value!r}")
        return value

    def open(self, con: duckdb.DuckDBPyConnection, output: Path) -> Engine:
        """The engine over the warehouse connection `con` of the output folder `output`."""
        if self.engine == "duckdb":
            return DuckDBEngine(con)
        exchange = Path(self.exchange_dir) if self.exchange_dir else output / "spark"
        return SparkEngine(con, spark_session(self.spark_master, output / "spark_work"), exchange)


RUN_TIME_ZONE = "Asia/Shanghai"

RETRAIN_TAG = "crm/retrain"
"""A run tagged with it ("true") trains the identity model and fits the CLV model again, as
--retrain does: the weekly schedule's tag (a tag, not run config, which would replace the run
settings' configured values)."""


class RunSettings(dg.ConfigurableResource):
    """Settings of one run. `as_of` empty means the latest date in the data; `run_day` empty
    means today in Shanghai (records dated after it are rejected, whatever the as-of)."""

    as_of: str = Field(default="", description="Analysis date YYYY-MM-DD (CRM_AS_OF).")
    run_day: str = Field(default="", description="The day of the run YYYY-MM-DD; empty: today in Asia/Shanghai.")
    full: bool = Field(default=False, description="Read every landing file, parse every dealer, build every "
                                                  "identity table and fit the CLV backtest again (--full).")
    retrain: bool = Field(default=False, description="Train the identity model and fit the CLV model again on "
                                                     "this run's data (--retrain; the weekly schedule), whether "
                                                     "or not they are due.")

    @field_validator("as_of", "run_day")
    @classmethod
    def _is_a_date(cls, value: str) -> str:
        if value:
            dt.date.fromisoformat(value)
        return value

    def future_limit(self, tolerance_days: int) -> dt.date:
        """The latest date a record may carry: the day of the run plus `tolerance_days`
        (`Settings.ingest.future_tolerance_days`)."""
        from zoneinfo import ZoneInfo

        day = dt.date.fromisoformat(self.run_day) if self.run_day else dt.datetime.now(ZoneInfo(RUN_TIME_ZONE)).date()
        return day + dt.timedelta(days=tolerance_days)
