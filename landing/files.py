"""Finding the files of a landing folder and working out how each one is written.

Python only looks at bytes here (fingerprint, encoding, line ends, delimiter, header line); the
rows themselves are split and typed by DuckDB (see `sql/staging`). Every file under the landing
folder is accounted for: a file that is not read is listed as ignored, with the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from landing.mapping import SOURCES, match_header

DEALER_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
DELIMITERS = (",", ";", "\t")
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
REFERENCE_FILES = ("dealers.csv", "suppression.csv")
READ_SUFFIXES = (".csv", ".xlsx")


@dataclass
class LandingFile:
    """One file of the landing folder and what was learnt from its bytes."""

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
    ignored: str | None = None  # why the file is not read at all


def _relative(path: Path, input_dir: Path) -> str:
    return path.relative_to(input_dir).as_posix()


def _leaves(root: Path, path: Path) -> bool:
    """Whether a link leads out of the landing folder."""
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return True
    return False


def discover_files(input_dir: Path) -> list[LandingFile]:
    """Every file below the landing folder, sorted by path: `<dealer_code>/<source>/*.csv` (and
    `.xlsx`) to read; everything else, except the reference lists at the top, ignored with the
    reason (another folder, a subfolder, another kind of file, a link out of the landing folder)."""
    root = input_dir.resolve()
    found: list[LandingFile] = []

    def ignore(path: Path, reason: str, dealer_code: str = "", source: str = "") -> None:
        found.append(LandingFile(dealer_code, source, _relative(path, input_dir), path, ignored=reason))

    for top, dirs, files in os.walk(input_dir, followlinks=False):
        here = Path(top)
        depth = len(here.relative_to(input_dir).parts)
        parts = here.relative_to(input_dir).parts
        dealer_code = parts[0] if parts else ""
        source = parts[1] if len(parts) > 1 else ""
        for name in sorted(dirs):
            if (here / name).is_symlink():
                ignore(here / name, "a link to a folder: not followed", dealer_code, source)
        dirs[:] = sorted(d for d in dirs if not (here / d).is_symlink())
        for name in sorted(files):
            path = here / name
            if path.is_symlink() and _leaves(root, path):
                ignore(path, "a link that leads out of the landing folder: not read", dealer_code, source)
            elif depth == 0:
                if name not in REFERENCE_FILES:
                    ignore(path, f"not in a dealer folder (the top holds only {' and '.join(REFERENCE_FILES)})")
            elif depth == 1:
                ignore(path, f"not in a {', '.join(SOURCES)} folder of its dealer", dealer_code)
            elif source not in SOURCES:
                ignore(path, f"folder {source!r} is not one of {', '.join(SOURCES)} (lower case)", dealer_code)
            elif depth > 2:
                ignore(path, f"in a subfolder of {source}/: only the files directly in it are read", dealer_code,
                       source)
            elif path.suffix.lower() not in READ_SUFFIXES:
                ignore(path, f"not a CSV or XLSX export ({path.suffix or 'no extension'})", dealer_code, source)
            else:
                found.append(LandingFile(dealer_code, source, _relative(path, input_dir), path))
    for entry in found:
        if not entry.ignored and not DEALER_CODE.match(entry.dealer_code):
            entry.error = (
                f"folder name {entry.dealer_code!r} is not a dealer code "
                "(letters, digits, '-' and '_' only)"
            )
    return sorted(found, key=lambda f: f.file_name)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding it was written in: UTF-8 (with or without BOM),
    UTF-16 with a BOM, or GBK. Raises UnicodeDecodeError when it is none of them."""
    if data.startswith(BOM):
        return data[len(BOM):].decode("utf-8"), "utf-8-bom"
    if data.startswith(UTF16_BOMS):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if not data[:exc.start].isascii():
            # valid UTF-8 text with non-ASCII characters before the bad byte: two encodings in one file
            raise UnicodeDecodeError("utf-8", data, exc.start, exc.end,
                                     "UTF-8 up to this byte, another encoding after it") from None
    return data.decode("gb18030"), "gbk"


def _decode_for_rejects(data: bytes, exc: UnicodeDecodeError) -> str:
    """The text of an undecodable file with its bad bytes replaced, so that its lines can still be
    counted and rejected one by one."""
    if exc.reason.startswith("UTF-8 up to"):
        return data.decode("utf-8", errors="replace")
    return data.decode("gb18030", errors="replace")


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return max(DELIMITERS, key=unquoted.count)


