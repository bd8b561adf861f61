"""Automation: a sensor that runs the pipeline when exports land, and a nightly refresh."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import dagster as dg

JOB_NAME = "materialize_all"
NIGHTLY_CRON = "0 2 * * *"
TIMEZONE = "Asia/Shanghai"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # China keeps no summer time


def landing_fingerprint(folder: Path) -> str:
    """sha256 over the path, size and modification time of every CSV in the landing folder: it
    changes when a file arrives, is replaced or removed, without reading the files themselves."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.csv")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def as_of_config(day: dt.date) -> dict:
    """Run config that sets the run's as-of date."""
    return {"resources": {"run_settings": {"config": {"as_of": day.isoformat()}}}}


@dg.sensor(job_name=JOB_NAME, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Requests a run, as of the day in Shanghai, when files in CRM_INPUT_DIR arrive, change "
                       "or leave. The run key is the landing folder's fingerprint, so the same files never run "
                       "twice.")
def landing_sensor(context: dg.SensorEvaluationContext):
    folder = Path(os.environ.get("CRM_INPUT_DIR", ""))
    if not folder.is_dir():
        return dg.SkipReason(f"CRM_INPUT_DIR {str(folder)!r} is not a folder")
    fingerprint = landing_fingerprint(folder)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed files")
    context.update_cursor(fingerprint)
    today = dt.datetime.now(SHANGHAI).date()
    return dg.RunRequest(run_key=fingerprint, run_config=as_of_config(today),
                         tags={"crm/landing_fingerprint": fingerprint})


@dg.schedule(job_name=JOB_NAME, cron_schedule=NIGHTLY_CRON, execution_timezone=TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly refresh at 02:00 Asia/Shanghai, as of that day.")
def nightly_refresh(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(SHANGHAI).date()
    return dg.RunRequest(run_key=f"nightly-{day.isoformat()}", run_config=as_of_config(day))
