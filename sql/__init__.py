"""DuckDB SQL files, layered staging -> intermediate -> marts, and the small runner that runs them.

A file holds one `select`; values are bound as DuckDB parameters (`$name`), never formatted in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).parent


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The parsing macros every layer uses (dates, amounts, mobiles, VIN and ID check digits)."""
    con.execute(sql_text("macros"))


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> duckdb.DuckDBPyRelation:
    """Run a select file and return its result."""
    return con.execute(sql_text(name), params or None)


def materialize(con: duckdb.DuckDBPyConnection, name: str, table: str, **params) -> int:
    """Replace `table` (schema.name) with the result of a select file; returns its row count."""
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create or replace table {table} as {sql_text(name)}", params or None)
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def append(con: duckdb.DuckDBPyConnection, name: str, table: str, **params) -> int:
    """Insert the result of a select file into an existing table; returns rows inserted."""
    before = con.execute(f"select count(*) from {table}").fetchone()[0]
    con.execute(f"insert into {table} by name {sql_text(name)}", params or None)
    return con.execute(f"select count(*) from {table}").fetchone()[0] - before
