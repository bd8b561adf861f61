"""The second rung of Dagster's testing ladder: assets called as functions on a warehouse written by
hand, with the run's settings passed in or set from run config, as the launchpad sets them."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

import sql
from assets.analytics import abc, action_lists, customer_features
from assets.resources import LandingFolder, RunSettings, Warehouse
from models.settings import AnalyticsSettings, Settings
from pipelines.definitions import JOB_NAME, build_definitions

VALUES = {"a": 50.0, "b": 30.0, "c": 10.0, "d": 5.0, "e": 3.0, "f": 2.0, "g": 0.0}


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    """Seven customers of one dealer whose whole value is one visit each in the window."""
    warehouse = Warehouse(output_dir=str(tmp_path / "out"))
    with warehouse.connect() as con:
        con.execute("create schema analytics")
        con.execute("create table analytics.as_of as select date '2025-06-30' as as_of")
        con.execute("create table analytics.features as select customer_id, value as value_window "
                    "from (select unnest($ids) as customer_id, unnest($values) as value)",
                    {"ids": list(VALUES), "values": list(VALUES.values())})
        con.execute("create table analytics.visits as select customer_id, date '2025-01-10' as visit_date, "
                    "'D1' as dealer_code, value_window as spend from analytics.features")
        con.execute("create table analytics.purchases (customer_id varchar, dealer_code varchar, value double, "
                    "sale_date date)")
    return warehouse


def tiers(warehouse: Warehouse, table: str) -> dict[str, str]:
    with duckdb.connect(str(warehouse.path / "warehouse.duckdb"), read_only=True) as con:
        return dict(con.table(table).select("customer_id, abc_tier").fetchall())


def test_abc_called_as_a_function_tiers_by_the_settings_it_is_given(warehouse):
    result = abc(warehouse=warehouse, settings=Settings(analytics=AnalyticsSettings(a_share=0.5, b_share=0.9)))
    # value before each, of 100: a 0, b 50, c 80, d 90, e 95, f 98; g brings nothing
    expected = {"a": "A", "b": "B", "c": "B", "d": "C", "e": "C", "f": "C", "g": "C"}
    assert tiers(warehouse, "analytics.abc_tiers") == expected
    assert tiers(warehouse, "analytics.dealer_abc_tiers") == expected
    assert result.metadata["A_value_share"] == 0.5 and result.metadata["dagster/row_count"] == 7

    abc(warehouse=warehouse, settings=Settings())  # the defaults: 80% and 95%
    assert tiers(warehouse, "analytics.abc_tiers") == {**expected, "b": "A", "d": "B"}


def test_run_config_sets_the_abc_cut_offs_and_the_launchpad_shows_every_setting(warehouse, tmp_path):
    config = {"resources": {"settings": {"config": {"analytics": {"a_share": 0.5, "b_share": 0.9}}}}}
    result = dg.materialize([abc], resources={"warehouse": warehouse, "settings": Settings()}, run_config=config)
    assert result.success
    assert tiers(warehouse, "analytics.abc_tiers")["b"] == "B"

    resources = {"landing": LandingFolder(input_dir=str(tmp_path)), "warehouse": warehouse, "run_settings": RunSettings()}
    job = build_definitions(resources).resolve_job_def(JOB_NAME)
    defaults = dg.validate_run_config(job, {})["resources"]["settings"]["config"]
    assert defaults["identity"]["match_threshold"] == 0.95 and defaults["analytics"]["a_share"] == 0.8
    assert defaults["churn"]["max_iter"] == 60 and defaults["analytics"]["churning_ratio"] == 1.5
    assert [step["step"] for step in defaults["act"]["follow_up_steps"]] == ["24h", "3d", "7d", "30d"]
    fields = job.resource_defs["settings"].config_schema.config_type.fields
    described = fields["identity"].config_type.fields["match_threshold"].description
    assert described.startswith("Splink match probability")


def test_settings_that_contradict_each_other_are_refused_before_a_run():
    with pytest.raises(ValueError, match="a_share < b_share"):
        Settings(analytics=AnalyticsSettings(a_share=0.96))


def test_a_settings_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("identity:\n  match_threshold: 0.9\nact:\n  follow_up_steps:\n"
                    "    - {step: 48h, due_days: 2, window_days: 3}\n", encoding="utf-8")
    settings = Settings.from_file(path)
    assert settings.identity.match_threshold == 0.9 and settings.identity.score_floor == 0.5
    assert [(s.step, s.due_days) for s in settings.act.follow_up_steps] == [("48h", 2)]
    assert settings.analytics == AnalyticsSettings()
    path.write_text("identty:\n  match_threshold: 0.9\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown section"):
        Settings.from_file(path)


def test_features_and_action_lists_build_from_their_files_called_as_functions(tmp_path):
    """customer_features writes analytics.features and its two earlier cut-offs from one file."""
    warehouse = Warehouse(output_dir=str(tmp_path / "out"))
    with warehouse.connect() as db:
        db.execute("create schema analytics")
        db.execute("create table analytics.as_of as select date '2025-06-30' as as_of")
        db.execute("create table analytics.visits as select 'A' as customer_id, unnest($days) as visit_date, "
                   "'D1' as dealer_code, 100.0 as spend, 1 as repair_orders, true as maintenance",
                   {"days": [dt.date(2023, 1, 10), dt.date(2024, 1, 10), dt.date(2025, 1, 10)]})
        db.execute("create table analytics.purchases (customer_id varchar, dealer_code varchar, sale_id varchar, "
                   "sale_date date, vin varchar, new_or_used varchar, sale_amount double, value double)")
        db.execute("create table analytics.customer_vehicles (customer_id varchar, vin varchar, first_date date, "
                   "vehicle_first_seen date)")
    result = customer_features(warehouse=warehouse, settings=Settings())
    assert result.metadata["customers_at_calibration"] == 1 and result.metadata["customers_at_training"] == 1
    with duckdb.connect(str(warehouse.path / "warehouse.duckdb"), read_only=True) as db:
        visits = {table: db.table(f"analytics.{table}").select("n_visits").fetchone()[0]
                  for table in ("features", "features_calibration", "features_training")}
    assert visits == {"features": 3, "features_calibration": 2, "features_training": 1}
    assert sql.table_file("analytics.features") == "intermediate/analytics.features"
    assert action_lists.keys == {dg.AssetKey(["analytics", "action_lists"])}
