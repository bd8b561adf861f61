"""Marts: columns of the contract, no personal data in head-office marts, the model mart's
parameters, and identical marts from the same input and as-of."""

from __future__ import annotations

import re

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.conftest import SAMPLE, query, run_pipeline

CUSTOMER_360 = ["customer_id", "home_dealer_code", "first_seen", "last_seen", "n_vehicles", "n_sales",
                "n_service_visits", "monetary_total", "recency_days", "frequency", "r_score", "f_score", "m_score",
                "rfm_segment", "abc_tier", "lifecycle_stage", "p_alive", "expected_visits_12m", "clv_12m",
                "churn_risk"]
CLV_MODEL = ["model", "param", "value", "time_unit", "n_customers", "calibration_end"]
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
def test_same_input_and_as_of_give_identical_marts(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        run_pipeline(SAMPLE, out, as_of="2026-06-30")
    for path in sorted((first / "marts").glob("*.parquet")):
        assert pq.read_table(path).equals(pq.read_table(second / "marts" / path.name)), path.name
    assert query(first, "select as_of from analytics.as_of")[0][0].isoformat() == "2026-06-30"
