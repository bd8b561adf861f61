"""Marts: columns of the contract, no personal data in head-office marts, the model mart's
parameters, and identical marts from the same input and as-of."""

from __future__ import annotations

import json
import re

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import sql
from assets.marts.publish import publish_parquet
from tests.conftest import SAMPLE, query, run_pipeline, write_file

CUSTOMER_360 = ["customer_id", "home_dealer_code", "first_seen", "last_seen", "n_vehicles", "n_sales",
                "n_service_visits", "monetary_total", "recency_days", "frequency", "r_score", "f_score", "m_score",
                "rfm_segment", "abc_tier", "lifecycle_stage", "p_alive", "expected_visits_12m", "clv_12m",
                "churn_risk"]
CLV_MODEL = ["model", "param", "value", "time_unit", "n_customers", "calibration_end"]
SEGMENT_MEMBERS = ["customer_id", "dealer_code", "rfm_segment", "abc_tier", "lifecycle_stage", "clv_12m",
                   "customer_name", "mobile", "contactable", "why_not_contactable"]
DEALER_SCORECARD = ["dealer_code", "customers", "active_12m", "new", "stable", "churning", "lost", "retention_12m",
                    "service_revisit_rate", "a_tier_share", "avg_clv_12m"]
PERSONAL = {"customer_name", "mobile", "phone", "id_number", "address", "email", "birth_date"}
MOBILE_OR_ID = re.compile(r"1[3-9]\d{9}|\d{17}[\dX]")


def test_customer_360_has_the_contract_columns_and_one_row_per_customer(sample_run):
    out, _ = sample_run
    table = pq.read_table(out / "marts" / "customer_360.parquet")
    assert set(CUSTOMER_360) <= set(table.column_names)
    customers = query(out, "select count(*) from analytics.features")[0][0]
    ids = table["customer_id"].to_pylist()
    assert len(ids) == customers == len(set(ids)) and ids == sorted(ids)
    assert set(table["lifecycle_stage"].to_pylist()) == {"new", "stable", "churning", "lost"}
    assert set(table["abc_tier"].to_pylist()) == {"A", "B", "C"}
    assert pc.min(table["p_alive"]).as_py() >= 0 and pc.max(table["p_alive"]).as_py() <= 1
    assert pc.min(table["clv_12m"]).as_py() >= 0


def test_marketing_and_head_office_marts_have_the_contract_columns(sample_run):
    out, _ = sample_run
    members = pq.read_table(out / "marts" / "segment_members.parquet")
    assert set(SEGMENT_MEMBERS) <= set(members.column_names)
    pairs = list(zip(members["dealer_code"].to_pylist(), members["customer_id"].to_pylist(), strict=True))
    assert pairs == sorted(set(pairs))
    scorecard = pq.read_table(out / "marts" / "dealer_scorecard.parquet")
    assert set(DEALER_SCORECARD) <= set(scorecard.column_names)
    kpis = [c for c in DEALER_SCORECARD if c != "dealer_code"]
    assert {f"{kpi}_rank" for kpi in kpis} | {f"{kpi}_percentile" for kpi in kpis} <= set(scorecard.column_names)
    assert scorecard["dealer_code"].to_pylist() == ["BJ002", "CD004", "GZ003", "HZ005", "NJ006", "SH001", "ALL"]
    assert not PERSONAL & set(scorecard.column_names)
    rows = scorecard.to_pylist()
    assert sum(r["customers"] for r in rows[:-1]) == rows[-1]["customers"]


def test_customer_360_holds_no_name_mobile_or_id_number(sample_run):
    out, _ = sample_run
    table = pq.read_table(out / "marts" / "customer_360.parquet")
    assert not PERSONAL & set(table.column_names)
    names = {name for (name,) in query(out, "select customer_name from identity.customers where customer_name is not null")}
    for column in table.column_names:
        if table[column].type == "string":
            values = set(table[column].to_pylist())
            assert not {v for v in values if v and MOBILE_OR_ID.search(v)}, column
            assert not values & names, column


def test_clv_model_holds_the_fitted_parameters_and_backtests(sample_run):
    out, _ = sample_run
    table = pq.read_table(out / "marts" / "clv_model.parquet")
    assert set(CLV_MODEL) <= set(table.column_names)
    rows = table.to_pylist()
    fitted = {(r["model"], r["param"]) for r in rows if r["kind"] == "parameter"}
    assert fitted == {("bgnbd", p) for p in ("r", "alpha", "a", "b")} | {("gamma_gamma", p) for p in "pqv"}
    assert {r["time_unit"] for r in rows if r["kind"] == "parameter"} == {"weeks"}
    assert {r["param"] for r in rows if r["kind"] == "holdout_metric"} >= {"mae_visits", "aggregate_error",
                                                                          "top_decile_lift"}
    assert {r["model"] for r in rows if r["kind"] == "backtest_metric"} == {"churn_classifier", "bgnbd_p_alive",
                                                                           "random"}


