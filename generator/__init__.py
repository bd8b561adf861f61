"""A generator of contract-conformant landing folders, with the ground truth behind every row.

`generate_landing` writes `<out>/dealers.csv`, `<out>/suppression.csv` and
`<out>/<dealer>/{sales,service}/*.csv` the way real DMS exports look, and writes the truth
(`persons.csv`, `records.csv`, `ownership.csv`) to a separate folder for accuracy tests.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl

from generator.contacts import (CONTACT_HEADERS, OUTCOME_CN, PURPOSE_CN, car_km_per_day, dealer_diligence,
                                make_contact_log, staff_names)
from generator.events import make_sales, make_vehicles, make_visits
from generator.harsh import harden, movers
from generator.people import dealer_quality, make_people, misspell
from generator.writer import (HEADERS, SALES_COLUMNS, SERVICE_COLUMNS, dealer_profiles, format_dates, render,
                              spell_mobiles, write_csv)
from generator.events import WINDOW_END

CITIES = [  # city, province, region, resident-ID region code, postcode, dealer code prefix
    ("上海", "上海", "华东", "310101", "200000", "SH"), ("北京", "北京", "华北", "110101", "100000", "BJ"),
    ("广州", "广东", "华南", "440106", "510000", "GZ"), ("成都", "四川", "西南", "510107", "610000", "CD"),
    ("杭州", "浙江", "华东", "330106", "310000", "HZ"), ("南京", "江苏", "华东", "320102", "210000", "NJ"),
    ("武汉", "湖北", "华中", "420106", "430000", "WH"), ("西安", "陕西", "西北", "610113", "710000", "XA"),
]


def make_dealers(n: int) -> pl.DataFrame:
    city = [CITIES[i % len(CITIES)] for i in range(n)]
    return pl.DataFrame({
        "dealer_code": [f"{c[5]}{i + 1:03d}" for i, c in enumerate(city)],
        "dealer_name": [f"{c[0]}{['德众', '明泰', '永达', '宝利', '华通'][i % 5]}汽车销售服务有限公司" for i, c in enumerate(city)],
        "region": [c[2] for c in city], "province": [c[1] for c in city], "city": [c[0] for c in city],
        "brand": "上汽大众", "opened_on": [f"{2005 + i % 15}-0{1 + i % 9}-15" for i in range(n)],
        "region_code": [c[3] for c in city], "postcode": [c[4] for c in city],
    })


def _customer_fields(rng: np.random.Generator, records: pl.DataFrame, people: pl.DataFrame,
                     dealers: pl.DataFrame, p_mobile: float, p_id: float) -> pl.DataFrame:
    """Attach what the clerk recorded about the customer, with gaps and typos."""
    n = records.height
    joined = records.join(people, on="person_id", how="left")
    position = pl.lit(pl.Series(rng.integers(6, 16, n)))
    typo_ids = joined.select(
        pl.col("id_number").str.slice(0, position)
        + pl.lit(pl.Series(rng.integers(0, 10, n).astype(str)))
        + pl.col("id_number").str.slice(position + 1)
    ).to_series()
    id_typo = rng.random(n) < 0.01
    ids = joined["id_number"]
    dealer_codes = dealers["dealer_code"].to_numpy()[joined["dealer"].to_numpy()]
    number = (joined["person_id"].to_numpy() + joined["dealer"].to_numpy() * 1_000_003) % 10**8
    return joined.with_columns(
        dealer_code=pl.Series(dealer_codes),
        customer_no=pl.Series(np.char.add("C", np.char.zfill(number.astype(str), 8))),
        customer_name=misspell(rng, joined["name"], 0.03),
        customer_type=pl.when(pl.col("is_company")).then(pl.lit("企业")).otherwise(pl.lit("个人")),
        mobile=pl.when(pl.lit(pl.Series(rng.random(n) < p_mobile))).then(pl.col("mobile")).otherwise(None),
        id_number=pl.Series(np.where(rng.random(n) < p_id, np.where(id_typo, typo_ids.to_numpy(), ids.to_numpy()), "")),
        marketing_consent=pl.col("consent"),
    )


def _break_rows(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """A few rows per dealer with a value a DMS should never have let through."""
    n = frame.height
    broken = np.full(n, "", dtype=object)
    picks = rng.choice(n, size=min(n, max(4, n // 2000)), replace=False)
    kinds = np.array(["bad_date", "negative_amount", "missing_required", "bad_amount"])[np.arange(len(picks)) % 4]
    broken[picks] = kinds
    broken = pl.Series("broken", broken.astype(str))
    return frame.with_columns(broken=broken).with_columns(
        pl.when(pl.col("broken") == "missing_required").then(pl.lit(None)).otherwise(pl.col("vin")).alias("vin"),
    )


def _apply_broken_values(rendered: pl.DataFrame, frame: pl.DataFrame, date_header: str, amount_header: str) -> pl.DataFrame:
    broken = frame["broken"]
    return rendered.with_columns(
        pl.when(broken == "bad_date").then(pl.lit("2023-02-30")).otherwise(pl.col(date_header)).alias(date_header),
        pl.when(broken == "negative_amount").then(pl.lit("-350.00"))
        .when(broken == "bad_amount").then(pl.lit("待定")).otherwise(pl.col(amount_header)).alias(amount_header),
    )


def _write_contact_log(out: Path, log: pl.DataFrame, dealer_table: pl.DataFrame, profiles: list, staff, rng) -> None:
    """`<dealer>/contacts/contacts_<year>.csv`, in the dealer's DMS style, with a blank line in each."""
    log = log.with_columns(year=pl.col("contact_date").dt.year(),
                           staff=pl.Series(staff[log["dealer"].to_numpy(), rng.integers(0, 3, log.height)]))
    for (dealer, year), part in log.partition_by("dealer", "year", as_dict=True, maintain_order=True).items():
        profile = profiles[dealer]
        chinese = profile.header_style == 0
        rendered = pl.DataFrame({
            "contact_date": format_dates(part["contact_date"], profile.date_style, rng),
            "mobile": spell_mobiles(part["mobile"], rng),
            "customer_no": part["customer_no"],
            "sale_id": part["sale_id"].fill_null(""),
            "purpose": part["purpose"].replace(PURPOSE_CN) if chinese else part["purpose"],
            "outcome": part["outcome"].replace(OUTCOME_CN) if chinese else part["outcome"],
            "staff": part["staff"],
        }).rename({c: CONTACT_HEADERS[c][profile.header_style] for c in CONTACT_HEADERS})
        path = out / dealer_table["dealer_code"][dealer] / "contacts" / f"contacts_{year}.csv"
        write_csv(rendered, path, profile, {part.height // 2: ""} if part.height > 10 else None)


def generate_landing(out: Path, truth: Path, dealers: int, customers: int, seed: int) -> dict[str, int]:
    """Write a landing folder and its truth; returns row counts."""
    rng = np.random.default_rng(seed)
    dealer_table = make_dealers(dealers)
    quality = dealer_quality(np.random.default_rng([seed, 23]), dealers)
    people = make_people(rng, customers, dealer_table, quality)
    owned = make_vehicles(rng, people)
    # what the staff's routines need comes from a stream of its own, so adding it changed no other value
    routine_rng = np.random.default_rng([seed, 17])
    visits = make_visits(rng, people, owned, dealers, car_km_per_day(routine_rng, owned.height))
    sales = make_sales(people, owned)

    sales = _customer_fields(rng, sales.rename({"price": "sale_amount", "owned_from": "sale_date"}),
                             people, dealer_table, 0.92, 0.85).sort("dealer", "sale_date", "vin")
    sales = sales.with_columns(sale_id=pl.format("XS{}{}", pl.col("sale_date").dt.year(),
                                                 (pl.int_range(pl.len()).over("dealer") + 1).cast(pl.Utf8).str.zfill(6)))
    service = _customer_fields(rng, visits, people, dealer_table, 0.85, 0.2).sort("dealer", "open_date", "vin")
    service = service.with_columns(
        ro_number=pl.format("RO{}", (pl.int_range(pl.len()).over("dealer") + 1).cast(pl.Utf8).str.zfill(8)),
        marketing_consent=pl.when(pl.lit(rng.random(service.height) < 0.5)).then(pl.col("consent")).otherwise(pl.lit("")),
    )
    salespeople, advisors = staff_names(routine_rng, dealers, 6), staff_names(routine_rng, dealers, 4)
    sales = sales.with_columns(salesperson=pl.Series(
        salespeople[sales["dealer"].to_numpy(), routine_rng.integers(0, 6, sales.height)]))
    service = service.with_columns(advisor=pl.Series(
        advisors[service["dealer"].to_numpy(), routine_rng.integers(0, 4, service.height)]))
    diligence = dealer_diligence(routine_rng, dealers)
    contact_log = make_contact_log(routine_rng, sales, service, diligence, WINDOW_END)

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    dealer_table.drop("region_code", "postcode").write_csv(out / "dealers.csv")
    profiles = dealer_profiles(rng, dealers)
    # a harsher world, from a stream of its own: movers, second accounts, typed mobiles, pinyin names
    # where the DMS takes Latin script (the US-style one)
    harsh_rng = np.random.default_rng([seed, 31])
    moved = movers(harsh_rng, people)
    latin_dealers = [i for i, profile in enumerate(profiles) if profile.header_style == 2]
    sales = harden(harsh_rng, sales, moved, "sale_date", latin_dealers)
    service = harden(harsh_rng, service, moved, "open_date", latin_dealers)
    records = []
    misfiled = []
    for source, frame, columns, date_col, amount_col, id_col in (
        ("sales", sales, SALES_COLUMNS, "sale_date", "sale_amount", "sale_id"),
        ("service", service, SERVICE_COLUMNS, "open_date", "total_amount", "ro_number"),
    ):
        frame = _break_rows(rng, frame).with_columns(year=pl.col(date_col).dt.year())
        records.append(frame.select("dealer_code", pl.lit(source).alias("source"), pl.col(id_col).alias("record_id"),
                                    "person_id", pl.col("vin").fill_null(""), "broken"))
        for (dealer, year), part in frame.partition_by("dealer", "year", as_dict=True, maintain_order=True).items():
            profile = profiles[dealer]
            code = dealer_table["dealer_code"][dealer]
            cols = (["dealer_code"] if profile.header_style == 1 else []) + columns
            if source == "service" and dealer == 3 % dealers and year == 2022:
                cols = [c for c in cols if c != "open_date"]  # one export missing a required column
            if source == "service" and dealer == 4 % dealers and year == 2021:
                cols = [c for c in cols if c not in ("mobile", "id_number")]  # an export without contacts
            if source == "service" and dealer == 5 % dealers and year == 2023:
                cols = [c for c in cols if c != "customer_no"]  # an export without customer numbers
            rendered = render(part, cols, profile, rng)
            if date_col in cols:
                rendered = _apply_broken_values(rendered, part, HEADERS[date_col][profile.header_style],
                                                HEADERS[amount_col][profile.header_style])
            if profile.header_style == 1 and part.height > 3:  # a row filed under another dealer
                misfiled.append((code, source, part[id_col][2]))
                rendered = rendered.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("XX999"))
                                                 .otherwise(pl.col("dealer_code")).alias("dealer_code"))
            ragged_row = profile.delimiter.join(["RAGGED"] * (len(rendered.columns) + 2))
            extra = {part.height // 2: "", part.height // 3: ragged_row} if part.height > 10 else None
            path = out / code / source / f"{source}_{year}.csv"
            write_csv(rendered, path, profile, extra)
            if source == "service" and dealer == 1 % dealers and year == 2024:
                tail = part.filter(pl.col("open_date") >= pl.date(2024, 11, 1))
                write_csv(render(tail, cols, profile, rng), path.with_name("service_2024_resend.csv"), profile)
            if source == "sales" and dealer == 2 % dealers and year == 2023:
                shutil.copyfile(path, path.with_name("sales_2023 (1).csv"))

    _write_contact_log(out, contact_log, dealer_table, profiles, staff_names(routine_rng, dealers, 3), routine_rng)

    suppressed = people.filter(pl.lit(rng.random(people.height) < 0.01))["mobile"]
    pl.DataFrame({"value": pl.concat([suppressed, people["id_number"].head(3)])}).write_csv(out / "suppression.csv")

    truth.mkdir(parents=True, exist_ok=True)
    people.drop("home_dealer", "switch_dealer", "switch_after_days", "active_days").write_csv(truth / "persons.csv")
    misfiled = pl.DataFrame(misfiled, schema=["dealer_code", "source", "record_id"], orient="row")
    records = pl.concat(records).join(misfiled.with_columns(misfiled=pl.lit(True)), how="left",
                                      on=["dealer_code", "source", "record_id"])
    records = records.with_columns(broken=pl.when(pl.col("misfiled")).then(pl.lit("dealer_mismatch"))
                                   .otherwise(pl.col("broken"))).drop("misfiled")
    records.write_csv(truth / "records.csv")
    owned.select("vin", "person_id", "owned_from", "owned_to", "new_or_used").write_csv(truth / "ownership.csv")
    moved.write_csv(truth / "movers.csv")
    contact_log.with_columns(dealer_code=dealer_table["dealer_code"].gather(contact_log["dealer"])).drop(
        "dealer").write_csv(truth / "contacts.csv")
    pl.DataFrame({"dealer_code": dealer_table["dealer_code"], "follow_up_rate": diligence}).hstack(quality).write_csv(
        truth / "dealer_quality.csv")
    return {"people": people.height, "sales": sales.height, "service": service.height}
