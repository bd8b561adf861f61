"""The staff's work lists: post-delivery follow-ups, service-due reminders and win-back, the
contact log that closes the loop, and `crm lists export`. Values computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow.parquet as pq
import pytest

import sql
from exports.files import neutralise_formulas
from models.settings import ActSettings
from pipelines.cli import main
from tests.conftest import query, run_pipeline, write_file

AS_OF = "2026-11-26"
SALES = "sale_id,sale_date,sale_amount,vin,customer_no,customer_name,mobile,new_or_used,salesperson,series,marketing_consent\n"
SERVICE = "ro_number,open_date,total_amount,vin,customer_no,customer_name,mobile,address,marketing_consent\n"


def _visits(prefix: str, first: dt.date, n: int, every_days: int, vin: str, who: str, amount: int) -> list[str]:
    return [f"{prefix}{i},{first + dt.timedelta(days=every_days * i)},{amount},{vin},{who}" for i in range(n)]


@pytest.fixture(scope="module")
def act_run(tmp_path_factory):
    """Two new-car deliveries around as-of with a contact log; four customers A01 lost (one to a
    dealer across town, one who moved to Beijing, one whose car was sold on, one who just left);
    one driver serviced at A01 once."""
    root = tmp_path_factory.mktemp("act")
    landing = root / "landing"
    write_file(landing, "dealers.csv", "dealer_code,dealer_name,city,brand\nA01,浦东店,上海,X\nA02,浦西店,上海,X\n"
                                       "B01,朝阳店,北京,X\n")
    write_file(landing, "A01/sales/sales.csv", SALES + "\n".join([
        "S1,2026-11-18,200000,LSVAU2180N2183201,C1,张三,13800000001,新车,李四,朗逸,是",
        "S2,2026-11-25,180000,LSVAU2180N2183202,C2,李娜,13800000002,新车,王五,速腾,是",
        "S3,2026-11-20,90000,LSVAU2180N2183203,C3,赵六,13800000003,二手车,李四,宝来,是",
    ]) + "\n")
    write_file(landing, "A01/contacts/log.csv", "contact_date,mobile,customer_no,outcome,purpose,sale_id,staff\n"
               "2026-11-19 10:30,13800000001,,已接通,交车回访,S1,李四\n"
               "2026-11-21,138 0000 0001,,未接通,交车回访,S1,李四\n"
               "2026-11-25,13800000002,,拒绝,营销,,王五\n")
    # the same first call again in a later export: one call, not two
    write_file(landing, "A01/contacts/log_resend.csv", "contact_date,mobile,customer_no,outcome,purpose,sale_id,staff\n"
               "2026-11-19 10:30,13800000001,,已接通,交车回访,S1,李四\n")
    write_file(landing, "B01/contacts/bad.csv", "contact_date,outcome,staff\n2026-11-01,reached,x\n2026-11-02,reached,y\n")
    a01 = [
        *(f"{row},上海市人民路1号,是" for row in _visits("W", dt.date(2021, 1, 10), 6, 180, "LSVAU2180N2183210",
                                                    "C10,王强,13800000010", 1000)),
        *(f"{row},上海市解放路2号,是" for row in _visits("M", dt.date(2021, 2, 1), 6, 180, "LSVAU2180N2183211",
                                                    "C11,陈明,13800000011", 800)),
        *(f"{row},上海市中山路3号,是" for row in _visits("V", dt.date(2020, 12, 1), 6, 150, "LSVAU2180N2183212",
                                                    "C12,周杰,13800000012", 2000)),
        *(f"{row},上海市南京路4号,是" for row in _visits("N", dt.date(2023, 6, 1), 7, 180, "LSVAU2180N2183212",
                                                    "C13,吴刚,13900000013", 900)),
        *(f"{row},上海市和平路5号,是" for row in _visits("U", dt.date(2021, 1, 5), 6, 170, "LSVAU2180N2183214",
                                                    "C14,孙丽,13800000014", 500)),
        "P1,2023-03-03,700,LSVAU2180N2183215,C15,郑涛,13800000015,上海市长江路6号,是",
    ]
    write_file(landing, "A01/service/ro.csv", SERVICE + "\n".join(a01) + "\n")
    write_file(landing, "A02/service/ro.csv", SERVICE + "\n".join(
        f"{row},上海市人民路1号,是" for row in _visits("X", dt.date(2024, 1, 10), 5, 180, "LSVAU2180N2183210",
                                                 "K10,王强,13800000010", 1100)) + "\n")
    write_file(landing, "B01/service/ro.csv", SERVICE + "\n".join(
        f"{row},北京市朝阳路3号,是" for row in _visits("Y", dt.date(2024, 3, 1), 5, 180, "LSVAU2180N2183211",
                                                 "B11,陈明,13800000011", 900)) + "\n")
    out = root / "out"
    run_pipeline(landing, out, as_of=AS_OF)
    return out


def _customer(out, customer_no: str) -> str:
    return query(out, "select distinct ids.customer_id from identity.records as r join identity.signature_ids as ids "
                      "using (signature_key) where r.customer_no = $no", {"no": customer_no})[0][0]


def test_a_delivery_has_four_calls_with_their_due_dates_and_statuses(act_run):
    rows = pq.read_table(act_run / "marts" / "follow_ups.parquet").to_pylist()
    steps = {(r["sale_id"], r["step"]): (str(r["due_date"]), r["status"], r["salesperson"]) for r in rows}
    assert steps == {
        ("S1", "24h"): ("2026-11-19", "done", "李四"),  # reached on its due day
        ("S1", "3d"): ("2026-11-21", "missed", "李四"),  # no answer: the window closed on 11-22
        ("S1", "7d"): ("2026-11-25", "overdue", "李四"),  # window open until 11-27
        ("S1", "30d"): ("2026-12-18", "upcoming", "李四"),
        ("S2", "24h"): ("2026-11-26", "due", "王五"),
        ("S2", "3d"): ("2026-11-28", "upcoming", "王五"),
        ("S2", "7d"): ("2026-12-02", "upcoming", "王五"),
        ("S2", "30d"): ("2026-12-25", "upcoming", "王五"),
    }  # S3 is a used car: no post-delivery calls
    done = [r for r in rows if r["status"] == "done"]
    assert [str(r["contacted_on"]) for r in done] == ["2026-11-19"]


def test_the_contact_log_obeys_the_nothing_lost_rules(act_run):
    manifest = {r["file_name"]: r for r in pq.read_table(act_run / "marts" / "load_manifest.parquet").to_pylist()}
    assert (manifest["A01/contacts/log.csv"]["rows_loaded"], manifest["A01/contacts/log.csv"]["rows_rejected"]) == (2, 1)
    assert manifest["A01/contacts/log_resend.csv"]["rows_loaded"] == 1
    bad = manifest["B01/contacts/bad.csv"]
    assert bad["status"] == "failed" and bad["rows_rejected"] == 2
    assert bad["error"].startswith("B01/contacts/bad.csv: missing required column(s) mobile or customer_no")
    reasons = query(act_run, "select file_name, source_row, reason from ingest.rejects where source = 'contacts' "
                             "order by all")
    assert reasons == [("A01/contacts/log.csv", 1, "duplicate_record"), ("B01/contacts/bad.csv", 1, "file_failed"),
                       ("B01/contacts/bad.csv", 2, "file_failed")]
    crosswalk = query(act_run, "select source_row, customer_id is not null, match_rule from identity.identity_crosswalk "
                               "where source = 'contacts' order by file_name, source_row")
    assert crosswalk == [(2, True, "contact_sale_id"), (3, True, "contact_mobile"), (1, True, "contact_sale_id")]


def test_a_refusal_in_the_contact_log_makes_the_customer_not_contactable_there(act_run):
    members = {(r["customer_id"], r["dealer_code"]): r["why_not_contactable"]
               for r in pq.read_table(act_run / "marts" / "segment_members.parquet").to_pylist()}
    assert members[(_customer(act_run, "C2"), "A01")] == "contact_refused"
    assert members[(_customer(act_run, "C1"), "A01")] is None


def test_lost_customers_and_why_they_left(act_run):
    rows = pq.read_table(act_run / "marts" / "win_back.parquet").to_pylist()
    lost = {r["customer_id"]: r for r in rows if r["dealer_code"] == "A01"}
    by_no = {no: lost.get(_customer(act_run, no)) for no in ("C10", "C11", "C12", "C13", "C14", "C15")}
    assert by_no["C13"] is None  # the car's next owner still comes
    assert by_no["C15"] is None  # serviced once while passing through: never A01's customer
    assert (by_no["C10"]["reason"], by_no["C10"]["other_dealer_code"]) == ("serviced_elsewhere", "A02")
    assert (by_no["C11"]["reason"], by_no["C11"]["other_dealer_code"]) == ("moved", "B01")
    assert (by_no["C12"]["reason"], by_no["C12"]["vehicle_sold"]) == ("vehicle_sold", True)
    assert (by_no["C14"]["reason"], by_no["C14"]["other_dealer_code"]) == ("unknown", None)
    # value in the 36 months up to the last visit at A01; moved customers are called last
    assert [float(by_no[no]["value_36m"]) for no in ("C10", "C11", "C12", "C14")] == [6000.0, 4800.0, 12000.0, 3000.0]
    assert [by_no[no]["priority"] for no in ("C12", "C10", "C14", "C11")] == [1, 2, 3, 4]
    assert str(by_no["C12"]["last_seen"]) == "2022-12-21" and by_no["C12"]["last_visit_type"] == "repair"
    assert all(r["contactable"] for r in by_no.values() if r)
    assert not any(r["dealer_code"] == "A02" for r in rows)  # C10 is still A02's customer


def test_the_scorecard_measures_the_routines(act_run):
    rows = {r["dealer_code"]: r for r in pq.read_table(act_run / "marts" / "dealer_scorecard.parquet").to_pylist()}
    # S1's 24h call done, its 3d call missed; every other window is still open
    assert rows["A01"]["follow_up_completion"] == rows["ALL"]["follow_up_completion"] == 0.5
    assert (rows["A01"]["follow_ups_open"], rows["A01"]["win_back_list"]) == (2, 4)


def _service_tables(con):
    """Four vehicles at one dealer: one due by mileage, one by time, one new car before its first
    service, one not serviced for over two intervals (left to win-back)."""
    con.execute("create schema intermediate; create schema identity; create schema ingest")
    con.execute("create table ingest.dealers as select 'D1' as dealer_code, 'X' as brand")
    con.execute("""create table intermediate.service_checked as select *, null::varchar as reject_reason from (values
        ('M', 'D1', 'R1', date '2026-01-10', 10000, 'maintenance', '甲', 'A1'),
        ('M', 'D1', 'R2', date '2026-04-10', 16300, 'repair', '乙', 'A1'),
        ('T', 'D1', 'R3', date '2025-12-10', 30000, 'maintenance', '甲', 'A2'),
        ('T', 'D1', 'R4', date '2026-06-08', 31800, 'repair', '甲', 'A2'),
        ('D', 'D1', 'R5', date '2026-10-21', 600, 'repair', '乙', 'A3'),
        ('O', 'D1', 'R6', date '2024-01-05', null, 'maintenance', '乙', 'A4'))
        t(vin, dealer_code, ro_number, open_date, mileage_km, service_type, advisor, plate)""")
    con.execute("""create table intermediate.sales_checked as select *, null::varchar as reject_reason from (values
        ('D', 'new', date '2026-10-01', null::varchar)) t(vin, new_or_used, sale_date, series)""")
    con.execute("""create table identity.vehicles as select * from (values
        ('M', 1, 'first owner', date '2025-01-01'), ('M', 2, 'next owner', date '2026-04-10'),
        ('T', 1, 't owner', date '2025-12-10'), ('D', 1, 'd owner', date '2026-10-01'),
        ('O', 1, 'o owner', date '2024-01-05')) t(vin, owner_seq, customer_id, owned_from)""")


def _service_due(con, **overrides) -> dict[str, dict]:
    settings = ActSettings()
    params = {"cutoff": dt.date(2026, 11, 26), "intervals": [i.model_dump() for i in settings.service_intervals],
              "prior_strength": settings.mileage_prior_strength, "min_model_vehicles": settings.min_model_vehicles,
              "default_km_per_day": settings.default_km_per_day, "due_soon_days": settings.due_soon_days,
              "left_after_intervals": settings.left_to_win_back_intervals, **overrides}
    return {row["vin"]: row for row in sql.query(con, sql.table_file("act.service_due"), **params).pl()
            .iter_rows(named=True)}


def test_the_next_maintenance_is_due_by_time_or_mileage_whichever_is_first(con):
    _service_tables(con)
    due = _service_due(con)
    # own rates: M 6300 km / 90 days = 70, T 1800 / 180 = 10, D 600 / 20 = 30 (from 0 km at delivery);
    # network median 30, worth two intervals: M (70 + 60) / 3, T (10 + 60) / 3, D (30 + 60) / 3
    assert {vin: round(row["km_per_day"], 2) for vin, row in due.items()} == {"M": 43.33, "T": 23.33, "D": 30.0}
    assert "O" not in due  # not serviced for over 24 months: a win-back case
    m, t, d = due["M"], due["T"], due["D"]
    # M: 20,000 km due, 16,300 on 2026-04-10, 3,700 km at 43.33 km/day = 86 days; time would be 2027-01-10
    assert (str(m["next_due_date"]), m["due_by"], m["status"]) == ("2026-07-05", "mileage", "overdue")
    assert (m["customer_id"], m["last_mileage_km"], m["advisor"]) == ("next owner", 16300, "乙")
    # T: 12 months after its maintenance come before 8,200 km at 23.33 km/day (352 days)
    assert (str(t["next_due_date"]), t["due_by"], t["status"]) == ("2026-12-10", "time", "due_30d")
    assert str(t["mileage_due_date"]) == "2027-05-26"
    # D: first service after delivery, 6 months or 5,000 km: 4,400 km at 30 km/day = 147 days
    assert (d["base"], str(d["next_due_date"]), d["due_by"], d["status"]) == ("delivery", "2027-03-17", "mileage",
                                                                              "not_due")
    assert str(d["time_due_date"]) == "2027-04-01"


def test_a_brand_schedule_replaces_the_default_for_its_dealers(con):
    _service_tables(con)
    short = [{"brand": "X", "first_months": 3, "first_km": 3000, "months": 6, "km": 8000},
             {"brand": None, "first_months": 6, "first_km": 5000, "months": 12, "km": 10000}]
    due = _service_due(con, intervals=short)
    assert str(due["D"]["next_due_date"]) == "2027-01-01"  # 3 months after 2026-10-01, before 3,000 km
    assert (str(due["T"]["next_due_date"]), due["T"]["due_by"]) == ("2026-06-10", "time")


def test_lists_export_a_call_list_of_contactable_customers(act_run, tmp_path, capsys):
    target = tmp_path / "calls.csv"
    assert main(["lists", "export", "follow-ups", "--output", str(act_run), "--to", str(target), "--lang", "en"]) == 0
    rows = pl.read_csv(target, infer_schema=False)
    assert rows.select("priority", "customer_name", "mobile", "vehicle", "due_date", "reason", "staff").rows() == [
        ("1", "张三", "13800000001", "朗逸", "2026-11-25", "7d follow-up (overdue)", "李四")]
    assert "left out 1 not contactable (contact_refused 1)" in capsys.readouterr().out
    assert main(["lists", "export", "follow-ups", "--output", str(act_run), "--to", str(target), "--staff", "王五",
                 "--due-within", "3", "--include-not-contactable", "--dealer", "a01", "--lang", "en"]) == 0
    rows = pl.read_csv(target, infer_schema=False)
    assert rows.select("customer_name", "due_date", "why_not_contactable").rows() == [
        ("李娜", "2026-11-26", "contact_refused"), ("李娜", "2026-11-28", "contact_refused")]
    assert main(["lists", "export", "win-back", "--output", str(act_run), "--to", str(target)]) == 0  # Chinese names
    rows = pl.read_csv(target, infer_schema=False)
    assert rows["客户姓名"].to_list() == ["周杰", "王强", "孙丽", "陈明"]
    assert rows["原因"].to_list() == ["vehicle_sold", "serviced_elsewhere (A02)", "unknown", "moved (B01)"]
    assert main(["lists", "export", "win-back", "--output", str(act_run), "--to", str(tmp_path / "x.xls")]) == 2
    assert "write .csv or .xlsx" in capsys.readouterr().err


def test_the_xlsx_list_has_a_frozen_header_and_a_filter(act_run, tmp_path):
    import zipfile

    target = tmp_path / "calls.xlsx"
    assert main(["lists", "export", "service-due", "--output", str(act_run), "--to", str(target),
                 "--include-not-contactable"]) == 0
    with zipfile.ZipFile(target) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        table = workbook.read("xl/tables/table1.xml").decode()
    assert 'ySplit="1"' in sheet and 'state="frozen"' in sheet and "<cols>" in sheet
    assert "<autoFilter" in table


def test_cells_that_look_like_formulas_are_written_as_text():
    rows = pl.DataFrame({"customer_name": ["=HYPERLINK(\"x\")", "+86", "-1", "@SUM(A1)", "王芳"], "n": [1, 2, 3, 4, 5]})
    assert neutralise_formulas(rows)["customer_name"].to_list() == [
        "'=HYPERLINK(\"x\")", "'+86", "'-1", "'@SUM(A1)", "王芳"]


def test_the_follow_up_windows_never_overlap():
    steps = ActSettings().follow_up_steps
    for earlier, later in zip(steps, steps[1:]):
        assert earlier.due_days + earlier.window_days <= later.due_days


def test_the_scorecard_ranks_follow_ups_as_the_generator_made_the_dealers(sample_run):
    """The generator gives each dealer its own diligence with post-delivery calls (and one no
    contact log at all): the scorecard must put them in that order."""
    from tests.conftest import SAMPLE_TRUTH

    out, _ = sample_run
    truth = pl.read_csv(SAMPLE_TRUTH / "dealer_quality.csv")
    scorecard = pl.read_parquet(out / "marts" / "dealer_scorecard.parquet").filter(pl.col("dealer_code") != "ALL")
    joined = truth.join(scorecard.select("dealer_code", "follow_up_completion", "follow_up_completion_rank"),
                        on="dealer_code")
    logged = joined.filter(pl.col("follow_up_rate").is_not_nan()).with_columns(
        truth_rank=pl.col("follow_up_rate").rank(descending=True), seen_rank=pl.col("follow_up_completion").rank(
            descending=True))
    n = logged.height
    spearman = 1 - 6 * ((logged["truth_rank"] - logged["seen_rank"]) ** 2).sum() / (n * (n * n - 1))
    assert spearman >= 0.8  # two dealers a few points apart may swap: a year of calls is a sample
    assert logged.sort("follow_up_rate")["dealer_code"][-1] == logged.sort("follow_up_completion")["dealer_code"][-1]
    without_log = joined.filter(pl.col("follow_up_rate").is_nan())
    assert without_log.height == 1 and without_log["follow_up_completion"].to_list() == [None]
    assert without_log["follow_up_completion_rank"].item() == scorecard.height


def test_the_work_list_marts_have_the_contract_columns(act_run):
    contract = {
        "follow_ups": {"dealer_code", "sale_id", "customer_id", "salesperson", "sale_date", "step", "due_date",
                       "status"},
        "service_due": {"vin", "customer_id", "dealer_code", "last_service_date", "last_mileage_km", "km_per_day",
                        "next_due_date", "due_by", "status"},
        "win_back": {"customer_id", "dealer_code", "last_seen", "reason", "other_dealer_code", "value_36m",
                     "priority", "contactable", "why_not_contactable"},
        "dealer_scorecard": {f"{kpi}{suffix}" for kpi in ("service_due_conversion", "leakage_rate",
                                                         "follow_up_completion", "win_back_rate")
                             for suffix in ("", "_rank")},
    }
    for mart, columns in contract.items():
        assert columns <= set(pq.read_schema(act_run / "marts" / f"{mart}.parquet").names), mart
    for mart in ("follow_ups", "service_due", "win_back"):  # pseudonymous: the lists join names and mobiles
        assert not {"customer_name", "mobile", "id_number"} & set(pq.read_schema(act_run / "marts" / f"{mart}.parquet").names)
