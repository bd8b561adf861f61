"""Segments of customers as of as-of: RFM scores, ABC tiers of value, lifecycle stages."""

from __future__ import annotations

import dagster as dg
import polars as pl

import sql
from assets.analytics.features import GROUP, customer_features, features_frame
from assets.metadata import markdown_table, stopwatch, table_metadata
from assets.resources import WAREHOUSE_POOL, Warehouse
from models.abc import abc_tiers, tier_shares
from models.lifecycle import lifecycle_stages
from models.rfm import rfm_scores
from models.settings import Settings

LIFECYCLE_COLUMNS = ["customer_id", "n_visits", "mean_gap_days", "recency_days", "tenure_days", "vehicle_age_days",
                     "maintenance_share"]


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars",
          "duckdb"})
def rfm(warehouse: Warehouse) -> dg.MaterializeResult:
    """analytics.rfm: one row per customer: recency, frequency, monetary; 1-5 quintile scores and
    the R x F segment, network-wide and within the home dealer (columns ending _dealer)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            features = features_frame(con, ["customer_id", "home_dealer_code", "recency_days", "visits_window",
                                            "spend_window"]).rename({"visits_window": "frequency",
                                                                     "spend_window": "monetary"})
            scores = (features.join(rfm_scores(features), on="customer_id")
                      .join(rfm_scores(features, by="home_dealer_code", suffix="_dealer"), on="customer_id")
                      .sort("customer_id"))
            sql.store_frame(con, "analytics.rfm", scores)
        segments = scores.group_by("rfm_segment").len().sort("len", descending=True)
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.rfm", timing["seconds"],
                                                            segments=markdown_table(segments)))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars",
          "duckdb"})
def abc(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """analytics.abc_tiers: one row per customer with the network ABC tier of their value in the
    window; analytics.dealer_abc_tiers: one per customer and dealer with the tier at that dealer,
    from their value there (analytics.customer_dealer_value)."""
    analytics = settings.analytics
    with warehouse.connect() as con:
        with stopwatch() as timing:
            values = features_frame(con, ["customer_id", "value_window"]).rename({"value_window": "value"})
            network = abc_tiers(values, analytics.a_share, analytics.b_share).sort("customer_id")
            sql.build(con, "analytics.customer_dealer_value", window_months=analytics.window_months)
            dealer_values = con.table("analytics.customer_dealer_value").pl()
            by_dealer = abc_tiers(dealer_values, analytics.a_share, analytics.b_share, by="dealer_code")
            sql.store_frame(con, "analytics.abc_tiers", network)
            sql.store_frame(con, "analytics.dealer_abc_tiers", by_dealer.sort("dealer_code", "customer_id"))
        shares = tier_shares(network)
        dealer_a = by_dealer.group_by("dealer_code").agg(
            a_value_share=pl.col("value").filter(pl.col("abc_tier") == "A").sum() / pl.col("value").sum(),
            a_customer_share=(pl.col("abc_tier") == "A").mean()).sort("dealer_code")
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.abc_tiers", timing["seconds"],
            **{f"{tier}_{k}": v for tier, share in shares.items() for k, v in share.items()},
            dealer_a_shares=markdown_table(dealer_a)))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars",
          "duckdb"})
def lifecycle(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """analytics.lifecycle: one row per customer: lifecycle stage (new, stable, churning, lost),
    their expected interval between visits (own rhythm shrunk toward their peers') and how overdue
    they are. analytics.lifecycle_calibration holds the stages as of 12 months earlier (for
    conversion rates: how many of the new customers then are stable now)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            stages = lifecycle_stages(features_frame(con, LIFECYCLE_COLUMNS), settings.analytics)
            sql.store_frame(con, "analytics.lifecycle", stages)
            sql.store_frame(con, "analytics.lifecycle_calibration", lifecycle_stages(
                features_frame(con, LIFECYCLE_COLUMNS, snapshot="calibration"), settings.analytics))
        counts = dict(stages.group_by("lifecycle_stage").len().iter_rows())
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.lifecycle", timing["seconds"], **counts))
