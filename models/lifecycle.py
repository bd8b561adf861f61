"""Lifecycle stage from the customer value cycle: new, stable, churning, lost.

After the first contact visits are sparse (new); then they settle into a rhythm (stable); then
they thin out (churning) until the customer is gone (lost). "Overdue" is judged against the
customer's own expected interval between visits, shrunk toward the norm of similar customers
(same vehicle age band and service mix) when the customer's history is short:

    expected = (n_gaps x own_mean_gap + k x peer_norm) / (n_gaps + k)

with k = `prior_strength_gaps`. The peer norm is the median mean gap of peers with at least two
intervals. The stage, in order:

- lost: days since the last visit or purchase >= `lost_ratio` x expected, or > `lost_after_days`
- new: fewer than `stable_min_visits` visits, or tenure < `new_tenure_days`
- churning: days since the last visit or purchase >= `churning_ratio` x expected
- stable: the rest

The two lists a dealer acts on are `new` (not yet stable) and `churning` (stable customers
starting to drift away).
"""

from __future__ import annotations

import polars as pl

from models.settings import AnalyticsSettings

STAGES = ("new", "stable", "churning", "lost")


def peer_group() -> pl.Expr:
    """Vehicle age band x service mix, e.g. '3-6y/maintenance'."""
    age = pl.col("vehicle_age_days") / 365.25
    band = (pl.when(age.is_null()).then(pl.lit("unknown")).when(age < 3).then(pl.lit("0-3y"))
            .when(age < 6).then(pl.lit("3-6y")).otherwise(pl.lit("6y+")))
    mix = (pl.when(pl.col("maintenance_share").is_null()).then(pl.lit("no-visits"))
           .when(pl.col("maintenance_share") >= 0.5).then(pl.lit("maintenance"))
           .otherwise(pl.lit("repair")))
    return pl.concat_str([band, mix], separator="/")


def lifecycle_stages(features: pl.DataFrame, settings: AnalyticsSettings) -> pl.DataFrame:
    """Stage per customer.

    `features` has customer_id, n_visits, mean_gap_days (null below two visits), recency_days,
    tenure_days, vehicle_age_days, maintenance_share. Returns customer_id, peer_group,
    peer_norm_days, expected_interval_days, overdue_ratio, lifecycle_stage.
    """
    k = settings.prior_strength_gaps
    with_group = features.with_columns(peer_group=peer_group(), n_gaps=(pl.col("n_visits") - 1).clip(lower_bound=0))
    norms = (with_group.filter(pl.col("n_gaps") >= 2)
             .group_by("peer_group").agg(peer_norm_days=pl.col("mean_gap_days").median()))
    overall = with_group.filter(pl.col("n_gaps") >= 2)["mean_gap_days"].median()
    fallback = overall if overall is not None else settings.default_interval_days
    staged = (
        with_group.join(norms, on="peer_group", how="left")
        .with_columns(peer_norm_days=pl.col("peer_norm_days").fill_null(fallback))
        .with_columns(expected_interval_days=(
            (pl.col("n_gaps") * pl.col("mean_gap_days").fill_null(0) + k * pl.col("peer_norm_days"))
            / (pl.col("n_gaps") + k)))
        .with_columns(overdue_ratio=pl.col("recency_days") / pl.col("expected_interval_days"))
        .with_columns(lifecycle_stage=(
            pl.when((pl.col("overdue_ratio") >= settings.lost_ratio)
                    | (pl.col("recency_days") > settings.lost_after_days)).then(pl.lit("lost"))
            .when((pl.col("n_visits") < settings.stable_min_visits)
                  | (pl.col("tenure_days") < settings.new_tenure_days)).then(pl.lit("new"))
            .when(pl.col("overdue_ratio") >= settings.churning_ratio).then(pl.lit("churning"))
            .otherwise(pl.lit("stable"))))
    )
    return staged.select("customer_id", "peer_group", "peer_norm_days", "expected_interval_days",
                         "overdue_ratio", "lifecycle_stage").sort("customer_id")
