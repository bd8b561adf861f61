"""`make bench`: generate a bench landing folder at scale, run the pipeline on it, and compare
with DuckDB's bare `count(*)` scan of the same CSV files, measured in the same run.

Scale 1 = 200 dealers and 1M customers (about 10M repair orders and 1M sales). The landing
folder is cached under out/bench/; results go to out/bench/results.json and bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSET_LINE = re.compile(r"^\s*\d+/\d+ (?!check )(\S+)\s+(?:(\d+) rows|\S.*?)\s+([\d.]+) s$")
CHECK_LINE = re.compile(r"^\s*(?:\d+/\d+)?\s+check (\S+)\s+(passed|FAILED)\s+([\d.]+) s$")


def _child(args: list[str]) -> tuple[float, float, str]:
    """Run a command; returns (seconds, peak RSS in MB of that process and its children, stdout).
    The children (Spark's JVM) are sampled every 0.2 s; the process alone is exact (wait4)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, stdout=out, stderr=err, text=True, cwd=ROOT)
        tree_peak, parent = 0, psutil.Process(process.pid)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                break
            try:
                tree_peak = max(tree_peak, sum(m.memory_info().rss for m in [parent, *parent.children(recursive=True)]))
            except psutil.Error:
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{stdout}\n{stderr}")
    return seconds, max(usage.ru_maxrss / 1024, tree_peak / 2**20), stdout


def landing_folder(bench_dir: Path, scale: float, seed: int) -> Path:
    dealers, customers = max(6, round(200 * scale)), round(1_000_000 * scale)
    landing = bench_dir / f"landing_scale{scale:g}"
    marker = landing / ".generated.json"
    # the generator's own source is part of the key: a harsher generator writes a new folder
    generator_hash = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((ROOT / "generator").glob("*.py"))))
    wanted = {"dealers": dealers, "customers": customers, "seed": seed, "generator": generator_hash.hexdigest()[:16]}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return landing
    print(f"generating {dealers} dealers, {customers} customers -> {landing}", flush=True)
    subprocess.run([str(BIN / "crm"), "generate", "--out", str(landing), "--truth", str(landing) + "_truth",
                    "--dealers", str(dealers), "--customers", str(customers), "--seed", str(seed)], check=True)
    marker.write_text(json.dumps(wanted))
    return landing


BARE_SCAN = """
import duckdb, json, sys, time
from pathlib import Path
groups = {}
for path in sorted(Path(sys.argv[1]).glob("*/*/*.csv")):
    data = path.read_bytes()
    try:
        data.decode("utf-8"); encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"  # GBK: counted byte-wise, DuckDB has no GBK decoder built in
    header = data.split(b"\\n", 1)[0]
    delimiter = max([",", ";", "\\t"], key=lambda d: header.count(d.encode()))
    groups.setdefault((delimiter, encoding), []).append(str(path))
con = duckdb.connect()
started = time.perf_counter()
rows = 0
for (delimiter, encoding), files in groups.items():
    rows += con.execute(
        "select count(*) from read_csv($files, delim = $delim, header = true, all_varchar = true, "
        "null_padding = true, ignore_errors = true, encoding = $encoding, union_by_name = true)",
        {"files": files, "delim": delimiter, "encoding": encoding},
    ).fetchone()[0]
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))
"""


