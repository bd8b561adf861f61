"""`crm segments export`: a contact list from the segment_members mart, for an SMS or call-centre
tool. Filters by dealer, lifecycle stage, ABC tier, RFM segment, minimum CLV and churn risk;
only contactable customers unless asked otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from models.lifecycle import STAGES
from models.rfm import SEGMENTS

TIERS = ("A", "B", "C")
EXPORT_COLUMNS = ["dealer_code", "customer_id", "customer_name", "mobile", "rfm_segment", "abc_tier",
                  "lifecycle_stage", "clv_12m", "churn_risk", "contactable", "why_not_contactable"]


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

    def check(self, dealers_known: list[str]) -> None:
        """Raise FilterError naming the first bad value and the valid ones."""
        valid = {"--dealer": sorted(dealers_known), "--stage": list(STAGES), "--tier": list(TIERS),
                 "--segment": sorted(SEGMENTS["rfm_segment"].unique())}
        for option, values in (("--dealer", self.dealers), ("--stage", self.stages), ("--tier", self.tiers),
                               ("--segment", self.segments)):
            for value in values:
                if value not in valid[option]:
                    raise FilterError(f"{option} {value!r} is not valid; valid values: {', '.join(valid[option])}")
        if self.min_churn_risk is not None and not 0 <= self.min_churn_risk <= 1:
            raise FilterError(f"--min-churn-risk {self.min_churn_risk} is not a probability between 0 and 1")


def select_members(members: pl.DataFrame, wanted: SegmentFilter) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows to export, and how many matching rows were left out, by reason."""
    wanted.check(members["dealer_code"].unique().to_list())
    conditions = [pl.lit(True)]
    for column, values in (("dealer_code", wanted.dealers), ("lifecycle_stage", wanted.stages),
                           ("abc_tier", wanted.tiers), ("rfm_segment", wanted.segments)):
        if values:
            conditions.append(pl.col(column).is_in(values))
    if wanted.min_clv is not None:
        conditions.append(pl.col("clv_12m") >= wanted.min_clv)
    if wanted.min_churn_risk is not None:
        conditions.append(pl.col("churn_risk") >= wanted.min_churn_risk)
    matching = members.filter(pl.all_horizontal(conditions)).sort("dealer_code", "customer_id")
    if wanted.include_not_contactable:
        return matching.select(EXPORT_COLUMNS), {}
    left_out = dict(matching.filter(~pl.col("contactable")).group_by("why_not_contactable").len().sort(
        "why_not_contactable").iter_rows())
    return matching.filter(pl.col("contactable")).select(EXPORT_COLUMNS), left_out


def write_list(rows: pl.DataFrame, path: Path) -> None:
    """CSV in UTF-8 with a byte-order mark (Excel then shows Chinese correctly), or XLSX; see
    `pipelines.lists.write_rows` (formulas neutralised, other extensions refused)."""
    from pipelines.lists import write_rows

    write_rows(rows, path)
