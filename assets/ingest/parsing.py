"""Parsing the landing files into checked rows, dealer by dealer, and remembering what was parsed.

The rows are parsed per dealer (a Dagster partition): a dealer is parsed again only when its files
or the parsing code changed since it was last ingested (`ingest.ingested_dealers`), so a
re-delivery from one dealer costs that dealer's files, not the network's. Parsing runs on a
connection of its own, not the warehouse's, and keeps each dealer's rows as Parquet in a folder
of its own (`<output>/checked/<source>/dealer=<code>/`), which the warehouse reads as the view
`intermediate.<source>_checked`: dealers can be parsed by several steps or runs at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl

import sql
from landing.catalog import CATALOG_SCHEMA
from landing.mapping import MAPPING_FILE, SOURCES, value_codes, value_fallbacks

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
    digest.update(_stored(source).encode())
    return digest.hexdigest()


PARSE_INPUTS = ("ingest.loaded_files", "ingest.code_maps")
"""The warehouse tables parsing reads, handed to it as Parquet so dealers parse without the
warehouse (which takes one writer at a time)."""

PARSING_TABLES = ("ingest.ingested_dealers", "ingest.stale_dealers", "ingest.files_to_parse", "ingest.parsed_dealers")
"""Tables of the parsing connection (in memory, one per step), not of the warehouse."""


STORED_KEY = ("* exclude (signature_key), (signature_key >> 64)::ubigint as signature_key_high, "
              "(signature_key & 18446744073709551615)::ubigint as signature_key_low")
"""A source's checked columns as they are kept in Parquet, which has no 128-bit integer (DuckDB
would write the signature key as a double, and two keys could become one): its two halves."""

READ_KEY = ("* exclude (signature_key_high, signature_key_low), "
            "(signature_key_high::uhugeint << 64) | signature_key_low as signature_key")
"""The checked columns as the warehouse reads them back from STORED_KEY."""


KEYED_SOURCES = ("sales", "service")
"""The sources whose checked rows carry a signature key."""


def _stored(source: str) -> str:
    """The select list a source's checked rows are written with."""
    return STORED_KEY if source in KEYED_SOURCES else "*"


def _read(source: str) -> str:
    """The select list the warehouse reads a source's kept rows with."""
    return READ_KEY if source in KEYED_SOURCES else "*"


def write_parse_inputs(con: duckdb.DuckDBPyConnection, folder: Path, empty_file: Path, future_limit: dt.date) -> None:
    """Write PARSE_INPUTS and an empty file of each source's checked columns (what the warehouse
    reads when a source has no dealer parsed yet) to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for table in PARSE_INPUTS:
        con.execute(f"copy (select * from {table}) to '{folder / table}.parquet' (format parquet)")
    for source in SOURCES:
        table = f"intermediate.{source}_checked"
        con.execute(f"copy (select {_stored(source)} from ({sql.sql_text(sql.table_file(table))})) "
                    f"to '{folder / table}.parquet' (format parquet)",
                    {"paths": [str(empty_file)], "future_limit": future_limit})


def install_parse_inputs(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Views of PARSE_INPUTS over their Parquet in `folder`, on a parsing connection."""
    for table in PARSE_INPUTS:
        con.execute(f"create schema if not exists {table.split('.')[0]}")
        con.execute(f"create or replace view {table} as select * from read_parquet('{folder / table}.parquet')")


def dealer_folder(checked_dir: Path, source: str, dealer: str) -> Path:
    """Where one dealer's checked rows of a source are kept (rows_*.parquet) with what they were
    parsed from (ingested_*.parquet)."""
    return checked_dir / source / f"dealer={dealer}"


def _dealer_files(checked_dir: Path, source: str, kind: str, dealers: list[str] | None = None) -> list[str]:
    folders = ([dealer_folder(checked_dir, source, d) for d in dealers] if dealers is not None
               else sorted((checked_dir / source).glob("dealer=*")))
    return [str(path) for folder in folders for path in sorted(folder.glob(f"{kind}_*.parquet"))]


