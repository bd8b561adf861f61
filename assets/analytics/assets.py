"""Customer analytics as of one date: RFM, ABC tiers, lifecycle stage, CLV and churn risk.

Features are computed in DuckDB (`sql/intermediate/analytics/`) at three cut-offs: as-of itself,
as-of minus the horizon (calibration of the backtests) and minus twice the horizon (training of
the churn backtest); the models in `models/` are plain functions over Polars frames.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import numpy as np
import polars as pl

import sql
from assets.identity.assets import signature_ids, vehicles
from assets.materialize import markdown_table, materialize_sql, stopwatch, table_metadata
from models import churn
from models.abc import abc_tiers, tier_shares
from models.clv import TIME_UNIT, FitFailed, fit_clv, holdout_metrics, score_customers, unfit_reason
from models.lifecycle import lifecycle_stages
from models.rfm import rfm_scores
from models.settings import AnalyticsSettings
from pipelines.resources import RunSettings, Warehouse

GROUP = "analytics"
SETTINGS = AnalyticsSettings()
FEATURE_TABLES = {0: "analytics.features", 1: "analytics.features_calibration", 2: "analytics.features_training"}


def as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The run's as-of date (None when the landing folder holds no records)."""
    return con.execute("select as_of from analytics.as_of").fetchone()[0]


def cutoff(con: duckdb.DuckDBPyConnection, horizons_back: int) -> dt.date:
    """as-of minus `horizons_back` horizons (12 months each by default)."""
    months = horizons_back * SETTINGS.horizon_months
    return con.execute("select (as_of - to_months($m))::date from analytics.as_of", {"m": months}).fetchone()[0]


