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


PERSONAL_COLUMNS = frozenset({
    "customer_name", "name_norm", "name_key", "given_name", "family_name", "given_key", "family_key", "mobile", "phone", "id_number", "id_birth_date", "birth_date",
    "email", "address", "address_norm", "postcode", "plate", "raw", "vins", "birth_ymd",
})
"""Columns that show as *** in previews: a preview is for the shape of a table, and Dagster's
event log is no place for names, mobiles or ID numbers."""


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, seconds: float, rows: int | None = None,
                   preview_rows: int = 5, **extra) -> dict:
    """Row count (counted unless given), timing, column schema and a masked preview of `table`."""
    if rows is None:
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return {"dagster/row_count": rows, "table": table, "seconds": seconds,
            **table_preview(con, table, preview_rows), **extra}


def table_preview(con: duckdb.DuckDBPyConnection, table: str, rows: int = 5,
                  descriptions: dict[str, str] | None = None) -> dict:
    """`dagster/column_schema` (with the columns' `descriptions`, where given) and the first `rows`
    rows as Markdown, personal columns masked. `table` may be any relation, a `read_parquet(...)`
    call included."""
    columns = con.execute(f"select column_name, column_type from (describe select * from {table})").fetchall()
    described = descriptions or {}
    metadata = {"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(name, kind, description=described.get(name)) for name, kind in columns])}
    if rows:
        shown = ", ".join(f"case when \"{c}\" is null then null else '***' end as \"{c}\"" if c in PERSONAL_COLUMNS
                          else f'"{c}"' for c, _ in columns)
        metadata["preview"] = markdown_table(con.execute(f"select {shown} from {table} limit {rows}").pl())
    return metadata


def markdown_table(table) -> dg.MetadataValue:
    """A small Polars frame as a Markdown table in the asset's metadata."""
    return dg.MetadataValue.md(table.to_pandas().to_markdown(index=False))


def build_table(con: duckdb.DuckDBPyConnection, table: str, view: bool = False, preview_rows: int = 5,
                **params) -> dg.MaterializeResult:
    """Replace `table` (or view) with its SQL file (`sql.build`) and report rows and seconds. A
    table that is costly to show gets `preview_rows=0`."""
    with stopwatch() as timing:
        rows = sql.build(con, table, view=view, **params)
    return dg.MaterializeResult(metadata=table_metadata(con, table, timing["seconds"], rows, preview_rows))


def distinct_count(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """How many distinct values of `column` `table` holds."""
    return con.table(table).aggregate(f'count(distinct "{column}")').fetchone()[0]


def counts_by(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dict:
    """Rows of `table` per value of `column`, in value order: the breakdowns in assets' metadata."""
    return dict(con.table(table).aggregate(f'"{column}", count(*)', f'"{column}"').order(f'"{column}"').fetchall())
