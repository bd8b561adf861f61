"""`crm lists export LIST`: the lists the staff call from, cut from the published marts.

Every list has the columns a call centre loads (dealer, priority, name, mobile as text, vehicle,
plate, last visit, due date, reason, the salesperson or advisor), only contactable customers
unless asked otherwise (the contactability of segment_members: suppression, consent, refusals
in the contact log), and is sorted by priority within each dealer.

    follow-ups                post-delivery calls due or overdue (or due within --due-within days)
    service-due               vehicles whose maintenance is overdue or due within 30 days (or --due-within)
    new-not-yet-stable        new customers of their home dealer, highest CLV first
    stable-starting-to-churn  stable customers drifting away (churning), highest CLV first
    win-back                  lost customers by their win-back priority
    segment                   segment_members with the filters of `crm segments export`
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from exports.segments import FilterError, SegmentFilter, select_members

LISTS = ("follow-ups", "service-due", "new-not-yet-stable", "stable-starting-to-churn", "win-back", "segment")
COLUMNS = ["dealer_code", "dealer_name", "priority", "customer_id", "customer_name", "mobile", "vehicle", "vin",
           "plate", "last_visit_date", "due_date", "reason", "staff", "contactable", "why_not_contactable"]
@dataclass
class ListFilter:
    dealers: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    due_within_days: int | None = None
    include_not_contactable: bool = False
    segment: SegmentFilter = field(default_factory=SegmentFilter)


def read_marts(output_dir: Path) -> tuple[dict[str, pl.DataFrame], dt.date | None]:
    """The marts the lists are cut from, and the run's as-of date (from _manifest.json)."""
    marts_dir = output_dir / "marts"
    manifest = marts_dir / "_manifest.json"
    names = ("follow_ups", "service_due", "win_back", "segment_members", "customer_360", "dealer_scorecard")
    missing = [name for name in names if not (marts_dir / f"{name}.parquet").is_file()]
    if missing or not manifest.is_file():
        raise FileNotFoundError(f"{marts_dir} holds no complete set of marts (missing: "
                                f"{', '.join(missing) or '_manifest.json'}); run `crm run --output {output_dir}` first")
    as_of = json.loads(manifest.read_text(encoding="utf-8"))["as_of"]
    return ({name: pl.read_parquet(marts_dir / f"{name}.parquet") for name in names},
            dt.date.fromisoformat(as_of) if as_of else None)


def _within(column: str, as_of: dt.date | None, days: int | None) -> pl.Expr:
    if days is None or as_of is None:
        return pl.lit(True)
    return pl.col(column) <= pl.lit(as_of + dt.timedelta(days=days))


def _list_rows(name: str, marts: dict[str, pl.DataFrame], as_of: dt.date | None, wanted: ListFilter) -> pl.DataFrame:
    """One list's rows in the common columns, before contactability and the common filters."""
    if name == "follow-ups":
        due = (pl.col("status").is_in(["due", "overdue"]) if wanted.due_within_days is None
               else pl.col("status").is_in(["due", "overdue", "upcoming"]) & _within("due_date", as_of,
                                                                                      wanted.due_within_days))
        return marts["follow_ups"].filter(due).select(
            "dealer_code", "customer_id", vehicle="series", vin="vin", plate="plate", last_visit_date="sale_date",
            due_date="due_date", reason=pl.format("{} follow-up ({})", "step", "status"), staff="salesperson",
            order=pl.col("due_date").cast(pl.Int64))
    if name == "service-due":
        due = (pl.col("status") != "not_due") if wanted.due_within_days is None else _within(
            "next_due_date", as_of, wanted.due_within_days)
        return marts["service_due"].filter(due).select(
            "dealer_code", "customer_id", vehicle="series", vin="vin", plate="plate",
            last_visit_date="last_service_date", due_date="next_due_date",
            reason=pl.format("maintenance due by {} ({})", "due_by", "status"), staff="advisor",
            # the nearest due date first, either side of as-of: long-overdue cars are the least likely to come
            order=(pl.col("next_due_date") - pl.lit(as_of)).dt.total_days().abs() if as_of else pl.lit(0))
    if name == "win-back":
        return marts["win_back"].select(
            "dealer_code", "customer_id", vehicle=pl.lit(None, pl.Utf8), vin="last_vin", plate=pl.lit(None, pl.Utf8),
            last_visit_date="last_seen", due_date=pl.lit(None, pl.Date),
            reason=pl.when(pl.col("other_dealer_code").is_not_null())
            .then(pl.format("{} ({})", "reason", "other_dealer_code")).otherwise(pl.col("reason")),
            staff=pl.lit(None, pl.Utf8), order=pl.col("priority").cast(pl.Int64))
    stage = {"new-not-yet-stable": "new", "stable-starting-to-churn": "churning"}[name]
    return marts["customer_360"].filter(pl.col("lifecycle_stage") == stage).select(
        dealer_code="home_dealer_code", customer_id="customer_id", vehicle=pl.lit(None, pl.Utf8),
        vin=pl.lit(None, pl.Utf8), plate=pl.lit(None, pl.Utf8), last_visit_date="last_seen",
        due_date=pl.lit(None, pl.Date), reason=pl.format("{} customer, churn risk {}%", "lifecycle_stage",
                                                          (pl.col("churn_risk") * 100).round(0).cast(pl.Int64)),
        staff=pl.lit(None, pl.Utf8), order=-pl.col("clv_12m").fill_null(0))


