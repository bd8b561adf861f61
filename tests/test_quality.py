"""Data-quality checks: great-expectations on DuckDB's metrics, passing on the sample and
stopping the run's downstream assets on a broken landing folder."""

from __future__ import annotations

import dagster as dg

from assets.quality.expectations import validate_metrics
from assets.resources import LandingFolder, RunSettings, Warehouse
from pipelines.definitions import run_everything
from tests.conftest import write_file


def test_metrics_are_validated_against_their_ranges():
    results = validate_metrics("example", {"rows": 10, "duplicate_keys": 0, "a_value_share": 0.9},
                               {"duplicate_keys": (0, 0), "a_value_share": (0.8, 0.85)})
    assert [(r.metric, r.passed) for r in results] == [("duplicate_keys", True), ("a_value_share", False)]
    (unjudged,) = validate_metrics("unjudged", {"rows": 3, "a_value_share": None}, {"a_value_share": (0.8, 0.85)})
    assert unjudged.passed and unjudged.value is None


def test_every_check_passes_on_the_sample(sample_run):
    _, result = sample_run
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {name: True for name in (
        "rows_conserved", "clean_sales_valid", "clean_repair_orders_valid", "clean_contacts_valid", "rfm_valid",
        "abc_tiers_valid", "lifecycle_valid", "clv_valid", "segment_members_safe", "follow_ups_valid",
        "service_due_valid", "win_back_valid")}


def test_a_failing_blocking_check_stops_everything_downstream(tmp_path, monkeypatch):
    """A check that finds something systemic (here: a metric forced to fail) stops identity,
    analytics and the marts, and names the table it judged."""
    import sql

    real = sql.sql_text
    # a systemic fault that the parser let through: every amount of the file counts as negative
    broken = {"checks/clean_records": ("count(*) filter (where amount < 0) as negative_amounts",
                                       "count(*) as negative_amounts"),
              "checks/clean_records_files": ("or amount < 0 as broken", "or true as broken")}
    monkeypatch.setattr(sql, "sql_text", lambda name: real(name).replace(*broken[name]) if name in broken
                        else real(name))
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", "ro_number,open_date,total_amount,vin,customer_name,mobile\n"
               "R1,2024-01-05,500,LSVAU2180N2183291,王芳,13800138001\n")
    result = run_everything(
        {"landing": LandingFolder(input_dir=str(landing)),
         "warehouse": Warehouse(output_dir=str(tmp_path / "out")), "run_settings": RunSettings()},
        dg.DagsterInstance.ephemeral())
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "clean_repair_orders_valid"]
    assert not evaluation.passed and evaluation.asset_key.to_user_string() == "clean/repair_orders"
    assert evaluation.metadata["negative_amounts"].value == 1
    assert evaluation.description.endswith("; in D01/service/ro.csv (1)")
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "clean/repair_orders" in materialized
    assert not any(key.startswith(("identity/", "analytics/", "marts/customer")) for key in materialized)
    assert not (tmp_path / "out" / "marts" / "customer_360.parquet").exists()


def test_rows_conserved_is_blocking(tmp_path, monkeypatch):
    """A file whose rows do not add up stops the load_manifest mart and so the publication of the
    set: no marts are published from a warehouse that lost rows."""
    import sql

    real = sql.sql_text
    monkeypatch.setattr(sql, "sql_text", lambda name: "select 'D01/service/ro.csv' as file_name, 1 as data_lines, "
                        "0 as rows_read" if name == "checks/rows_conserved" else real(name))
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", "ro_number,open_date,total_amount,vin\nR1,2024-01-05,500,V\n")
    result = run_everything(
        {"landing": LandingFolder(input_dir=str(landing)),
         "warehouse": Warehouse(output_dir=str(tmp_path / "out")), "run_settings": RunSettings()},
        dg.DagsterInstance.ephemeral())
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "rows_conserved"]
    assert not evaluation.passed
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "ingest/load_manifest" in materialized and "marts/manifest" not in materialized
    assert not (tmp_path / "out" / "marts").exists()
