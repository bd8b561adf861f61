"""`crm segments export`: filters, contactable only unless asked, counts of what was left out,
a message listing the valid values, CSV with a byte-order mark and XLSX."""

from __future__ import annotations

import datetime as dt
import zipfile

import polars as pl
import pytest

from exports.files import write_rows
from exports.segments import FilterError, SegmentFilter, select_members
from pipelines.cli import main

MEMBERS = pl.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4", "C5"],
    "dealer_code": ["D1", "D1", "D1", "D2", "D2"],
    "customer_name": ["王芳", "李强", "赵敏", "钱磊", "孙伟"],
    "mobile": ["13800138001", "13800138002", "13800138003", "13800138004", None],
    "vin": ["LSVAU2180N2183291", None, None, None, None],
    "vehicle": ["朗逸", None, None, None, None],
    "plate": ["沪A12345", None, None, None, None],
    "rfm_segment": ["At risk", "At risk", "Champions", "At risk", "Lost"],
    "rfm_segment_dealer": ["At risk", "At risk", "Champions", "At risk", "Lost"],
    "abc_tier": ["A", "B", "A", "A", "C"],
    "lifecycle_stage": ["churning", "churning", "stable", "churning", "lost"],
    "clv_12m": [5000.0, 800.0, 9000.0, 4000.0, 0.0],
    "churn_risk": [0.6, 0.7, 0.1, 0.5, 0.95],
    "consent": ["yes", "no", "yes", "unknown", "yes"],
    "contactable": [True, False, True, False, False],
    "why_not_contactable": [None, "consent_refused", None, "consent_unknown", "no_mobile"],
})


def test_filters_keep_the_contactable_matches_and_count_the_rest():
    rows, left_out = select_members(MEMBERS, SegmentFilter(stages=["churning"], segments=["At risk"]))
    assert rows["customer_id"].to_list() == ["C1"]
    assert left_out == {"consent_refused": 1, "consent_unknown": 1}
    rows, _ = select_members(MEMBERS, SegmentFilter(dealers=["D1"], tiers=["A"], min_clv=6000))
    assert rows["customer_id"].to_list() == ["C3"]
    rows, left_out = select_members(MEMBERS, SegmentFilter(min_churn_risk=0.5, include_not_contactable=True))
    assert rows["customer_id"].to_list() == ["C1", "C2", "C4", "C5"] and left_out == {}
    assert rows["why_not_contactable"].to_list() == [None, "consent_refused", "consent_unknown", "no_mobile"]


@pytest.mark.parametrize(("wanted", "message"), [
    (SegmentFilter(stages=["dormant"]), "--stage 'dormant' is not valid; valid values: new, stable, churning, lost"),
    (SegmentFilter(tiers=["D"]), "--tier 'D' is not valid; valid values: A, B, C"),
    (SegmentFilter(dealers=["D9"]), "--dealer 'D9' is not valid; valid values: D1, D2"),
    (SegmentFilter(segments=["VIP"]), "valid values: About to sleep, At risk, Can't lose, Champions"),
])
def test_a_bad_filter_value_lists_the_valid_ones(wanted, message):
    with pytest.raises(FilterError, match=message):
        select_members(MEMBERS, wanted)


def test_csv_carries_a_byte_order_mark_and_xlsx_is_a_workbook(tmp_path):
    rows, _ = select_members(MEMBERS, SegmentFilter())
    write_rows(rows, tmp_path / "list.csv", lang="en")
    data = (tmp_path / "list.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "王芳" in data.decode("utf-8-sig")
    assert pl.read_csv(tmp_path / "list.csv")["customer_id"].to_list() == ["C3", "C1"]  # highest CLV first
    write_rows(rows, tmp_path / "list.xlsx")
    with zipfile.ZipFile(tmp_path / "list.xlsx") as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = workbook.read("xl/sharedStrings.xml").decode()
    assert "<row" in sheet and "王芳" in strings and "赵敏" in strings


def test_the_command_reports_rows_written_and_left_out(sample_run, tmp_path, capsys):
    out, _ = sample_run
    target = tmp_path / "churning.csv"
    assert main(["segments", "export", "--output", str(out), "--to", str(target), "--stage", "churning",
                 "--lang", "en"]) == 0
    written = pl.read_csv(target)
    assert set(written["lifecycle_stage"]) == {"churning"} and written["contactable"].all()
    members = pl.read_parquet(out / "marts" / "segment_members.parquet").filter(
        pl.col("lifecycle_stage") == "churning")
    report = capsys.readouterr().out
    assert f"wrote {written.height} rows" in report
    assert f"left out {members.height - written.height} not contactable" in report
    assert main(["segments", "export", "--output", str(out), "--to", str(target), "--tier", "Z"]) == 2
    assert "valid values: A, B, C" in capsys.readouterr().err


def test_filter_values_match_whatever_their_case():
    rows, _ = select_members(MEMBERS, SegmentFilter(dealers=["d1"], stages=["CHURNING"], segments=["at risk"]))
    assert rows["customer_id"].to_list() == ["C1"]


def test_the_list_reads_as_a_call_centre_needs_it():
    from exports.segments import for_call_centre

    rows, _ = select_members(MEMBERS, SegmentFilter(include_not_contactable=True))
    customers = pl.DataFrame({"customer_id": ["C1", "C3"], "last_seen": [dt.date(2026, 5, 1), dt.date(2026, 9, 2)]})
    dealers = pl.DataFrame({"dealer_code": ["D1", "ALL"], "dealer_name": ["浦东店", None]})
    listed = for_call_centre(rows, customers, dealers)
    assert listed.columns[:6] == ["dealer_code", "dealer_name", "customer_id", "customer_name", "mobile",
                                  "last_visit_date"]
    first = listed.row(0, named=True)
    assert (first["customer_id"], first["dealer_name"], first["clv_12m"], first["churn_risk_pct"],
            first["last_visit_date"]) == ("C3", "浦东店", 9000, 10.0, dt.date(2026, 9, 2))
    assert listed["churn_risk_pct"].to_list() == [10.0, 60.0, 70.0, 50.0, 95.0]


def test_a_chinese_dms_gets_chinese_headers_by_default(sample_run, tmp_path):
    out, _ = sample_run
    target = tmp_path / "churning.csv"
    assert main(["segments", "export", "--output", str(out), "--to", str(target), "--stage", "churning"]) == 0
    header = pl.read_csv(target).columns
    assert header[:8] == ["经销商代码", "经销商名称", "客户ID", "客户姓名", "手机号码", "最近到店日期", "最近保养维修日期",
                          "最近购车日期"]
