"""Marts: Parquet files under `<output>/marts/` for analysts, marketing and head office."""

from __future__ import annotations

import dagster as dg

import sql
from assets.analytics.assets import abc, churn_risk, clv, clv_holdout, lifecycle, rfm
from assets.identity.assets import identity_crosswalk
from assets.ingest.assets import load_manifest, rejects
from assets.marts.publish import publish_parquet
from assets.materialize import stopwatch
from pipelines.resources import Warehouse

GROUP = "marts"


def _mart(name: str, table: str, order_by: str, upstream: list[dg.AssetsDefinition], doc: str,
          query: str | None = None) -> dg.AssetsDefinition:
    """A Parquet mart of `table`; with `query` (a file under sql/marts/) the table is first
    (re)defined as a view over that query."""
    @dg.asset(name=name, key_prefix="marts", group_name=GROUP, deps=upstream, kinds={"parquet"}, description=doc)
    def mart(warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.marts_dir / f"{name}.parquet"
        with warehouse.connect() as con, stopwatch() as timing:
            if query:
                sql.materialize(con, f"marts/{query}", table, view=True)
            rows = publish_parquet(con, table, path, order_by)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "path": str(path), "seconds": timing["seconds"]})
    return mart


load_manifest_mart = _mart("load_manifest", "ingest.load_manifest", "file_name", [load_manifest],
                           "One row per file read: loaded, skipped as a re-delivery, or failed.")
rejects_mart = _mart("rejects", "ingest.rejects", "file_name, source_row", [rejects],
                     "One row per rejected input row, with its reason and the row as text.")
identity_crosswalk_mart = _mart(
    "identity_crosswalk", "identity.identity_crosswalk", "dealer_code, source, file_name, source_row",
    [identity_crosswalk], "One row per accepted input row: its customer_id and the rule or score that linked it.")
customer_360_mart = _mart(
    "customer_360", "marts.customer_360", "customer_id", [rfm, abc, lifecycle, clv, churn_risk],
    "One row per customer known at as-of: activity, RFM, ABC tier, lifecycle stage, CLV and churn risk; "
    "no name, mobile or ID number.", query="customer_360")
clv_model_mart = _mart(
    "clv_model", "marts.clv_model", "kind, model, param", [clv, clv_holdout, churn_risk],
    "One row per fitted parameter of BG/NBD and Gamma-Gamma (at as-of and at the holdout's calibration "
    "end) and per backtest figure of the CLV holdout and the churn model.", query="clv_model")
