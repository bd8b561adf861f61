"""Where identity's pair work runs: on the warehouse's DuckDB connection (the default) or on Spark
(`CRM_ENGINE=spark`), for a network too large for one machine.

The warehouse stays in DuckDB either way. The Spark engine reads the tables it needs as Parquet
files that DuckDB writes to its exchange folder, and hands its results back the same way, so the
two meet only in Parquet, as they would on a cluster (the folder is then shared storage). Both
engines give Splink its database API, take a table as Splink's input, keep a Splink result as a
warehouse table and run a SQL file of the warehouse's dialect.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import sqlglot
from splink import DuckDBAPI


class DuckDBEngine:
    """Splink and SQL on the warehouse's own connection."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def api(self) -> DuckDBAPI:
        return DuckDBAPI(connection=self.con)

    def source(self, table: str, columns: str = "*"):
        """What Splink reads `table` as: a view of its columns."""
        view = f"{table.replace('.', '_')}_input"
        self.con.execute(f"create or replace temp view {view} as select {columns} from {table}")
        return view

    def keep(self, result, columns: list[str], out_table: str) -> None:
        """`out_table` from `columns` (SQL expressions) of a Splink result table."""
        self.con.execute(f"create or replace table {out_table} as select {', '.join(columns)} "
                         f"from {result.physical_name}")

    def query(self, text: str, inputs: tuple[str, ...], out_table: str) -> None:
        """`out_table` from a query over warehouse tables."""
        self.con.execute(f"create or replace table {out_table} as {text}")


class SparkEngine:
    """Splink and SQL on a Spark session; tables cross as Parquet in `exchange_dir`."""

    dialect = "spark"

    def __init__(self, con: duckdb.DuckDBPyConnection, spark, exchange_dir: Path):
        self.con, self.spark, self.exchange_dir = con, spark, Path(exchange_dir)
        self.exchange_dir.mkdir(parents=True, exist_ok=True)

    def api(self):
        from splink import SparkAPI

        return SparkAPI(spark_session=self.spark)

    def _to_spark(self, table: str, columns: str = "*"):
        path = self.exchange_dir / f"{table}.parquet"
        self.con.execute(f"copy (select {columns} from {table}) to '{path}' (format parquet)")
        return self.spark.read.parquet(str(path))

    def _from_spark(self, frame, out_table: str) -> None:
        path = self.exchange_dir / f"{out_table}.from_spark"
        frame.write.mode("overwrite").parquet(str(path))
        self.con.execute(f"create or replace table {out_table} as select * from read_parquet('{path}/*.parquet')")
        shutil.rmtree(path)

    def source(self, table: str, columns: str = "*"):
        return self._to_spark(table, columns)

    def keep(self, result, columns: list[str], out_table: str) -> None:
        self._from_spark(result.as_spark_dataframe().selectExpr(*columns), out_table)

    def query(self, text: str, inputs: tuple[str, ...], out_table: str) -> None:
        """The query, translated from DuckDB's dialect to Spark's by sqlglot, over the `inputs`
        tables sent to Spark as views of the same names (schema_table)."""
        for table in inputs:
            self._to_spark(table).createOrReplaceTempView(table.replace(".", "_"))
            text = text.replace(table, table.replace(".", "_"))
        self._from_spark(self.spark.sql(sqlglot.transpile(text, read="duckdb", write="spark")[0]), out_table)


def spark_session(master: str, work_dir: Path, shuffle_partitions: int = 8, driver_memory: str = "2g"):
    """The process's Spark session (one per process, as Spark allows), with Splink's similarity
    functions (its Scala jar) and a checkpoint folder for the lineage Splink breaks."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    work_dir = Path(work_dir)
    spark = (SparkSession.builder.master(master).appName("dealer-crm")
             .config("spark.jars", similarity_jar_location())
             .config("spark.driver.memory", driver_memory)
             .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.local.dir", str(work_dir / "local"))
             .config("spark.sql.warehouse.dir", str(work_dir / "warehouse"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(work_dir / "checkpoints"))
    return spark


Engine = DuckDBEngine | SparkEngine
