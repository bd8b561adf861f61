"""Synthetic behaviour: who buys which car where, who owns it when, and when it is serviced.

Cars come in every 4-8 months while their owner stays active; some owners stop coming, some
move to another dealer, some cars are sold on as used cars and serviced by their next owner.
"""

from __future__ import annotations

import numpy as np
import polars as pl

WINDOW_START = np.datetime64("2020-01-01")
WINDOW_END = np.datetime64("2026-10-31")
WMI = np.array(["LSV", "LFV", "LBV", "LE4", "LGB", "LHG", "LVS", "LFM"])
VIN_CHARS = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"))
VIN_YEAR_CODES = "ABCDEFGHJKLMNPRST"  # model years 2010-2026
VIN_WEIGHTS = np.array([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2])
SERIES = ["朗逸", "帕萨特", "途观L", "速腾", "迈腾", "宝来", "探岳", "ID.4"]
SERVICE_TYPES = np.array(["maintenance", "repair", "body-paint", "warranty", "accident"])
SERVICE_P = [0.6, 0.2, 0.08, 0.07, 0.05]
SERVICE_MEAN_YUAN = np.array([800.0, 2500.0, 4000.0, 0.0, 8000.0])


def vin_check_values(vins: np.ndarray) -> np.ndarray:
    """ISO 3779 transliteration of 17-character VINs to their numeric values, row by row."""
    table = np.zeros(256, dtype=np.int64)
    for i, c in enumerate("0123456789.ABCDEFGH..JKLMN.P.R..STUVWXYZ"):
        if c != ".":
            table[ord(c)] = i % 10
    codes = np.frombuffer(vins.astype("S17").tobytes(), dtype=np.uint8).reshape(len(vins), 17)
    return table[codes]


