"""Marts: Parquet files under `<output>/marts/` for analysts, marketing and head office."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import dagster as dg

import sql
from assets.act.assets import follow_ups, service_due, win_back
from assets.analytics import (
    abc,
    action_lists,
    churn_backtest,
    churn_risk,
    clv,
    clv_holdout,
    lifecycle,
    rfm,
)
from assets.analytics.features import as_of
from assets.identity.assets import identity_crosswalk
from assets.ingest.assets import load_manifest, reference_lists, rejects
from assets.marts.columns import descriptions
from assets.marts.publish import (
    carry_over,
    input_fingerprint,
    mart_summary,
    publish_parquet,
    publish_set,
    write_text_atomically,
)
from assets.marts.report import head_office_report
from assets.metadata import stopwatch, table_preview
from assets.resources import LandingFolder, WAREHOUSE_POOL, Warehouse
from models.settings import Settings

GROUP = "marts"


def _mart(name: str, table: str, order_by: str, upstream: list[dg.AssetsDefinition], doc: str,
          params: Callable[[Settings], dict] | None = None) -> dg.AssetsDefinition:
    """A Parquet mart of `table`. A table of the marts schema is first built from its file under
    sql/marts/, with `params` (from the run's settings) bound. Its schema and first rows, personal
    columns masked, show in the metadata."""
    built = f"built from sql/marts/{table}.sql and published" if table.startswith("marts.") else "published"
    @dg.asset(pool=WAREHOUSE_POOL, name=name, key_prefix="marts", group_name=GROUP, deps=upstream, kinds={"parquet"},
              description=f"{name}.parquet: {doc} The table {table}, {built}.")
    def mart(context, warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
        path = warehouse.run_marts_dir(context.run.run_id) / f"{name}.parquet"
        with warehouse.connect() as con, stopwatch() as timing:
            if table.startswith("marts."):
                sql.build(con, table, **(params(settings) if params else {}))
            rows = publish_parquet(con, table, path, order_by)
            relation = "read_parquet('{}')".format(str(path).replace("'", "''"))
            names = con.sql(f"select * from {relation}").columns
            preview = table_preview(con, relation, descriptions=descriptions(name, names))
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "path": str(path),
                                              "seconds": timing["seconds"], **preview})
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
    "no name, mobile or ID number.")
clv_model_mart = _mart(
    "clv_model", "marts.clv_model", "kind, model, param", [clv, clv_holdout, churn_backtest],
    "One row per fitted parameter of BG/NBD and Gamma-Gamma (at as-of and at the holdout's calibration "
    "end) and per backtest figure of the CLV holdout and the churn model.")
segment_members_mart = _mart(
    "segment_members", "marts.segment_members", "dealer_code, customer_id",
    [rfm, abc, lifecycle, clv, churn_risk, reference_lists],
    "One row per customer and dealer they dealt with: segment, tier, stage, CLV, name and mobile, and whether "
    "the dealer may contact them (suppression list, consent) with the reason when not.",
    params=lambda settings: {"unknown_consent_contactable": settings.marketing.unknown_consent_contactable})
dealer_scorecard_mart = _mart(
    "dealer_scorecard", "marts.dealer_scorecard", "dealer_code = 'ALL', dealer_code",
    [lifecycle, abc, clv, reference_lists, follow_ups, service_due, win_back],
    "One row per dealer and one for the network (ALL): customers, activity, lifecycle mix, retention, "
    "conversion, A-tier share, average CLV, follow-up completion, service-due conversion, leakage, "
    "win-back rate, the work lists' sizes, each KPI's rank and network percentile; no personal data.",
    params=lambda settings: {"won_back_within_days": settings.act.won_back_within_days})
follow_ups_mart = _mart(
    "follow_ups", "act.follow_ups", "dealer_code, sale_date, sale_id, due_date", [follow_ups],
    "One row per new-car delivery and post-delivery call (24h, 3d, 7d, 30d): due date, window, salesperson "
    "and status as of as-of (upcoming, due, overdue, done, missed).")
service_due_mart = _mart(
    "service_due", "act.service_due", "dealer_code, vin", [service_due],
    "One row per vehicle serviced at least once, with its current owner: last service, km per day and the "
    "next maintenance due date by time or mileage, whichever is first, with its status.")
win_back_mart = _mart(
    "win_back", "act.win_back", "dealer_code, priority", [win_back],
    "One row per lost customer and the dealer that lost them: why they left as far as the data tells, "
    "what they were worth, priority and whether the dealer may contact them.")


PUBLISHED = [load_manifest_mart, rejects_mart, identity_crosswalk_mart, customer_360_mart, clv_model_mart,
             segment_members_mart, dealer_scorecard_mart, follow_ups_mart, service_due_mart, win_back_mart]


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="marts", group_name=GROUP, deps=PUBLISHED, kinds={"json"})
def manifest(context, landing: LandingFolder, warehouse: Warehouse) -> dg.MaterializeResult:
    """`<output>/marts/_manifest.json`: as-of, run id, input fingerprint, the sha256 of the identity
    and CLV models the run scored with (`linkage_model_sha256`, `clv_model_sha256`), and the row
    count and schema of every mart, so a reader can tell which run, input and models a file came
    from; then the run's marts are published as one set (`<output>/marts` points at them)."""
    with warehouse.connect() as con:
        day = as_of(con)
        fingerprint = input_fingerprint(con, [landing.path / name for name in ("suppression.csv", "dealers.csv")])
    models = {f"{name}_sha256": hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
              for name, path in (("linkage_model", warehouse.linkage_model_file),
                                 ("clv_model", warehouse.clv_model_file))}
    run_dir = warehouse.run_marts_dir(context.run.run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    names = [mart.key.path[-1] for mart in PUBLISHED]
    carry_over(warehouse.marts_dir, run_dir, names)
    marts = {name: mart_summary(run_dir / f"{name}.parquet") for name in names
             if (run_dir / f"{name}.parquet").exists()}
    as_of_text = day.isoformat() if day else None  # None: no records yet
    write_text_atomically(run_dir / "_manifest.json", json.dumps(
        {"as_of": as_of_text, "run_id": context.run.run_id, "input_fingerprint": fingerprint,
         **models, "marts": marts},
        indent=2))
    link = publish_set(warehouse.path, run_dir)
    return dg.MaterializeResult(metadata={"path": str(link / "_manifest.json"), "published": str(run_dir),
                                          "as_of": str(as_of_text), "input_fingerprint": fingerprint})


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="marts", group_name=GROUP, deps=[dealer_scorecard_mart, customer_360_mart,
          action_lists],
          kinds={"html", "plotly"})
def head_office_report_html(warehouse: Warehouse) -> dg.MaterializeResult:
    """`<output>/reports/head_office.html`: one self-contained page that says who keeps customers
    and who loses them, for 6 dealers or 600: the network's figures and the best and worst dealers
    named, dealers ranked by a chosen KPI against the network, the 12-month trend per region, the
    lifecycle and RFM mix, the routines and work lists, CLV, and the scorecard with ranks and
    percentiles filterable by region; charts work offline."""
    with warehouse.connect() as con, stopwatch() as timing:
        scorecard = con.table("marts.dealer_scorecard").order("dealer_code = 'ALL', dealer_code").pl()
        document = head_office_report(
            scorecard, sql.query(con, "reports/clv_quantiles").pl(), sql.query(con, "reports/segment_mix").pl(),
            sql.query(con, "reports/action_lists").pl(), sql.query(con, "reports/trend").pl(), as_of(con))
        path = warehouse.path / "reports" / "head_office.html"
        write_text_atomically(path, document)
    return dg.MaterializeResult(metadata={"path": str(path), "seconds": timing["seconds"],
                                          "dealers": scorecard.height - 1, "bytes": len(document.encode())})


marts_assets = [*PUBLISHED, manifest, head_office_report_html]
