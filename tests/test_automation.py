"""The landing sensor and the nightly schedule, evaluated against an ephemeral instance."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import dagster as dg

from assets.resources import LandingFolder, RunSettings, Warehouse
from pipelines.automation import landing_sensor, nightly_refresh
from pipelines.definitions import build_definitions
from tests.conftest import write_file


def evaluate(instance: dg.DagsterInstance, cursor: str | None, landing):
    """One sensor tick over the `landing` folder; the dealer partitions it asks for are added to
    the instance, as the daemon would."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"landing": LandingFolder(input_dir=str(landing))})
    result = landing_sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        (result,) = result.run_requests
    return result, context.cursor


def test_a_new_file_requests_one_run_and_the_same_files_none(tmp_path):
    landing = tmp_path / "landing"
    write_file(landing, "D01/service/ro.csv", "ro_number,open_date,total_amount,vin\nR1,2024-01-05,500,V\n")
    instance = dg.DagsterInstance.ephemeral()

    first, cursor = evaluate(instance, None, landing)
    assert isinstance(first, dg.RunRequest) and first.run_key == cursor
    assert not first.run_config  # as of the one rule of every run: CRM_AS_OF, else the latest record date
    assert instance.get_dynamic_partitions("dealer") == ["D01"]
    assert (first.tags["dagster/asset_partition_range_start"], first.tags["dagster/asset_partition_range_end"]) == \
        ("D01", "D01")
    again, same_cursor = evaluate(instance, cursor, landing)
    assert isinstance(again, dg.SkipReason) and same_cursor == cursor

    write_file(landing, "D02/sales/sales.csv", "sale_id,sale_date,sale_amount,vin\nS1,2024-02-01,1000,V\n")
    new, new_cursor = evaluate(instance, cursor, landing)
    assert isinstance(new, dg.RunRequest) and new.run_key == new_cursor != cursor
    assert instance.get_dynamic_partitions("dealer") == ["D01", "D02"]
    assert (new.tags["dagster/asset_partition_range_start"], new.tags["dagster/asset_partition_range_end"]) == \
        ("D01", "D02")


def test_the_sensor_skips_when_the_landing_folder_is_missing(tmp_path):
    result, _ = evaluate(dg.DagsterInstance.ephemeral(), None, tmp_path / "nowhere")
    assert isinstance(result, dg.SkipReason) and "not a folder" in result.skip_message


def test_the_nightly_tick_runs_at_two_in_shanghai_as_every_run(tmp_path):
    assert nightly_refresh.cron_schedule == "0 2 * * *"
    assert nightly_refresh.execution_timezone == "Asia/Shanghai"
    tick = dt.datetime(2026, 11, 24, 2, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    with dg.instance_for_test() as instance:
        skipped = nightly_refresh(dg.build_schedule_context(instance=instance, scheduled_execution_time=tick))
        assert isinstance(skipped, dg.SkipReason)
        instance.add_dynamic_partitions("dealer", ["D01", "D02"])
        request = nightly_refresh(dg.build_schedule_context(instance=instance, scheduled_execution_time=tick))
    assert request.tags == {"dagster/asset_partition_range_start": "D01", "dagster/asset_partition_range_end": "D02",
                            "crm/scope": "network"}
    assert request.run_key == "nightly-2026-11-24" and not request.run_config
    monday = tick - dt.timedelta(days=1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealer", ["D01"])
        weekly = nightly_refresh(dg.build_schedule_context(instance=instance, scheduled_execution_time=monday))
    assert weekly.tags["crm/retrain"] == "true" and not weekly.run_config and "crm/retrain" not in request.tags
    defs = build_definitions({"landing": LandingFolder(input_dir=str(tmp_path)),
                              "warehouse": Warehouse(output_dir=str(tmp_path / "out")),
                              "run_settings": RunSettings(as_of="2026-11-20")})
    job = defs.resolve_job_def("materialize_all")
    assert dg.validate_run_config(job, {})["resources"]["run_settings"]["config"]["as_of"] == "2026-11-20"

    assert job.executor_def.name == "in_process"
