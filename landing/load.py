"""Bringing the landing folder into the warehouse: which files load, which are re-deliveries,
which fail.

Every run catalogs the landing folder as it is now, so a file whose content changed under the
same name replaces its earlier version and identical bytes under another name are skipped. The
rows are parsed per dealer (a Dagster partition): a dealer is parsed again only when its files or
the parsing code changed since it was last ingested, so a re-delivery from one dealer costs that
dealer's files, not the network's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

import sql
from landing.files import LandingFile, discover_files, inspect_file
from landing.mapping import MAPPING_FILE, SOURCES, columns, value_codes, value_fallbacks

CANONICAL_COLUMNS = sorted({c.name for source in SOURCES for c in columns(source)})
EVENT_DATES = {"sales": "sale_date", "service": "open_date", "contacts": "contact_date"}
CATALOG_SCHEMA = {
    "dealer_code": pl.Utf8, "source": pl.Utf8, "file_name": pl.Utf8, "file_sha256": pl.Utf8,
    "size_bytes": pl.Int64, "encoding": pl.Utf8, "delimiter": pl.Utf8, "n_header_fields": pl.Int32,
    "read_path": pl.Utf8, "status": pl.Utf8, "error": pl.Utf8, "duplicate_of": pl.Utf8,
    "unknown_columns": pl.Utf8, **{f"pos_{name}": pl.Int32 for name in CANONICAL_COLUMNS},
    "data_lines": pl.Int64, "inspection_key": pl.Utf8,
}


def catalog_landing(input_dir: Path, utf8_dir: Path, known: pl.DataFrame | None = None,
                    full: bool = False) -> pl.DataFrame:
    """One row per file of the landing folder, with what its bytes say and its status:
    `loaded` (first file with these bytes, readable), `skipped` (same bytes as an earlier file),
    `failed` (with an error naming the file and what is wrong) or `ignored` (not an export the
    pipeline reads, with the reason in `error`).

    A file already in the `known` catalog with the same size, modification and inode-change times
    and header mapping is not read again (reading, hashing and transcoding a network's files takes
    seconds), unless `full`; UTF-8 copies no file uses any more are removed."""
    entries: list[LandingFile] = discover_files(input_dir)
    known_rows = {row["file_name"]: row for row in known.iter_rows(named=True)} if known is not None else {}
    mapping = hashlib.sha256(MAPPING_FILE.read_bytes()).hexdigest()[:16]
    keys = {entry.file_name: _inspection_key(entry.path, mapping) for entry in entries if not entry.ignored}
    to_inspect = [entry for entry in entries if not entry.ignored
                  and (full or not _still_known(known_rows.get(entry.file_name), keys[entry.file_name]))]
    # hashing and writing release the GIL: two threads read a network's files in 70% of the time
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        list(pool.map(lambda entry: inspect_file(entry, utf8_dir), to_inspect))
    inspected = {entry.file_name for entry in to_inspect}
    first_with_bytes: dict[str, str] = {}
    rows = []
    for entry in entries:
        if entry.ignored:
            rows.append(_catalog_row(entry) | {"status": "ignored", "error": entry.ignored, "duplicate_of": None})
            continue
        if entry.file_name in inspected:
            row = _catalog_row(entry) | {"inspection_key": keys[entry.file_name]}
        else:
            row = known_rows[entry.file_name]
        duplicate_of = first_with_bytes.setdefault(row["file_sha256"], entry.file_name)
        if duplicate_of != entry.file_name:
            status = "skipped"
        else:
            duplicate_of = None
            status = "failed" if row["error"] else "loaded"
        rows.append(row | {"status": status, "duplicate_of": duplicate_of})
    catalog = pl.DataFrame(rows, schema=CATALOG_SCHEMA)
    in_use = {Path(p).resolve() for p in catalog["read_path"].drop_nulls()}
    for copy in utf8_dir.glob("*.csv"):
        if copy.resolve() not in in_use:
            copy.unlink()
    return catalog


def _inspection_key(path: Path, mapping: str) -> str:
    """What must not change for a file's last inspection to hold: its size, its modification time,
    its inode change time (which no tool can set back: an edit with the modification time put
    back still changes it) and the header mapping."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{mapping}"


