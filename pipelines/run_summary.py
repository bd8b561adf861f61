"""The closing summary of `crm run`: files loaded, skipped and failed; rows loaded and rejected."""

from __future__ import annotations

from pathlib import Path

import duckdb

MAX_IGNORED_SHOWN = 20


def print_summary(warehouse: Path) -> int:
    """Print the summary from the warehouse; returns the number of failed files."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = dict(con.execute("select status, count(*) from ingest.load_manifest group by status").fetchall())
        loaded, rejected = con.execute("select sum(rows_loaded), sum(rows_rejected) from ingest.load_manifest").fetchone()
        reasons = con.execute("select reason, count(*) from ingest.rejects group by reason order by 2 desc, 1").fetchall()
        errors = con.execute("select error from ingest.load_manifest where status = 'failed' order by file_name").fetchall()
        ignored = con.execute("select file_name, error from ingest.load_manifest where status = 'ignored' "
                              "order by file_name").fetchall()
    print(f"files: {files.get('loaded', 0)} loaded, {files.get('skipped', 0)} skipped (re-delivered), "
          f"{files.get('failed', 0)} failed, {files.get('ignored', 0)} ignored")
    print(f"rows: {loaded or 0} loaded, {rejected or 0} rejected"
          + (" (" + ", ".join(f"{reason} {n}" for reason, n in reasons) + ")" if reasons else ""))
    for (error,) in errors:
        print(f"failed: {error}")
    for file_name, reason in ignored[:MAX_IGNORED_SHOWN]:
        print(f"ignored: {file_name}: {reason}")
    if len(ignored) > MAX_IGNORED_SHOWN:
        print(f"ignored: {len(ignored) - MAX_IGNORED_SHOWN} more (load_manifest lists them all)")
    return files.get("failed", 0)
