"""ABC value tiers (Pareto): the few customers who bring most of the value.

Value is what a customer brought the dealer in the value window: after-sales spend plus the
gross profit of vehicles bought (see `AnalyticsSettings.vehicle_margin_rate`).
"""

from __future__ import annotations

import polars as pl


def abc_tiers(values: pl.DataFrame, a_share: float, b_share: float, by: str | None = None) -> pl.DataFrame:
    """Tier per row of `values` (customer_id, value[, by]).

    Customers are taken by value, highest first (equal values by customer_id, so the split is
    reproducible); a customer is A while the customers before them bring less than `a_share` of
    the total, so the customer who crosses the line is still A; B likewise up to `b_share`; C the
    rest, and always C with no value. Adds `value_share_before` and `abc_tier`.
    """
    group = [by] if by else []
    ordered = values.with_columns(pl.col("value").cast(pl.Float64)).sort([*group, "value", "customer_id"], descending=[*[False] * len(group), True, False])
    before = pl.col("value").cum_sum() - pl.col("value")
    total = pl.col("value").sum()
    if by:
        before, total = before.over(by), total.over(by)
    share = (before / total).fill_nan(1.0)
    return ordered.with_columns(value_share_before=share).with_columns(
        abc_tier=pl.when(pl.col("value") <= 0).then(pl.lit("C"))
        .when(pl.col("value_share_before") < a_share).then(pl.lit("A"))
        .when(pl.col("value_share_before") < b_share).then(pl.lit("B"))
        .otherwise(pl.lit("C"))
    )


def tier_shares(tiers: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Realised share of customers and of value per tier."""
    total_value = tiers["value"].sum() or 1.0
    summary = tiers.group_by("abc_tier").agg(customers=pl.len(), value=pl.col("value").sum()).sort("abc_tier")
    return {row["abc_tier"]: {"customer_share": round(row["customers"] / tiers.height, 4),
                              "value_share": round(row["value"] / total_value, 4)}
            for row in summary.iter_rows(named=True)}
