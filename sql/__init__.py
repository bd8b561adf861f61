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
    """Session macros: the parsing macros every layer uses (dates, amounts, mobiles, VIN and ID
    check digits) and the staging layer, which is ephemeral (table macros over the landing files)."""
    con.execute(sql_text("macros"))
    for name in ("staging/stg_lines", "staging/stg_sales_rows", "staging/stg_service_rows",
                 "staging/stg_contacts_rows"):
        con.execute(sql_text(name))


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> duckdb.DuckDBPyRelation:
    """Run a select file and return its result."""
    return con.execute(sql_text(name), params or None)


def store_frame(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Replace `table` (schema.name) with a Polars frame."""
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    con.register("frame_to_store", frame.to_arrow())
    con.execute(f"create or replace table {table} as select * from frame_to_store")
    con.unregister("frame_to_store")


def execute(con: duckdb.DuckDBPyConnection, name: str, **params) -> None:
    """Run a statement file (an update or delete) with its parameters bound."""
    con.execute(sql_text(name), params or None)


def materialize(con: duckdb.DuckDBPyConnection, name: str, table: str, view: bool = False, **params) -> int:
    """Replace `table` (schema.name) with the result of a select file, as a table or a view;
    returns its row count."""
    con.execute(f"create schema if not exists {table.split('.')[0]}")
    kind = "view" if view else "table"
    con.execute(f"create or replace {kind} {table} as {sql_text(name)}", params or None)
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def append(con: duckdb.DuckDBPyConnection, name: str, table: str, **params) -> None:
    """Insert the result of a select file into an existing table (columns matched by name)."""
    con.execute(f"insert into {table} by name {sql_text(name)}", params or None)
