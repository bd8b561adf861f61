"""Data-quality checks as Dagster asset checks, validated with great-expectations.

One check per table, so the UI says which table failed; each runs one SQL file of metrics in
DuckDB and validates them (`expectations.py`). Blocking checks (all of these, and
`rows_conserved` on ingest/load_manifest) stop the assets downstream of a failing one in the same
run: bad clean records never reach identity resolution, bad analytics never reach a mart, and a
marketing list that would contact a suppressed customer stops the manifest and the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import dagster as dg

import sql
from assets.act.assets import follow_ups, service_due, win_back
from assets.analytics import abc, clv, lifecycle, rfm
from assets.ingest.assets import (
    SourceAssets,
    contacts_assets,
    sales_assets,
    service_assets,
)
from assets.marts.assets import segment_members_mart
from assets.metadata import stopwatch
from assets.quality.expectations import validate_metrics
from assets.resources import WAREHOUSE_POOL, Warehouse
from models.settings import Settings

ZERO = (0, 0)
Ranges = dict[str, tuple[float, float]]


def _quality_check(name: str, asset: dg.AssetsDefinition, query: str, ranges: Ranges | Callable[[Settings], Ranges],
                   additional_deps: list[dg.AssetsDefinition], description: str, files_query: str | None = None,
                   params: Callable[[Settings], dict] | None = None) -> dg.AssetChecksDefinition:
    """A blocking check of one table: `query` computes its metrics, `ranges` says what they may be
    (or computes it from the run's settings), `params` what the query binds; on failure
    `files_query` (if any) names the files whose rows broke a rule."""
    @dg.asset_check(pool=WAREHOUSE_POOL, name=name, asset=asset, additional_deps=additional_deps, blocking=True,
                    description=description)
    def check(warehouse: Warehouse, settings: Settings) -> dg.AssetCheckResult:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        bound = params(settings) if params else {}
        with stopwatch() as timing:
            with warehouse.connect() as con:
                result = sql.query(con, f"checks/{query}", **bound)
                metrics = dict(zip([d[0] for d in result.description], result.fetchone(), strict=True))
            results = validate_metrics(name, metrics, ranges(settings) if callable(ranges) else ranges)
        failed = [r for r in results if not r.passed]
        files = []
        if failed and files_query:
            with warehouse.connect() as con:
                files = sql.query(con, f"checks/{files_query}", **bound).fetchall()
        described = "; ".join(f"{r.metric} = {r.value:g}, expected {r.low:g} to {r.high:g}" for r in failed)
        if files:
            described += "; in " + ", ".join(f"{file_name} ({n})" for file_name, n in files)
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            description=described or None,
            metadata={"seconds": timing["seconds"], "rows": int(metrics["rows"]),
                      "failing_rows": int(sum(r.value for r in failed if r.high == 0)),
                      **{r.metric: r.value for r in results if r.value is not None},
                      **({"files": dg.MetadataValue.md("\n".join(f"- {f} ({n})" for f, n in files))} if files else {})},
        )
    return check


def _clean_check(source_assets: SourceAssets, table: str, source: str) -> dg.AssetChecksDefinition:
    return _quality_check(
        f"clean_{table}_valid", source_assets.clean, "clean_records",
        {"null_keys": ZERO, "duplicate_keys": ZERO, "dates_out_of_range": ZERO, "negative_amounts": ZERO},
        [],
        f"clean.{table}: record ids present and unique per dealer, dates from 1980 to the day of the run "
        "(the parsing rejects the others row by row, so a failure here is systemic), no negative amounts; "
        "a failure names the files behind it.",
        files_query="clean_records_files",
        params=lambda settings: {"future_tolerance_days": settings.ingest.future_tolerance_days, "source": source})


clean_sales_valid = _clean_check(sales_assets, "sales", "sales")
clean_repair_orders_valid = _clean_check(service_assets, "repair_orders", "service")
clean_contacts_valid = _clean_check(contacts_assets, "contacts", "contacts")

rfm_valid = _quality_check(
    "rfm_valid", rfm, "rfm", {"duplicate_keys": ZERO, "null_keys": ZERO, "scores_out_of_range": ZERO}, [],
    "analytics.rfm: one row per customer, every score 1-5.")

abc_tiers_valid = _quality_check(
    "abc_tiers_valid", abc, "abc_tiers",
    lambda settings: {"duplicate_keys": ZERO, "unknown_abc_tiers": ZERO, "negative_amounts": ZERO,
                      "a_value_share": (settings.analytics.a_share, settings.analytics.a_share + 0.05),
                      "a_value_share_before_last": (0.0, settings.analytics.a_share)},
    [],
    "analytics.abc_tiers: one row per customer, tiers A/B/C, no negative value; the A tier brings a_share "
    "(80%) to 5 points more of the value, and less without its last customer (judged from min_customers on).",
    params=lambda settings: {"min_customers": settings.analytics.min_customers})

lifecycle_valid = _quality_check(
    "lifecycle_valid", lifecycle, "lifecycle",
    {"duplicate_keys": ZERO, "unknown_lifecycle_stages": ZERO, "dates_out_of_range": ZERO}, [],
    "analytics.lifecycle: one row per customer, stages new/stable/churning/lost, visits up to as-of.")

clv_valid = _quality_check(
    "clv_valid", clv, "clv", {"duplicate_keys": ZERO, "negative_amounts": ZERO, "probabilities_out_of_range": ZERO},
    [],
    "analytics.clv: one row per customer, no negative CLV, p_alive a probability.")

segment_members_safe = _quality_check(
    "segment_members_safe", segment_members_mart, "segment_members",
    {"duplicate_keys": ZERO, "contactable_without_mobile": ZERO, "contactable_after_refusal": ZERO,
     "contactable_but_suppressed": ZERO},
    [],
    "Marketing list: one row per customer and dealer; nobody contactable without a mobile, after a "
    "refusal or on the suppression list.")

follow_ups_valid = _quality_check(
    "follow_ups_valid", follow_ups, "follow_ups",
    {"deliveries_without_every_step": ZERO, "unknown_statuses": ZERO, "wrong_due_dates": ZERO,
     "done_without_contact": ZERO},
    [],
    "Post-delivery calls: every delivery has each step once, due on the sale date plus the step's days, "
    "with a status of the contract; a done step names the contact that completed it.",
    params=lambda settings: {"steps": [step.model_dump() for step in settings.act.follow_up_steps]})

service_due_valid = _quality_check(
    "service_due_valid", service_due, "service_due",
    {"duplicate_keys": ZERO, "unknown_codes": ZERO, "wrong_due_dates": ZERO, "bad_km_per_day": ZERO},
    [],
    "Service reminders: one row per vehicle, due on the earlier of the time and mileage dates, a positive "
    "km per day, statuses and due_by of the contract.")

win_back_valid = _quality_check(
    "win_back_valid", win_back, "win_back",
    {"duplicate_keys": ZERO, "unknown_reasons": ZERO, "elsewhere_without_dealer": ZERO, "broken_priorities": ZERO,
     "contactable_against_members": ZERO},
    [segment_members_mart],
    "Win-back list: one row per customer and dealer, reasons of the contract, the other dealer named for "
    "serviced_elsewhere, priorities 1..n per dealer, nobody contactable whom the marketing list is not.")

quality_checks = [clean_sales_valid, clean_repair_orders_valid, clean_contacts_valid, rfm_valid, abc_tiers_valid,
                  lifecycle_valid, clv_valid, segment_members_safe, follow_ups_valid, service_due_valid,
                  win_back_valid]