def bare_scan(landing: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", BARE_SCAN, str(landing)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


NEW_MONTH = "service_bench_new_month.csv"


def add_monthly_file(landing: Path) -> tuple[Path, int]:
    """A new monthly service export for the first dealer: the last twelfth of its newest service
    file under new RO numbers, every third row for a customer the dealer has not seen (another
    customer number, another mobile: new signatures to score), written as that file is
    (encoding, delimiter, header)."""
    sys.path.insert(0, str(ROOT))
    from landing.files import decode, sniff_delimiter
    from landing.mapping import match_header

    dealer = sorted(p for p in landing.iterdir() if p.is_dir())[0]
    newest = sorted((dealer / "service").glob("service_20*.csv"))[-1]
    data = newest.read_bytes()
    text, encoding = decode(data)
    header, *lines = text.splitlines()
    delimiter = sniff_delimiter(header)
    rows = list(csv.reader(lines[-(len(lines) // 12):], delimiter=delimiter))
    positions = match_header("service", next(csv.reader([header], delimiter=delimiter))).positions
    ro_number = positions["ro_number"] - 1
    customer_no, mobile = (positions.get(f, 0) - 1 for f in ("customer_no", "mobile"))
    for i, row in enumerate(rows):
        if len(row) > ro_number:
            row[ro_number] = "N" + row[ro_number]
        if i % 3 == 0:  # a customer new to the dealer
            if 0 <= customer_no < len(row) and row[customer_no]:
                row[customer_no] = "N" + row[customer_no]
            if 0 <= mobile < len(row) and len(row[mobile]) >= 4:
                row[mobile] = row[mobile][:-4] + row[mobile][-4:][::-1]
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path = dealer / "service" / NEW_MONTH
    path.write_bytes(out.getvalue().encode({"gbk": "gb18030", "utf-8-bom": "utf-8-sig"}.get(encoding, encoding)))
    return path, len(rows)


def run_pipeline(landing: Path, output: Path, fresh: bool = True, engine: str = "duckdb") -> dict:
    if fresh and output.exists():
        shutil.rmtree(output)
    seconds, peak_mb, stdout = _child([str(BIN / "crm"), "run", "--input", str(landing), "--output", str(output),
                                       "--engine", engine])
    by_asset = {m[1]: float(m[3]) for m in map(ASSET_LINE.match, stdout.splitlines()) if m}
    by_asset |= {f"check/{m[1]}": float(m[3]) for m in map(CHECK_LINE.match, stdout.splitlines()) if m}
    rows = {m[1]: int(m[2] or 0) for m in map(ASSET_LINE.match, stdout.splitlines()) if m}
    return {"seconds_total": round(seconds, 2), "seconds_by_asset": by_asset, "rows_by_asset": rows,
            "peak_rss_mb": round(peak_mb), "summary": [l for l in stdout.splitlines() if l.startswith(("files:", "rows:"))]}


def identity_accuracy(output: Path, truth: Path) -> dict:
    """Pairwise precision and recall of the resolved customers against the generator's truth."""
    import duckdb

    from bench.public_data import accuracy, truth_records

    with duckdb.connect(str(output / "warehouse.duckdb"), read_only=True) as con:
        return accuracy(con, truth_records(truth))


def analytics_figures(output: Path) -> dict:
    """The backtest figures of the analytics: CLV holdout error and lift, churn ROC AUC."""
    import duckdb

    with duckdb.connect(str(output / "warehouse.duckdb"), read_only=True) as con:
        holdout = dict(con.execute("select metric, value from analytics.clv_holdout").fetchall())
        auc = dict(con.execute("select model, value from analytics.churn_backtest where metric = 'roc_auc'").fetchall())
        customers = con.execute("select count(*) from analytics.features").fetchone()[0]
    return {"customers": customers, "clv_holdout_aggregate_error": round(holdout.get("aggregate_error", 0), 4),
            "clv_holdout_top_decile_lift": round(holdout.get("top_decile_lift", 0), 2),
            **{f"churn_roc_auc_{model}": round(value, 4) for model, value in auc.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bench-dir", default=str(ROOT / "out" / "bench"))
    args = parser.parse_args()
    bench_dir = Path(args.bench_dir)
    bench_dir.mkdir(parents=True, exist_ok=True)

    # not every DuckDB step spills (the signatures' list aggregates): 4 GB per scale unit, at least 4 GB
    os.environ.setdefault("CRM_MEMORY_LIMIT", f"{max(4, round(4 * args.scale))}GB")
    landing = landing_folder(bench_dir, args.scale, args.seed)
    for leftover in landing.glob(f"*/service/{NEW_MONTH}"):
        leftover.unlink()
    input_bytes = sum(p.stat().st_size for p in landing.glob("*/*/*.csv"))
    bare = bare_scan(landing)
    print(f"bare scan: {bare['rows']} rows in {bare['seconds']:.2f} s", flush=True)
    output = bench_dir / f"run_scale{args.scale:g}"
    pipeline = run_pipeline(landing, output)
    accuracy = identity_accuracy(output, Path(str(landing) + "_truth"))
    analytics = analytics_figures(output)
    new_month, new_rows = add_monthly_file(landing)
    print(f"added {new_month.relative_to(landing)} ({new_rows} rows); running again", flush=True)
    try:
        incremental = run_pipeline(landing, output, fresh=False)
    finally:
        new_month.unlink()
    by_stage = {stage: sum(sec for name, sec in pipeline["seconds_by_asset"].items() if stage_of(name) == stage)
                for stage in STAGES}
    ingest_seconds, identity_seconds = by_stage["ingest"], by_stage["identity"]
    analytics_seconds, act_seconds, checks_seconds = by_stage["analytics"], by_stage["act"], by_stage["checks"]
    ratio = pipeline["seconds_total"] / bare["seconds"]
    run = {
        "scale": args.scale,
        "input_rows": bare["rows"],
        "input_mb": round(input_bytes / 2**20),
        "seconds_by_asset": pipeline["seconds_by_asset"],
        "rows_by_asset": pipeline["rows_by_asset"],
        "seconds_total": pipeline["seconds_total"],
        "peak_rss_mb": pipeline["peak_rss_mb"],
        "bare_scan_seconds": round(bare["seconds"], 2),
        "ratio_to_bare_scan": round(ratio, 1),
        "ingest_seconds": round(ingest_seconds, 2),
        "ingest_ratio_to_bare_scan": round(ingest_seconds / bare["seconds"], 1),
        "identity_seconds": round(identity_seconds, 2),
        "identity_precision": round(accuracy["precision"], 5),
        "identity_recall": round(accuracy["recall"], 5),
        "analytics_seconds": round(analytics_seconds, 2),
        "act_seconds": round(act_seconds, 2),
        "checks_seconds": round(checks_seconds, 2),
        "checks_share_of_run": round(checks_seconds / pipeline["seconds_total"], 3),
        "analytics": analytics,
        "new_monthly_file": {"file": str(new_month.relative_to(landing)), "rows": new_rows,
                             "seconds_total": incremental["seconds_total"],
                             "share_of_full_run": round(incremental["seconds_total"] / pipeline["seconds_total"], 3),
                             "seconds_by_asset": incremental["seconds_by_asset"]},
        "machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
                    "python": platform.python_version()},
    }
    results_path = bench_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {"runs": []}
    results["runs"] = [r for r in results["runs"] if r["scale"] != args.scale] + [run]
    results_path.write_text(json.dumps(results, indent=2))
    print(json.dumps(run, indent=2))
    _append_summary(run, pipeline["summary"])
    _append_scaling(results["runs"])
    _append_dealer_runs(landing, bench_dir / f"dealer_runs_scale{args.scale:g}", args.scale)
    _append_public_data()


STAGES = ("ingest", "identity", "analytics", "act", "marts", "checks")


def stage_of(asset: str) -> str:
    """The stage an asset line of `crm run` belongs to (the marts of ingest's tables count as ingest)."""
    prefix = asset.split("/")[0]
    if prefix in ("ingest", "intermediate", "clean") or asset in ("marts/load_manifest", "marts/rejects"):
        return "ingest"
    return "checks" if prefix == "check" else prefix


def scaling_markdown(runs: list[dict]) -> str:
    """Every scale measured, side by side: seconds and seconds per million input rows by stage."""
    runs = sorted(runs, key=lambda r: r["scale"])
    header = " | ".join(f"scale {r['scale']:g}: s | s/M rows" for r in runs)
    lines = [f"| stage | {header} |", "|---|" + "---:|---:|" * len(runs)]
    for stage in (*STAGES, "whole run"):
        cells = []
        for run in runs:
            seconds = run["seconds_total"] if stage == "whole run" else sum(
                sec for name, sec in run["seconds_by_asset"].items() if stage_of(name) == stage)
            cells.append(f"{seconds:.1f} | {seconds / run['input_rows'] * 1e6:.2f}")
        lines.append(f"| {stage} | {' | '.join(cells)} |")
    lines.append("| input rows | " + " | ".join(f"{r['input_rows']:,} | " for r in runs) + "|")
    lines.append("| peak RSS (MB) | " + " | ".join(f"{r['peak_rss_mb']} | " for r in runs) + "|")
    lines.append("| new monthly file (s, share of the full run) | " + " | ".join(
        f"{r['new_monthly_file']['seconds_total']:.1f} | {r['new_monthly_file']['share_of_full_run']:.0%}"
        for r in runs) + " |")
    return "\n".join(lines) + "\n"


def _append_scaling(runs: list[dict]) -> None:
    """The scales of out/bench/results.json side by side (each the latest run at that scale)."""
    if len(runs) < 2:
        return
    text = (f"\nScaling ({time.strftime('%Y-%m-%d')}, the latest run at each scale in out/bench/results.json):\n\n"
            + scaling_markdown(runs))
    print(text)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write(text)


def _append_dealer_runs(landing: Path, work: Path, scale: float) -> None:
    """A full run with its parsing as one dealer run and as two at once (bench/dealer_runs.py)."""
    from bench import dealer_runs

    runs = [dealer_runs.measure(landing, work / f"concurrent_{n}", n) for n in (1, 2)]
    shutil.rmtree(work)
    text = (f"\nDealer runs at once ({time.strftime('%Y-%m-%d')}, scale {scale:g}, `python -m bench.dealer_runs`):\n\n"
            + dealer_runs.markdown(runs))
    print(text)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write(text)


def _append_public_data() -> None:
    """Identity on the Febrl sets and the sample, and the threshold curve (bench/public_data.py)."""
    from bench import public_data

    with tempfile.TemporaryDirectory() as tmp:
        results = public_data.run_all(Path(tmp))
    text = (f"\nIdentity on public data and the sample ({time.strftime('%Y-%m-%d')}, `python -m bench.public_data`):\n\n"
            + public_data.summary_markdown(results) + "\nPrecision / recall by match threshold:\n\n"
            + public_data.calibration_markdown(results))
    print(text)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write(text)


def _append_summary(run: dict, summary: list[str]) -> None:
    lines = [
        f"\n### {time.strftime('%Y-%m-%d')}: scale {run['scale']:g}, {run['input_rows']:,} input rows "
        f"({run['input_mb']} MB), {run['machine']['cores']} cores, {run['machine']['memory_gb']} GB\n",
        "| asset | rows | seconds |", "|---|---:|---:|",
        *[f"| {name} | {run['rows_by_asset'].get(name, '')} | {sec:.2f} |" for name, sec in run["seconds_by_asset"].items()],
        f"| **whole run (process, incl. start-up)** | | **{run['seconds_total']:.2f}** |",
        "",
        f"DuckDB bare `count(*)` scan of the same files: {run['bare_scan_seconds']:.2f} s. "
        f"Ingestion (load and clean) {run['ingest_seconds']:.1f} s = {run['ingest_ratio_to_bare_scan']}x the bare "
        f"scan; identity resolution {run['identity_seconds']:.1f} s, pairwise precision "
        f"{run['identity_precision']}, recall {run['identity_recall']}; whole run {run['ratio_to_bare_scan']}x; "
        f"peak RSS {run['peak_rss_mb']} MB. Analytics {run['analytics_seconds']:.1f} s for "
        f"{run['analytics']['customers']:,} customers; CLV holdout aggregate error "
        f"{run['analytics']['clv_holdout_aggregate_error']:+.1%}, top-decile lift "
        f"{run['analytics']['clv_holdout_top_decile_lift']}; churn backtest ROC AUC: classifier "
        f"{run['analytics'].get('churn_roc_auc_churn_classifier')}, BG/NBD p_alive "
        f"{run['analytics'].get('churn_roc_auc_bgnbd_p_alive')}, random {run['analytics'].get('churn_roc_auc_random')}. "
        f"Work lists (act/follow_ups, act/service_due, act/win_back) {run['act_seconds']:.1f} s together. "
        f"Data-quality checks {run['checks_seconds']:.1f} s = {run['checks_share_of_run']:.1%} of the run.",
        "", *[f"    {line}" for line in summary], "",
        f"A new monthly file for one dealer ({run['new_monthly_file']['file']}, {run['new_monthly_file']['rows']} "
        f"rows), run again into the same output: {run['new_monthly_file']['seconds_total']:.1f} s = "
        f"{run['new_monthly_file']['share_of_full_run']:.0%} of the full run. Its largest steps: "
        + ", ".join(f"{name} {sec:.1f} s" for name, sec in sorted(run["new_monthly_file"]["seconds_by_asset"].items(),
                                                                key=lambda item: -item[1])[:6]) + ".",
        "",
    ]
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
