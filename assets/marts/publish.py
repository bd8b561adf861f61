"""Writing a warehouse table as a Parquet mart that readers never see half-written."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path, order_by: str) -> int:
    """Write `table` sorted by `order_by` to `path` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    quoted = str(partial).replace("'", "''")
    con.execute(f"copy (select * from {table} order by {order_by}) to '{quoted}' (format parquet)")
    os.replace(partial, path)
    return con.execute(f"select count(*) from {table}").fetchone()[0]
