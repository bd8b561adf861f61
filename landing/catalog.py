"""The catalog of a landing folder: which files load, which are re-deliveries, which fail.

Every run catalogs the landing folder as it is now, so a file whose content changed under the
same name replaces its earlier version and identical bytes under another name are skipped. What
the warehouse does with the catalog (parsing the rows dealer by dealer) is the ingest stage's
(`assets/ingest/parsing.py`).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from landing.files import LandingFile, discover_files, inspect_file
from landing.mapping import MAPPING_FILE, SOURCES, columns

CANONICAL_COLUMNS = sorted({c.name for source in SOURCES for c in columns(source)})
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
    # hashing and writing release the GIL, so threads read a network's files in parallel
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
