"""What the staff do tomorrow morning: post-delivery follow-ups, service-due reminders and the
win-back of lost customers, each a table a call list is cut from (`crm lists export`).

The logic is SQL (`sql/intermediate/act.*.sql`); the settings (follow-up steps, maintenance
intervals, win-back rules) are `models.settings.ActSettings`.
"""

from __future__ import annotations

import dagster as dg

import sql
from assets.analytics import customer_events, lifecycle
from assets.analytics.features import as_of, months_before
from assets.identity.assets import contacts, vehicles
from assets.ingest.assets import reference_lists
from assets.metadata import counts_by, stopwatch, table_metadata
from assets.resources import WAREHOUSE_POOL, Warehouse
from models.settings import Settings

GROUP = "act"
CONVERSION_MONTHS_BACK = 6
"""Service-due conversion looks at maintenance due 3 to 6 months before as-of, as it stood then."""


def _counts(con, table: str, column: str) -> dict[str, int]:
    return {f"{column}_{value}": n for value, n in counts_by(con, table, column).items()}


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="act", group_name=GROUP, deps=[customer_events, contacts], kinds={"duckdb"})
def follow_ups(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """act.follow_ups: one row per new-car delivery and post-delivery call (24h, 3d, 7d, 30d) with
    its due date, window and status as of as-of (upcoming, due, overdue, done, missed); done needs
    a reached contact in the contact log within the step's window."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.build(con, "act.follow_ups", steps=[step.model_dump() for step in settings.act.follow_up_steps])
        return dg.MaterializeResult(metadata=table_metadata(con, "act.follow_ups", timing["seconds"],
                                                            **_counts(con, "act.follow_ups", "status")))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="act", group_name=GROUP, deps=[customer_events, vehicles, reference_lists],
          kinds={"duckdb"})
def service_due(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """act.service_due: one row per vehicle serviced at least once, with its current owner, its km
    per day and the date its next maintenance falls due (by time or mileage, whichever is first).
    act.service_due_then holds the same as it stood 6 months before as-of, and
    act.service_due_conversion the vehicles of it due 3 to 6 months before as-of, with whether
    they were serviced in time (the dealer scorecard's service_due_conversion)."""
    act = settings.act
    params = {"intervals": [interval.model_dump() for interval in act.service_intervals],
              "prior_strength": act.mileage_prior_strength, "min_model_vehicles": act.min_model_vehicles,
              "default_km_per_day": act.default_km_per_day, "due_soon_days": act.due_soon_days,
              "left_after_intervals": act.left_to_win_back_intervals}
    with warehouse.connect() as con:
        with stopwatch() as timing:
            day = as_of(con)
            sql.build(con, "act.service_due", cutoff=day, **params)
            sql.build(con, "act.service_due", snapshot="then", cutoff=months_before(day, CONVERSION_MONTHS_BACK),
                      **params)
            base = sql.build(con, "act.service_due_conversion", months_back=CONVERSION_MONTHS_BACK,
                             window_days=act.conversion_window_days)
        converted = counts_by(con, "act.service_due_conversion", "converted")
        return dg.MaterializeResult(metadata=table_metadata(
            con, "act.service_due", timing["seconds"], **_counts(con, "act.service_due", "status"),
            **_counts(con, "act.service_due", "due_by"), conversion_base=base,
            conversion=round(converted.get(True, 0) / base, 4) if base else None))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="act", group_name=GROUP, kinds={"duckdb"},
          deps=[lifecycle, vehicles, contacts, reference_lists, dg.AssetKey(["marts", "segment_members"])])
def win_back(warehouse: Warehouse, settings: Settings) -> dg.MaterializeResult:
    """act.win_back: one row per customer and dealer that lost them, with why they left as far as
    the data tells (moved, serviced_elsewhere, vehicle_sold, unknown), what they were worth there,
    their priority on the dealer's list and whether the dealer may contact them."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.build(con, "act.win_back", lost_ratio=settings.analytics.lost_ratio,
                      lost_after_days=settings.analytics.lost_after_days,
                      lookback_days=settings.act.win_back_lookback_days,
                      min_visits=settings.act.win_back_min_visits, window_months=settings.analytics.window_months)
        return dg.MaterializeResult(metadata=table_metadata(con, "act.win_back", timing["seconds"],
                                                            **_counts(con, "act.win_back", "reason")))


act_assets = [follow_ups, service_due, win_back]