def _still_known(row: dict | None, key: str) -> bool:
    """Whether a file's row of the last catalog still holds: the same inspection key, and its
    UTF-8 copy (if it needed one) still there."""
    return bool(row and row.get("inspection_key") == key and (row["read_path"] is None
                                                              or Path(row["read_path"]).is_file()))


def _catalog_row(entry: LandingFile) -> dict:
    return {
        "dealer_code": entry.dealer_code,
        "source": entry.source,
        "file_name": entry.file_name,
        "file_sha256": entry.file_sha256,
        "size_bytes": entry.size_bytes,
        "encoding": entry.encoding,
        "delimiter": entry.delimiter,
        "n_header_fields": len(entry.header),
        "read_path": str(entry.read_path) if entry.read_path else None,
        "error": entry.error,
        "unknown_columns": ", ".join(entry.unknown_columns) or None,
        **{f"pos_{name}": entry.positions.get(name) for name in CANONICAL_COLUMNS},
        "data_lines": entry.data_lines,
    }


def known_catalog(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    """The catalog of the last run into this warehouse, if there was one with today's columns."""
    columns = [c for (c,) in con.execute("select column_name from duckdb_columns() where schema_name = 'ingest' "
                                         "and table_name = 'landing_files'").fetchall()]
    if columns != list(CATALOG_SCHEMA):
        return None
    return con.execute("select * from ingest.landing_files").pl()


def install_code_maps(con: duckdb.DuckDBPyConnection) -> None:
    """`ingest.code_maps`: one row, one MAP per coded column (spelling -> code; '' -> fallback)."""
    codes = pl.DataFrame(value_codes(), schema=["column_name", "spelling", "code"], orient="row")
    fallbacks = [(column, "", code) for column, code in value_fallbacks().items()]
    codes = pl.concat([codes, pl.DataFrame(fallbacks, schema=codes.columns, orient="row")])
    sql.store_frame(con, "ingest.value_codes", codes)
    sql.materialize(con, "staging/stg_code_maps", "ingest.code_maps")


def register_catalog(con: duckdb.DuckDBPyConnection, catalog: pl.DataFrame) -> None:
    """Store the catalog as `ingest.landing_files` and derive `ingest.loaded_files` from it."""
    sql.store_frame(con, "ingest.landing_files", catalog)
    sql.materialize(con, "staging/stg_loaded_files", "ingest.loaded_files")


def read_batches(con: duckdb.DuckDBPyConnection, source: str, max_bytes: int, dealers: list[str]) -> list[list[str]]:
    """The paths DuckDB reads for the loaded files of one source and the given dealers (UTF-8
    copies where needed), in batches of whole dealers of about `max_bytes` each, so memory stays
    flat as the network grows and a dealer's files (whose dates tell day-first from month-first)
    stay together."""
    rows = con.execute(
        """
        select dealer_code, list(read_path order by file_name), sum(size_bytes)
        from ingest.loaded_files
        where source = $source and read_path is not null and dealer_code in (select unnest($dealers))
        group by dealer_code
        order by dealer_code
        """,
        {"source": source, "dealers": dealers},
    ).fetchall()
    batches: list[list[str]] = []
    batch_bytes = max_bytes
    for _, paths, size in rows:
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
    for name in ("macros", "staging/stg_lines", f"staging/stg_{source}_rows", f"intermediate/int_{source}_checked",
                 f"intermediate/int_{source}_duplicates"):
        digest.update(sql.sql_text(name).encode())
    digest.update(MAPPING_FILE.read_bytes())
    return digest.hexdigest()


def ensure_checked_table(con: duckdb.DuckDBPyConnection, source: str, empty_file: Path,
                         future_limit: dt.date) -> bool:
    """Create `intermediate.<source>_checked` when it is missing or its columns are no longer
    those the parsing query gives (then every dealer of the source is ingested again).
    Returns whether it was (re)created."""
    table, query = f"intermediate.{source}_checked", f"intermediate/int_{source}_checked"
    con.execute("create schema if not exists intermediate")
    con.execute("create table if not exists ingest.ingested_dealers "
                "(source varchar, dealer_code varchar, fingerprint varchar)")
    wanted = con.execute(f"describe {sql.sql_text(query)}",
                         {"paths": [str(empty_file)], "future_limit": future_limit}).fetchall()
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'intermediate' "
                         "and table_name = $name", {"name": f"{source}_checked"}).fetchone()[0]
    if exists and con.execute(f"describe {table}").fetchall() == wanted:
        return False
    sql.materialize(con, query, table, paths=[str(empty_file)], future_limit=future_limit)
    con.execute("delete from ingest.ingested_dealers where source = $source", {"source": source})
    return True


