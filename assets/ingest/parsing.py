"""Parsing the landing files into the checked tables, dealer by dealer, and remembering what was parsed.

The rows are parsed per dealer (a Dagster partition): a dealer is parsed again only when its files
or the parsing code changed since it was last ingested (`ingest.ingested_dealers`), so a
re-delivery from one dealer costs that dealer's files, not the network's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
import polars as pl

import sql
from landing.catalog import CATALOG_SCHEMA
from landing.mapping import MAPPING_FILE, value_codes, value_fallbacks

EVENT_DATES = {"sales": "sale_date", "service": "open_date", "contacts": "contact_date"}


def known_catalog(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The catalog of the last run into this warehouse, if there was one with today's columns."""
    columns = sql.columns(con, "ingest.landing_files")
    if [column[0] for column in columns or []] != list(CATALOG_SCHEMA):
        return None
    return con.table("ingest.landing_files").pl()


def install_code_maps(con: duckdb.DuckDBPyConnection) -> None:
    """`ingest.code_maps`: one row, one MAP per coded column (spelling -> code; '' -> fallback)."""
    codes = pl.DataFrame(value_codes(), schema=["column_name", "spelling", "code"], orient="row")
    fallbacks = [(column, "", code) for column, code in value_fallbacks().items()]
    codes = pl.concat([codes, pl.DataFrame(fallbacks, schema=codes.columns, orient="row")])
    sql.store_frame(con, "ingest.value_codes", codes)
    sql.build(con, "ingest.code_maps")


def register_catalog(con: duckdb.DuckDBPyConnection, catalog: pl.DataFrame) -> None:
    """Store the catalog as `ingest.landing_files` and derive `ingest.loaded_files` from it."""
    sql.store_frame(con, "ingest.landing_files", catalog)
    sql.build(con, "ingest.loaded_files")


def read_batches(con: duckdb.DuckDBPyConnection, source: str, max_bytes: int, dealers: list[str]) -> list[list[str]]:
    """The paths DuckDB reads for the loaded files of one source and the given dealers
    (`ingest.files_to_parse`), in batches of whole dealers of about `max_bytes` each, so memory
    stays flat as the network grows and a dealer's files (whose dates tell day-first from
    month-first) stay together."""
    sql.build(con, "ingest.files_to_parse", source=source, dealers=dealers)
    batches: list[list[str]] = []
    batch_bytes = max_bytes
    for paths, size in con.table("ingest.files_to_parse").select("paths, size_bytes").fetchall():
        if batch_bytes + size > max_bytes:
            batches.append([])
            batch_bytes = 0
        batches[-1].extend(paths)
        batch_bytes += size
    return batches


def parsing_version(source: str) -> str:
    """A fingerprint of everything that decides how a source's rows are parsed: the SQL of the
    staging and intermediate layers, the value codes, and the DuckDB version."""
    digest = hashlib.sha256(duckdb.__version__.encode())
    table = f"intermediate.{source}_checked"
    for name in ("macros", *sql.STAGING_MACROS, sql.table_file(table), sql.table_file(f"{table}.duplicates")):
        digest.update(sql.sql_text(name).encode())
    digest.update(MAPPING_FILE.read_bytes())
    return digest.hexdigest()


def ensure_checked_table(con: duckdb.DuckDBPyConnection, source: str, empty_file: Path,
                         future_limit: dt.date) -> bool:
    """Create `intermediate.<source>_checked` when it is missing or its columns are no longer
    those the parsing query gives (then every dealer of the source is ingested again).
    Returns whether it was (re)created."""
    table = f"intermediate.{source}_checked"
    sql.run(con, "ingest.ingested_dealers.create")
    params = {"paths": [str(empty_file)], "future_limit": future_limit}
    if sql.columns(con, table) == sql.describe(con, table, **params):
        return False
    sql.build(con, table, **params)
    sql.run(con, "ingest.ingested_dealers.forget", source=source, dealers=None)
    return True


def prune_checked(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Drop the checked rows of files that are no longer loaded (removed, replaced, or now a
    re-delivery) and forget dealers without files; returns the rows dropped."""
    table = f"intermediate.{source}_checked"
    before = con.table(table).count("*").fetchone()[0]
    sql.run(con, f"{table}.drop", dealers=[])
    sql.run(con, "ingest.ingested_dealers.forget", source=source, dealers=[])
    return before - con.table(table).count("*").fetchone()[0]


def forget_ingested(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Make every dealer of `source` be parsed again (`--full`)."""
    sql.run(con, "ingest.ingested_dealers.forget", source=source, dealers=None)


def ingest_dealers(con: duckdb.DuckDBPyConnection, source: str, dealers: list[str], batch_bytes: int,
                   empty_file: Path, future_limit: dt.date) -> dict:
    """Parse the rows of `dealers` whose files or parsing code changed since they were last
    ingested into `intermediate.<source>_checked` (their old rows go), settle their repeated
    record ids, and remember what was ingested. Dates after `future_limit` are rejected as
    `future_date`; a dealer with such a row that is no longer in the future is parsed again.
    Returns what it did, for the asset's metadata."""
    table = f"intermediate.{source}_checked"
    ensure_checked_table(con, source, empty_file, future_limit)
    sql.build(con, "ingest.stale_dealers", source=source, dealers=dealers, version=parsing_version(source),
              future_limit=future_limit)
    stale = con.table("ingest.stale_dealers").fetchall()
    stale_dealers = [dealer for dealer, _ in stale]
    sql.run(con, f"{table}.drop", dealers=stale_dealers)
    batches = read_batches(con, source, batch_bytes, stale_dealers)
    # DuckDB's read_text returns no rows for a path that is gone, which would lose a file silently
    missing = [path for paths in batches for path in paths if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) to parse are gone since the landing folder was read: "
                                + ", ".join(missing[:5]))
    for paths in batches:
        sql.append(con, table, paths=paths, future_limit=future_limit)
    sql.run(con, f"{table}.duplicates", dealers=stale_dealers)
    sql.run(con, "ingest.ingested_dealers.forget", source=source, dealers=stale_dealers)
    sql.run(con, "ingest.ingested_dealers.remember", source=source, dealers=stale_dealers,
            fingerprints=[f for _, f in stale])
    return {"dealers_ingested": len(stale_dealers), "dealers_unchanged": len(dealers) - len(stale_dealers),
            "batches": len(batches)}
