"""What each column of a published mart holds (`columns.toml`), for the Dagster UI's column schema."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

COLUMNS_FILE = Path(__file__).with_name("columns.toml")


@cache
def _descriptions() -> dict[str, dict[str, str]]:
    return tomllib.loads(COLUMNS_FILE.read_text(encoding="utf-8"))


def describe(mart: str, column: str) -> str | None:
    """The description of `column` in `mart`: the mart's own line, else the shared one; a KPI's
    `_rank` and `_percentile` columns from the KPI's line."""
    lines = {**_descriptions()["all"], **_descriptions().get(mart, {})}
    if column in lines:
        return lines[column]
    for suffix, what in (("_rank", "Rank among dealers (1 = best) of: "),
                         ("_percentile", "Network percentile (1.0 = best, 0.0 = worst) of: ")):
        kpi = column.removesuffix(suffix)
        if column.endswith(suffix) and kpi in lines:
            return what + lines[kpi]
    return None


def descriptions(mart: str, columns: list[str]) -> dict[str, str]:
    return {column: text for column in columns if (text := describe(mart, column))}
