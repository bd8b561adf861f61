"""Automation: a sensor that runs the pipeline when exports land, and a nightly refresh.

Both run every dealer partition in one run: the ingestion assets parse again only the dealers
whose files changed, and the network-wide assets downstream are built once, not once per dealer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import dagster as dg

from assets.ingest.assets import DEALERS
from assets.resources import RETRAIN_TAG, LandingFolder
from landing.files import discover_files

JOB_NAME = "materialize_all"
NIGHTLY_CRON = "0 2 * * *"
RETRAIN_WEEKDAY = 0
"""The refresh of Mondays (02:00 Asia/Shanghai) trains the identity model and fits the CLV model
again: once a week, whatever changed; the other nights score with the kept models."""

TIMEZONE = "Asia/Shanghai"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # China keeps no summer time


def landing_fingerprint(folder: Path) -> str:
    """sha256 over the path, size and modification time of every file in the landing folder: it
    changes when a file arrives, is replaced or removed, without reading the files themselves."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def dealer_folders(folder: Path) -> list[str]:
    """The dealer partitions a landing folder asks for: one per folder holding exports."""
    return sorted({entry.dealer_code for entry in discover_files(folder) if not entry.ignored})


def dealer_partition_changes(instance: dg.DagsterInstance, folder: Path) -> tuple[list[str], list[str], list[str]]:
    """(dealers to add, dealers to delete, the partition keys afterwards in the instance's order)."""
    known = instance.get_dynamic_partitions(DEALERS.name)
    wanted = dealer_folders(folder)
    added = sorted(set(wanted) - set(known))
    kept = [key for key in known if key in set(wanted)]
    return added, sorted(set(known) - set(wanted)), kept + added


def sync_dealer_partitions(instance: dg.DagsterInstance, folder: Path) -> list[str]:
    """Make the instance's dealer partitions those of the landing folder; returns their keys."""
    added, deleted, keys = dealer_partition_changes(instance, folder)
    instance.add_dynamic_partitions(DEALERS.name, added)
    for key in deleted:
        instance.delete_dynamic_partition(DEALERS.name, key)
    return keys


NETWORK_SCOPE_TAG = "crm/scope"
"""Runs over every dealer carry it: dagster.yaml lets one such run go at a time."""


def all_dealers_tags(keys: list[str]) -> dict:
    """Tags that make one run cover every dealer partition (a single-run backfill)."""
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1],
            NETWORK_SCOPE_TAG: "network"}


@dg.sensor(job_name=JOB_NAME, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests a run when files in the landing folder (CRM_INPUT_DIR) arrive, change or leave, as of the one "
                       "rule of every run (CRM_AS_OF, else the latest record date). The run key is the landing "
                       "folder's fingerprint, so the same files never run twice.")
def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingFolder):
    folder = landing.path
    if not folder.is_dir():
        return dg.SkipReason(f"the landing folder {str(folder)!r} (CRM_INPUT_DIR) is not a folder")
    fingerprint = landing_fingerprint(folder)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files")
    context.update_cursor(fingerprint)
    added, deleted, keys = dealer_partition_changes(context.instance, folder)
    if not keys:
        return dg.SkipReason(f"no dealer folders with exports in {folder}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=fingerprint,
                                    tags={"crm/landing_fingerprint": fingerprint, **all_dealers_tags(keys)})],
        dynamic_partitions_requests=[DEALERS.build_add_request(added), DEALERS.build_delete_request(deleted)],
    )


@dg.schedule(job_name=JOB_NAME, cron_schedule=NIGHTLY_CRON, execution_timezone=TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly refresh at 02:00 Asia/Shanghai, as of the one rule of every run (CRM_AS_OF, "
                         "else the latest record date); on Mondays it trains the identity model again.")
def nightly_refresh(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(SHANGHAI).date()
    keys = context.instance.get_dynamic_partitions(DEALERS.name)
    if not keys:
        return dg.SkipReason("no dealer partitions yet: the landing sensor adds them as exports arrive")
    retrain = {RETRAIN_TAG: "true"} if day.weekday() == RETRAIN_WEEKDAY else {}
    return dg.RunRequest(run_key=f"nightly-{day.isoformat()}", tags={**all_dealers_tags(keys), **retrain})
