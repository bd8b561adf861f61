"""Writing records the way dealers' DMS exports look: each dealer has a vendor profile (header
language, encoding, delimiter, date and amount style), mobiles are spelt every way, and a few
rows are broken."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

# canonical column -> header as (Chinese DMS, English canonical, US-style DMS)
HEADERS = {
    "dealer_code": ("经销商代码", "dealer_code", "DealerCode"),
    "sale_id": ("销售单号", "sale_id", "DealNumber"),
    "sale_date": ("开票日期", "sale_date", "ContractDate"),
    "sale_amount": ("开票金额", "sale_amount", "SalePrice"),
    "ro_number": ("工单号", "ro_number", "RONumber"),
    "open_date": ("进厂日期", "open_date", "OpenDate"),
    "close_date": ("结算日期", "close_date", "CloseDate"),
    "total_amount": ("结算金额", "total_amount", "TotalSale"),
    "labor_amount": ("工时费", "labor_amount", "LaborSale"),
    "parts_amount": ("材料费", "parts_amount", "PartsSale"),
    "service_type": ("维修类型", "service_type", "ROType"),
    "pay_type": ("付费类型", "pay_type", "LaborType"),
    "mileage_km": ("行驶里程", "mileage_km", "Mileage"),
    "vin": ("车架号", "vin", "VIN"),
    "customer_no": ("客户编号", "customer_no", "CustomerNumber"),
    "customer_name": ("客户姓名", "customer_name", "Name"),
    "customer_type": ("客户类型", "customer_type", "CustomerType"),
    "mobile": ("手机号码", "mobile", "CellPhone"),
    "id_number": ("身份证号", "id_number", "IDNumber"),
    "gender": ("性别", "gender", "Gender"),
    "email": ("邮箱", "email", "Email"),
    "address": ("联系地址", "address", "Address1"),
    "postcode": ("邮编", "postcode", "ZipCode"),
    "series": ("车系", "series", "Model"),
    "new_or_used": ("新旧车", "new_or_used", "NewUsed"),
    "marketing_consent": ("是否同意营销", "marketing_consent", "OptIn"),
    "salesperson": ("销售顾问", "salesperson", "Salesperson"),
    "advisor": ("服务顾问", "advisor", "ServiceAdvisor"),
}
SALES_COLUMNS = ["sale_id", "sale_date", "sale_amount", "vin", "customer_no", "customer_name",
                 "customer_type", "mobile", "id_number", "gender", "email", "address", "postcode",
                 "series", "new_or_used", "marketing_consent", "salesperson"]
SERVICE_COLUMNS = ["ro_number", "open_date", "close_date", "total_amount", "labor_amount",
                   "parts_amount", "service_type", "pay_type", "mileage_km", "vin", "customer_no",
                   "customer_name", "mobile", "id_number", "address", "marketing_consent", "advisor"]
SERVICE_TYPE_CN = {"maintenance": "保养", "repair": "维修", "body-paint": "钣喷", "warranty": "索赔", "accident": "事故"}
PAY_TYPE_CN = {"customer": "客户付费", "warranty": "保修", "insurance": "保险", "internal": "内部"}
DATE_STYLES = ["%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "excel",
               "%Y-%m-%d %H:%M:%S", "%Y年%-m月%-d日"]


@dataclass(frozen=True)
class Profile:
    """How one dealer's DMS writes its exports."""

    header_style: int  # index into HEADERS tuples
    encoding: str  # utf-8, utf-8-sig or gbk
    delimiter: str
    date_style: str
    amount_style: str  # plain, yuan, rmb, thousands


def dealer_profiles(rng: np.random.Generator, n: int) -> list[Profile]:
    profiles = []
    for i in range(n):
        style = [0, 1, 0, 2, 0, 1][i % 6] if i < 6 else int(rng.choice(3, p=[0.5, 0.3, 0.2]))
        encoding = ["gbk", "utf-8-sig", "utf-8"][i % 3] if style == 0 else ["utf-8", "utf-8-sig"][i % 2]
        date_style = DATE_STYLES[i % len(DATE_STYLES)]
        if style == 2 and "%d/%m" in date_style:
            date_style = "%m/%d/%Y"
        profiles.append(Profile(style, encoding, [",", ";", "\t", ",", ",", ";"][i % 6], date_style,
                                ["plain", "yuan", "rmb", "thousands"][i % 4]))
    return profiles


def format_dates(dates: pl.Series, style: str, rng: np.random.Generator) -> pl.Series:
    if style == "excel":
        return (dates.cast(pl.Int32) + 25569).cast(pl.Utf8)  # days since 1899-12-30
    if "%H" in style:
        seconds = pl.Series(rng.integers(8 * 3600, 18 * 3600, len(dates)) * 1_000_000).cast(pl.Duration("us"))
        return (dates.cast(pl.Datetime("us")) + seconds).dt.strftime(style)
    return dates.dt.strftime(style)


