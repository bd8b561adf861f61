"""`crm`: run the pipeline over a landing folder, or generate a synthetic one.

    crm run --input DIR --output DIR [--as-of YYYY-MM-DD] [--strict] [--full] [--retrain] [--engine E] [--settings FILE]
    crm segments export --output DIR --to FILE.csv|FILE.xlsx [filters]
    crm lists export LIST --output DIR --to FILE.csv|FILE.xlsx [--dealer D] [--staff S] [--due-within DAYS]
    crm generate --out DIR [--truth DIR] --dealers N --customers N --seed S
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

import dagster as dg
import polars as pl

from assets.resources import IdentityEngine, LandingFolder, RunSettings, Warehouse
from generator import generate_landing
from models.settings import Settings
from pipelines.run_summary import print_summary


def _as_of(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of {value!r} is not a date written YYYY-MM-DD") from None
    return value


def _wrote(metadata: dict) -> str:
    """What an asset that holds no table wrote: the file it wrote, else the tables it filled."""
    path = metadata.get("path")
    if path is not None:
        return Path(str(getattr(path, "value", path))).name
    tables = [key for key in metadata if key in ("suppression", "dealers")]
    return ", ".join(tables) if tables else "done"


def _check_lines(context: dg.HookContext) -> list[str]:
    """A line per asset check evaluated in the step: its name, passed or FAILED, seconds."""
    lines = []
    for record in context.instance.all_logs(context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        if record.step_key == context.step_key:
            evaluation = record.dagster_event.event_specific_data
            seconds = evaluation.metadata.get("seconds")
            lines.append(f"  check {evaluation.check_name:<22} {'passed' if evaluation.passed else 'FAILED':>12}      "
                         f"{getattr(seconds, 'value', 0) or 0:>8.2f} s")
    return lines


_steps_by_run: dict[str, int] = {}
"""Per run of this process: the steps of the runs before it and its own."""
_done = [0]


def _position(context: dg.HookContext) -> str:
    """"12/34": how many steps of this `crm run` have finished, of those of its runs so far (the
    catalog's, then the rest's)."""
    if context.run_id not in _steps_by_run:
        run = context.instance.get_run_by_id(context.run_id)
        plan = context.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        _steps_by_run[context.run_id] = max(_steps_by_run.values(), default=0) + len(plan.steps)
    _done[0] += 1
    return f"{_done[0]:>3}/{_steps_by_run[context.run_id]}"


@dg.success_hook
def _report_asset(context: dg.HookContext) -> None:
    """One line per asset as it finishes (its position in the run, name, rows or what it wrote,
    seconds), one per asset check."""
    metadata = next(iter(context.op_output_metadata.values()), {}) if context.op_output_metadata else {}
    rows = metadata.get("dagster/row_count")
    rows = getattr(rows, "value", rows)
    seconds = metadata.get("seconds")
    seconds = getattr(seconds, "value", seconds)
    checks = _check_lines(context)
    position = _position(context)
    if rows is not None or seconds is not None or not checks:
        wrote = f"{rows:>12} rows" if rows is not None else f"{_wrote(metadata):>17}"
        print(f"{position} {context.op.name.replace('__', '/'):<28} {wrote} {seconds or 0:>8.2f} s", flush=True)
    for line in checks:  # a check of its own step, or one its asset evaluates (rows_conserved)
        print(f"{position if rows is None and seconds is None else '':>{len(position)}} {line[2:]}", flush=True)


def _output_problem(output_dir: Path) -> str | None:
    """Why a run cannot write into the output folder (in one line), or None."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot be created: {exc.strerror}."
    if not os.access(output_dir, os.W_OK | os.X_OK):
        return "is not writable: a run writes warehouse.duckdb, marts/ and reports/ there."
    warehouse = output_dir / "warehouse.duckdb"
    if warehouse.exists():
        import duckdb

        try:
            duckdb.connect(str(warehouse)).close()
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                return "is in use by another run (its warehouse.duckdb is locked); run again when that one ends."
            return f"holds a warehouse.duckdb that cannot be opened ({type(exc).__name__})."
    return None


