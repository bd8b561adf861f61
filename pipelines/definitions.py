"""The one Definitions of dealer-crm: every asset, check, resource, the job, the sensor and the schedule."""

from __future__ import annotations

import os

import dagster as dg

from assets.act.assets import act_assets
from assets.analytics import analytics_assets
from assets.identity.assets import identity_assets
from assets.ingest.assets import ingest_assets
from assets.marts.assets import marts_assets
from assets.quality.checks import quality_checks
from assets.resources import IdentityEngine, LandingFolder, RunSettings, Warehouse
from models.settings import Settings
from pipelines.automation import (
    JOB_NAME,
    all_dealers_tags,
    landing_sensor,
    nightly_refresh,
    sync_dealer_partitions,
)

ALL_ASSETS = [*ingest_assets, *identity_assets, *analytics_assets, *act_assets, *marts_assets]
ALL_CHECKS = quality_checks


def _env(name: str, default: str = "") -> dg.EnvVar | str:
    """An optional CRM_* variable, resolved at run time when it is set; else `default`."""
    return dg.EnvVar(name) if name in os.environ else default


def env_resources() -> dict:
    """Resources resolved from the environment at run time (dagster dev, schedules, sensors):
    CRM_INPUT_DIR and CRM_OUTPUT_DIR must be set; CRM_AS_OF, CRM_MEMORY_LIMIT, CRM_ENGINE,
    CRM_SPARK_MASTER and CRM_SPARK_EXCHANGE may be; CRM_SETTINGS names a YAML or JSON settings file."""
    return {
        "landing": LandingFolder(input_dir=dg.EnvVar("CRM_INPUT_DIR")),
        "warehouse": Warehouse(output_dir=dg.EnvVar("CRM_OUTPUT_DIR"), memory_limit=_env("CRM_MEMORY_LIMIT")),
        "run_settings": RunSettings(as_of=_env("CRM_AS_OF")),
        "identity_engine": IdentityEngine(engine=_env("CRM_ENGINE", "duckdb"),
                                          spark_master=_env("CRM_SPARK_MASTER", "local[2]"),
                                          exchange_dir=_env("CRM_SPARK_EXCHANGE")),
        "settings": Settings.from_file(os.environ.get("CRM_SETTINGS")),
    }


def build_definitions(resources: dict, hooks: frozenset = frozenset(), partitioned: bool = True) -> dg.Definitions:
    """The Definitions over `resources`. Its one job, JOB_NAME, materializes every asset and check
    (with `hooks`; without the dealer-partitioned assets when there is no dealer to parse)."""
    selection = dg.AssetSelection.all()
    if not partitioned:
        selection -= dg.AssetSelection.assets(*(a for a in ALL_ASSETS if a.partitions_def is not None))
    return dg.Definitions(
        assets=ALL_ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[dg.define_asset_job(JOB_NAME, selection=selection, hooks=set(hooks))],
        # every step writes the one DuckDB file, which takes a single writer process: the steps of
        # a run go one after the other in the run's process (runs queue one at a time, dagster.yaml)
        executor=dg.in_process_executor,
        sensors=[landing_sensor],
        schedules=[nightly_refresh],
        resources={"settings": Settings(), "identity_engine": IdentityEngine(), **resources},
    )


def run_everything(resources: dict, instance: dg.DagsterInstance, hooks: frozenset = frozenset(),
                   run_config: dict | None = None, raise_on_error: bool = False, stages: tuple[str, ...] = (),
                   tags: dict | None = None) -> dg.ExecuteInProcessResult:
    """Run JOB_NAME in process, as `crm run` does: the dealer partitions are first made those of
    the landing folder, and the run covers all of them. With `stages` (asset groups) only their
    assets and checks run: a test of identity needs ingest and identity, not the marts."""
    dealers = sync_dealer_partitions(instance, resources["landing"].path)
    job = build_definitions(resources, hooks, partitioned=bool(dealers)).resolve_job_def(JOB_NAME)
    selection = [key for assets_def in ALL_ASSETS for key in assets_def.keys
                 if assets_def.group_names_by_key[key] in stages
                 and (dealers or assets_def.partitions_def is None)] if stages else None
    return job.execute_in_process(instance=instance, raise_on_error=raise_on_error, run_config=run_config,
                                  asset_selection=selection,
                                  tags={**(all_dealers_tags(dealers) if dealers else {}), **(tags or {})})


defs = build_definitions(env_resources())
