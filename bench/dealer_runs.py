"""Dealers in parallel, measured: a full run whose parsing is one dealer run, then the same with
the parsing split into two dealer runs at once (two processes, each parsing half of the dealer
partitions; parsing never opens the warehouse, so they can). Before them one run prepares the
catalog (`ingest/landing_files`, `ingest/reference_lists`), after them one run does the rest of the
network. `python -m bench.dealer_runs --landing DIR --output DIR` prints the figures as JSON;
`make bench` runs it at its scale and appends the table to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREPARE = ("ingest/landing_files", "ingest/reference_lists")
PARSE = ("intermediate/sales_checked", "intermediate/service_checked", "intermediate/contacts_checked")


def run_step(landing: Path, output: Path, step: str, first: str | None, last: str | None) -> None:
    """One run of the job on part of it: `prepare` (the catalog), `parse` (the dealer partitions
    first..last) or `rest` (everything after parsing)."""
    sys.path.insert(0, str(ROOT))
    import dagster as dg

    from assets.resources import LandingFolder, RunSettings, Warehouse
    from pipelines.automation import sync_dealer_partitions
    from pipelines.definitions import ALL_ASSETS, JOB_NAME, build_definitions

    instance = dg.DagsterInstance.ephemeral()
    sync_dealer_partitions(instance, landing)
    resources = {"landing": LandingFolder(input_dir=str(landing)), "run_settings": RunSettings(),
                 "warehouse": Warehouse(output_dir=str(output), memory_limit=os.environ.get("CRM_MEMORY_LIMIT", ""))}
    job = build_definitions(resources).resolve_job_def(JOB_NAME)
    keys = [key for assets_def in ALL_ASSETS for key in assets_def.keys]
    chosen = {"prepare": lambda k: k in PREPARE, "parse": lambda k: k in PARSE,
              "rest": lambda k: k not in PREPARE + PARSE}[step]
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last} if first else {}
    result = job.execute_in_process(instance=instance, asset_selection=[k for k in keys if chosen(k.to_user_string())],
                                    tags=tags)
    if not result.success:
        raise SystemExit(f"{step} failed")


def _start(landing: Path, output: Path, step: str,
           dealers: list[str] | None = None) -> tuple[subprocess.Popen, Path]:
    """One run in a process of its own, and its log (<output>/logs/<step>_<first dealer>.log)."""
    args = [sys.executable, "-m", "bench.dealer_runs", "--landing", str(landing), "--output", str(output),
            "--step", step]
    if dealers:
        args += ["--first", dealers[0], "--last", dealers[-1]]
    log = output / "logs" / f"{step}_{dealers[0] if dealers else 'all'}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        return subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True), log


def _wait(processes: list[tuple[subprocess.Popen, Path]]) -> float:
    """Wait for every process; returns the largest peak RSS in MB."""
    peak = 0.0
    for process, log in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        peak = max(peak, usage.ru_maxrss / 1024)
        if process.returncode != 0:
            raise SystemExit(f"{process.args} failed:\n{log.read_text()[-3000:]}")
    return peak


def measure(landing: Path, output: Path, concurrent: int) -> dict:
    """A fresh full run with the parsing split into `concurrent` dealer runs at once."""
    if output.exists():
        shutil.rmtree(output)
    dealers = sorted(p.name for p in landing.iterdir() if p.is_dir())
    figures = {"concurrent_dealer_runs": concurrent}
    for step in ("prepare", "parse", "rest"):
        started = time.perf_counter()
        if step == "parse":
            share = -(-len(dealers) // concurrent)
            processes = [_start(landing, output, step, dealers[i:i + share]) for i in range(0, len(dealers), share)]
        else:
            processes = [_start(landing, output, step)]
        peak = _wait(processes)
        figures[f"{step}_seconds"] = round(time.perf_counter() - started, 2)
        figures[f"{step}_peak_rss_mb"] = round(peak)
    figures["seconds_total"] = round(sum(figures[f"{s}_seconds"] for s in ("prepare", "parse", "rest")), 2)
    return figures


def markdown(runs: list[dict]) -> str:
    lines = ["| concurrent dealer runs | prepare (s) | parse (s) | rest (s) | whole run (s) | parse peak RSS per run (MB) |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['concurrent_dealer_runs']} | {r['prepare_seconds']:.1f} | {r['parse_seconds']:.1f} | "
              f"{r['rest_seconds']:.1f} | {r['seconds_total']:.1f} | {r['parse_peak_rss_mb']} |" for r in runs]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--step", choices=("prepare", "parse", "rest"))
    parser.add_argument("--first")
    parser.add_argument("--last")
    args = parser.parse_args()
    landing, output = Path(args.landing), Path(args.output)
    if args.step:
        run_step(landing, output, args.step, args.first, args.last)
        return
    runs = [measure(landing, output / f"concurrent_{n}", n) for n in (1, 2)]
    print(json.dumps(runs, indent=2))
    print(markdown(runs))


if __name__ == "__main__":
    main()