def frame(con: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    return con.execute(query).pl()


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[signature_ids, vehicles], kinds={"duckdb"})
def customer_events(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """One row per service visit (analytics.visits: a customer on a day, at any dealer) and one per
    vehicle sale (analytics.purchases), dated on or before as-of (analytics.as_of: the run's
    --as-of, else the latest record date). Also analytics.customer_vehicles."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/analytics/int_as_of", "analytics.as_of", as_of=run_settings.as_of or None)
            sql.materialize(con, "intermediate/analytics/int_visits", "analytics.visits")
            purchases = sql.materialize(con, "intermediate/analytics/int_purchases", "analytics.purchases",
                                        vehicle_margin_rate=SETTINGS.vehicle_margin_rate)
            sql.materialize(con, "intermediate/analytics/int_customer_vehicles", "analytics.customer_vehicles")
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.visits", timing["seconds"],
                                                            as_of=str(as_of(con)), purchases=purchases))


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_events], kinds={"duckdb"})
def customer_features(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer known at a cut-off: recency, frequency, spend and value in the window,
    visit rhythm, vehicle age, BG/NBD summary, and what followed in the next 12 months. Three
    tables: analytics.features (as-of), features_calibration (-12 months), features_training
    (-24 months)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            rows = {}
            for back, table in FEATURE_TABLES.items():
                rows[table] = sql.materialize(
                    con, "intermediate/analytics/int_customer_features", table, cutoff=cutoff(con, back),
                    window_months=SETTINGS.window_months, horizon_months=SETTINGS.horizon_months)
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.features", timing["seconds"], as_of=str(as_of(con)),
            customers_at_calibration=rows[FEATURE_TABLES[1]], customers_at_training=rows[FEATURE_TABLES[2]]))


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars", "duckdb"})
def rfm(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer: recency, frequency, monetary; 1-5 quintile scores and the R x F
    segment, network-wide and within the home dealer (columns ending _dealer)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            features = frame(con, "select customer_id, home_dealer_code, recency_days, visits_window as frequency, "
                                  "spend_window as monetary from analytics.features")
            scores = (features.join(rfm_scores(features), on="customer_id")
                      .join(rfm_scores(features, by="home_dealer_code", suffix="_dealer"), on="customer_id")
                      .sort("customer_id"))
            sql.store_frame(con, "analytics.rfm", scores)
        segments = scores.group_by("rfm_segment").len().sort("len", descending=True)
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.rfm", timing["seconds"],
                                                            segments=markdown_table(segments)))


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars", "duckdb"})
def abc(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer with the network ABC tier of their value in the window
    (analytics.abc_tiers), and one per customer and dealer with the tier at that dealer
    (analytics.dealer_abc_tiers)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            values = frame(con, "select customer_id, value_window as value from analytics.features")
            network = abc_tiers(values, SETTINGS.a_share, SETTINGS.b_share).sort("customer_id")
            dealer_values = sql.query(con, "intermediate/analytics/int_customer_dealer_value",
                                      window_months=SETTINGS.window_months).pl()
            by_dealer = abc_tiers(dealer_values, SETTINGS.a_share, SETTINGS.b_share, by="dealer_code")
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


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"polars", "duckdb"})
def lifecycle(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer: lifecycle stage (new, stable, churning, lost), their expected
    interval between visits (own rhythm shrunk toward their peers') and how overdue they are.
    analytics.lifecycle_calibration holds the stages as of 12 months earlier (for conversion
    rates: how many of the new customers then are stable now)."""
    columns = "customer_id, n_visits, mean_gap_days, recency_days, tenure_days, vehicle_age_days, maintenance_share"
    with warehouse.connect() as con:
        with stopwatch() as timing:
            stages = lifecycle_stages(frame(con, f"select {columns} from {FEATURE_TABLES[0]}"), SETTINGS)
            sql.store_frame(con, "analytics.lifecycle", stages)
            sql.store_frame(con, "analytics.lifecycle_calibration",
                            lifecycle_stages(frame(con, f"select {columns} from {FEATURE_TABLES[1]}"), SETTINGS))
        counts = dict(stages.group_by("lifecycle_stage").len().iter_rows())
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.lifecycle", timing["seconds"], **counts))


SCORE_COLUMNS = {"p_alive": pl.Float64, "expected_visits": pl.Float64, "expected_spend": pl.Float64,
                 "clv": pl.Float64}
PARAMETER_SCHEMA = {"model": pl.String, "param": pl.String, "value": pl.Float64, "time_unit": pl.String,
                    "n_customers": pl.Int64, "calibration_end": pl.Date}


def _fit_and_score(con: duckdb.DuckDBPyConnection, table: str, calibration_end: dt.date, with_clv: bool):
    """Fit BG/NBD + Gamma-Gamma on the summary in `table` and score its customers. Returns the
    summary, the scores (empty columns when the data is too small to fit), the parameter rows and
    metadata on the fit."""
    summary = frame(con, f'select customer_id, frequency, recency, "T", monetary_value, visits_next from {table}')
    reason = unfit_reason(summary, SETTINGS.min_customers)
    if not reason:
        with stopwatch() as fit_timing:
            try:
                model = fit_clv(summary, SETTINGS.penalizer)
            except FitFailed as exc:
                reason = f"not fitted: {exc}"
    if reason:
        scores = summary.select("customer_id").with_columns(
            **{name: pl.lit(None, dtype) for name, dtype in SCORE_COLUMNS.items()})
        return summary, scores, pl.DataFrame(schema=PARAMETER_SCHEMA), {"model": reason}
    scores = score_customers(model, summary, SETTINGS.horizon_months,
                             SETTINGS.monthly_discount_rate if with_clv else None)
    parameters = model.parameters().with_columns(
        time_unit=pl.lit(TIME_UNIT), n_customers=pl.lit(model.n_customers, pl.Int64),
        calibration_end=pl.lit(calibration_end))
    return summary, scores, parameters, {
        "model": "fitted", **model.fit_notes, "fit_seconds": fit_timing["seconds"],
        "repeat_customers": model.n_repeat_customers,
        "frequency_spend_correlation": round(model.frequency_spend_correlation, 4),
        "parameters": markdown_table(parameters.select("model", "param", "value"))}


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"lifetimes", "duckdb"})
def clv(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer: p_alive, expected service visits in the next 12 months, expected
    spend per visit and 12-month CLV (discounted), from BG/NBD + Gamma-Gamma fitted on all
    visits up to as-of. The parameters go to analytics.clv_parameters."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            _, scores, parameters, fit = _fit_and_score(con, FEATURE_TABLES[0], as_of(con), with_clv=True)
            sql.store_frame(con, "analytics.clv", scores.rename({"expected_visits": "expected_visits_12m",
                                                                 "clv": "clv_12m"}).sort("customer_id"))
            sql.store_frame(con, "analytics.clv_parameters", parameters)
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.clv", timing["seconds"], **fit))


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features], kinds={"lifetimes", "duckdb"})
def clv_holdout(warehouse: Warehouse) -> dg.MaterializeResult:
    """The CLV model's backtest: fitted on visits up to as-of minus 12 months, it predicts each
    customer's visits in the 12 months to as-of. One row per metric (analytics.clv_holdout:
    per-customer MAE, aggregate error, decile lift, the Gamma-Gamma frequency/spend correlation);
    per-customer predictions and the calibration-time p_alive in analytics.clv_holdout_scores."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            calibration_end = cutoff(con, 1)
            summary, scores, parameters, fit = _fit_and_score(con, FEATURE_TABLES[1], calibration_end, with_clv=False)
            scored = scores.join(summary.select("customer_id", actual_visits="visits_next"), on="customer_id")
            metrics = {}
            if fit["model"] == "fitted":
                metrics = holdout_metrics(scored)
                metrics["frequency_spend_correlation"] = fit["frequency_spend_correlation"]
            sql.store_frame(con, "analytics.clv_holdout_scores", scored.sort("customer_id"))
            sql.store_frame(con, "analytics.clv_holdout", pl.DataFrame(
                {"metric": list(metrics), "value": list(metrics.values())}, schema={"metric": pl.String,
                                                                                   "value": pl.Float64})
                .with_columns(calibration_end=pl.lit(calibration_end)))
            sql.store_frame(con, "analytics.clv_holdout_parameters", parameters)
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.clv_holdout", timing["seconds"], calibration_end=str(calibration_end), model=fit["model"],
            **{k: round(v, 4) for k, v in metrics.items() if not k.startswith("decile_")}))


BACKTEST_SCHEMA = {"model": pl.String, "metric": pl.String, "value": pl.Float64}
CALIBRATION_SCHEMA = {"bin": pl.Int64, "predicted": pl.Float64, "observed": pl.Float64, "model": pl.String}


def _backtest(training: pl.DataFrame, test: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Train at the earlier cut-off, rank the later one's customers; the same customers ranked by
    BG/NBD's p_alive and at random. Returns the metrics and the calibration tables."""
    model = churn.train_churn_model(training, SETTINGS.max_training_rows, SETTINGS.seed)
    labels = churn.churn_labels(test)
    rankings = {
        "churn_classifier": churn.churn_risk(model, test)["churn_risk"].to_numpy(),
        "random": np.random.default_rng(SETTINGS.seed).random(test.height),
    }
    if test["p_alive"].null_count() < test.height:
        rankings["bgnbd_p_alive"] = 1 - test["p_alive"].fill_null(1.0).to_numpy()
    metrics = pl.DataFrame([(name, metric, value) for name, scores in rankings.items()
                            for metric, value in churn.ranking_metrics(labels, scores).items()],
                           schema=BACKTEST_SCHEMA, orient="row")
    calibration = pl.concat([churn.calibration_table(labels, scores).with_columns(model=pl.lit(name))
                             for name, scores in rankings.items() if name != "random"])
    return metrics, calibration


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[customer_features, clv_holdout],
          kinds={"scikitlearn", "duckdb"})