def format_amounts(values: pl.Series, style: str) -> pl.Series:
    text = values.round(2).cast(pl.Utf8)
    if style == "yuan":
        return "¥" + text
    if style == "rmb":
        return "RMB " + text
    if style == "thousands":
        whole = values.floor().cast(pl.Int64)
        cents = ((values - whole) * 100).round().cast(pl.Int64).cast(pl.Utf8).str.zfill(2)
        grouped = whole.cast(pl.Utf8).str.reverse().str.replace_all(r"(\d{3})", "$1,").str.reverse().str.strip_chars_start(",")
        return grouped + "." + cents
    return text


def spell_mobiles(mobiles: pl.Series, rng: np.random.Generator) -> pl.Series:
    """Mobiles as clerks type them: +86, 0086, spaces, dashes, brackets."""
    m = pl.col("m")
    spellings = [m, "+86 " + m, "0086" + m, m.str.slice(0, 3) + "-" + m.str.slice(3, 4) + "-" + m.str.slice(7),
                 m.str.slice(0, 3) + " " + m.str.slice(3, 4) + " " + m.str.slice(7), "(+86)" + m, "86-" + m]
    pick = pl.Series(rng.choice(len(spellings), len(mobiles), p=[0.55, 0.1, 0.05, 0.1, 0.1, 0.05, 0.05]))
    expr = pl.when(pl.col("pick") == 0).then(spellings[0])
    for i, spelling in enumerate(spellings[1:], start=1):
        expr = expr.when(pl.col("pick") == i).then(spelling)
    frame = pl.DataFrame({"m": mobiles.cast(pl.Utf8), "pick": pick})
    return frame.select(expr.fill_null("").alias(mobiles.name)).to_series()


def render(frame: pl.DataFrame, columns: list[str], profile: Profile, rng: np.random.Generator) -> pl.DataFrame:
    """Rename and format canonical columns the way this dealer's DMS writes them."""
    out = {}
    for column in columns:
        values = frame[column]
        if column.endswith("_date") and column != "birth_date":
            values = format_dates(values, profile.date_style, rng)
        elif column.endswith("_amount"):
            values = format_amounts(values, profile.amount_style)
        elif column == "mobile":
            values = spell_mobiles(values, rng)
        elif profile.header_style == 0 and column == "service_type":
            values = values.replace_strict(SERVICE_TYPE_CN)
        elif profile.header_style == 0 and column == "pay_type":
            values = values.replace_strict(PAY_TYPE_CN)
        elif profile.header_style == 0 and column == "new_or_used":
            values = values.replace_strict({"new": "新车", "used": "二手车"})
        elif profile.header_style != 0 and column == "marketing_consent":
            values = values.replace_strict({"是": "Y", "否": "N", "": ""})
        elif profile.header_style != 0 and column in ("gender", "customer_type"):
            values = values.replace({"男": "M", "女": "F", "个人": "person", "企业": "company"})
        out[column] = values.cast(pl.Utf8)
    rendered = pl.DataFrame(out)
    if profile.header_style == 2:  # US-style DMS: name split in two
        # a Chinese name: surname first, one character; a Latin one ("Wei Zhang"): surname last
        name = rendered["customer_name"]
        latin = name.str.contains(" ")
        rendered = rendered.with_columns(
            LastName=pl.when(latin).then(name.str.extract(r"(\S+)$")).otherwise(name.str.slice(0, 1)),
            FirstName=pl.when(latin).then(name.str.extract(r"^(.*) \S+$")).otherwise(name.str.slice(1)),
        ).drop("customer_name")
    return rendered.rename({c: HEADERS[c][profile.header_style] for c in rendered.columns if c in HEADERS})


def write_csv(frame: pl.DataFrame, path: Path, profile: Profile, extra_lines: dict[int, str] | None = None) -> None:
    """Write with the dealer's delimiter and encoding; `extra_lines` inserts raw lines (broken
    rows) before the given data row numbers."""
    text = frame.write_csv(separator=profile.delimiter, line_terminator="\r\n" if profile.encoding == "gbk" else "\n")
    if extra_lines:
        newline = "\r\n" if profile.encoding == "gbk" else "\n"
        lines = text.split(newline)
        for at in sorted(extra_lines, reverse=True):
            lines.insert(min(at, len(lines) - 1), extra_lines[at])
        text = newline.join(lines)
    if profile.encoding == "gbk":
        text = text.replace("¥", "￥")  # GBK has only the full-width yuan sign
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(profile.encoding))
