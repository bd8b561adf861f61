"""Bringing the landing folder into the warehouse: which files load, which are re-deliveries,
which fail.

Every run reads the landing folder as it is now (DuckDB reads the files directly; that is
cheaper than keeping a parsed copy), so a file whose content changed under the same name
replaces its earlier version and identical bytes under another name are skipped.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

import sql
from landing.files import LandingFile, discover_files, inspect_file
from landing.mapping import SOURCES, columns, value_codes, value_fallbacks

CANONICAL_COLUMNS = sorted({c.name for source in SOURCES for c in columns(source)})
CATALOG_SCHEMA = {
    "dealer_code": pl.Utf8, "source": pl.Utf8, "file_name": pl.Utf8, "file_sha256": pl.Utf8,
    "size_bytes": pl.Int64, "encoding": pl.Utf8, "delimiter": pl.Utf8, "n_header_fields": pl.Int32,
    "read_path": pl.Utf8, "status": pl.Utf8, "error": pl.Utf8, "duplicate_of": pl.Utf8,
    "unknown_columns": pl.Utf8, **{f"pos_{name}": pl.Int32 for name in CANONICAL_COLUMNS},
}


def catalog_landing(input_dir: Path, utf8_dir: Path) -> pl.DataFrame:
    """One row per CSV file of the landing folder, with what its bytes say and its status:
    `loaded` (first file with these bytes, readable), `skipped` (same bytes as an earlier file)
    or `failed` (with an error naming the file and what is wrong)."""
    entries: list[LandingFile] = discover_files(input_dir)
    first_with_bytes: dict[str, str] = {}
    rows = []
    for entry in entries:
        inspect_file(entry, utf8_dir)
        duplicate_of = first_with_bytes.setdefault(entry.file_sha256, entry.file_name)
        if duplicate_of != entry.file_name:
            status = "skipped"
        else:
            duplicate_of = None
            status = "failed" if entry.error else "loaded"
        rows.append({
            "dealer_code": entry.dealer_code,
            "source": entry.source,
            "file_name": entry.file_name,
            "file_sha256": entry.file_sha256,
            "size_bytes": entry.size_bytes,
            "encoding": entry.encoding,
            "delimiter": entry.delimiter,
            "n_header_fields": len(entry.header),
            "read_path": str(entry.read_path) if entry.read_path else None,
            "status": status,
            "error": entry.error,
            "duplicate_of": duplicate_of,
            "unknown_columns": ", ".join(entry.unknown_columns) or None,
            **{f"pos_{name}": entry.positions.get(name) for name in CANONICAL_COLUMNS},
        })
    return pl.DataFrame(rows, schema=CATALOG_SCHEMA)


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


def read_batches(con: duckdb.DuckDBPyConnection, source: str, max_bytes: int) -> list[list[str]]:
    """The paths DuckDB reads for the loaded files of one source (UTF-8 copies where needed),
    in batches of whole dealers of about `max_bytes` each, so memory stays flat as the network
    grows and a dealer's files (whose dates tell day-first from month-first) stay together."""
    rows = con.execute(
        """
        select dealer_code, list(read_path order by file_id), sum(size_bytes)
        from ingest.loaded_files
        where source = $source and read_path is not null
        group by dealer_code
        order by dealer_code
        """,
        {"source": source},
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