def prune_checked(con: duckdb.DuckDBPyConnection, checked_dir: Path, source: str, full: bool) -> int:
    """Drop the kept rows of dealers with no loaded file of `source` left (ingest.loaded_files;
    with --full, of every dealer: all are parsed again); returns how many dealers' rows went. The
    rows of a dealer's files that are no longer loaded leave with them (expose_checked reads only
    loaded files)."""
    with_files = {dealer for (dealer,) in con.execute(
        "select distinct dealer_code from ingest.loaded_files where source = ?", [source]).fetchall()}
    gone = [folder for folder in sorted((checked_dir / source).glob("dealer=*"))
            if full or folder.name.removeprefix("dealer=") not in with_files]
    for folder in gone:
        shutil.rmtree(folder)
    return len(gone)


def expose_checked(con: duckdb.DuckDBPyConnection, source: str, checked_dir: Path, inputs_dir: Path) -> int:
    """Make the warehouse's `intermediate.<source>_checked` the view of every dealer's kept rows
    of the files still loaded; returns the number of dealers. A view of a list of files: the list
    changes when dealers are parsed, so it is written into the view (a view takes no parameters)."""
    table = f"intermediate.{source}_checked"
    files = [str(inputs_dir / f"{table}.parquet"), *_dealer_files(checked_dir, source, "rows")]
    if con.execute("select count(*) from duckdb_tables() where schema_name || '.' || table_name = ?",
                   [table]).fetchone()[0]:
        con.execute(f"drop table {table}")  # a warehouse of before the kept files held the rows itself
    con.execute("create schema if not exists intermediate")
    con.execute(f"create or replace view {table} as select {_read(source)} "
                f"from read_parquet({path_list(files)}, hive_partitioning = false) "
                "where file_id in (select file_id from ingest.loaded_files)")
    return len(files) - 1


def kept_rows_fingerprints(con: duckdb.DuckDBPyConnection, checked_dir: Path, sources: tuple[str, ...],
                           version: str) -> pl.DataFrame:
    """One row per dealer with kept rows or loaded files of `sources`: a fingerprint of the rows
    the warehouse reads of it (the name, size and time of each kept file, the ids of its loaded
    files) and of `version` (the code that reads them). Parsing a dealer again writes its files
    anew, so its fingerprint changes; the file system is read, not the rows."""
    parts: dict[str, list[str]] = {}
    for source in sources:
        for folder in sorted((checked_dir / source).glob("dealer=*")):
            for path in sorted(folder.glob("rows_*.parquet")):
                stat = path.stat()
                parts.setdefault(folder.name.removeprefix("dealer="), []).append(
                    f"{source}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    loaded = con.execute("select dealer_code, string_agg(source || ':' || file_id, ',' order by source, file_id) "
                         "from ingest.loaded_files where list_contains(?, source) group by dealer_code",
                         [list(sources)]).fetchall()
    for dealer, files in loaded:
        parts.setdefault(dealer, []).append(files)
    dealers = sorted(parts)
    return pl.DataFrame({"dealer_code": dealers, "fingerprint": [
        hashlib.sha256("\n".join([version, *parts[d]]).encode()).hexdigest() for d in dealers]},
        schema={"dealer_code": pl.Utf8, "fingerprint": pl.Utf8})


def path_list(paths: list[str]) -> str:
    """A list of paths as a SQL literal, for a view (a view takes no parameters)."""
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def write_by_dealer(con: duckdb.DuckDBPyConnection, relation: str, folder: Path, kind: str,
                    columns: str = "*", params: dict | None = None) -> None:
    """`relation`'s `columns` (with `params` bound) as `<folder>/dealer=<code>/<kind>_<n>.parquet`:
    a dealer's rows are written once (each batch holds whole dealers), into a folder emptied before."""
    con.execute(f"copy (select {columns}, dealer_code as dealer from {relation}) to '{folder}' (format parquet, "
                f"partition_by (dealer), overwrite_or_ignore true, filename_pattern '{kind}_{{i}}')", params)


