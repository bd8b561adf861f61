"""The header mapping of the DMS contract: canonical columns, their aliases and coded values.

Everything lives in `columns.toml` next to this module, so an analyst can add a vendor's
spelling without touching code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SOURCES = ("sales", "service", "contacts")
MAPPING_FILE = Path(__file__).with_name("columns.toml")
_IGNORED_IN_HEADERS = re.compile(r"[\s_\-.()（）\[\]]+")


def header_key(header: str) -> str:
    """The form in which headers are compared: lower case, no spaces, separators or brackets."""
    return _IGNORED_IN_HEADERS.sub("", header.strip().strip('"').lstrip("\ufeff")).lower()


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...]
    one_of: str | None = None


@cache
def _mapping() -> dict:
    return tomllib.loads(MAPPING_FILE.read_text(encoding="utf-8"))


@cache
def columns(source: str) -> tuple[Column, ...]:
    """The canonical columns of a source (`sales`, `service` or `contacts`); sales and service
    include the [shared] ones."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    raw = _mapping()
    merged = {**raw[source], **raw["shared"]} if source != "contacts" else raw[source]
    found = []
    for name, spec in merged.items():
        aliases = spec.get("aliases", ())
        if "same_as" in spec:
            section, other = spec["same_as"].split(".")
            aliases = raw[section][other].get("aliases", ())
        found.append(Column(name, bool(spec.get("required", False)), (name, *aliases), spec.get("one_of")))
    return tuple(found)


def required_columns(source: str) -> list[str]:
    return [c.name for c in columns(source) if c.required]


def required_groups(source: str) -> dict[str, list[str]]:
    """Groups of columns of which a file needs at least one (`one_of` in the mapping)."""
    groups: dict[str, list[str]] = {}
    for column in columns(source):
        if column.one_of:
            groups.setdefault(column.one_of, []).append(column.name)
    return groups


@dataclass(frozen=True)
class HeaderMatch:
    """Where each canonical column sits in one file (1-based field positions)."""

    positions: dict[str, int]
    unknown: list[str]
    missing_required: list[str]


def match_header(source: str, headers: list[str]) -> HeaderMatch:
    """Map a file's header fields to canonical columns; the first matching field wins."""
    by_key = {}
    for column in columns(source):
        for alias in column.aliases:
            by_key.setdefault(header_key(alias), column.name)
    positions: dict[str, int] = {}
    unknown = []
    for index, header in enumerate(headers, start=1):
        name = by_key.get(header_key(header))
        if name is None:
            unknown.append(header)
        else:
            positions.setdefault(name, index)
    missing = [c for c in required_columns(source) if c not in positions]
    missing += [" or ".join(group) for group in required_groups(source).values()
                if not any(c in positions for c in group)]
    return HeaderMatch(positions, unknown, missing)


def value_codes() -> list[tuple[str, str, str]]:
    """(column, spelling, code) rows for every coded value, spellings lower-cased."""
    rows = []
    for column, spec in _mapping()["values"].items():
        for code, spellings in spec.items():
            if code == "fallback":
                continue
            rows.extend((column, s.strip().lower(), code) for s in spellings)
    return rows


def value_fallbacks() -> dict[str, str]:
    return {column: spec["fallback"] for column, spec in _mapping()["values"].items()}
