"""Writing marts that readers never see half-written, and the manifest that describes them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


def publish_parquet(con: duckdb.DuckDBPyConnection, table: str, path: Path, order_by: str) -> int:
    """Write `table` sorted by `order_by` to `path` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    quoted = str(partial).replace("'", "''")
    try:
        con.execute(f"copy (select * from {table} order by {order_by}) to '{quoted}' (format parquet)")
        rows = pq.ParquetFile(partial).metadata.num_rows
    except Exception:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return rows


def write_text_atomically(path: Path, text: str) -> None:
    """Write a text file (the manifest, the report) the same way: a temporary file, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def mart_summary(path: Path) -> dict:
    """Row count and schema of a published mart, from its Parquet footer."""
    parquet = pq.ParquetFile(path)
    return {"rows": parquet.metadata.num_rows,
            "schema": [{"name": field.name, "type": str(field.type)} for field in parquet.schema_arrow]}


def input_fingerprint(con: duckdb.DuckDBPyConnection, reference_files: list[Path]) -> str:
    """sha256 over every landing file's path and content hash, and the reference lists' bytes:
    the same landing folder always gives the same fingerprint."""
    digest = hashlib.sha256()
    for name, sha in con.execute("select file_name, file_sha256 from ingest.load_manifest order by file_name").fetchall():
        digest.update(f"{name}\t{sha}\n".encode())
    for path in reference_files:
        if path.is_file():
            digest.update(f"{path.name}\t{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()
