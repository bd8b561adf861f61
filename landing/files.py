"""Finding the files of a landing folder and working out how each one is written.

Python only looks at bytes here (fingerprint, encoding, delimiter, header line); the rows
themselves are split and typed by DuckDB (see `sql/staging`).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from landing.mapping import SOURCES, match_header

DEALER_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
DELIMITERS = (",", ";", "\t")
BOM = b"\xef\xbb\xbf"


@dataclass
class LandingFile:
    """One CSV file of the landing folder and what was learnt from its bytes."""

    dealer_code: str
    source: str
    file_name: str  # path relative to the landing folder, with '/'
    path: Path
    file_sha256: str = ""
    size_bytes: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    header: list[str] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    read_path: Path | None = None  # what DuckDB reads: the file, or its UTF-8 copy
    data_lines: int | None = None  # lines after the header, as the parsing counts them
    error: str | None = None


def discover_files(input_dir: Path) -> list[LandingFile]:
    """Every `<dealer_code>/<source>/*.csv` below the landing folder, sorted by path."""
    found = []
    for source in SOURCES:
        for path in input_dir.glob(f"*/{source}/*"):
            if not path.is_file() or path.suffix.lower() != ".csv":
                continue
            dealer_code = path.parent.parent.name
            found.append(
                LandingFile(dealer_code, source, path.relative_to(input_dir).as_posix(), path)
            )
    for entry in found:
        if not DEALER_CODE.match(entry.dealer_code):
            entry.error = (
                f"folder name {entry.dealer_code!r} is not a dealer code "
                "(letters, digits, '-' and '_' only)"
            )
    return sorted(found, key=lambda f: f.file_name)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding it was written in: UTF-8 (with or without BOM) or GBK."""
    if data.startswith(BOM):
        return data[len(BOM):].decode("utf-8"), "utf-8-bom"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gbk"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return max(DELIMITERS, key=unquoted.count)


def inspect_file(entry: LandingFile, utf8_dir: Path) -> None:
    """Fill in fingerprint, encoding, delimiter, header mapping and the path DuckDB reads.

    A file that is not plain UTF-8 gets a UTF-8 copy under `utf8_dir`. Sets `entry.error`,
    naming the file and what is wrong, when the file cannot be loaded.
    """
    data = entry.path.read_bytes()
    entry.file_sha256 = hashlib.sha256(data).hexdigest()
    entry.size_bytes = len(data)
    if entry.error:
        return
    try:
        text, entry.encoding = decode(data)
    except UnicodeDecodeError as exc:
        entry.error = f"{entry.file_name}: not UTF-8 or GBK text (byte {exc.start})"
        return
    entry.data_lines = text.count("\n") - text.endswith("\n")
    if entry.encoding == "utf-8":
        entry.read_path = entry.path
    else:
        entry.read_path = utf8_dir / f"{entry.file_sha256}.csv"
        utf8_dir.mkdir(parents=True, exist_ok=True)
        # a file of its own per writer: two re-deliveries of one file may be inspected at once
        handle, partial = tempfile.mkstemp(suffix=".partial", dir=utf8_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.replace(partial, entry.read_path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        entry.error = f"{entry.file_name}: empty file or blank header line"
        return
    entry.delimiter = sniff_delimiter(header_line)
    entry.header = next(csv.reader([header_line], delimiter=entry.delimiter))
    match = match_header(entry.source, entry.header)
    entry.positions, entry.unknown_columns = match.positions, match.unknown
    if match.missing_required:
        entry.error = (
            f"{entry.file_name}: missing required column(s) {', '.join(match.missing_required)} "
            f"(header: {', '.join(entry.header)})"
        )