def select_list(name: str, marts: dict[str, pl.DataFrame], as_of: dt.date | None,
                wanted: ListFilter) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows of list `name` to export in COLUMNS, and how many matching rows were left out as
    not contactable, by reason. Filter values match whatever their case."""
    if name not in LISTS:
        raise FilterError(f"list {name!r} is not known; lists: {', '.join(LISTS)}")
    members = marts["segment_members"]
    known = sorted(members["dealer_code"].unique().to_list())
    by_upper = {code.upper(): code for code in known}
    for dealer in wanted.dealers:
        if dealer.upper() not in by_upper:
            raise FilterError(f"--dealer {dealer!r} is not valid; valid values: {', '.join(known)}")
    dealers = [by_upper[d.upper()] for d in wanted.dealers]
    if name == "segment":
        segment = SegmentFilter(**{**wanted.segment.__dict__, "dealers": dealers, "include_not_contactable": True})
        rows = select_members(members, segment)[0].select(
            "dealer_code", "customer_id", "vehicle", "vin", "plate", due_date=pl.lit(None, pl.Date),
            reason=pl.format("{}, tier {}, {}", "rfm_segment", "abc_tier", "lifecycle_stage"),
            staff=pl.lit(None, pl.Utf8), order=-pl.col("clv_12m").fill_null(0)).join(
            marts["customer_360"].select("customer_id", last_visit_date="last_seen"), on="customer_id", how="left")
    else:
        rows = _list_rows(name, marts, as_of, wanted)
    if dealers:
        rows = rows.filter(pl.col("dealer_code").is_in(dealers))
    if wanted.staff:
        rows = rows.filter(pl.col("staff").str.to_lowercase().is_in([s.lower() for s in wanted.staff]))
    contacts = members.select("customer_id", "dealer_code", "customer_name", "mobile", "contactable",
                              "why_not_contactable")
    names = marts["dealer_scorecard"].select("dealer_code", "dealer_name")
    rows = (rows.join(contacts, on=["customer_id", "dealer_code"], how="left")
            .join(names, on="dealer_code", how="left")
            .with_columns(contactable=pl.col("contactable").fill_null(False),
                          why_not_contactable=pl.when(pl.col("contactable").is_null()).then(pl.lit("not_a_customer_here"))
                          .otherwise(pl.col("why_not_contactable")))
            .sort("dealer_code", "order", "customer_id", "due_date", nulls_last=True))
    left_out = {}
    if not wanted.include_not_contactable:
        left_out = dict(rows.filter(~pl.col("contactable")).group_by("why_not_contactable").len()
                        .sort("why_not_contactable").iter_rows())
        rows = rows.filter(pl.col("contactable"))
    rows = rows.with_columns(priority=pl.int_range(1, pl.len() + 1).over("dealer_code").cast(pl.Int32))
    return rows.select(COLUMNS), left_out