@pytest.mark.slow
def test_same_input_and_as_of_give_identical_marts(tmp_path, sample_run):
    """A second fresh run of the sample (the as-of is the latest date in the data, as in the
    session's run) publishes the session run's marts."""
    first, second = sample_run[0], tmp_path / "second"
    run_pipeline(SAMPLE, second)
    marts = sorted((first / "marts").glob("*.parquet"))
    assert len(marts) == 10
    for path in marts:
        assert pq.read_table(path).equals(pq.read_table(second / "marts" / path.name)), path.name
    assert query(first, "select as_of from analytics.as_of") == query(second, "select as_of from analytics.as_of")


def test_a_mart_is_replaced_whole_or_not_at_all(con, tmp_path):
    path = tmp_path / "marts" / "m.parquet"
    con.execute("create table t as select * from range(3) r(n)")
    assert publish_parquet(con, "t", path, "n") == 3
    con.execute("create or replace table t as select * from range(5) r(n)")
    assert publish_parquet(con, "t", path, "n desc") == 5
    assert pq.read_table(path)["n"].to_pylist() == [4, 3, 2, 1, 0]
    with pytest.raises(duckdb.Error):
        publish_parquet(con, "missing_table", path, "n")
    assert pq.read_table(path).num_rows == 5
    assert [p.name for p in path.parent.iterdir()] == ["m.parquet"]