def churn_risk(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer: the probability of no service visit in the next 12 months, from a
    classifier trained at as-of minus 12 months. The time-based backtest (train at -24 months,
    test at -12 months, against BG/NBD's p_alive and a random ranking on the same customers) goes
    to analytics.churn_backtest and analytics.churn_calibration."""
    columns = ", ".join(["customer_id", "visits_next", *churn.FEATURES])
    with warehouse.connect() as con:
        with stopwatch() as timing:
            training = churn.active_base(frame(con, f"select {columns} from {FEATURE_TABLES[2]}"),
                                         SETTINGS.active_window_days)
            test = churn.active_base(frame(con, f"select {columns} from {FEATURE_TABLES[1]}"),
                                     SETTINGS.active_window_days).join(
                frame(con, "select customer_id, p_alive from analytics.clv_holdout_scores"),
                on="customer_id", how="left").sort("customer_id")
            everyone = frame(con, f"select {columns} from {FEATURE_TABLES[0]}")
            reason = (churn.unfit_reason(training, SETTINGS.min_customers)
                      or churn.unfit_reason(test, SETTINGS.min_customers))
            if not reason:
                try:
                    metrics, calibration = _backtest(training, test)
                    model = churn.train_churn_model(test, SETTINGS.max_training_rows, SETTINGS.seed)
                    risk = churn.churn_risk(model, everyone)
                except ValueError as exc:  # a sample scikit-learn cannot fit (one class left): no scores
                    reason = f"not fitted: {str(exc).splitlines()[0][:200]}"
            if reason:
                metrics, calibration = pl.DataFrame(schema=BACKTEST_SCHEMA), pl.DataFrame(schema=CALIBRATION_SCHEMA)
                risk = everyone.select("customer_id", churn_risk=pl.lit(None, pl.Float64))
            sql.store_frame(con, "analytics.churn_risk", risk.sort("customer_id"))
            sql.store_frame(con, "analytics.churn_backtest", metrics.with_columns(
                train_cutoff=pl.lit(cutoff(con, 2)), test_cutoff=pl.lit(cutoff(con, 1)),
                test_customers=pl.lit(test.height, pl.Int64)))
            sql.store_frame(con, "analytics.churn_calibration", calibration)
        summary = {f"{row['model']}_{row['metric']}": round(row["value"], 4)
                   for row in metrics.iter_rows(named=True) if row["metric"] in ("roc_auc", "pr_auc", "brier")}
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.churn_risk", timing["seconds"], model=reason or "fitted", test_customers=test.height,
            **summary))


@dg.asset(key_prefix="analytics", group_name=GROUP, deps=[lifecycle, clv, churn_risk], kinds={"duckdb"})
def action_lists(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer a dealer should act on: new customers not yet stable, and stable
    customers starting to churn, ranked within their home dealer by 12-month CLV."""
    with warehouse.connect() as con:
        result = materialize_sql(con, "intermediate/analytics/int_action_lists", "analytics.action_lists")
        sizes = dict(con.execute("select action_list, count(*) from analytics.action_lists group by 1").fetchall())
        return dg.MaterializeResult(metadata={**result.metadata, **sizes})


analytics_assets = [customer_events, customer_features, rfm, abc, lifecycle, clv, clv_holdout, churn_risk,
                    action_lists]
