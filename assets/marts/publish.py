"""Writing marts that readers never see half-written, published as one set with the manifest
that describes them.

A run writes its marts into `<output>/marts_runs/<run_id>/`; the last step writes
`_manifest.json` there and points the link `<output>/marts` at that folder with one atomic
rename. A reader of `marts/*.parquet` sees the set of one run or the set of the next, never a mix,
and a run killed half-way leaves the last published set in place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
    """Write a text file (the manifest, the report, the kept models) the same way: a
    temporary file, then a rename."""
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
    for name, sha in con.table("ingest.load_manifest").select("file_name, file_sha256").order("file_name").fetchall():
        digest.update(f"{name}\t{sha}\n".encode())
    for path in reference_files:
        if path.is_file():
            digest.update(f"{path.name}\t{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def carry_over(published: Path, run_dir: Path, names: list[str]) -> None:
    """Hard-link into `run_dir` the marts of `names` this run did not write (a run of some assets
    in the Dagster UI) from the set published before, so the next set is still complete."""
    for name in names:
        target, before = run_dir / f"{name}.parquet", published / f"{name}.parquet"
        if not target.exists() and before.exists():
            try:
                os.link(before.resolve(), target)
            except OSError:  # a file system without hard links
                shutil.copy2(before.resolve(), target)


def publish_set(output_dir: Path, run_dir: Path, keep: int = 3) -> Path:
    """Point `<output>/marts` at `run_dir` with one atomic rename and keep the newest `keep` run
    folders. Returns the link."""
    link = output_dir / "marts"
    if link.is_dir() and not link.is_symlink():  # an output folder of an older version: its marts retire
        link.rename(run_dir.parent / f"retired-{run_dir.name}")
    partial_link = output_dir / f".marts-{run_dir.name}.partial"
    partial_link.unlink(missing_ok=True)
    partial_link.symlink_to(run_dir.relative_to(output_dir), target_is_directory=True)
    os.replace(partial_link, link)
    runs = sorted((p for p in run_dir.parent.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
    for old in runs[:-keep]:
        if old.resolve() != run_dir.resolve():
            shutil.rmtree(old, ignore_errors=True)
    return link
