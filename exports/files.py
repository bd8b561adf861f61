"""Writing a list for the staff's tools: CSV in UTF-8 with a byte-order mark (Excel then shows
Chinese correctly) or XLSX, headers in Chinese or English, formulas neutralised."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from exports.segments import FilterError

HEADERS_ZH = {
    "dealer_code": "经销商代码", "dealer_name": "经销商名称", "priority": "优先级", "customer_id": "客户ID",
    "customer_name": "客户姓名", "mobile": "手机号码", "vehicle": "车型", "vin": "车架号", "plate": "车牌号",
    "last_visit_date": "最近到店日期", "due_date": "应联系日期", "reason": "原因", "staff": "负责人",
    "contactable": "可联系", "why_not_contactable": "不可联系原因", "rfm_segment": "RFM分群",
    "last_service_date": "最近保养维修日期", "last_purchase_date": "最近购车日期",
    "rfm_segment_dealer": "本店RFM分群", "abc_tier": "ABC等级", "lifecycle_stage": "生命周期阶段",
    "clv_12m": "12个月客户价值(元)", "churn_risk_pct": "流失风险(%)",
}
FORMULA_START = r"^[=+\-@\t\r]"
"""How a cell begins that a spreadsheet would run as a formula (OWASP CSV injection)."""



def neutralise_formulas(rows: pl.DataFrame) -> pl.DataFrame:
    """Text cells that begin like a formula get a leading apostrophe, so a spreadsheet shows them
    as text instead of running them (OWASP's advice for CSV exports)."""
    return rows.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA_START)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in rows.schema.items() if dtype == pl.Utf8)


def header_language(rows: pl.DataFrame) -> str:
    """zh for a Chinese DMS's customers (most names written in Chinese characters), else en."""
    if "customer_name" not in rows.columns or rows["customer_name"].drop_nulls().len() == 0:
        return "en"
    return "zh" if rows["customer_name"].drop_nulls().str.contains(r"\p{Han}").mean() > 0.5 else "en"


def write_rows(rows: pl.DataFrame, path: Path, lang: str = "auto") -> None:
    """CSV (UTF-8 with a byte-order mark, so Excel shows Chinese) or XLSX with a frozen header
    row, an autofilter and fitted column widths; mobiles stay text either way. Headers in
    Chinese or English; `auto`: as the customers' names are written."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise FilterError(f"--to {path.name}: write .csv or .xlsx (an old .xls is not written)")
    if lang == "auto":
        lang = header_language(rows)
    if lang == "zh":
        rows = rows.rename({c: HEADERS_ZH.get(c, c) for c in rows.columns})
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        rows.write_excel(path, worksheet="list", autofilter=True, freeze_panes=(1, 0), autofit=True,
                         dtype_formats={pl.Date: "yyyy-mm-dd"})
    else:
        neutralise_formulas(rows).write_csv(path, include_bom=True)
