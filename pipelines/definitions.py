"""The one Definitions of dealer-crm: every asset, check, resource, the job, the sensor and the schedule."""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from assets.act.assets import act_assets
from assets.analytics import analytics_assets
from assets.identity.assets import identity_assets
from assets.ingest.assets import GROUP, ingest_assets, landing_files, reference_lists
from assets.ingest.parsing import dealers_to_parse, install_parse_inputs
from assets.marts.assets import marts_assets
from assets.quality.checks import quality_checks
from assets.resources import IdentityEngine, LandingFolder, RunSettings, Warehouse
from landing.mapping import SOURCES
from models.settings import Settings
from pipelines.automation import (
    JOB_NAME,
    NETWORK_SCOPE_TAG,
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


@dataclass(frozen=True)
class PipelineResult:
    """The runs of one `crm run`, read as one: the landing folder's catalog, then the rest."""

    runs: tuple[dg.ExecuteInProcessResult, ...]

    @property
    def success(self) -> bool:
        return all(run.success for run in self.runs)

    @property
    def run_id(self) -> str:
        """The id of the run that published the marts (the last)."""
        return self.runs[-1].run_id

    @property
    def all_events(self) -> list:
        return [event for run in self.runs for event in run.all_events]

    def get_asset_materialization_events(self) -> list:
        return [event for run in self.runs for event in run.get_asset_materialization_events()]

    def get_asset_check_evaluations(self) -> list:
        return [evaluation for run in self.runs for evaluation in run.get_asset_check_evaluations()]


CATALOG_ASSETS = (landing_files, reference_lists)
"""What the first run of `crm run` materializes: what tells which dealers have rows to parse."""


def dealers_with_rows_to_parse(resources: dict, dealers: list[str]) -> list[str]:
    """The dealers of `dealers` (in their order) with rows of some source to parse again, as the
    catalog the first run wrote says (`assets.ingest.parsing.dealers_to_parse`)."""
    warehouse, run_settings = resources["warehouse"], resources["run_settings"]
    tolerance = resources.get("settings", Settings()).ingest.future_tolerance_days
    with warehouse.parsing_connection() as con:
        install_parse_inputs(con, warehouse.parse_inputs_dir)
        stale = {dealer for source in SOURCES for dealer in dealers_to_parse(
            con, source, dealers, warehouse.checked_dir, run_settings.future_limit(tolerance))}
    return [dealer for dealer in dealers if dealer in stale]


def run_everything(resources: dict, instance: dg.DagsterInstance, hooks: frozenset = frozenset(),
                   run_config: dict | None = None, raise_on_error: bool = False, stages: tuple[str, ...] = (),
                   tags: dict | None = None) -> PipelineResult:
    """Run JOB_NAME in process, as `crm run` does, in two runs. The first catalogs the landing
    folder (CATALOG_ASSETS), after the dealer partitions are made those of the folder; the second
    materializes the rest over the partitions from the first to the last dealer with rows to parse
    (none: no partitioned asset runs), so a dealer left as it was costs no Dagster events. With
    `stages` (asset groups) only their assets and checks run: a test of identity needs ingest and
    identity, not the marts."""
    dealers = sync_dealer_partitions(instance, resources["landing"].path)
    catalog = [key for assets_def in CATALOG_ASSETS for key in assets_def.keys]

    def selected(partitioned: bool) -> list[dg.AssetKey]:
        return [key for assets_def in ALL_ASSETS for key in assets_def.keys
                if (not stages or assets_def.group_names_by_key[key] in stages) and key not in catalog
                and (partitioned or assets_def.partitions_def is None)]

    scope = {NETWORK_SCOPE_TAG: "network", **(tags or {})}
    runs = []
    if not stages or GROUP in stages:
        job = build_definitions(resources, hooks, partitioned=False).resolve_job_def(JOB_NAME)
        runs.append(job.execute_in_process(instance=instance, raise_on_error=raise_on_error, run_config=run_config,
                                           asset_selection=catalog, tags=scope))
        if not runs[-1].success:
            return PipelineResult(tuple(runs))
    to_parse = dealers_with_rows_to_parse(resources, dealers) if dealers and runs else []
    span = dealers[dealers.index(to_parse[0]):dealers.index(to_parse[-1]) + 1] if to_parse else []
    job = build_definitions(resources, hooks, partitioned=bool(span)).resolve_job_def(JOB_NAME)
    runs.append(job.execute_in_process(instance=instance, raise_on_error=raise_on_error, run_config=run_config,
                                       asset_selection=selected(bool(span)),
                                       tags={**(all_dealers_tags(span) if span else {}), **scope}))
    return PipelineResult(tuple(runs))


defs = build_definitions(env_resources())