def test_manifest_describes_every_mart(sample_run):
    out, result = sample_run
    manifest = json.loads((out / "marts" / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == query(out, "select as_of from analytics.as_of")[0][0].isoformat()
    assert manifest["run_id"] == result.run_id and len(manifest["input_fingerprint"]) == 64
    assert set(manifest["marts"]) == {"load_manifest", "rejects", "identity_crosswalk", "customer_360",
                                      "segment_members", "dealer_scorecard", "clv_model", "follow_ups",
                                      "service_due", "win_back"}
    for name, mart in manifest["marts"].items():
        table = pq.read_table(out / "marts" / f"{name}.parquet")
        assert mart["rows"] == table.num_rows
        assert [field["name"] for field in mart["schema"]] == table.column_names


@pytest.fixture(scope="module")
def marketing_run(tmp_path_factory):
    """Customers with every reason not to be contacted, one customer at two dealers, and one who
    said yes and no on the same day."""
    root = tmp_path_factory.mktemp("marketing")
    landing = root / "landing"
    header = "ro_number,open_date,total_amount,vin,customer_no,customer_name,mobile,id_number,marketing_consent\n"
    write_file(landing, "D01/service/ro.csv", header + "\n".join([
        "A1,2024-01-05,500,LSVAU2180N2183291,C1,王芳,13800138001,,是",
        "B1,2024-01-06,500,LSVAU2180N2183292,C2,李强,13800138002,,否",
        "C1,2024-01-07,500,LSVAU2180N2183293,C3,赵敏,13800138003,,",
        "D1,2024-01-08,500,LSVAU2180N2183294,C4,钱磊,13800138004,,是",
        "E1,2024-01-09,500,LSVAU2180N2183295,C5,孙伟,13800138005,11010519491231002x,Y",
        "F1,2024-01-10,500,LSVAU2180N2183296,C6,周杰,,,是",
        "G1,2024-01-11,300,LSVAU2180N2183297,C7,吴刚,13800138007,,否",
        "G2,2024-01-11,500,LSVAU2180N2183297,C7,吴刚,13800138007,,是",
    ]) + "\n")
    write_file(landing, "D02/service/ro.csv", header + "A2,2024-03-01,800,LSVAU2180N2183291,K1,王芳,13800138001,,\n")
    write_file(landing, "suppression.csv", "value\n+86 138-0013-8004\n11010519491231002X\n")
    out = root / "out"
    run_pipeline(landing, out)
    return out


def test_segment_members_mark_who_may_not_be_contacted_and_why(marketing_run):
    table = pq.read_table(marketing_run / "marts" / "segment_members.parquet")
    why = {(row["customer_name"], row["dealer_code"]): (row["contactable"], row["why_not_contactable"])
           for row in table.to_pylist()}
    assert why == {
        ("王芳", "D01"): (True, None),
        ("王芳", "D02"): (False, "consent_unknown"),  # a yes at D01 is not a yes at D02
        ("李强", "D01"): (False, "consent_refused"),
        ("赵敏", "D01"): (False, "consent_unknown"),
        ("钱磊", "D01"): (False, "suppressed"),  # the list writes the mobile +86 138-0013-8004
        ("孙伟", "D01"): (False, "suppressed"),  # by ID number, whatever the case of its X
        ("周杰", "D01"): (False, "no_mobile"),
        ("吴刚", "D01"): (False, "consent_refused"),  # a yes and a no on one day: the no stands
    }
    assert {"mobile", "customer_name", "contactable", "why_not_contactable"} <= set(table.column_names)


def test_dealer_scorecard_ranks_a_hand_made_network(con):
    con.execute("create schema analytics; create schema ingest")
    con.execute("create table analytics.as_of as select date '2025-12-31' as as_of")
    con.execute("""create table ingest.dealers (dealer_code varchar, dealer_name varchar, region varchar,
                   province varchar, city varchar)""")
    con.execute("""create table analytics.features as select * from (values
        ('x1', 'X', 10), ('x2', 'X', 800), ('y1', 'Y', 30), ('y2', 'Y', 400), ('y3', 'Y', 20))
        t(customer_id, home_dealer_code, recency_days)""")
    con.execute("""create table analytics.lifecycle as select * from (values
        ('x1', 'stable'), ('x2', 'lost'), ('y1', 'stable'), ('y2', 'churning'), ('y3', 'new'))
        t(customer_id, lifecycle_stage)""")
    con.execute("""create table analytics.lifecycle_calibration as select * from (values
        ('x1', 'new'), ('x2', 'stable'), ('y1', 'new'), ('y2', 'new')) t(customer_id, lifecycle_stage)""")
    con.execute("""create table analytics.abc_tiers as select * from (values
        ('x1', 'A'), ('x2', 'C'), ('y1', 'A'), ('y2', 'B'), ('y3', 'C')) t(customer_id, abc_tier)""")
    con.execute("""create table analytics.clv as select * from (values
        ('x1', 100.0), ('x2', 0.0), ('y1', 300.0), ('y2', 100.0), ('y3', 50.0)) t(customer_id, clv_12m)""")
    # serviced 13-24 months before as-of (2024-01-01 .. 2024-11-30), then back or not
    con.execute("""create table analytics.visits as select * from (values
        ('x1', date '2024-06-01', 'X'), ('x1', date '2025-06-01', 'X'),
        ('x2', date '2024-05-01', 'X'),
        ('y1', date '2024-07-01', 'Y'), ('y1', date '2025-03-01', 'X'),
        ('y2', date '2024-08-01', 'Y'), ('y2', date '2025-01-10', 'Y'),
        ('y3', date '2025-12-11', 'Y')) t(customer_id, visit_date, dealer_code)""")
    con.execute("""create table analytics.purchases as select * from (values
        ('x2', date '2025-04-15', 'X')) t(customer_id, sale_date, dealer_code)""")
    # the work lists: X keeps a contact log, Y does not
    con.execute("create schema act; create schema clean; create schema identity")
    con.execute("create table clean.contacts as select 'X' as dealer_code")
    con.execute("""create table identity.contacts as select * from (values
        ('X', 'x2', date '2025-03-01', 'win_back'), ('X', 'x1', date '2025-09-01', 'win_back'),
        ('X', 'x1', date '2025-10-15', 'win_back'), ('Y', 'y2', date '2025-03-01', 'follow_up'))
        t(dealer_code, customer_id, contact_date, purpose)""")
    con.execute("""create table act.follow_ups as select * from (values
        ('X', 'done', date '2025-02-01'), ('X', 'done', date '2025-11-30'), ('X', 'missed', date '2025-05-05'),
        ('X', 'upcoming', date '2026-01-30'), ('X', 'done', date '2024-06-01'), ('X', 'overdue', date '2026-01-02'),
        ('Y', 'missed', date '2025-05-05')) t(dealer_code, status, window_end)""")
    con.execute("""create table act.service_due_conversion as select * from (values
        ('X', true), ('X', false), ('X', true), ('Y', false)) t(dealer_code, converted)""")
    con.execute("""create table act.service_due as select * from (values
        ('X', 'overdue'), ('X', 'not_due'), ('Y', 'due_30d')) t(dealer_code, status)""")
    con.execute("create table act.win_back as select * from (values ('Y'), ('Y')) t(dealer_code)")
    scorecard = sql.query(con, sql.table_file("marts.dealer_scorecard"), won_back_within_days=90).pl()
    rows = {row["dealer_code"]: row for row in scorecard.iter_rows(named=True)}
    x, y, network = rows["X"], rows["Y"], rows["ALL"]
    assert (x["customers"], x["active_12m"], x["stable"], x["lost"]) == (2, 1, 1, 1)
    assert (x["retention_12m"], x["service_revisit_rate"]) == (0.5, 0.5)
    assert (y["retention_12m"], y["service_revisit_rate"]) == (1.0, 0.5)  # y1 came back at X
    assert (x["new_to_stable_rate"], y["new_to_stable_rate"]) == (1.0, 0.5)
    assert (x["a_tier_share"], x["avg_clv_12m"], y["avg_clv_12m"]) == (0.5, 50.0, 150.0)
    assert (x["retention_12m_rank"], y["retention_12m_rank"]) == (2, 1)
    assert (x["a_tier_share_rank"], y["avg_clv_12m_rank"], y["lost_share_rank"]) == (1, 1, 1)
    assert (x["retention_12m_percentile"], y["retention_12m_percentile"]) == (0.0, 1.0)
    assert (x["lost_share_percentile"], y["lost_share_percentile"]) == (0.0, 1.0)
    assert (network["customers"], network["active_12m"], network["retention_12m"]) == (5, 3, 0.75)
    assert network["retention_12m_rank"] is None
    # leakage: y1 of Y's base came back only at X; nobody of X's base went elsewhere
    assert (x["leakage_rate"], y["leakage_rate"], network["leakage_rate"]) == (0.0, 0.5, 0.25)
    assert (x["leakage_rate_rank"], y["leakage_rate_rank"], y["leakage_rate_percentile"]) == (1, 2, 0.0)
    assert (x["service_due_conversion"], y["service_due_conversion"], network["service_due_conversion"]) == (
        2 / 3, 0.0, 0.5)
    # closed windows of the last 12 months: done, done, missed (the 2024 one, the open ones left out);
    # Y keeps no contact log, so no completion figure, and ranks last
    assert (x["follow_up_completion"], y["follow_up_completion"], network["follow_up_completion"]) == (
        2 / 3, None, 2 / 3)
    assert (x["follow_up_completion_rank"], y["follow_up_completion_rank"]) == (1, 2)
    # win-back calls from 2024-10-02 to 2025-10-02: x2 (bought on 2025-04-15, won) and x1 (not back);
    # the call of 2025-10-15 is too recent to judge
    assert (x["win_back_rate"], y["win_back_rate"], network["win_back_rate"]) == (0.5, None, 0.5)
    assert [(r["follow_ups_open"], r["service_due_now"], r["win_back_list"]) for r in (x, y, network)] == [
        (1, 1, 0), (0, 1, 2), (1, 2, 2)]


def test_an_empty_landing_folder_publishes_empty_marts(tmp_path):
    (tmp_path / "landing").mkdir()
    run_pipeline(tmp_path / "landing", tmp_path / "out")
    assert pq.read_table(tmp_path / "out" / "marts" / "customer_360.parquet").num_rows == 0
    scorecard = pq.read_table(tmp_path / "out" / "marts" / "dealer_scorecard.parquet").to_pylist()
    assert [(row["dealer_code"], row["customers"]) for row in scorecard] == [("ALL", 0)]
    manifest = json.loads((tmp_path / "out" / "marts" / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] is None and manifest["marts"]["segment_members"]["rows"] == 0
    assert (tmp_path / "out" / "reports" / "head_office.html").stat().st_size > 0


def test_every_mart_column_is_described_and_the_contract_columns_are_there(sample_run):
    """One place (assets/marts/columns.toml) says what each column holds, for the Dagster UI; the
    columns docs/contract.md asks of each mart are in it and in the mart."""
    import re

    from assets.marts.columns import describe
    from tests.conftest import ROOT

    out, result = sample_run
    contract = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    table = contract.split("| mart | one row per | must contain at least |")[1].split("\n\n")[0]
    asked = {}
    for line in table.splitlines()[2:]:
        mart, _, columns = (cell.strip() for cell in line.strip("|").split("|"))
        asked[mart] = {c.strip() for c in re.sub(r"\([^)]*\)", "", columns).split(",")
                       if re.fullmatch(r"[a-z0-9_]+", c.strip())}
    for path in sorted((out / "marts").glob("*.parquet")):
        mart, names = path.stem, set(pq.read_schema(path).names)
        assert not [c for c in names if describe(mart, c) is None], mart
        assert asked.get(mart, set()) - {"each KPI's rank in the network"} <= names, mart
    schemas = {e.asset_key.path[-1]: e.materialization.metadata["dagster/column_schema"].value
               for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "marts"
               and "dagster/column_schema" in e.materialization.metadata}
    assert all(column.description for column in schemas["win_back"].columns)
