"""The identity engines measured: `crm run --engine duckdb|spark --retrain` on generator landing
folders of two sizes, the seconds of the steps that run on the engine (rule edges and their
clusters, training, scoring and clusters, households), per million signatures, and the accuracy
of each against the generator's truth. Two sizes give each engine a fixed cost (Spark's JVM and
its many small stages) and a marginal cost per million signatures.
`python -m bench.engines --scales 0.05 0.1` (make bench runs it) appends the table to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from importlib.util import find_spec
from pathlib import Path

import duckdb

from bench.public_data import accuracy, truth_records
from bench.run import ROOT, landing_folder, run_pipeline

ENGINE_STEPS = ("identity/rule_clusters", "identity/linkage_model", "identity/profile_links", "identity/households")
"""The steps whose work runs on the identity engine."""


def measure(landing: Path, output: Path, engine: str) -> dict:
    run = run_pipeline(landing, output, engine=engine)
    with duckdb.connect(str(output / "warehouse.duckdb"), read_only=True) as con:
        signatures = con.table("identity.signatures").count("*").fetchone()[0]
        figures = accuracy(con, truth_records(Path(str(landing) + "_truth")))
    seconds = sum(run["seconds_by_asset"][step] for step in ENGINE_STEPS)
    return {"engine": engine, "signatures": signatures, "engine_seconds": round(seconds, 2),
            "seconds_per_million_signatures": round(seconds / signatures * 1e6, 1),
            "by_step": {step: run["seconds_by_asset"][step] for step in ENGINE_STEPS},
            "whole_run_seconds": run["seconds_total"], "peak_rss_mb": run["peak_rss_mb"],
            "precision": round(figures["precision"], 5), "recall": round(figures["recall"], 5)}


def marginal(runs: list[dict], engine: str) -> tuple[float, float] | None:
    """(fixed seconds, seconds per million signatures) of `engine` from its smallest and largest run."""
    mine = sorted((r for r in runs if r["engine"] == engine), key=lambda r: r["signatures"])
    if len(mine) < 2 or mine[-1]["signatures"] == mine[0]["signatures"]:
        return None
    small, large = mine[0], mine[-1]
    slope = (large["engine_seconds"] - small["engine_seconds"]) / (large["signatures"] - small["signatures"]) * 1e6
    return small["engine_seconds"] - slope * small["signatures"] / 1e6, slope


def markdown(runs: list[dict]) -> str:
    lines = ["| scale | engine | signatures | engine steps (s) | s per M signatures | whole run (s) | peak RSS (MB) | "
             "precision | recall |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['scale']:g} | {r['engine']} | {r['signatures']:,} | {r['engine_seconds']:.1f} | "
              f"{r['seconds_per_million_signatures']:.1f} | {r['whole_run_seconds']:.1f} | {r['peak_rss_mb']} | "
              f"{r['precision']} | {r['recall']} |" for r in runs]
    for engine in ("duckdb", "spark"):
        fit = marginal(runs, engine)
        if fit:
            lines.append(f"\n{engine}: {fit[0]:.1f} s fixed + {fit[1]:.1f} s per million signatures (from the two sizes).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bench-dir", default=str(ROOT / "out" / "bench"))
    args = parser.parse_args()
    if not shutil.which("java") or not find_spec("pyspark"):
        print("bench.engines: skipped, the Spark engine needs Java 17 and the spark extra (make bench EXTRAS=dev,spark)")
        return
    bench_dir = Path(args.bench_dir)
    runs = []
    for scale in args.scales:
        landing = landing_folder(bench_dir, scale, args.seed)
        for engine in ("duckdb", "spark"):
            runs.append({"scale": scale, **measure(landing, bench_dir / f"engine_{engine}_scale{scale:g}", engine)})
            print(json.dumps(runs[-1]), flush=True)
    (bench_dir / "engines.json").write_text(json.dumps(runs, indent=2))
    text = (f"\nIdentity engines ({time.strftime('%Y-%m-%d')}, `python -m bench.engines`, 2 cores, Spark "
            "local[2] in the run's process):\n\n" + markdown(runs))
    print(text)
    with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
