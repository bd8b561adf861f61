"""The staff's side of the data: who sold and serviced each car, how far each car drives, and the
contact log of calls after deliveries, before maintenance and to lost customers.

Each dealer has its own diligence: the share of post-delivery calls it makes within their
window (some make nearly all, some half); one dealer in six keeps no contact log at all.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from generator.people import GIVEN, SURNAMES

FOLLOW_UP_STEPS = ((1, 2), (3, 2), (7, 3), (30, 7))  # due days after delivery, window days
STEP_KEEP = (1.0, 0.95, 0.9, 0.8)  # later calls are skipped more often
OUTCOMES = np.array(["reached", "booked", "no_answer", "refused"])
OUTCOME_P = [0.82, 0.08, 0.08, 0.02]
OUTCOME_CN = {"reached": "已接通", "booked": "已预约", "no_answer": "未接通", "refused": "拒绝"}
PURPOSE_CN = {"follow_up": "交车回访", "service_reminder": "保养提醒", "win_back": "流失挽回"}
CONTACT_HEADERS = {  # canonical column -> (Chinese DMS, English canonical, US-style DMS)
    "contact_date": ("回访日期", "contact_date", "ContactDate"),
    "mobile": ("手机号码", "mobile", "CellPhone"),
    "customer_no": ("客户编号", "customer_no", "CustomerNumber"),
    "sale_id": ("销售单号", "sale_id", "DealNumber"),
    "purpose": ("回访类型", "purpose", "Purpose"),
    "outcome": ("回访结果", "outcome", "Outcome"),
    "staff": ("回访人", "staff", "Agent"),
}


def car_km_per_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each car's own distance per day: about 40 km (15,000 km a year), from 15 to 120."""
    return np.clip(rng.lognormal(np.log(40), 0.35, n), 15, 120)


def staff_names(rng: np.random.Generator, n_dealers: int, per_dealer: int) -> np.ndarray:
    """(n_dealers, per_dealer) names of a dealer's salespeople or service advisors."""
    surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), (n_dealers, per_dealer))]
    given = np.array(GIVEN)[rng.integers(0, len(GIVEN), (n_dealers, per_dealer, 2))]
    return np.char.add(np.char.add(surname, given[..., 0]), given[..., 1])


def dealer_diligence(rng: np.random.Generator, n_dealers: int) -> np.ndarray:
    """The share of post-delivery calls each dealer makes in time; NaN: the dealer keeps no log."""
    rate = rng.uniform(0.45, 0.97, n_dealers)
    if n_dealers >= 3:
        rate[n_dealers - 1 :: 6] = np.nan
    return rate


def make_contact_log(rng: np.random.Generator, sales: pl.DataFrame, service: pl.DataFrame,
                     diligence: np.ndarray, window_end: np.datetime64) -> pl.DataFrame:
    """One row per call: follow-ups of new-car deliveries (dealer by dealer diligence, a few late),
    maintenance reminders before some visits, and win-back calls to customers away for over a
    year (some before a visit that followed, most to customers who never came back).

    `sales` and `service` are the records as written (dealer, dates, person, customer_no,
    mobile as recorded); returns dealer, contact_date, mobile, customer_no, sale_id, purpose,
    outcome, staff and the truth columns person_id and step (follow-ups only)."""
    columns = ["dealer", "contact_date", "person_id", "mobile", "customer_no", "sale_id", "purpose", "outcome",
               "step"]
    new = sales.filter(pl.col("new_or_used") == "new")
    rate = diligence[new["dealer"].to_numpy()]
    parts = []
    for index, ((due, window), keep) in enumerate(zip(FOLLOW_UP_STEPS, STEP_KEEP, strict=True)):
        n = new.height
        on_time = rng.random(n) < rate * keep
        late = ~on_time & (rng.random(n) < 0.3)
        offset = np.where(on_time, due + rng.integers(0, window, n), due + window + rng.integers(1, 10, n))
        called = (on_time | late) & ~np.isnan(rate)
        day = new["sale_date"].to_numpy().astype("datetime64[D]") + offset.astype("timedelta64[D]")
        parts.append(new.filter(pl.Series(called)).select(
            "dealer", "person_id", "mobile", "customer_no", "sale_id",
            contact_date=pl.Series(day[called]), purpose=pl.lit("follow_up"),
            outcome=pl.Series(OUTCOMES[rng.choice(4, int(called.sum()), p=OUTCOME_P)]),
            step=pl.lit(["24h", "3d", "7d", "30d"][index])))

    logged = service.filter(pl.Series(~np.isnan(diligence[service["dealer"].to_numpy()])))
    reminded = logged.filter(pl.Series(rng.random(logged.height) < 0.25))
    parts.append(reminded.select(
        "dealer", "person_id", "mobile", "customer_no", sale_id=pl.lit(None, pl.Utf8),
        contact_date=pl.col("open_date") - pl.duration(days=pl.Series(rng.integers(3, 15, reminded.height))),
        purpose=pl.lit("service_reminder"),
        outcome=pl.Series(np.where(rng.random(reminded.height) < 0.7, "booked", "reached")),
        step=pl.lit(None, pl.Utf8)))

    visits = (logged.select("dealer", "person_id", "mobile", "customer_no", "open_date")
              .sort("dealer", "person_id", "open_date")
              .with_columns(next_visit=pl.col("open_date").shift(-1).over("dealer", "person_id")))
    away = visits.filter(((pl.col("next_visit") - pl.col("open_date")).dt.total_days() > 400)
                         | (pl.col("next_visit").is_null()
                            & (pl.lit(window_end) - pl.col("open_date")).dt.total_days().gt(450)))
    away = away.filter(pl.Series(rng.random(away.height) < 0.4))
    called_on = away["open_date"].to_numpy().astype("datetime64[D]") + rng.integers(
        380, 700, away.height).astype("timedelta64[D]")
    before_return = away["next_visit"].to_numpy().astype("datetime64[D]") - rng.integers(
        10, 80, away.height).astype("timedelta64[D]")
    returned = ~np.isnat(before_return) & (rng.random(away.height) < 0.6)
    called_on = np.where(returned, np.maximum(before_return, away["open_date"].to_numpy().astype(
        "datetime64[D]") + 200), called_on)
    parts.append(away.select(
        "dealer", "person_id", "mobile", "customer_no", sale_id=pl.lit(None, pl.Utf8),
        contact_date=pl.Series(called_on), purpose=pl.lit("win_back"),
        outcome=pl.Series(OUTCOMES[rng.choice(4, away.height, p=[0.55, 0.1, 0.3, 0.05])]),
        step=pl.lit(None, pl.Utf8)))

    log = pl.concat([part.select(columns) for part in parts])
    log = log.filter(pl.col("contact_date") <= pl.lit(window_end))
    return log.sort("dealer", "contact_date", "person_id", "purpose")
