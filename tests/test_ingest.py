"""Ingestion through Dagster on small landing folders written by hand: the ingest stage alone,
except where the marts are what is compared."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from assets.ingest.parsing import expose_checked
import landing.catalog as landing_catalog
import sql
from landing.catalog import catalog_landing
from tests.conftest import SAMPLE, query, run_pipeline, run_stages, write_file

GBK_SALES = (
    "销售单号;开票日期;开票金额;车架号;客户姓名;手机号码;身份证号;新旧车\r\n"
    "XS001;2023/1/5;￥212,300.00;1M8GDM9AXKP042788;张伟;+86 138-0013-8000;11010519491231002X;新车\r\n"
    "XS002;2023/2/7;RMB 98000;1HGCM82633A004352;王芳;0086 13900139000;;二手车\r\n"
)
BOM_SERVICE = (
    "\ufeffRONumber\tOpenDate\tTotalSale\tVIN\tFirstName\tLastName\tCellPhone\tROType\tLaborType\n"
    "RO1\t01/13/2024\t1,250.00\t1M8GDM9AXKP042788\tWei\tZhang\t(+86)13800138000\tmaintenance\tC\n"
    "\n"
    "RO2\t02/01/2024\t0\t1HGCM82633A004352\tFang\tWang\t139 0013 9000\twarranty\tW\n"
    "RO3\t02/02/2024\t300\t1HGCM82633A004352\tFang\tWang\t139 0013 9000\trepair\tC\textra\n"
    "RO4\t2024-02-30\t300\t1HGCM82633A004352\tFang\tWang\t\trepair\tC\n"
    "RO5\t02/03/2024\t-20\t1HGCM82633A004352\tFang\tWang\t\trepair\tC\n"
    "RO6\t02/04/2024\t20\t\tFang\tWang\t\trepair\tC\n"
)


@pytest.fixture
def landing(tmp_path):
    root = tmp_path / "landing"
    write_file(root, "D01/sales/sales_2023.csv", GBK_SALES, encoding="gbk")
    write_file(root, "D01/service/ro_2024.csv", BOM_SERVICE)
    return root


def test_gbk_semicolon_sales_load_typed(landing, tmp_path):
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    rows = query(out, "select sale_id, sale_date, sale_amount, vin_valid, customer_name, mobile, id_valid, "
                      "id_birth_date, new_or_used, source_row from clean.sales order by sale_id")
    assert [r[:6] for r in rows] == [
        ("XS001", __import__("datetime").date(2023, 1, 5), Decimal("212300.00"), True, "张伟", "13800138000"),
        ("XS002", __import__("datetime").date(2023, 2, 7), Decimal("98000.00"), True, "王芳", "13900139000"),
    ]
    assert rows[0][6:] == (True, __import__("datetime").date(1949, 12, 31), "new", 1)
    assert rows[1][8:] == ("used", 2)
    manifest = query(out, "select encoding, delimiter, status from ingest.load_manifest where source = 'sales'")
    assert manifest == [("gbk", ";", "loaded")]


def test_bom_tab_service_rows_and_rejects(landing, tmp_path):
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    clean = query(out, "select ro_number, source_row, open_date, total_amount, customer_name, mobile, service_type, "
                       "pay_type from clean.repair_orders order by ro_number")
    assert clean == [
        ("RO1", 1, __import__("datetime").date(2024, 1, 13), Decimal("1250.00"), "Wei Zhang", "13800138000",
         "maintenance", "customer"),
        ("RO2", 3, __import__("datetime").date(2024, 2, 1), Decimal("0.00"), "Fang Wang", "13900139000",
         "warranty", "warranty"),
    ]
    rejects = query(out, "select source_row, reason, raw from ingest.rejects where source = 'service' order by source_row")
    assert [(r[0], r[1]) for r in rejects] == [
        (2, "blank_line"), (4, "wrong_field_count"), (5, "bad_date"), (6, "negative_amount"), (7, "missing_required"),
    ]
    assert rejects[1][2].endswith("\trepair\tC\textra")
    manifest = query(out, "select encoding, delimiter, rows_read, rows_loaded, rows_rejected from ingest.load_manifest "
                          "where source = 'service'")
    assert manifest == [("utf-8-bom", "\t", 7, 2, 5)]


def test_redelivered_identical_file_loads_once(landing, tmp_path):
    out = tmp_path / "out"
    (landing / "D01/sales/sales_2023 copy.csv").write_bytes((landing / "D01/sales/sales_2023.csv").read_bytes())
    run_stages(landing, out, "ingest")
    assert query(out, "select count(*) from clean.sales") == [(2,)]
    statuses = query(out, "select file_name, status, duplicate_of, rows_read from ingest.load_manifest "
                          "where source = 'sales' order by file_name")
    assert statuses == [
        ("D01/sales/sales_2023 copy.csv", "loaded", None, 2),
        ("D01/sales/sales_2023.csv", "skipped", "D01/sales/sales_2023 copy.csv", 0),
    ]


def test_changed_file_replaces_its_earlier_rows(landing, tmp_path):
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    write_file(landing, "D01/sales/sales_2023.csv",
               "sale_id,sale_date,sale_amount,vin\nXS009,2023-03-01,100,1M8GDM9AXKP042788\n")
    run_stages(landing, out, "ingest")
    assert query(out, "select sale_id, sale_amount from clean.sales") == [("XS009", Decimal("100.00"))]
    assert query(out, "select count(*), sum(rows_read) from ingest.load_manifest where source = 'sales'") == [(1, 1)]


def test_unchanged_files_are_not_read_again(landing, tmp_path, monkeypatch):
    utf8 = tmp_path / "utf8"
    first = catalog_landing(landing, utf8)
    copy = Path(first.filter(pl.col("source") == "sales")["read_path"][0])  # the GBK file's UTF-8 copy
    assert copy.parent == utf8 and copy.is_file()
    inspected = []
    monkeypatch.setattr(landing_catalog, "inspect_file", lambda entry, _: inspected.append(entry.file_name))
    assert catalog_landing(landing, utf8, first).equals(first)
    assert inspected == [] and copy.is_file()

    sales = landing / "D01/sales/sales_2023.csv"
    os.utime(sales, ns=(sales.stat().st_atime_ns, sales.stat().st_mtime_ns + 10**9))
    monkeypatch.undo()
    again = catalog_landing(landing, utf8, first)
    assert again.drop("inspection_key").equals(first.drop("inspection_key"))
    assert (again["inspection_key"] != first["inspection_key"]).to_list() == [True, False]  # sales read again
    sales.unlink()
    assert catalog_landing(landing, utf8, again)["file_name"].to_list() == ["D01/service/ro_2024.csv"]
    assert not copy.exists()


def test_rerun_on_same_input_changes_nothing(landing, tmp_path):
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    first = query(out, "select * from clean.repair_orders order by ro_number")
    again = run_stages(landing, out, "ingest")
    assert query(out, "select * from clean.repair_orders order by ro_number") == first
    # nothing to parse: no dealer partition runs, and the clean tables are built from the kept rows
    assert not [e.partition for e in again.get_asset_materialization_events() if e.partition]
    assert {e.asset_key.to_user_string() for e in again.get_asset_materialization_events()} >= {
        "ingest/landing_files", "clean/repair_orders"}


def test_missing_required_column_fails_that_file_alone(landing, tmp_path):
    write_file(landing, "D02/service/broken.csv", "ro_number,total_amount,vin\nR1,10,1M8GDM9AXKP042788\nR2,5,X\n")
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    failed = query(out, "select status, error, rows_read, rows_rejected from ingest.load_manifest "
                        "where file_name = 'D02/service/broken.csv'")
    assert failed[0][0] == "failed"
    assert "D02/service/broken.csv" in failed[0][1] and "open_date" in failed[0][1]
    assert failed[0][2:] == (2, 2)
    assert query(out, "select distinct reason from ingest.rejects where file_name = 'D02/service/broken.csv'") == [
        ("file_failed",)]
    assert query(out, "select count(*) from clean.repair_orders") == [(2,)]


def test_duplicate_record_keeps_the_row_of_the_file_loaded_last(landing, tmp_path):
    write_file(landing, "D01/service/ro_2024_resend.csv",
               "ro_number,open_date,total_amount,vin\nRO1,2024-01-13,1300.00,1M8GDM9AXKP042788\n")
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    assert query(out, "select total_amount, file_name from clean.repair_orders where ro_number = 'RO1'") == [
        (Decimal("1300.00"), "D01/service/ro_2024_resend.csv")]
    assert query(out, "select file_name, source_row, reason from ingest.rejects where reason = 'duplicate_record'") == [
        ("D01/service/ro_2024.csv", 1, "duplicate_record")]


def test_row_filed_under_another_dealer_is_rejected(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D03/service/a.csv",
               "dealer_code,ro_number,open_date,total_amount,vin\nD03,R1,2024-01-01,1,V\nD04,R2,2024-01-01,1,V\n")
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    assert query(out, "select ro_number from clean.repair_orders") == [("R1",)]
    assert query(out, "select source_row, reason from ingest.rejects") == [(2, "dealer_mismatch")]


def test_day_first_is_learnt_from_the_file(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D05/service/a.csv",
               "ro_number,open_date,total_amount,vin\nR1,05/01/2024,1,V\nR2,25/01/2024,1,V\n")
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    dates = query(out, "select ro_number, open_date from clean.repair_orders order by 1")
    assert [d.isoformat() for _, d in dates] == ["2024-01-05", "2024-01-25"]


def test_rows_conserved_check_passes(landing, tmp_path):
    result = run_stages(landing, tmp_path / "out", "ingest")
    evaluations = result.get_asset_check_evaluations()
    assert ("rows_conserved", True) in [(e.check_name, e.passed) for e in evaluations]


def test_rows_conserved_check_fails_when_a_file_loses_its_rows(landing, tmp_path):
    out = tmp_path / "out"
    run_stages(landing, out, "ingest")
    for kept in (out / "checked" / "service").rglob("rows_*.parquet"):
        kept.unlink()
    with duckdb.connect(str(out / "warehouse.duckdb")) as con:
        expose_checked(con, "service", out / "checked", out / "parse_inputs")
        sql.build(con, "ingest.load_manifest")
        unbalanced = sql.query(con, "checks/rows_conserved").fetchall()
    assert [(row[0], row[1], row[2]) for row in unbalanced] == [("D01/service/ro_2024.csv", 7, 0)]


def test_utf8_copies_in_use_stay_whatever_the_spelling_of_the_output_folder(landing, tmp_path, monkeypatch):
    first = catalog_landing(landing, tmp_path / "out" / "utf8")
    monkeypatch.chdir(tmp_path)
    again = catalog_landing(landing, Path("out/utf8"), first)
    assert all(Path(p).is_file() for p in again["read_path"].drop_nulls())


def _metadata(result, asset: str) -> dict:
    """The metadata of a run's materialization of `asset`."""
    (metadata,) = [e.materialization.metadata for e in result.get_asset_materialization_events()
                   if e.asset_key.to_user_string() == asset]
    return metadata


