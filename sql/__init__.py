"""DuckDB SQL files, layered staging -> intermediate -> marts, and the small runner that runs them.

A file is named after the one table or view it builds, schema included, in the folder of its
layer: `sql/intermediate/identity.signatures.sql` builds `identity.signatures`, and
`build(con, "identity.signatures")` is the only way to run it. A file named `<table>.<verb>.sql`
is a statement on that table (`intermediate.sales_checked.duplicates.sql` marks its duplicates).
`staging/stg_*.sql` define the table macros that read the landing files; `checks/` and
`reports/` hold queries that build nothing. A file holds one statement; values are bound as
DuckDB parameters (`$name`), never formatted in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).parent
LAYERS = ("staging", "intermediate", "marts")
STAGING_MACROS = ("staging/stg_file_lines", "staging/stg_sales_rows", "staging/stg_service_rows",
                  "staging/stg_contacts_rows")


@cache
def sql_text(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@cache
def table_file(table: str) -> str:
    """`<layer>/<table>` of the one layer file named after `table` (schema.name, or
    schema.name.verb for a statement on it)."""
    found = [f"{layer}/{table}" for layer in LAYERS if (SQL_DIR / layer / f"{table}.sql").is_file()]
    if len(found) != 1:
        raise LookupError(f"{len(found)} SQL files build {table}: {found or 'none'}")
    return found[0]


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Session macros: the parsing macros every layer uses (dates, amounts, mobiles, VIN and ID
    check digits) and the staging layer, which is ephemeral (table macros over the landing files)."""
    con.execute(sql_text("macros"))
    for name in STAGING_MACROS:
        con.execute(sql_text(name))


def _create_schema(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f"create schema if not exists {table.split('.')[0]}")


def build(con: duckdb.DuckDBPyConnection, table: str, view: bool = False, snapshot: str | None = None,
          **params) -> int:
    """Replace `table` (schema.name) with the result of its file, as a table or a view; returns
    its row count. With `snapshot`, the same select at other parameters (an earlier cut-off) is
    stored beside it as `<table>_<snapshot>`."""
    target = f"{table}_{snapshot}" if snapshot else table
    _create_schema(con, target)
    kind = "view" if view else "table"
    con.execute(f"create or replace {kind} {target} as {sql_text(table_file(table))}", params or None)
    return con.execute(f"select count(*) from {target}").fetchone()[0]


def append(con: duckdb.DuckDBPyConnection, table: str, **params) -> None:
    """Insert the result of `table`'s file into `table` (columns matched by name)."""
    con.execute(f"insert into {table} by name {sql_text(table_file(table))}", params or None)


def run(con: duckdb.DuckDBPyConnection, statement: str, **params) -> None:
    """Run a statement file on a table (`<table>.<verb>`: an update, a delete, a create if missing)."""
    con.execute(sql_text(table_file(statement)), params or None)


def query(con: duckdb.DuckDBPyConnection, name: str, **params) -> duckdb.DuckDBPyRelation:
    """Run a query file (`checks/...`, `reports/...`) and return its result."""
    return con.execute(sql_text(name), params or None)


def describe(con: duckdb.DuckDBPyConnection, table: str, **params) -> list[tuple]:
    """The columns `table`'s file would give (DuckDB's describe), without building it."""
    return con.execute(f"describe {sql_text(table_file(table))}", params or None).fetchall()


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple] | None:
    """The columns of `table` as it is in the warehouse (DuckDB's describe), None when it is missing."""
    schema, name = table.split(".")
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = $schema and table_name = $name",
                         {"schema": schema, "name": name}).fetchone()[0]
    return con.execute(f"describe {table}").fetchall() if exists else None


def store_frame(con: duckdb.DuckDBPyConnection, table: str, frame) -> None:
    """Replace `table` (schema.name) with a Polars frame: a table computed in Python."""
    _create_schema(con, table)
    con.register("frame_to_store", frame.to_arrow())
    con.execute(f"create or replace table {table} as select * from frame_to_store")
    con.unregister("frame_to_store")
