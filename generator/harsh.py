"""What real exports do to a person's records that a kind generator would not: people who move
and change mobile, a second customer account at the same dealer, mobiles typed with one digit
wrong, names written in pinyin (with typos) by a dealer whose DMS takes Latin script, and
companies whose legal form is written three ways. Applied to the records after the clerk's
fields are attached, from a random stream of its own; vectorized, no loop over rows."""

from __future__ import annotations

import numpy as np
import polars as pl
from pypinyin import lazy_pinyin

from generator.people import COMMON_NAMES, GIVEN, SURNAMES, TYPO_OF

LEGAL_FORMS = ["有限公司", "有限责任公司", " Co., Ltd."]


def pinyin_map() -> dict[str, str]:
    """Each Chinese character the generator writes names with, and its toneless pinyin."""
    chars = sorted(set(SURNAMES) | set(GIVEN) | set("".join(COMMON_NAMES)) | set(TYPO_OF.values()))
    return {ch: lazy_pinyin(ch)[0] for ch in chars}


def movers(rng: np.random.Generator, people: pl.DataFrame, share: float = 0.06) -> pl.DataFrame:
    """(person_id, moved_on, new_mobile, new_address) for the people who move house and take a new
    mobile at some date of the window (a company keeps its address and number)."""
    n = people.height
    moves = (rng.random(n) < share) & ~people["is_company"].to_numpy()
    picked = people.filter(pl.Series(moves))
    k = picked.height
    new_mobile = np.char.add("17", np.char.zfill(rng.integers(0, 10**9, k).astype(str), 9))
    return picked.select(
        "person_id",
        moved_on=pl.lit(pl.Series(np.datetime64("2021-01-01") + rng.integers(0, 5 * 365, k).astype("timedelta64[D]"))),
        new_mobile=pl.lit(pl.Series(new_mobile)),
        new_address=pl.col("address").str.replace(r"\d+号", pl.lit(pl.Series(
            np.char.add(rng.integers(1, 999, k).astype(str), "号")))),
    )


def harden(rng: np.random.Generator, records: pl.DataFrame, moved: pl.DataFrame, date_col: str,
           latin_dealers: list[int]) -> pl.DataFrame:
    """The records as a harsher world writes them (see the module's docstring)."""
    n = records.height
    out = records.join(moved, on="person_id", how="left", maintain_order="left").with_columns(
        after_move=pl.col(date_col) >= pl.col("moved_on"))
    out = out.with_columns(
        mobile=pl.when(pl.col("after_move") & pl.col("mobile").is_not_null()).then(pl.col("new_mobile"))
        .otherwise(pl.col("mobile")),
        address=pl.when(pl.col("after_move")).then(pl.col("new_address")).otherwise(pl.col("address")),
    ).drop("moved_on", "new_mobile", "new_address", "after_move")

    # one digit of the mobile wrong (not the leading 1 and network digit)
    position = rng.integers(3, 11, n)
    digit = rng.integers(0, 10, n).astype(str)
    wrong = rng.random(n) < 0.01
    typed = out.select(pl.col("mobile").str.slice(0, pl.lit(pl.Series(position)))
                       + pl.lit(pl.Series(digit)) + pl.col("mobile").str.slice(pl.lit(pl.Series(position + 1))))
    out = out.with_columns(mobile=pl.when(pl.lit(pl.Series(wrong))).then(typed.to_series()).otherwise(pl.col("mobile")))

    # a second account at the same dealer: half of the records of one person in twenty
    second = (out["person_id"].to_numpy() % 20 == 7) & (rng.random(n) < 0.5)
    out = out.with_columns(customer_no=pl.when(pl.lit(pl.Series(second)))
                           .then(pl.col("customer_no").str.replace("^C", "K")).otherwise(pl.col("customer_no")))

    # companies: the legal form written another way on a third of their records
    form = np.array(LEGAL_FORMS)[rng.integers(0, len(LEGAL_FORMS), n)]
    out = out.with_columns(customer_name=pl.when(pl.col("is_company") & pl.lit(pl.Series(rng.random(n) < 0.33)))
                           .then(pl.col("customer_name").str.replace("有限公司$", pl.lit(pl.Series(form))))
                           .otherwise(pl.col("customer_name")))

    # a dealer whose DMS takes Latin script: 40% of its people in pinyin, given name first, 3% of
    # those with two letters swapped
    mapping = pinyin_map()
    latin = out["dealer"].is_in(latin_dealers).to_numpy() & (rng.random(n) < 0.4) & ~out["is_company"].to_numpy()
    surname = out["customer_name"].str.slice(0, 1).str.replace_many(list(mapping), list(mapping.values()))
    given = out["customer_name"].str.slice(1).str.replace_many(list(mapping), list(mapping.values()))
    written = given.str.to_titlecase() + " " + surname.str.to_titlecase()
    swap = rng.random(n) < 0.03
    cut = np.minimum(rng.integers(1, 4, n), written.str.len_chars().to_numpy() - 2).clip(0)
    swapped = pl.DataFrame({"w": written, "c": cut}).select(
        pl.col("w").str.slice(0, pl.col("c")) + pl.col("w").str.slice(pl.col("c") + 1, 1)
        + pl.col("w").str.slice(pl.col("c"), 1) + pl.col("w").str.slice(pl.col("c") + 2)).to_series()
    latin_name = pl.Series(np.where(swap, swapped.to_numpy(), written.to_numpy()))
    return out.with_columns(customer_name=pl.when(pl.lit(pl.Series(latin))).then(latin_name)
                            .otherwise(pl.col("customer_name")))