def _model(result) -> dict:
    """The metadata of the run's identity/linkage_model step."""
    return _metadata(result, "identity/linkage_model")


def _ingested(result, source: str) -> tuple[int, int]:
    """(dealers parsed, dealers left as they were) in a run's materialization of a checked table."""
    (metadata, *_) = [e.materialization.metadata for e in result.get_asset_materialization_events()
                      if e.asset_key.to_user_string() == f"intermediate/{source}_checked"]
    return metadata["dealers_ingested"].value, metadata["dealers_unchanged"].value


def test_a_new_monthly_file_reparses_only_its_dealer_and_gives_the_marts_of_a_full_run(tmp_path):
    """A run that parses the dealers whose files changed, builds their signatures and scores only
    the signatures they changed publishes the marts of a run that parses, builds and scores
    everything again (--full) from the same history and with the same model file."""
    landing, incremental, full = tmp_path / "landing", tmp_path / "incremental", tmp_path / "full"
    shutil.copytree(SAMPLE, landing)
    monthly = landing / "CD004/service/service_2026.csv"
    header, *rows = monthly.read_text(encoding="utf-8").splitlines(keepends=True)
    monthly.write_text(header + "".join(rows[:-40]), encoding="utf-8")
    instance = dg.DagsterInstance.ephemeral()
    first = run_pipeline(landing, incremental, as_of="2026-06-30", instance=instance)
    assert _ingested(first, "service") == (6, 0) and _ingested(first, "sales") == (6, 0)
    shutil.copytree(incremental, full)

    write_file(landing, "CD004/service/service_2026_06.csv", header + "".join(rows[-40:]))
    (landing / "BJ002/service/service_2024_resend.csv").unlink()
    second = run_pipeline(landing, incremental, as_of="2026-06-30", instance=instance)
    # the run covers the dealer partitions from the first to the last with rows to parse (BJ002, CD004)
    assert _ingested(second, "service") == (2, 0) and _ingested(second, "sales") == (0, 2)
    assert sorted(e.partition for e in second.get_asset_materialization_events()
                  if e.asset_key.to_user_string() == "intermediate/service_checked") == ["BJ002", "CD004"]

    # the same output history (customer ids carry over between runs), everything parsed and scored again
    everything = run_pipeline(landing, full, as_of="2026-06-30", full=True)
    assert _ingested(everything, "service") == (6, 0)
    built = {run: (m["dealers_built"].value, m["dealers_unchanged"].value) for run, m in (
        ("second", _metadata(second, "identity/signatures")), ("everything", _metadata(everything, "identity/signatures")))}
    assert built == {"second": (2, 4), "everything": (6, 0)}
    signatures = query(full, "select count(*) from identity.signatures")[0][0]
    scored, carried = (_metadata(second, "identity/profile_links")[k].value for k in ("signatures_scored",
                                                                                      "pairs_carried_over"))
    assert 2 <= scored < signatures / 2 and carried > 0
    assert _metadata(everything, "identity/profile_links")["signatures_scored"].value == signatures
    clustered = _metadata(second, "identity/rule_clusters")["signatures_clustered"].value
    assert 0 < clustered < signatures / 2
    assert _metadata(everything, "identity/rule_clusters")["signatures_clustered"].value == signatures
    by_dealer = {asset: [tuple(_metadata(run, asset)[k].value for k in ("dealers_built", "dealers_unchanged"))
                         for run in (second, everything)]
                 for asset in ("identity/contacts", "identity/identity_crosswalk")}
    assert all(2 <= incremental_built < 6 and built_all == (6, 0)
               for (incremental_built, _), built_all in by_dealer.values())
    # both score with the CLV model the first run fitted; the new month is dated after as-of, so
    # the backtest's rows are the first run's: the second run takes its two fits, --full fits them again
    assert [_metadata(r, "analytics/clv")["fitted"].value for r in (first, second, everything)] == [True, False, False]
    assert {run: _metadata(r, "analytics/clv_holdout")["fits_kept"].value
            for run, r in (("second", second), ("everything", everything))} == {"second": 2, "everything": 0}
    customers = query(full, "select count(*) from identity.customers")[0][0]
    assert 0 < _metadata(second, "identity/customers")["customers_built"].value < customers / 2
    assert _metadata(everything, "identity/customers")["customers_built"].value == customers
    for name in ("clean.repair_orders", "clean.sales", "ingest.rejects", "ingest.load_manifest",
                 "identity.signatures", "identity.rule_edges", "identity.rule_clusters",
                 "identity.scored_signature_pairs", "identity.signature_links", "identity.customers",
                 "identity.contacts", "identity.identity_crosswalk"):
        assert query(incremental, f"select * from {name} order by all") == query(full, f"select * from {name} order by all"), name
    for path in sorted((full / "marts").glob("*.parquet")):
        assert pq.read_table(path).equals(pq.read_table(incremental / "marts" / path.name)), path.name
    # both scored with the model the first run trained: the same model file, the same marts
    assert not _model(second)["trained"].value and not _model(everything)["trained"].value
    manifests = [json.loads((out / "marts" / "_manifest.json").read_text()) for out in (incremental, full)]
    assert manifests[0]["linkage_model_sha256"] == manifests[1]["linkage_model_sha256"] == _model(first)["sha256"].value
    assert manifests[0]["clv_model_sha256"] == manifests[1]["clv_model_sha256"] \
        == _metadata(first, "analytics/clv")["model_sha256"].value


def test_dealers_parsed_by_two_runs_at_once_give_the_marts_of_one_run(tmp_path, sample_run):
    """The catalog in one run, the dealer partitions parsed by two runs in two processes at once
    (neither opens the warehouse), the rest in a third: the marts of one `crm run`."""
    from bench.dealer_runs import measure

    figures = measure(SAMPLE, tmp_path / "out", concurrent=2)
    assert figures["concurrent_dealer_runs"] == 2
    dealers = sorted(p.name for p in SAMPLE.iterdir() if p.is_dir())
    kept = sorted(p.name for p in (tmp_path / "out" / "checked" / "service").iterdir())
    assert kept == [f"dealer={d}" for d in dealers]
    marts = sorted((sample_run[0] / "marts").glob("*.parquet"))
    assert len(marts) == 10
    for path in marts:
        assert pq.read_table(path).equals(pq.read_table(tmp_path / "out" / "marts" / path.name)), path.name
