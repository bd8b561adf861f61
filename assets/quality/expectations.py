"""Validating data-quality metrics with great-expectations.

DuckDB computes each check's metrics in one query (`sql/checks/*.sql`: counts of rows breaking a
rule, a few shares); great-expectations then validates that one-row frame against the allowed
range of every metric. Millions of rows never travel into pandas.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache

import pandas as pd


@dataclass(frozen=True)
class MetricResult:
    metric: str
    value: float | None
    low: float
    high: float
    passed: bool


def _import_great_expectations() -> None:
    """Import great_expectations (on first use: it takes seconds). Where pyspark is installed
    (the spark extra), great_expectations imports pyspark.sql.connect, which ends the process
    (sys.exit(0), its guard for doctests) when `__main__` has neither a spec nor a file, as in
    Dagster's run worker; `__main__` carries a file name for the time of the import."""
    main = sys.modules["__main__"]
    bare = getattr(main, "__spec__", None) is None and not hasattr(main, "__file__")
    if bare:
        main.__file__ = "<dagster run worker>"
    try:
        import great_expectations  # noqa: F401
    finally:
        if bare:
            del main.__file__


@cache
def _context():
    _import_great_expectations()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_metrics(name: str, metrics: dict[str, float], ranges: dict[str, tuple[float, float]]) -> list[MetricResult]:
    """Validate `metrics` (one value each) against `ranges` (low, high; inclusive) with one
    great-expectations suite; one result per metric. A null value (not judged) passes."""
    context = _context()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    data_source = context.data_sources.add_or_update_pandas(f"{name}_metrics")
    batch_definition = data_source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("metrics")
    suite = gx.ExpectationSuite(name=name, expectations=[
        gxe.ExpectColumnValuesToBeBetween(column=metric, min_value=low, max_value=high)
        for metric, (low, high) in ranges.items()])
    batch = batch_definition.get_batch(batch_parameters={"dataframe": pd.DataFrame([metrics])})
    validation = batch.validate(suite)
    passed = {result.expectation_config.kwargs["column"]: result.success for result in validation.results}
    return [MetricResult(metric, None if metrics[metric] is None else float(metrics[metric]), low, high,
                         passed[metric]) for metric, (low, high) in ranges.items()]
