"""Customer lifetime value (BG/NBD + Gamma-Gamma) at as-of, and its backtest a horizon earlier."""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import duckdb
import polars as pl

import sql
from assets.analytics.features import (
    GROUP,
    as_of,
    customer_features,
    cutoff,
    features_frame,
)
from assets.metadata import markdown_table, stopwatch, table_metadata
from assets.marts.publish import write_text_atomically
from assets.resources import RETRAIN_TAG, WAREHOUSE_POOL, RunSettings, Warehouse
from models.clv import ClvModel, KeptFits, fit_and_score, holdout_metrics, refit_reason
from models.settings import Settings

SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value", "visits_next"]


def _kept_fits(con: duckdb.DuckDBPyConnection, asset: str, run_settings: RunSettings) -> KeptFits:
    """The fits `asset` used in its last run (analytics.clv_fits); none with --full, which fits
    again."""
    sql.run(con, "analytics.clv_fits.create")
    if run_settings.full:
        return {}
    return {key: json.loads(fit) for key, fit in con.execute(
        "select fit_key, fit from analytics.clv_fits where asset = ?", [asset]).fetchall()}


def _keep_fits(con: duckdb.DuckDBPyConnection, asset: str, fits: KeptFits) -> None:
    """Keep the fits `asset` used in this run, in place of those of the last."""
    con.execute("delete from analytics.clv_fits where asset = ?", [asset])
    for key, fit in fits.items():
        con.execute("insert into analytics.clv_fits values (?, ?, ?)", [asset, key, json.dumps(fit)])


def _fit_metadata(fit) -> dict:
    if not fit.fitted:
        return fit.notes
    return {**fit.notes, "parameters": markdown_table(fit.parameters.select("model", "param", "value"))}


def _kept_model(path) -> ClvModel | None:
    """The kept CLV model, or None when there is none or it is of an older layout (fitted again)."""
    try:
        return ClvModel.from_json(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (KeyError, TypeError, ValueError):
        return None


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features],
          kinds={"lifetimes", "duckdb", "json"})
def clv(context, warehouse: Warehouse, run_settings: RunSettings, settings: Settings) -> dg.MaterializeResult:
    """analytics.clv: one row per customer: p_alive, expected service visits in the next 12
    months, expected spend per visit and 12-month CLV (discounted), from BG/NBD + Gamma-Gamma.
    The model is kept in `<output>/models/clv_model.json` and fitted again on all visits up to
    as-of when asked (--retrain, the weekly schedule) or due (models.clv.refit_reason); else
    every run scores its customers with the kept file, so the same input, as-of and model file
    give the same marts. The parameters go to analytics.clv_parameters."""
    path = warehouse.clv_model_file
    with warehouse.connect() as con:
        with stopwatch() as timing:
            summary, day, kept = features_frame(con, SUMMARY_COLUMNS), as_of(con), _kept_model(path)
            asked = run_settings.retrain or context.run.tags.get(RETRAIN_TAG) == "true"
            reason = "asked (--retrain or the weekly schedule)" if asked else refit_reason(
                kept, summary.height, day, settings.analytics)
            fit = fit_and_score(summary, day, settings.analytics, with_clv=True, model=None if reason else kept)
            if reason and fit.fitted:
                write_text_atomically(path, fit.model.to_json())
            sql.store_frame(con, "analytics.clv", fit.scores.rename({"expected_visits": "expected_visits_12m",
                                                                     "clv": "clv_12m"}).sort("customer_id"))
            sql.store_frame(con, "analytics.clv_parameters", fit.parameters)
        fitted = bool(reason) and fit.fitted
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.clv", timing["seconds"], **_fit_metadata(fit), fitted=fitted,
            fitted_because=reason or "kept", model_file=str(path),
            model_sha256=hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "none"))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_features],
          kinds={"lifetimes", "duckdb"})
def clv_holdout(warehouse: Warehouse, run_settings: RunSettings, settings: Settings) -> dg.MaterializeResult:
    """The CLV model's backtest: fitted on visits up to as-of minus 12 months, it predicts each
    customer's visits in the 12 months to as-of. One row per metric (analytics.clv_holdout:
    per-customer MAE, aggregate error, decile lift, the Gamma-Gamma frequency/spend correlation);
    per-customer predictions and the calibration-time p_alive in analytics.clv_holdout_scores;
    the parameters in analytics.clv_holdout_parameters, the fits used in analytics.clv_fits. Rows
    added after the calibration end leave its rows as they were: the last run's fit is taken."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            calibration_end = cutoff(con, 1, settings.analytics.horizon_months)
            summary = features_frame(con, SUMMARY_COLUMNS, snapshot="calibration")
            fit = fit_and_score(summary, calibration_end, settings.analytics, with_clv=False,
                                kept=_kept_fits(con, "clv_holdout", run_settings))
            scored = fit.scores.join(summary.select("customer_id", actual_visits="visits_next"), on="customer_id")
            metrics = {}
            if fit.fitted:
                metrics = holdout_metrics(scored)
                metrics["frequency_spend_correlation"] = fit.notes["frequency_spend_correlation"]
            sql.store_frame(con, "analytics.clv_holdout_scores", scored.sort("customer_id"))
            sql.store_frame(con, "analytics.clv_holdout", pl.DataFrame(
                {"metric": list(metrics), "value": list(metrics.values())}, schema={"metric": pl.String,
                                                                                   "value": pl.Float64})
                .with_columns(calibration_end=pl.lit(calibration_end)))
            sql.store_frame(con, "analytics.clv_holdout_parameters", fit.parameters)
            _keep_fits(con, "clv_holdout", fit.fits)
        return dg.MaterializeResult(metadata=table_metadata(
            con, "analytics.clv_holdout", timing["seconds"], calibration_end=str(calibration_end),
            model=fit.notes["model"], fits_kept=fit.notes.get("fits_kept", 0),
            **{k: round(v, 4) for k, v in metrics.items() if not k.startswith("decile_")}))
