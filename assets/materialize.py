"""What every asset does after its work: count rows, time it, say so in the metadata."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

import sql


@contextmanager
def stopwatch() -> Iterator[dict]:
    timing: dict = {}
    started = time.perf_counter()
    yield timing
    timing["seconds"] = round(time.perf_counter() - started, 3)


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, seconds: float, **extra) -> dict:
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return {"dagster/row_count": rows, "table": table, "seconds": seconds, **extra}


def markdown_table(table) -> dg.MetadataValue:
    """A small Polars frame as a Markdown table in the asset's metadata."""
    return dg.MetadataValue.md(table.to_pandas().to_markdown(index=False))


def materialize_sql(con: duckdb.DuckDBPyConnection, name: str, table: str, view: bool = False,
                    **params) -> dg.MaterializeResult:
    """Replace `table` (or view) with `sql/<name>.sql` and report rows and seconds."""
    with stopwatch() as timing:
        sql.materialize(con, name, table, view=view, **params)
    return dg.MaterializeResult(metadata=table_metadata(con, table, timing["seconds"]))
