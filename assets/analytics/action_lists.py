"""The two groups a dealer acts on: new customers not yet stable, stable customers drifting away."""

from __future__ import annotations

import dagster as dg

from assets.analytics.churn import churn_risk
from assets.analytics.clv import clv
from assets.analytics.features import GROUP
from assets.analytics.segments import lifecycle
from assets.metadata import build_table, counts_by
from assets.resources import WAREHOUSE_POOL, Warehouse


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="analytics", group_name=GROUP, deps=[lifecycle, clv, churn_risk],
          kinds={"duckdb"})
def action_lists(warehouse: Warehouse) -> dg.MaterializeResult:
    """analytics.action_lists: one row per customer a dealer should act on: new customers not yet
    stable, and stable customers starting to churn, ranked within their home dealer by 12-month
    CLV."""
    with warehouse.connect() as con:
        result = build_table(con, "analytics.action_lists")
        sizes = counts_by(con, "analytics.action_lists", "action_list")
        return dg.MaterializeResult(metadata={**result.metadata, **sizes})
