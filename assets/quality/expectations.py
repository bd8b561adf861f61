"""Validating data-quality metrics with great-expectations.

DuckDB computes each check's metrics in one query (`sql/checks/*.sql`: counts of rows breaking a
rule, a few shares); great-expectations then validates that one-row frame against the allowed
range of every metric. Millions of rows never travel into pandas.
"""

from __future__ import annotations

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


@cache
def _context():
    import great_expectations as gx  # imported on first use: it takes seconds
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_metrics(name: str, metrics: dict[str, float], ranges: dict[str, tuple[float, float]]) -> list[MetricResult]:
    """Validate `metrics` (one value each) against `ranges` (low, high; inclusive) with one
    great-expectations suite; one result per metric. A null value (not judged) passes."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    context = _context()
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