def make_vins(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    """17-character VINs of Chinese-built cars with a correct ISO 3779 check digit."""
    n = len(year)
    chars = VIN_CHARS[rng.integers(0, len(VIN_CHARS), (n, 17))]
    chars[:, 0:3] = np.array([list(w) for w in WMI])[rng.integers(0, len(WMI), n)]
    chars[:, 9] = np.array(list(VIN_YEAR_CODES))[np.clip(year, 2010, 2026) - 2010]
    chars[:, 11:17] = np.array(list("0123456789"))[rng.integers(0, 10, (n, 6))]
    remainder = (vin_check_values(chars.view("U17").ravel()) @ VIN_WEIGHTS) % 11
    chars[:, 8] = np.where(remainder == 10, "X", remainder.astype(str))
    return chars.view("U17").ravel().copy()


def make_vehicles(rng: np.random.Generator, people: pl.DataFrame) -> pl.DataFrame:
    """One row per ownership period: (vehicle, owner, from, to, bought new or used)."""
    n_people = people.height
    second = rng.random(n_people) < 0.15
    owner = np.concatenate([people["person_id"].to_numpy(), people["person_id"].to_numpy()[second]])
    n = len(owner)
    span = (WINDOW_END - WINDOW_START).astype(int)
    bought = WINDOW_START + rng.integers(-3 * 365, span, n).astype("timedelta64[D]")
    year = bought.astype("datetime64[Y]").astype(int) + 1970
    vin = make_vins(rng, year)
    price = np.round(rng.lognormal(np.log(190_000), 0.35, n), -2)
    first = pl.DataFrame({"vin": vin, "person_id": owner, "owned_from": bought,
                          "price": price, "new_or_used": "new", "series": np.array(SERIES)[rng.integers(0, len(SERIES), n)]})
    # about one car in sixteen is sold on to another person as a used car
    resold = (rng.random(n) < 0.06) & (bought < WINDOW_END - np.timedelta64(3 * 365, "D"))
    resale_at = bought + rng.integers(2 * 365, 3 * 365, n).astype("timedelta64[D]")
    next_owner = rng.integers(1, n_people + 1, n)
    resold &= next_owner != owner
    first = first.with_columns(owned_to=pl.Series(np.where(resold, resale_at, WINDOW_END + 1)))
    used = first.filter(pl.Series(resold)).with_columns(
        person_id=pl.Series(next_owner[resold]), owned_from=pl.Series(resale_at[resold]),
        owned_to=pl.lit(WINDOW_END + 1), price=((pl.col("price") * 0.0055).round(0) * 100),
        new_or_used=pl.lit("used"))
    return pl.concat([first, used]).with_row_index("ownership_id", offset=1)


def make_visits(rng: np.random.Generator, people: pl.DataFrame, owned: pl.DataFrame,
                n_dealers: int, km_per_day: np.ndarray) -> pl.DataFrame:
    """One row per repair order: a car of an active owner comes in every 4-8 months. Its odometer
    grows at the ownership's own `km_per_day`, within 5% from one reading to the next."""
    person = people.sort("person_id")
    pid = owned["person_id"].to_numpy()
    start = owned["owned_from"].to_numpy().astype("datetime64[D]")
    end = owned["owned_to"].to_numpy().astype("datetime64[D]")
    stops = start + person["active_days"].to_numpy()[pid - 1].astype("timedelta64[D]")
    end = np.minimum(np.minimum(end, stops), WINDOW_END)
    mean_gap = rng.uniform(100, 200, len(pid))
    max_visits = int((WINDOW_END - WINDOW_START).astype(int) / 110) + 12
    gaps = rng.gamma(8.0, mean_gap[:, None] / 8.0, (len(pid), max_visits))
    gaps[:, 0] = rng.uniform(30, 200, len(pid))
    days = np.cumsum(gaps, axis=1).astype(np.int64)
    row, col = np.nonzero(start[:, None] + days.astype("timedelta64[D]") < end[:, None])
    visit_date = start[row] + days[row, col].astype("timedelta64[D]")
    keep = visit_date >= WINDOW_START
    row, visit_date = row[keep], visit_date[keep]
    n = len(row)

    who = pid[row]
    home = person["home_dealer"].to_numpy()[who - 1]
    switch = person["switch_dealer"].to_numpy()[who - 1]
    switched = (switch >= 0) & (visit_date > start[row] + person["switch_after_days"].to_numpy()[who - 1].astype("timedelta64[D]"))
    dealer = np.where(switched, switch, home)
    elsewhere = rng.random(n) < 0.04
    dealer = np.where(elsewhere, rng.integers(0, n_dealers, n), dealer)

    kind = rng.choice(len(SERVICE_TYPES), n, p=SERVICE_P)
    amount = np.round(rng.lognormal(0, 0.5, n) * SERVICE_MEAN_YUAN[kind], 2)
    age_days = (visit_date - owned["owned_from"].to_numpy().astype("datetime64[D]")[row]).astype(int)
    return pl.DataFrame({
        "ownership_id": owned["ownership_id"].to_numpy()[row],
        "vin": owned["vin"].to_numpy()[row],
        "person_id": who,
        "dealer": dealer,
        "open_date": visit_date,
        "close_date": visit_date + rng.integers(0, 3, n).astype("timedelta64[D]"),
        "service_type": SERVICE_TYPES[kind],
        "pay_type": np.where(kind == 3, "warranty", np.where((kind == 4) & (rng.random(n) < 0.7), "insurance", "customer")),
        "total_amount": amount,
        "labor_amount": np.round(amount * 0.4, 2),
        "parts_amount": np.round(amount * 0.6, 2),
        "mileage_km": (age_days * km_per_day[row] * (0.95 + 0.1 * (rng.uniform(25, 60, n) - 25) / 35)
                       ).astype(np.int64) + 10,
    })


def make_sales(people: pl.DataFrame, owned: pl.DataFrame) -> pl.DataFrame:
    """One row per invoice: a car bought inside the data window, at the buyer's dealer then."""
    dealer = people.sort("person_id")["home_dealer"].to_numpy()
    sales = owned.filter(pl.col("owned_from") >= pl.lit(WINDOW_START))
    return sales.with_columns(dealer=pl.Series(dealer[sales["person_id"].to_numpy() - 1]))
