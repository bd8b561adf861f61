"""The one Definitions of dealer-crm: every asset, check, resource, the sensor and the schedule."""

from __future__ import annotations

import dagster as dg

from assets.act import assets as act
from assets.analytics import assets as analytics
from assets.identity import assets as identity
from assets.ingest import assets as ingest
from assets.marts import assets as marts
from assets.quality.checks import quality_checks
from pipelines.automation import JOB_NAME, all_dealers_tags, landing_sensor, nightly_refresh, sync_dealer_partitions
from pipelines.resources import LandingFolder, RunSettings, Warehouse, memory_limit_from_env

ALL_ASSETS = [
    ingest.landing_files,
    ingest.reference_lists,
    *ingest.sales_assets,
    *ingest.service_assets,
    *ingest.contacts_assets,
    ingest.rejects,
    ingest.load_manifest,
    *identity.identity_assets,
    *analytics.analytics_assets,
    *act.act_assets,
    marts.load_manifest_mart,
    marts.rejects_mart,
    marts.identity_crosswalk_mart,
    marts.customer_360_mart,
    marts.clv_model_mart,
    marts.segment_members_mart,
    marts.dealer_scorecard_mart,
    marts.follow_ups_mart,
    marts.service_due_mart,
    marts.win_back_mart,
    marts.manifest,
    marts.head_office_report_html,
]


ALL_CHECKS = quality_checks


def env_resources() -> dict:
    """Resources resolved from the environment at run time (dagster dev, schedules, sensors)."""
    return {
        "landing": LandingFolder(input_dir=dg.EnvVar("CRM_INPUT_DIR")),
        "warehouse": Warehouse(output_dir=dg.EnvVar("CRM_OUTPUT_DIR"), memory_limit=memory_limit_from_env()),
        "run_settings": RunSettings(as_of=dg.EnvVar("CRM_AS_OF").get_value("") or ""),
    }


def build_definitions(resources: dict) -> dg.Definitions:
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[dg.define_asset_job(JOB_NAME, selection=dg.AssetSelection.all())],
        # every step writes the one DuckDB file, which takes a single writer process: the steps of
        # a run go one after the other in the run's process (runs queue one at a time, dagster.yaml)
        executor=dg.in_process_executor,
        sensors=[landing_sensor],
        schedules=[nightly_refresh],
        resources=resources,
    )


def materialize_everything(resources: dict, instance: dg.DagsterInstance, hooks: frozenset = frozenset(),
                           run_config: dict | None = None, raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
    """Materialize every asset and check in one in-process run, as `crm run` does: the dealer
    partitions are first made those of the landing folder, and the run covers all of them."""
    dealers = sync_dealer_partitions(instance, resources["landing"].path)
    selection = dg.AssetSelection.all()
    if not dealers:  # nothing to parse: the checked tables stay empty, everything else still runs
        selection -= dg.AssetSelection.assets(*(a for a in ALL_ASSETS if a.partitions_def is not None))
    job = dg.define_asset_job("crm_run", selection=selection, hooks=set(hooks))
    defs = dg.Definitions(assets=ALL_ASSETS, asset_checks=ALL_CHECKS, jobs=[job], resources=resources)
    return defs.resolve_job_def("crm_run").execute_in_process(
        instance=instance, raise_on_error=raise_on_error, run_config=run_config,
        tags=all_dealers_tags(dealers) if dealers else None,
    )


defs = build_definitions(env_resources())
