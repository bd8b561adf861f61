"""Churn risk: a classifier trained a horizon before as-of scores every customer; a second one,
trained two horizons before, is judged on the horizon it never saw (the backtest)."""

from __future__ import annotations

import dagster as dg
import polars as pl

import sql
from assets.analytics.clv import clv_holdout
from assets.analytics.features import GROUP, customer_features, cutoff, features_frame
from assets.metadata import stopwatch, table_metadata
from assets.resources import WAREHOUSE_POOL, Warehouse
from models import churn
from models.settings import Settings

COLUMNS = ["customer_id", "visits_next", *churn.FEATURES]


def _not_fitted(exc: ValueError) -> str:
    """A sample scikit-learn cannot fit (one class left): no model, and why."""
    return f"not fitted: {str(exc).splitlines()[0][:200]}"


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features, clv_holdout],
          kinds={"scikitlearn", "duckdb"})
def churn_backtest(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """analytics.churn_backtest: the churn model's time-based backtest, one row per ranking and
    metric (ROC AUC, PR AUC, Brier score, base rate): a backtest model trained at as-of minus 24
    months ranks the customers active at minus 12 months by their risk of no visit in the next 12,
    against BG/NBD's p_alive and a random ranking of the same customers. analytics.churn_calibration:
    observed churn against predicted risk per decile."""
    params, min_customers = settings.churn, settings.analytics.min_customers
    with warehouse.connect() as con:
        with stopwatch() as timing:
            training = churn.active_base(features_frame(con, COLUMNS, snapshot="training"), params.active_window_days)
            test = churn.active_base(features_frame(con, COLUMNS, snapshot="calibration"),
                                     params.active_window_days).join(
                con.table("analytics.clv_holdout_scores").select("customer_id, p_alive").pl(),
                on="customer_id", how="left").sort("customer_id")
            reason = churn.unfit_reason(training, min_customers) or churn.unfit_reason(test, min_customers)
            if not reason:
                try:
                    metrics, calibration = churn.backtest(training, test, params)
                except ValueError as exc:
                    reason = _not_fitted(exc)
            if reason:
                metrics = pl.DataFrame(schema=churn.BACKTEST_SCHEMA)
                calibration = pl.DataFrame(schema=churn.CALIBRATION_SCHEMA)
            horizon = settings.analytics.horizon_months
            sql.store_frame(con, "analytics.churn_backtest", metrics.with_columns(
                train_cutoff=pl.lit(cutoff(con, 2, horizon)), test_cutoff=pl.lit(cutoff(con, 1, horizon)),
                test_customers=pl.lit(test.height, pl.Int64)))
            sql.store_frame(con, "analytics.churn_calibration", calibration)
        summary = {f"{row['model']}_{row['metric']}": round(row["value"], 4)
                   for row in metrics.iter_rows(named=True) if row["metric"] in ("roc_auc", "pr_auc", "brier")}
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.churn_backtest", timing["seconds"], model=reason or "fitted",
            test_customers=test.height, **summary))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features],
          kinds={"scikitlearn", "duckdb"})
def churn_risk(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """analytics.churn_risk: one row per customer: the probability of no service visit in the next
    12 months, from the scoring model: trained on the customers active at as-of minus 12 months
    and what they did in the 12 months to as-of."""
    params = settings.churn
    with warehouse.connect() as con:
        with stopwatch() as timing:
            training = churn.active_base(features_frame(con, COLUMNS, snapshot="calibration"),
                                         params.active_window_days)
            everyone = features_frame(con, COLUMNS)
            reason = churn.unfit_reason(training, settings.analytics.min_customers)
            if not reason:
                try:
                    risk = churn.churn_risk(churn.train_churn_model(training, params), everyone)
                except ValueError as exc:
                    reason = _not_fitted(exc)
            if reason:
                risk = everyone.select("customer_id", churn_risk=pl.lit(None, pl.Float64))
            sql.store_frame(con, "analytics.churn_risk", risk.sort("customer_id"))
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.churn_risk", timing["seconds"], model=reason or "fitted",
            training_customers=training.height))
