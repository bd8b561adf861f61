"""Marts: Parquet files under `<output>/marts/` for analysts, marketing and head office."""

from __future__ import annotations

import dagster as dg

from assets.identity.assets import identity_crosswalk
from assets.ingest.assets import load_manifest, rejects
from assets.marts.publish import publish_parquet
from assets.materialize import stopwatch
from pipelines.resources import Warehouse

GROUP = "marts"


def _mart(name: str, table: str, order_by: str, upstream: dg.AssetsDefinition, doc: str) -> dg.AssetsDefinition:
    @dg.asset(name=name, key_prefix="marts", group_name=GROUP, deps=[upstream], kinds={"parquet"}, description=doc)
    def mart(warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.marts_dir / f"{name}.parquet"
        with warehouse.connect() as con, stopwatch() as timing:
            rows = publish_parquet(con, table, path, order_by)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "path": str(path), "seconds": timing["seconds"]})
    return mart


load_manifest_mart = _mart("load_manifest", "ingest.load_manifest", "file_name", load_manifest,
                           "One row per file read: loaded, skipped as a re-delivery, or failed.")
rejects_mart = _mart("rejects", "ingest.rejects", "file_name, source_row", rejects,
                     "One row per rejected input row, with its reason and the row as text.")
identity_crosswalk_mart = _mart(
    "identity_crosswalk", "identity.identity_crosswalk", "dealer_code, source, file_name, source_row",
    identity_crosswalk, "One row per accepted input row: its customer_id and the rule or score that linked it.")
