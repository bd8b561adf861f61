"""`crm segments export`: a contact list from the segment_members mart, for an SMS or call-centre
tool. Filters by dealer, lifecycle stage, ABC tier, RFM segment, minimum CLV and churn risk;
only contactable customers unless asked otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from models.lifecycle import STAGES
from models.rfm import SEGMENTS

TIERS = ("A", "B", "C")
EXPORT_COLUMNS = ["dealer_code", "customer_id", "customer_name", "mobile", "vehicle", "vin", "plate", "rfm_segment",
                  "abc_tier", "lifecycle_stage", "clv_12m", "churn_risk", "contactable", "why_not_contactable"]


class FilterError(ValueError):
    """A filter value that is not one of the valid ones; the message lists them."""


@dataclass
class SegmentFilter:
    dealers: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    min_clv: float | None = None
    min_churn_risk: float | None = None
    include_not_contactable: bool = False

    def check(self, dealers_known: list[str]) -> SegmentFilter:
        """The filter with each value spelt as the data spells it (sh001 is SH001, "at risk" is
        "At risk"); raise FilterError naming the first bad value and the valid ones."""
        valid = {"--dealer": sorted(dealers_known), "--stage": list(STAGES), "--tier": list(TIERS),
                 "--segment": sorted(SEGMENTS["rfm_segment"].unique())}
        spelt = {}
        for option, values in (("--dealer", self.dealers), ("--stage", self.stages), ("--tier", self.tiers),
                               ("--segment", self.segments)):
            by_lower = {v.lower(): v for v in valid[option]}
            for value in values:
                if value.lower() not in by_lower:
                    raise FilterError(f"{option} {value!r} is not valid; valid values: {', '.join(valid[option])}")
            spelt[option] = [by_lower[v.lower()] for v in values]
        if self.min_churn_risk is not None and not 0 <= self.min_churn_risk <= 1:
            raise FilterError(f"--min-churn-risk {self.min_churn_risk} is not a probability between 0 and 1")
        return SegmentFilter(spelt["--dealer"], spelt["--stage"], spelt["--tier"], spelt["--segment"],
                             self.min_clv, self.min_churn_risk, self.include_not_contactable)


def select_members(members: pl.DataFrame, wanted: SegmentFilter) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows to export, and how many matching rows were left out, by reason."""
    wanted = wanted.check(members["dealer_code"].unique().to_list())
    conditions = [pl.lit(True)]
    for column, values in (("dealer_code", wanted.dealers), ("lifecycle_stage", wanted.stages),
                           ("abc_tier", wanted.tiers), ("rfm_segment", wanted.segments)):
        if values:
            conditions.append(pl.col(column).is_in(values))
    if wanted.min_clv is not None:
        conditions.append(pl.col("clv_12m") >= wanted.min_clv)
    if wanted.min_churn_risk is not None:
        conditions.append(pl.col("churn_risk") >= wanted.min_churn_risk)
    # the most valuable first within each dealer: the order a call centre works down
    matching = members.filter(pl.all_horizontal(conditions)).sort(
        ["dealer_code", "clv_12m", "customer_id"], descending=[False, True, False], nulls_last=True)
    if wanted.include_not_contactable:
        return matching.select(EXPORT_COLUMNS), {}
    left_out = dict(matching.filter(~pl.col("contactable")).group_by("why_not_contactable").len().sort(
        "why_not_contactable").iter_rows())
    return matching.filter(pl.col("contactable")).select(EXPORT_COLUMNS), left_out


def for_call_centre(rows: pl.DataFrame, customers: pl.DataFrame | None, dealers: pl.DataFrame | None) -> pl.DataFrame:
    """The exported rows as a call centre reads them: the dealer's name and the customer's last
    visit beside the codes, CLV in whole yuan, churn risk as a percentage."""
    if dealers is not None:
        rows = rows.join(dealers.select("dealer_code", "dealer_name"), on="dealer_code", how="left")
    if customers is not None:
        dates = {"last_visit_date": "last_seen", "last_service_date": "last_service_date",
                 "last_purchase_date": "last_purchase_date"}
        rows = rows.join(customers.select("customer_id", **{k: v for k, v in dates.items() if v in customers.columns}),
                         on="customer_id", how="left")
    rows = rows.with_columns(clv_12m=pl.col("clv_12m").round(0).cast(pl.Int64),
                             churn_risk_pct=(pl.col("churn_risk") * 100).round(1)).drop("churn_risk")
    first = [c for c in ("dealer_code", "dealer_name", "customer_id", "customer_name", "mobile", "last_visit_date",
                         "last_service_date", "last_purchase_date") if c in rows.columns]
    last = ["contactable", "why_not_contactable"]
    return rows.select(*first, *(c for c in rows.columns if c not in first + last), *last)