def dealers_to_parse(con: duckdb.DuckDBPyConnection, source: str, dealers: list[str], checked_dir: Path,
                     future_limit: dt.date) -> list[str]:
    """On a parsing connection (install_parse_inputs), the dealers of `dealers` whose rows of
    `source` must be parsed again: their files or the parsing code changed since they were last
    ingested, or a row of theirs dated after the limit then is no longer after `future_limit`
    (ingest.stale_dealers, from ingest.ingested_dealers)."""
    sql.run(con, "ingest.ingested_dealers.create")
    ingested = _dealer_files(checked_dir, source, "ingested", dealers)
    if ingested:
        con.execute("insert into ingest.ingested_dealers select * from read_parquet(?, hive_partitioning = false)",
                    [ingested])
    sql.build(con, "ingest.stale_dealers", source=source, dealers=dealers, version=parsing_version(source),
              future_limit=future_limit)
    return [dealer for (dealer,) in con.table("ingest.stale_dealers").select("dealer_code").fetchall()]


def ingest_dealers(con: duckdb.DuckDBPyConnection, source: str, dealers: list[str], checked_dir: Path,
                   batch_bytes: int, empty_file: Path, future_limit: dt.date) -> dict:
    """On a parsing connection (install_parse_inputs), parse the rows of `dealers` whose files or
    parsing code changed since they were last ingested, settle their repeated record ids, and keep
    each dealer's rows and what they were parsed from in its own folder of `checked_dir`, so
    dealers can be parsed by several steps or runs at once. Dates after `future_limit` are
    rejected as `future_date`; a dealer with such a row that is no longer in the future is parsed
    again. Returns what it did, for the asset's metadata."""
    table = f"intermediate.{source}_checked"
    stale_dealers = dealers_to_parse(con, source, dealers, checked_dir, future_limit)
    batches = read_batches(con, source, batch_bytes, stale_dealers)
    # DuckDB's read_text returns no rows for a path that is gone, which would lose a file silently
    missing = [path for paths in batches for path in paths if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) to parse are gone since the landing folder was read: "
                                + ", ".join(missing[:5]))
    for dealer in stale_dealers:
        shutil.rmtree(dealer_folder(checked_dir, source, dealer), ignore_errors=True)
    (checked_dir / source).mkdir(parents=True, exist_ok=True)
    sql.build(con, table, paths=[str(empty_file)], future_limit=future_limit)
    future_rows = f"select dealer_code, {EVENT_DATES[source]} as event_date, reject_reason from {table} " \
                  "where reject_reason = 'future_date'"
    con.execute(f"create or replace temp table parsed_rows as {future_rows}")
    # batch by batch (whole dealers, whose record ids settle among their own rows) into Parquet:
    # memory holds one batch
    for paths in batches:
        con.execute(f"delete from {table}")
        sql.append(con, table, paths=paths, future_limit=future_limit)
        sql.run(con, f"{table}.duplicates", dealers=stale_dealers)
        write_by_dealer(con, table, checked_dir / source, "rows", _stored(source))
        con.execute(f"insert into parsed_rows {future_rows}")
    sql.build(con, "ingest.parsed_dealers", source=source)
    # the rows first, then what they were parsed from: a step stopped between leaves a dealer to parse again
    write_by_dealer(con, "ingest.parsed_dealers", checked_dir / source, "ingested")
    kept = _dealer_files(checked_dir, source, "rows", dealers)
    rows = con.execute("select count(*) from read_parquet(?, hive_partitioning = false)", [kept]).fetchone()[0] \
        if kept else 0
    return {"dealers_ingested": len(stale_dealers), "dealers_unchanged": len(dealers) - len(stale_dealers),
            "batches": len(batches), "rows": rows}
