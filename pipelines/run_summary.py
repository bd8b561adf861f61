"""The closing summary of `crm run`: files loaded, skipped and failed; rows loaded and rejected."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

MAX_IGNORED_SHOWN = 20


def print_summary(warehouse: Path) -> int:
    """Print the summary from the warehouse; returns the number of failed files."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        manifest = con.table("ingest.load_manifest").select("file_name, status, error, rows_loaded, rows_rejected").pl()
        reasons = con.table("ingest.rejects").aggregate("reason, count(*) as n", "reason").pl()
    files = dict(manifest.group_by("status").len().iter_rows())
    reasons = reasons.sort(["n", "reason"], descending=[True, False])
    print(f"files: {files.get('loaded', 0)} loaded, {files.get('skipped', 0)} skipped (re-delivered), "
          f"{files.get('failed', 0)} failed, {files.get('ignored', 0)} ignored")
    print(f"rows: {manifest['rows_loaded'].sum()} loaded, {manifest['rows_rejected'].sum()} rejected"
          + (" (" + ", ".join(f"{reason} {n}" for reason, n in reasons.iter_rows()) + ")" if reasons.height else ""))
    by_name = manifest.sort("file_name")
    for error in by_name.filter(pl.col("status") == "failed")["error"]:
        print(f"failed: {error}")
    ignored = by_name.filter(pl.col("status") == "ignored")
    for file_name, reason in ignored.select("file_name", "error").head(MAX_IGNORED_SHOWN).iter_rows():
        print(f"ignored: {file_name}: {reason}")
    if ignored.height > MAX_IGNORED_SHOWN:
        print(f"ignored: {ignored.height - MAX_IGNORED_SHOWN} more (load_manifest lists them all)")
    return files.get("failed", 0)
