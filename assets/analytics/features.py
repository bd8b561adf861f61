"""The analytics stage's inputs: the run's as-of date, visits and purchases, and the customer
features at three cut-offs (as-of; minus one horizon, the backtests' calibration; minus two, the
churn backtest's training)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import polars as pl
from dateutil.relativedelta import relativedelta

import sql
from assets.identity.assets import signature_ids, vehicles
from assets.metadata import stopwatch, table_metadata
from assets.resources import RunSettings, WAREHOUSE_POOL, Warehouse
from models.settings import Settings

GROUP = "analytics"
FEATURES = "analytics.features"
SNAPSHOTS = {"calibration": 1, "training": 2}
"""The earlier cut-offs of analytics.features, in horizons before as-of: analytics.features_<name>."""


def as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The run's as-of date (None when the landing folder holds no records)."""
    return con.table("analytics.as_of").fetchone()[0]


def months_before(day: dt.date | None, months: int) -> dt.date | None:
    """`day` minus `months` calendar months, clipped to the month's end as DuckDB's `to_months`
    is (2024-03-31 minus one month is 2024-02-29); None stays None."""
    return None if day is None else day - relativedelta(months=months)


def cutoff(con: duckdb.DuckDBPyConnection, horizons_back: int, horizon_months: int) -> dt.date | None:
    """as-of minus `horizons_back` horizons of `horizon_months`."""
    return months_before(as_of(con), horizons_back * horizon_months)


def features_frame(con: duckdb.DuckDBPyConnection, columns: list[str], snapshot: str | None = None) -> pl.DataFrame:
    """`columns` of analytics.features, or of one of its earlier cut-offs."""
    return con.table(f"{FEATURES}_{snapshot}" if snapshot else FEATURES).select(
        ", ".join(f'"{c}"' for c in columns)).pl()


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[signature_ids, vehicles],
          kinds={"duckdb"})
def customer_events(warehouse: Warehouse, run_settings: RunSettings, settings: Settings) -> dg.MaterializeResult:
    """analytics.visits: one row per service visit (a customer on a day, at any dealer), and
    analytics.purchases: one per vehicle sale, dated on or before as-of (analytics.as_of: the run's
    --as-of, else the latest record date). Also analytics.customer_vehicles: each customer's
    vehicles."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.build(con, "analytics.as_of", as_of=run_settings.as_of or None)
            sql.build(con, "analytics.visits")
            purchases = sql.build(con, "analytics.purchases",
                                  vehicle_margin_rate=settings.analytics.vehicle_margin_rate)
            sql.build(con, "analytics.customer_vehicles")
        return dg.MaterializeResult(metadata=table_metadata(con, "analytics.visits", timing["seconds"],
                                                            as_of=str(as_of(con)), purchases=purchases))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[customer_events], kinds={"duckdb"})
def customer_features(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """analytics.features: one row per customer known at as-of: recency, frequency, spend and value
    in the window, visit rhythm, vehicle age, BG/NBD summary, and what followed in the next 12
    months. The same at as-of minus 12 months (analytics.features_calibration) and minus 24 months
    (analytics.features_training)."""
    analytics = settings.analytics
    params = {"window_months": analytics.window_months, "horizon_months": analytics.horizon_months}
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.build(con, FEATURES, cutoff=as_of(con), **params)
            rows = {name: sql.build(con, FEATURES, snapshot=name, **params,
                                    cutoff=cutoff(con, back, analytics.horizon_months))
                    for name, back in SNAPSHOTS.items()}
        return dg.MaterializeResult(metadata=table_metadata(
            con, FEATURES, timing["seconds"], as_of=str(as_of(con)),
            **{f"customers_at_{name}": n for name, n in rows.items()}))
