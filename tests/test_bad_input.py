"""Bad input and operational faults: a bad row or file stays with its dealer, nothing slips through
unaccounted, privacy holds, and faults get a one-line message instead of a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import polars as pl
import pyarrow.parquet as pq
import pytest

from generator import generate_landing
from pipelines.cli import main
from tests.conftest import SAMPLE, query, run_pipeline, run_stages, write_file

SERVICE = "ro_number,open_date,total_amount,vin,customer_name,mobile\n"
GOOD_ROW = "R1,2024-01-05,500,LSVAU2180N2183291,王芳,13800138001\n"


def _manifest(out) -> dict[str, dict]:
    return {row["file_name"]: row for row in pq.read_table(out / "marts" / "load_manifest.parquet").to_pylist()}


def _conserved(result) -> bool:
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "rows_conserved"]
    return evaluation.passed


def test_a_row_dated_after_the_day_of_the_run_is_rejected_and_the_run_goes_on(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW + "R2,2027-01-15,500,LSVAU2180N2183291,王芳,13800138001\n")
    write_file(landing, "D02/service/ro.csv", SERVICE + "R1,2024-02-05,800,LSVAU2180N2183292,李强,13800138002\n")
    out = tmp_path / "out"
    result = run_pipeline(landing, out, as_of="2024-06-30")
    assert query(out, "select dealer_code, file_name, source_row, reason, detail from ingest.rejects") == [
        ("D01", "D01/service/ro.csv", 2, "future_date", f"2027-01-15 is after {_future_limit()}")]
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert pq.read_table(out / "marts" / "customer_360.parquet").num_rows == 2


def _future_limit():
    from assets.resources import RunSettings
    from models.settings import IngestSettings

    return RunSettings().future_limit(IngestSettings().future_tolerance_days)


def test_a_row_after_as_of_but_not_in_the_future_is_loaded_and_left_out_of_the_analytics(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW + "R2,2024-09-01,900,LSVAU2180N2183291,王芳,13800138001\n")
    out = tmp_path / "out"
    run_stages(landing, out, "ingest", "identity", "analytics", as_of="2024-06-30")
    assert query(out, "select count(*) from clean.repair_orders") == [(2,)]
    assert query(out, "select count(*), sum(spend) from analytics.visits") == [(1, 500)]


def test_old_mac_line_ends_and_quoted_line_breaks_are_read_as_records(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/mac.csv", (SERVICE + GOOD_ROW + "R2,2024-01-06,600,LSVAU2180N2183291,王芳,13800138001\n")
               .replace("\n", "\r"))
    write_file(landing, "D01/service/quoted.csv",
               "ro_number,open_date,total_amount,vin,customer_name,address\n"
               'Q1,2024-02-01,100,LSVAU2180N2183291,王芳,"上海市\n人民路1号"\n'
               "Q2,2024-02-02,200,LSVAU2180N2183291,王芳,上海市人民路1号\n")
    out = tmp_path / "out"
    result = run_pipeline(landing, out)
    assert _conserved(result)
    assert query(out, "select ro_number, source_row, address from clean.repair_orders order by ro_number") == [
        ("Q1", 1, "上海市 人民路1号"), ("Q2", 2, "上海市人民路1号"), ("R1", 1, None), ("R2", 2, None)]
    assert {name: row["rows_read"] for name, row in _manifest(out).items()} == {
        "D01/service/mac.csv": 2, "D01/service/quoted.csv": 2}


LINE_ENDS = {  # a dealer each: one dealer's rows of one ro_number would settle as duplicates
    "D01/service/lf.csv": "\n",
    "D02/service/crlf.csv": "\r\n",
    "D03/service/mixed.csv": "mixed",
    "D04/service/lone_cr.csv": "\n",
    "D05/service/control.csv": "\n",
}
INNER = {"D04/service/lone_cr.csv": "\r", "D05/service/control.csv": "\x01"}


def test_every_way_of_ending_lines_numbers_rows_alike(tmp_path):
    """LF, CRLF and mixed line ends, a lone CR inside a field, a control character: each file's
    rows, blank lines and rejects come out as in the others, each with its own line as written."""
    rows = [GOOD_ROW.rstrip("\n"), "", "R2,2024-01-06,600,LSVAU2180N2183291,王芳", "",
            "R3,2024-01-07,700,LSVAU2180N2183291,王{},13800138003", "R4,bad,800,LSVAU2180N2183291,王芳,13800138004"]
    landing = tmp_path / "landing"
    for name, end in LINE_ENDS.items():
        lines = [SERVICE.rstrip("\n"), *rows[:4], rows[4].format(INNER.get(name, "")), rows[5]]
        if end == "mixed":
            text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))
        else:
            text = end.join(lines) + end
        write_file(landing, name, text)
    out = tmp_path / "out"
    result = run_stages(landing, out, "ingest")
    assert _conserved(result)
    for name in LINE_ENDS:
        clean = query(out, "select source_row, customer_name from clean.repair_orders "
                           "where file_name = ? order by source_row", [name])
        rejected = query(out, "select source_row, reason, raw from ingest.rejects "
                              "where file_name = ? order by source_row", [name])
        assert [row[0] for row in clean] == [1, 5], name
        assert clean[1][1] == f"王{INNER.get(name, '')}", name
        assert [(row[0], row[1]) for row in rejected] == [
            (2, "blank_line"), (3, "wrong_field_count"), (4, "blank_line"), (6, "bad_date")], name
        assert rejected[1][2] == rows[2] and rejected[3][2] == rows[5], name


def test_undecodable_files_fail_by_name_with_every_line_rejected_and_utf16_loads(tmp_path):
    landing = tmp_path / "landing"
    gbk = (SERVICE + GOOD_ROW + "R2,2024-01-06,600,LSVAU2180N2183291,李强,13800138002\n").encode("gbk")
    write_file(landing, "D01/service/cut.csv", "")
    (landing / "D01/service/cut.csv").write_bytes(gbk[:-3] + "张".encode("gbk")[:1])  # cut mid-character
    mixed = SERVICE.encode("utf-8") + "R1,2024-01-05,1,V,王芳,138\n".encode() + "R2,2024-01-05,1,V,李强,139\n".encode("gbk")
    (landing / "D01/service/mixed.csv").write_bytes(mixed)
    (landing / "D02/service").mkdir(parents=True)
    (landing / "D02/service/utf16.csv").write_bytes((SERVICE + GOOD_ROW).encode("utf-16"))
    out = tmp_path / "out"
    result = run_pipeline(landing, out)
    assert _conserved(result)
    manifest = _manifest(out)
    for name in ("D01/service/cut.csv", "D01/service/mixed.csv"):
        row = manifest[name]
        assert (row["status"], row["rows_read"], row["rows_rejected"]) == ("failed", 2, 2), name
        assert row["error"].startswith(f"{name}: not UTF-8, UTF-16 or GBK text")
    assert "another encoding" in manifest["D01/service/mixed.csv"]["error"]
    assert (manifest["D02/service/utf16.csv"]["encoding"], manifest["D02/service/utf16.csv"]["rows_loaded"]) == (
        "utf-16", 1)
    assert query(out, "select count(*) from ingest.rejects where reason = 'file_failed'") == [(4,)]


def test_files_that_are_not_read_are_listed_as_ignored_with_the_reason(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)
    for name in ("D01/service/ro.zip", "D01/service/notes.txt", "D01/service/archive/ro_2019.csv",
                 "D01/Sales/s.csv", "D01/readme.csv", "stray.csv"):
        write_file(landing, name, "x\n")
    os.symlink("/etc/passwd", landing / "D01/service/passwd.csv")
    out = tmp_path / "out"
    assert main(["run", "--input", str(landing), "--output", str(out)]) == 0
    manifest = _manifest(out)
    reasons = {name: row["error"] for name, row in manifest.items() if row["status"] == "ignored"}
    assert reasons == {
        "D01/Sales/s.csv": "folder 'Sales' is not one of sales, service, contacts (lower case)",
        "D01/readme.csv": "not in a sales, service, contacts folder of its dealer",
        "D01/service/archive/ro_2019.csv": "in a subfolder of service/: only the files directly in it are read",
        "D01/service/notes.txt": "not a CSV or XLSX export (.txt)",
        "D01/service/passwd.csv": "a link that leads out of the landing folder: not read",
        "D01/service/ro.zip": "not a CSV or XLSX export (.zip)",
        "stray.csv": "not in a dealer folder (the top holds only dealers.csv and suppression.csv)",
    }
    assert manifest["D01/service/ro.csv"]["status"] == "loaded"
    assert query(out, "select count(*) from ingest.rejects where raw like '%root:%'") == [(0,)]
    printed = capsys.readouterr().out
    assert "7 ignored" in printed and "ignored: D01/service/passwd.csv: a link that leads out" in printed


def test_an_xlsx_export_is_read_like_a_csv(tmp_path):
    landing = tmp_path / "landing"
    (landing / "D01/sales").mkdir(parents=True)
    pl.DataFrame({"销售单号": ["XS1"], "开票日期": ["2024-03-01"], "开票金额": ["198000"],
                  "车架号": ["LSVAU2180N2183291"], "手机号码": ["13800138001"]}).write_excel(landing / "D01/sales/s.xlsx")
    out = tmp_path / "out"
    run_pipeline(landing, out)
    assert query(out, "select sale_id, sale_date::varchar, sale_amount::integer, mobile from clean.sales") == [
        ("XS1", "2024-03-01", 198000, "13800138001")]
    assert _manifest(out)["D01/sales/s.xlsx"]["encoding"] == "xlsx"


def test_an_input_folder_without_dealer_folders_exits_with_a_message(tmp_path, capsys):
    (tmp_path / "landing").mkdir()
    write_file(tmp_path / "landing", "dealers.csv", "dealer_code\nD01\n")
    assert main(["run", "--input", str(tmp_path / "landing"), "--output", str(tmp_path / "out")]) == 2
    assert "holds no dealer folder" in capsys.readouterr().err
    assert not (tmp_path / "out" / "marts").exists()


@pytest.mark.parametrize("case", ["as_of_years_later", "one_dealer_one_year", "generated_300", "one_sample_dealer"])
def test_models_never_crash_a_run(tmp_path, case):
    """Every model fit has a fallback: CLV a looser tolerance or a penalizer, Splink the rules alone
    (one dealer's folder: every pair shares the dealer code), churn no scores."""
    landing, as_of = tmp_path / "landing", ""
    if case == "generated_300":
        generate_landing(landing, tmp_path / "truth", 2, 300, seed=4)
    elif case == "one_sample_dealer":
        shutil.copytree(SAMPLE / "SH001", landing / "SH001")
    else:
        rows = [f"R{i},2024-{1 + i % 12:02d}-{1 + i % 27:02d},{100 + i},LSVAU2180N21{i:05d},客户{i},138{i:08d}"
                for i in range(60)]
        write_file(landing, "D01/service/ro.csv", SERVICE + "\n".join(rows) + "\n")
        as_of = "2031-06-30" if case == "as_of_years_later" else ""
    out = tmp_path / "out"
    run_pipeline(landing, out, as_of=as_of)
    assert pq.read_table(out / "marts" / "customer_360.parquet").num_rows > 0
    assert pq.read_table(out / "marts" / "segment_members.parquet").num_rows > 0


def test_a_suppression_list_without_its_header_suppresses_its_first_number(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE.replace("mobile", "mobile,marketing_consent")
               + GOOD_ROW.replace("\n", ",是\n"))
    write_file(landing, "suppression.csv", "138 0013 8001\n")
    out = tmp_path / "out"
    run_pipeline(landing, out)
    assert query(out, "select why_not_contactable from marts.segment_members") == [("suppressed",)]


def test_a_file_without_a_header_never_shows_its_first_row(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_file(landing, "D01/sales/s.csv", "XS1,2024-03-01,198000,LSVAU2180N2183291,张三丰,13800138001,"
                                         "11010519491231002X\n")
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)
    out = tmp_path / "out"
    assert main(["run", "--input", str(landing), "--output", str(out)]) == 0
    error = _manifest(out)["D01/sales/s.csv"]["error"]
    assert error == ("D01/sales/s.csv: missing required column(s) sale_id, sale_date, sale_amount, vin "
                     "(a header of 7 fields; recognised: none)")
    assert _manifest(out)["D01/sales/s.csv"]["unknown_columns"] is None
    printed = capsys.readouterr()
    for value in ("张三丰", "13800138001", "11010519491231002X"):
        assert value not in printed.out + printed.err
        assert value not in json.dumps(query(out, "select * from ingest.load_manifest"), default=str)


def test_an_edit_that_keeps_size_and_modification_time_is_still_read(tmp_path):
    landing = tmp_path / "landing"
    path = write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)
    out = tmp_path / "out"
    run_pipeline(landing, out)
    stat = path.stat()
    time.sleep(0.01)
    path.write_bytes(path.read_bytes().replace(b"500", b"700"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    run_pipeline(landing, out)
    assert query(out, "select total_amount::integer from clean.repair_orders") == [(700,)]


def test_marts_are_published_as_one_set(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)
    out = tmp_path / "out"
    first = run_pipeline(landing, out)
    marts = out / "marts"
    assert marts.is_symlink() and marts.resolve().name == first.run_id
    manifest = json.loads((marts / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == first.run_id
    assert sorted(p.name for p in marts.glob("*.parquet")) == sorted(f"{m}.parquet" for m in manifest["marts"])
    # a second run that stops before publishing (its marts half written) leaves the first set in place
    half = out / "marts_runs" / "killed-run"
    half.mkdir()
    (half / "customer_360.parquet").write_bytes(b"half")
    assert marts.resolve().name == first.run_id
    second = run_pipeline(landing, out)
    assert marts.resolve().name == second.run_id
    assert json.loads((marts / "_manifest.json").read_text(encoding="utf-8"))["run_id"] == second.run_id


def test_operational_faults_get_a_one_line_message(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)
    out = tmp_path / "out"
    run_pipeline(landing, out)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(out / "warehouse.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["run", "--input", str(landing), "--output", str(out)]) == 2
    finally:
        holder.kill()
    assert "is in use by another run" in capsys.readouterr().err
    assert main(["generate", "--out", str(tmp_path / "g"), "--dealers", "0", "--customers", "10"]) == 2
    assert "--dealers and --customers must be at least 1" in capsys.readouterr().err


def test_formula_like_cells_of_the_segment_export_are_text(tmp_path):
    from exports.files import write_rows

    rows = pl.DataFrame({"customer_name": ["=cmd|' /C calc'!A0", "王芳"], "mobile": ["13800138001", "+8613800138002"]})
    write_rows(rows, tmp_path / "list.csv", lang="en")
    assert pl.read_csv(tmp_path / "list.csv", infer_schema=False).rows() == [
        ("'=cmd|' /C calc'!A0", "13800138001"), ("王芳", "'+8613800138002")]


def test_a_settings_file_reaches_the_run_and_a_bad_one_stops_it_with_one_line(tmp_path, capsys):
    landing, out = tmp_path / "landing", tmp_path / "out"
    write_file(landing, "D01/service/ro.csv", SERVICE + GOOD_ROW)  # no consent column: consent unknown
    contactable = "select contactable, why_not_contactable from marts.segment_members"
    assert main(["run", "--input", str(landing), "--output", str(out)]) == 0
    assert query(out, contactable) == [(False, "consent_unknown")]
    settings = write_file(tmp_path, "settings.yaml", "marketing:\n  unknown_consent_contactable: true\n")
    assert main(["run", "--input", str(landing), "--output", str(out), "--settings", str(settings)]) == 0
    assert query(out, contactable) == [(True, None)]

    write_file(tmp_path, "bad.yaml", "analytics:\n  a_share: 0.99\n")
    capsys.readouterr()
    assert main(["run", "--input", str(landing), "--output", str(out), "--settings", str(tmp_path / "bad.yaml")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("crm run: --settings") and error.count("\n") == 1
