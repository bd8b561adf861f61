"""RFM: recency, frequency and monetary scores 1-5 by quintile, and named segments.

What the three measures are (computed in `sql/intermediate/analytics.features.sql`):
recency is the days since the customer's last service visit or vehicle purchase, frequency the
service visits (distinct days) in the value window, monetary the after-sales spend in it. A
vehicle purchase counts for recency but not for frequency or monetary value: one 200,000-yuan
purchase makes a customer recent, so "New", never a "Champion". What a car earns the dealer
counts in the ABC value instead (`models/abc.py`).
"""

from __future__ import annotations

import polars as pl

# R x F map (R rows, F columns), after the widely used RFM segment grid; 11 = Lost.
SEGMENT_GRID = {
    5: ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
    4: ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"],
    3: ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose"],
    1: ["Lost", "Hibernating", "At risk", "At risk", "Can't lose"],
}
SEGMENTS = pl.DataFrame(
    [(r, f, name) for r, names in SEGMENT_GRID.items() for f, name in enumerate(names, start=1)],
    schema={"r_score": pl.Int8, "f_score": pl.Int8, "rfm_segment": pl.String},
    orient="row",
)


def quintile_score(value: pl.Expr, by: str | None = None) -> pl.Expr:
    """1-5 by quintile of `value` (higher value, higher score). Ties share the score of the first
    of them: score = 1 + floor(5 x customers ranked strictly below / customers), so the score
    depends on the value alone, never on an id or the row order."""
    below = value.rank("min") - 1
    count = pl.len()
    if by is not None:
        below, count = below.over(by), count.over(by)
    return (1 + (5 * below) // count).cast(pl.Int8)


def rfm_scores(customers: pl.DataFrame, by: str | None = None, suffix: str = "") -> pl.DataFrame:
    """Scores and segment per customer.

    `customers` has customer_id, recency_days, frequency, monetary. With `by` (a dealer column)
    the quintiles are taken within each group. Returns customer_id, r_score, f_score, m_score,
    rfm_segment, each name followed by `suffix`.
    """
    scored = customers.select(
        "customer_id",
        quintile_score(-pl.col("recency_days"), by).alias("r_score"),
        quintile_score(pl.col("frequency"), by).alias("f_score"),
        quintile_score(pl.col("monetary"), by).alias("m_score"),
    ).join(SEGMENTS, on=["r_score", "f_score"], how="left")
    return scored.rename({c: c + suffix for c in scored.columns if c != "customer_id"})
