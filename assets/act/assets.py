"""What the staff do tomorrow morning: post-delivery follow-ups, service-due reminders and the
win-back of lost customers, each a table a call list is cut from (`crm lists export`).

The logic is SQL (`sql/intermediate/act/`); the settings (follow-up steps, maintenance intervals,
win-back rules) are `models.settings.ActSettings`.
"""

from __future__ import annotations

import dagster as dg

import sql
from assets.analytics.assets import SETTINGS as ANALYTICS, as_of, customer_events, lifecycle
from assets.identity.assets import contacts, vehicles
from assets.ingest.assets import reference_lists
from assets.materialize import stopwatch, table_metadata
from models.settings import ActSettings
from pipelines.resources import Warehouse

GROUP = "act"
SETTINGS = ActSettings()
CONVERSION_MONTHS_BACK = 6
"""Service-due conversion looks at maintenance due 3 to 6 months before as-of, as it stood then."""


def _counts(con, table: str, column: str) -> dict[str, int]:
    return {f"{column}_{value}": n for value, n in
            con.execute(f"select {column}, count(*) from {table} group by 1 order by 1").fetchall()}


@dg.asset(key_prefix="act", group_name=GROUP, deps=[customer_events, contacts], kinds={"duckdb"})
def follow_ups(warehouse: Warehouse) -> dg.MaterializeResult:
    """act.follow_ups: one row per new-car delivery and post-delivery call (24h, 3d, 7d, 30d) with
    its due date, window and status as of as-of (upcoming, due, overdue, done, missed); done needs
    a reached contact in the contact log within the step's window."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/act/act_follow_ups", "act.follow_ups",
                            steps=[step.model_dump() for step in SETTINGS.follow_up_steps])
        return dg.MaterializeResult(metadata=table_metadata(con, "act.follow_ups", timing["seconds"],
                                                            **_counts(con, "act.follow_ups", "status")))


@dg.asset(key_prefix="act", group_name=GROUP, deps=[customer_events, vehicles, reference_lists], kinds={"duckdb"})
def service_due(warehouse: Warehouse) -> dg.MaterializeResult:
    """act.service_due: one row per vehicle serviced at least once, with its current owner, its km
    per day and the date its next maintenance falls due (by time or mileage, whichever is first).
    act.service_due_then holds the same as it stood 6 months before as-of, and
    act.service_due_conversion the vehicles of it due 3 to 6 months before as-of, with whether
    they were serviced in time (the dealer scorecard's service_due_conversion)."""
    params = {"intervals": [interval.model_dump() for interval in SETTINGS.service_intervals],
              "prior_strength": SETTINGS.mileage_prior_strength, "min_model_vehicles": SETTINGS.min_model_vehicles,
              "default_km_per_day": SETTINGS.default_km_per_day, "due_soon_days": SETTINGS.due_soon_days,
              "left_after_intervals": SETTINGS.left_to_win_back_intervals}
    with warehouse.connect() as con:
        with stopwatch() as timing:
            day = as_of(con)
            sql.materialize(con, "intermediate/act/act_service_due", "act.service_due", cutoff=day, **params)
            then = con.execute("select ($day::date - to_months($m))::date",
                               {"day": day, "m": CONVERSION_MONTHS_BACK}).fetchone()[0] if day else None
            sql.materialize(con, "intermediate/act/act_service_due", "act.service_due_then", cutoff=then, **params)
            sql.materialize(con, "intermediate/act/act_service_due_conversion", "act.service_due_conversion",
                            months_back=CONVERSION_MONTHS_BACK, window_days=SETTINGS.conversion_window_days)
        converted = con.execute("select avg(converted::integer) from act.service_due_conversion").fetchone()[0]
        return dg.MaterializeResult(metadata=table_metadata(
            con, "act.service_due", timing["seconds"], **_counts(con, "act.service_due", "status"),
            **_counts(con, "act.service_due", "due_by"),
            conversion_base=con.execute("select count(*) from act.service_due_conversion").fetchone()[0],
            conversion=round(converted, 4) if converted is not None else None))


@dg.asset(key_prefix="act", group_name=GROUP, kinds={"duckdb"},
          deps=[lifecycle, vehicles, contacts, reference_lists, dg.AssetKey(["marts", "segment_members"])])
def win_back(warehouse: Warehouse) -> dg.MaterializeResult:
    """act.win_back: one row per customer and dealer that lost them, with why they left as far as
    the data tells (moved, serviced_elsewhere, vehicle_sold, unknown), what they were worth there,
    their priority on the dealer's list and whether the dealer may contact them."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/act/act_win_back", "act.win_back",
                            lost_ratio=ANALYTICS.lost_ratio, lost_after_days=ANALYTICS.lost_after_days,
                            lookback_days=SETTINGS.win_back_lookback_days,
                            min_visits=SETTINGS.win_back_min_visits, window_months=ANALYTICS.window_months)
        return dg.MaterializeResult(metadata=table_metadata(con, "act.win_back", timing["seconds"],
                                                            **_counts(con, "act.win_back", "reason")))


act_assets = [follow_ups, service_due, win_back]