def _libraries_log_to(path: Path) -> Path:
    """Send what the libraries say (Splink's training notes, Python warnings) to a log file under
    the output folder, so the console shows the asset lines and the summary only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.captureWarnings(True)
    for name in ("splink", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    return path


def run(args: argparse.Namespace) -> int:
    input_dir = Path(args.input)
    if not input_dir.is_dir() or not os.access(input_dir, os.R_OK | os.X_OK):
        print(f"crm run: --input {input_dir} is not a readable folder.", file=sys.stderr)
        return 2
    if not any(child.is_dir() and not child.name.startswith(".") for child in input_dir.iterdir()):
        print(f"crm run: --input {input_dir} holds no dealer folder (<dealer_code>/sales, service, contacts); "
              "nothing was run and the marts of earlier runs are left as they are.", file=sys.stderr)
        return 2
    output_dir = Path(args.output)
    problem = _output_problem(output_dir)
    if problem:
        print(f"crm run: --output {output_dir} {problem}", file=sys.stderr)
        return 2

    from pydantic import ValidationError

    from pipelines.definitions import run_everything

    try:
        settings = Settings.from_file(args.settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or exc.title
        print(f"crm run: --settings {args.settings}: {where}: {error['msg']}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"crm run: --settings {args.settings}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    resources = {
        "landing": LandingFolder(input_dir=str(input_dir.resolve())),
        "warehouse": Warehouse(output_dir=str(output_dir.resolve()), memory_limit=os.environ.get("CRM_MEMORY_LIMIT", "")),
        "run_settings": RunSettings(as_of=args.as_of or "", full=args.full, retrain=args.retrain),
        "settings": settings,
        "identity_engine": IdentityEngine(engine=args.engine, spark_master=os.environ.get("CRM_SPARK_MASTER", "local[2]"),
                                          exchange_dir=os.environ.get("CRM_SPARK_EXCHANGE", "")),
    }
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    log = _libraries_log_to(output_dir / "logs" / "crm_run.log")
    print(f"crm run: {input_dir} -> {output_dir} (library warnings: {log})")
    result = run_everything(resources, instance, hooks=frozenset({_report_asset}),
                                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        message = failure.step_failure_data.error.message.strip() if failure else "the run failed"
        print(f"crm run failed at {failure.step_key if failure else 'start'}: {message}", file=sys.stderr)
        return 1
    failed_files = print_summary(output_dir / "warehouse.duckdb")
    if args.strict and failed_files:
        print(f"crm run --strict: {failed_files} file(s) failed to load.", file=sys.stderr)
        return 3
    return 0


def export_segment(args: argparse.Namespace) -> int:
    from exports.files import write_rows
    from exports.segments import (
        FilterError,
        SegmentFilter,
        for_call_centre,
        select_members,
    )

    mart = Path(args.output) / "marts" / "segment_members.parquet"
    if not mart.is_file():
        print(f"crm segments export: {mart} not found; run `crm run --output {args.output}` first.", file=sys.stderr)
        return 2
    wanted = SegmentFilter(dealers=args.dealer, stages=args.stage, tiers=args.tier, segments=args.segment,
                           min_clv=args.min_clv, min_churn_risk=args.min_churn_risk,
                           include_not_contactable=args.include_not_contactable)
    try:
        rows, left_out = select_members(pl.read_parquet(mart), wanted)
    except FilterError as exc:
        print(f"crm segments export: {exc}", file=sys.stderr)
        return 2
    marts = mart.parent
    customers, dealers = (pl.read_parquet(marts / f"{name}.parquet") if (marts / f"{name}.parquet").is_file() else None
                          for name in ("customer_360", "dealer_scorecard"))
    try:
        write_rows(for_call_centre(rows, customers, dealers), Path(args.to), args.lang)
    except FilterError as exc:
        print(f"crm segments export: {exc}", file=sys.stderr)
        return 2
    reasons = ", ".join(f"{reason} {n}" for reason, n in left_out.items())
    print(f"crm segments export: wrote {rows.height} rows to {args.to}; left out {sum(left_out.values())} "
          f"not contactable{f' ({reasons})' if reasons else ''}")
    return 0


def export_list(args: argparse.Namespace) -> int:
    from exports.files import write_rows
    from exports.lists import ListFilter, read_marts, select_list
    from exports.segments import FilterError, SegmentFilter

    try:
        marts, as_of = read_marts(Path(args.output))
    except FileNotFoundError as exc:
        print(f"crm lists export: {exc}", file=sys.stderr)
        return 2
    wanted = ListFilter(dealers=args.dealer, staff=args.staff, due_within_days=args.due_within,
                        include_not_contactable=args.include_not_contactable,
                        segment=SegmentFilter(stages=args.stage, tiers=args.tier, segments=args.segment,
                                              min_clv=args.min_clv, min_churn_risk=args.min_churn_risk))
    try:
        rows, left_out = select_list(args.list, marts, as_of, wanted)
        write_rows(rows, Path(args.to), args.lang)
    except FilterError as exc:
        print(f"crm lists export: {exc}", file=sys.stderr)
        return 2
    reasons = ", ".join(f"{reason} {n}" for reason, n in left_out.items())
    print(f"crm lists export {args.list}: wrote {rows.height} rows to {args.to} (as of {as_of}); left out "
          f"{sum(left_out.values())} not contactable{f' ({reasons})' if reasons else ''}")
    return 0


def generate(args: argparse.Namespace) -> int:
    if args.dealers < 1 or args.customers < 1:
        print(f"crm generate: --dealers and --customers must be at least 1 (got {args.dealers} and "
              f"{args.customers}).", file=sys.stderr)
        return 2
    truth = Path(args.truth) if args.truth else Path(args.out).with_name(Path(args.out).name + "_truth")
    counts = generate_landing(Path(args.out), truth, args.dealers, args.customers, args.seed)
    print(f"crm generate: {counts['people']} people, {counts['sales']} sales, {counts['service']} repair orders "
          f"-> {args.out} (truth in {truth})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description="dealer-crm: DMS exports in, customer knowledge out.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="materialize every asset over a landing folder")
    run_parser.add_argument("--input", required=True, help="landing folder")
    run_parser.add_argument("--output", required=True, help="output folder (warehouse.duckdb, marts/)")
    run_parser.add_argument("--as-of", type=_as_of, default=os.environ.get("CRM_AS_OF") or None,
                            help="analysis date YYYY-MM-DD (default: the latest date in the data)")
    run_parser.add_argument("--strict", action="store_true", help="exit non-zero when any file failed to load")
    run_parser.add_argument("--full", action="store_true",
                            help="read every landing file, parse every dealer, build every identity table and fit "
                                 "the CLV backtest again, changed or not (the kept models score)")
    run_parser.add_argument("--retrain", action="store_true",
                            help="train the identity model and fit the CLV model again on this run's data (else the "
                                 "kept <output>/models/linkage_model.json and clv_model.json score, made again "
                                 "only when due)")
    run_parser.add_argument("--engine", choices=("duckdb", "spark"), default=os.environ.get("CRM_ENGINE") or "duckdb",
                            help="where identity's pair work runs (default: CRM_ENGINE, else duckdb); spark needs "
                                 "the spark extra and Java, and CRM_SPARK_MASTER (default local[2])")
    run_parser.add_argument("--settings", default=os.environ.get("CRM_SETTINGS") or None, metavar="FILE",
                            help="YAML or JSON file of settings (models/settings.py), shaped like the run config: "
                                 "identity: {match_threshold: 0.9}; default: CRM_SETTINGS, else the defaults")
    run_parser.set_defaults(handler=run)
    segments = commands.add_parser("segments", help="contact lists from the segment_members mart")
    segment_commands = segments.add_subparsers(dest="segments_command", required=True)
    export = segment_commands.add_parser("export", help="write a contact list as CSV (UTF-8 with BOM) or XLSX")
    export.add_argument("--output", required=True, help="the output folder of a `crm run`")
    export.add_argument("--to", required=True, help="file to write: .csv or .xlsx")
    export.add_argument("--dealer", action="append", default=[], help="dealer code (repeatable)")
    export.add_argument("--stage", action="append", default=[], help="lifecycle stage: new, stable, churning, lost")
    export.add_argument("--tier", action="append", default=[], help="ABC tier at the dealer: A, B, C")
    export.add_argument("--segment", action="append", default=[], help="RFM segment, e.g. 'At risk'")
    export.add_argument("--min-clv", type=float, help="minimum 12-month CLV (yuan)")
    export.add_argument("--min-churn-risk", type=float, help="minimum churn risk (0-1)")
    export.add_argument("--include-not-contactable", action="store_true",
                        help="also list customers who may not be contacted, with the reason")
    export.add_argument("--lang", choices=("auto", "en", "zh"), default="auto",
                        help="column headers in Chinese or English (auto: Chinese for a Chinese DMS's customers)")
    export.set_defaults(handler=export_segment)
    from exports.lists import LISTS

    lists = commands.add_parser("lists", help="the staff's call lists from the marts")
    list_commands = lists.add_subparsers(dest="lists_command", required=True)
    list_export = list_commands.add_parser("export", help="write one call list as CSV (UTF-8 with BOM) or XLSX")
    list_export.add_argument("list", choices=LISTS, help="which list")
    list_export.add_argument("--output", required=True, help="the output folder of a `crm run`")
    list_export.add_argument("--to", required=True, help="file to write: .csv or .xlsx")
    list_export.add_argument("--dealer", action="append", default=[], help="dealer code (repeatable)")
    list_export.add_argument("--staff", action="append", default=[],
                             help="salesperson (follow-ups) or service advisor (service-due) (repeatable)")
    list_export.add_argument("--due-within", type=int, metavar="DAYS",
                             help="follow-ups and service-due: everything due within DAYS after as-of")
    list_export.add_argument("--include-not-contactable", action="store_true",
                             help="also list customers who may not be contacted, with the reason")
    list_export.add_argument("--lang", choices=("auto", "en", "zh"), default="auto",
                             help="column headers in Chinese or English (auto: Chinese for a Chinese DMS's customers)")
    list_export.add_argument("--stage", action="append", default=[], help="segment list: lifecycle stage")
    list_export.add_argument("--tier", action="append", default=[], help="segment list: ABC tier at the dealer")
    list_export.add_argument("--segment", action="append", default=[], help="segment list: RFM segment")
    list_export.add_argument("--min-clv", type=float, help="segment list: minimum 12-month CLV (yuan)")
    list_export.add_argument("--min-churn-risk", type=float, help="segment list: minimum churn risk (0-1)")
    list_export.set_defaults(handler=export_list)
    gen = commands.add_parser("generate", help="write a synthetic landing folder and its ground truth")
    gen.add_argument("--out", required=True)
    gen.add_argument("--truth", help="folder for the ground truth (default: <out>_truth)")
    gen.add_argument("--dealers", type=int, default=6)
    gen.add_argument("--customers", type=int, default=3000)
    gen.add_argument("--seed", type=int, default=7)
    gen.set_defaults(handler=generate)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