def prune_checked(con: duckdb.DuckDBPyConnection, source: str) -> int:
    """Drop the checked rows of files that are no longer loaded (removed, replaced, or now a
    re-delivery) and forget dealers without files; returns the rows dropped."""
    dropped = con.execute(f"delete from intermediate.{source}_checked "
                          "where file_id not in (select file_id from ingest.loaded_files)").fetchone()[0]
    con.execute("delete from ingest.ingested_dealers where source = $source and dealer_code not in "
                "(select dealer_code from ingest.loaded_files where source = $source)", {"source": source})
    return dropped


def ingest_dealers(con: duckdb.DuckDBPyConnection, source: str, dealers: list[str], batch_bytes: int,
                   empty_file: Path, future_limit: dt.date) -> dict:
    """Parse the rows of `dealers` whose files or parsing code changed since they were last
    ingested into `intermediate.<source>_checked` (their old rows go), settle their repeated
    record ids, and remember what was ingested. Dates after `future_limit` are rejected as
    `future_date`; a dealer with such a row that is no longer in the future is parsed again.
    Returns what it did, for the asset's metadata."""
    table, query = f"intermediate.{source}_checked", f"intermediate/int_{source}_checked"
    ensure_checked_table(con, source, empty_file, future_limit)
    con.execute(f"delete from ingest.ingested_dealers where source = $source and dealer_code in "
                f"(select dealer_code from {table} where reject_reason = 'future_date' "
                f"and {EVENT_DATES[source]} <= $limit)", {"source": source, "limit": future_limit})
    stale = sql.query(con, "intermediate/int_stale_dealers", source=source, dealers=dealers,
                      version=parsing_version(source)).fetchall()
    stale_dealers = [dealer for dealer, _ in stale]
    con.execute(f"delete from {table} where dealer_code in (select unnest($dealers))", {"dealers": stale_dealers})
    batches = read_batches(con, source, batch_bytes, stale_dealers)
    # DuckDB's read_text returns no rows for a path that is gone, which would lose a file silently
    missing = [path for paths in batches for path in paths if not Path(path).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} file(s) to parse are gone since the landing folder was read: "
                                + ", ".join(missing[:5]))
    for paths in batches:
        sql.append(con, query, table, paths=paths, future_limit=future_limit)
    sql.execute(con, f"intermediate/int_{source}_duplicates", dealers=stale_dealers)
    con.execute("delete from ingest.ingested_dealers where source = $source and dealer_code in "
                "(select unnest($dealers))", {"source": source, "dealers": stale_dealers})
    con.execute("insert into ingest.ingested_dealers select $source, unnest($dealers), unnest($fingerprints)",
                {"source": source, "dealers": stale_dealers, "fingerprints": [f for _, f in stale]})
    return {"dealers_ingested": len(stale_dealers), "dealers_unchanged": len(dealers) - len(stale_dealers),
            "batches": len(batches)}