def has_quoted_line_breaks(data: bytes) -> bool:
    """Whether a line of the text ends inside quotes: an odd number of quote characters before one
    of its line breaks. One pass over the bytes (quotes and line breaks are single ASCII bytes in
    UTF-8 and GBK alike)."""
    if b'"' not in data:
        return False
    array = np.frombuffer(data, dtype=np.uint8)
    quotes_before = np.searchsorted(np.flatnonzero(array == ord('"')), np.flatnonzero(array == ord("\n")))
    return bool((quotes_before % 2).any())


def join_quoted_line_breaks(text: str, delimiter: str) -> str:
    """Each quoted field that holds a line break, on one line (the break as a space): one record
    per line, as the parsing reads them. Only a quote that opens a field opens a quoted field."""
    d = re.escape(delimiter)
    field_pattern = re.compile(rf'(?m)(?:^|(?<={d}))"(?:[^"]|"")*"(?={d}|\r?$)')
    return field_pattern.sub(lambda m: re.sub(r"\r?\n", " ", m.group(0)) if "\n" in m.group(0) else m.group(0),
                             text)


def xlsx_text(path: Path) -> str:
    """The first worksheet of an XLSX export as CSV text, every cell as written (fastexcel)."""
    import polars as pl

    sheet = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    return sheet.write_csv()


def _write_copy(text: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # a file of its own per writer: two re-deliveries of one file may be inspected at once
    handle, partial = tempfile.mkstemp(suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def inspect_file(entry: LandingFile, utf8_dir: Path) -> None:
    """Fill in fingerprint, encoding, delimiter, header mapping and the path DuckDB reads.

    A file that is not plain UTF-8 with LF or CRLF line ends and one line per record gets a
    UTF-8 copy under `utf8_dir` that is: GBK and UTF-16 transcoded, old-Mac CR line ends made LF,
    quoted line breaks joined, an XLSX sheet written as CSV. A file that cannot be decoded is
    still copied (bad bytes replaced) so that its lines are rejected one by one. Sets
    `entry.error`, naming the file and what is wrong, when the file cannot be loaded; the error
    never quotes the file's values.
    """
    if entry.ignored:
        return
    data = entry.path.read_bytes()
    entry.file_sha256 = hashlib.sha256(data).hexdigest()
    entry.size_bytes = len(data)
    if entry.path.suffix.lower() == ".xlsx":
        try:
            text, entry.encoding = xlsx_text(entry.path), "xlsx"
        except Exception as exc:  # a corrupt workbook: the file fails, not the run; it has no lines to count
            entry.error = entry.error or f"{entry.file_name}: not a readable XLSX workbook ({type(exc).__name__})"
            entry.data_lines = 0
            return
    else:
        try:
            text, entry.encoding = decode(data)
        except UnicodeDecodeError as exc:
            entry.error = entry.error or (f"{entry.file_name}: not UTF-8, UTF-16 or GBK text "
                                          f"(byte {exc.start}: {exc.reason})")
            text, entry.encoding = _decode_for_rejects(data, exc), "undecodable"
    changed = entry.encoding != "utf-8"
    # quotes and line breaks are the file's own bytes in UTF-8 and GBK; otherwise look at the text
    as_written = entry.encoding in ("utf-8", "utf-8-bom", "gbk")
    if "\r" in text and "\n" not in text:
        text, changed, as_written = text.replace("\r", "\n"), True, False  # old-Mac line ends
    header_line = text.split("\n", 1)[0].rstrip("\r")
    entry.delimiter = sniff_delimiter(header_line) if header_line.strip() else ","
    if has_quoted_line_breaks(data if as_written else text.encode("utf-8")):
        joined = join_quoted_line_breaks(text, entry.delimiter)
        changed = changed or joined != text
        text = joined
    entry.data_lines = text.count("\n") - text.endswith("\n")
    if changed:
        entry.read_path = utf8_dir / f"{entry.file_sha256}.csv"
        _write_copy(text, entry.read_path)
    else:
        entry.read_path = entry.path
    if entry.error:
        return
    if not header_line.strip():
        entry.error = f"{entry.file_name}: empty file or blank header line"
        return
    entry.header = next(csv.reader(io.StringIO(header_line), delimiter=entry.delimiter))
    match = match_header(entry.source, entry.header)
    entry.positions, entry.unknown_columns = match.positions, match.unknown
    if match.missing_required:
        entry.unknown_columns = []  # a file without a header line would show its first row here
        recognised = ", ".join(sorted(match.positions, key=match.positions.get)) or "none"
        entry.error = (
            f"{entry.file_name}: missing required column(s) {', '.join(match.missing_required)} "
            f"(a header of {len(entry.header)} fields; recognised: {recognised})"
        )
