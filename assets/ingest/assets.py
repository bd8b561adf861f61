"""Ingestion: the landing folder into typed, clean DuckDB tables, with every row accounted for."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import dagster as dg
import polars as pl

import sql
from assets.ingest.parsing import (
    expose_checked,
    ingest_dealers,
    install_code_maps,
    install_parse_inputs,
    known_catalog,
    prune_checked,
    register_catalog,
    write_parse_inputs,
)
from assets.metadata import build_table, counts_by, stopwatch, table_metadata, table_preview
from assets.resources import LandingFolder, RunSettings, WAREHOUSE_POOL, Warehouse
from landing.catalog import catalog_landing
from landing.mapping import SOURCES
from models.settings import Settings

GROUP = "ingest"

DEALERS = dg.DynamicPartitionsDefinition(name="dealer")
"""One partition per dealer folder of the landing folder, added as the folders appear."""

# one run over every dealer partition (a single-run backfill) is how every run ingests; Dagster
# still marks the parameter beta and would say so on every start
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="ingest", group_name=GROUP, kinds={"python", "duckdb"})
def landing_files(landing: LandingFolder, warehouse: Warehouse, run_settings: RunSettings,
                  settings: Settings) -> dg.MaterializeResult:
    """ingest.landing_files: one row per file of the landing folder: sha256, encoding, delimiter,
    header mapping and status (loaded, skipped as a re-delivery of identical bytes, failed with the
    reason, or ignored: not an export the pipeline reads); ingest.loaded_files: the files whose rows
    the warehouse holds; ingest.value_codes and ingest.code_maps: the value codes of
    landing/columns.toml. Also writes what parsing reads of them as Parquet (`<output>/parse_inputs/`)
    and drops the kept rows of dealers with no file left (of every dealer with --full)."""
    if not landing.path.is_dir():
        raise dg.Failure(f"CRM_INPUT_DIR / --input {landing.path} is not a readable folder")
    with stopwatch() as timing:
        with warehouse.connect() as con:
            catalog = catalog_landing(landing.path, warehouse.utf8_dir, known_catalog(con), full=run_settings.full)
            install_code_maps(con)
            register_catalog(con, catalog)
            future_limit = run_settings.future_limit(settings.ingest.future_tolerance_days)
            write_parse_inputs(con, warehouse.parse_inputs_dir, warehouse.empty_file(), future_limit)
            dropped = {f"dealers_dropped_{source}": prune_checked(con, warehouse.checked_dir, source,
                                                                  run_settings.full) for source in SOURCES}
    by_status = catalog.group_by("status").len().sort("status")
    failed = catalog.filter(catalog["status"] == "failed")["error"].to_list()
    ignored = catalog.filter(catalog["status"] == "ignored").select(pl.format("{}: {}", "file_name", "error"))
    ignored = ignored.to_series().to_list() if ignored.height else []
    with warehouse.connect() as con:
        metadata = table_metadata(con, "ingest.landing_files", timing["seconds"])
    return dg.MaterializeResult(metadata={
        **metadata,
        **{f"files_{status}": n for status, n in by_status.iter_rows()},
        **dropped,
        "failed_files": dg.MetadataValue.md("\n".join(f"- {e}" for e in failed) or "none"),
        "ignored_files": dg.MetadataValue.md("\n".join(f"- {e}" for e in ignored[:200]) or "none"),
    })


REFERENCE_FILES = {"ingest.suppression": "suppression.csv", "ingest.dealers": "dealers.csv"}


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="ingest", group_name=GROUP, kinds={"duckdb"})
def reference_lists(landing: LandingFolder, warehouse: Warehouse) -> dg.MaterializeResult:
    """ingest.suppression: one row per mobile or ID number that must never be contacted
    (suppression.csv); ingest.dealers: one row per dealer with its name and region (dealers.csv).
    Both optional: a missing file gives an empty table."""
    rows = {}
    with warehouse.connect() as con, stopwatch() as timing:
        for table, file_name in REFERENCE_FILES.items():
            path = landing.path / file_name
            if not path.is_file():
                path = warehouse.empty_file()
            rows[table.split(".")[1]] = sql.build(con, table, path=str(path))
    return dg.MaterializeResult(metadata={"seconds": timing["seconds"], **rows})


class SourceAssets(NamedTuple):
    """The two assets of one source: its checked rows (per dealer) and its clean records."""

    checked: dg.AssetsDefinition
    clean: dg.AssetsDefinition


def _source_assets(source: str, clean_name: str) -> SourceAssets:
    @dg.asset(name=f"{source}_checked", key_prefix="intermediate", group_name=GROUP,
              deps=[landing_files], kinds={"duckdb"}, partitions_def=DEALERS,
              backfill_policy=dg.BackfillPolicy.single_run(),
              description=f"intermediate.{source}_checked: one row per line of the loaded {source} files: typed "
                          "dates, amounts, mobiles, VIN and ID flags, canonical codes, and the reason the row "
                          "cannot be used (null when it can), kept as Parquet per dealer "
                          f"(<output>/checked/{source}/dealer=<code>/). Partitioned by dealer: a dealer is parsed "
                          "again only when its files or the parsing code changed since its last ingestion "
                          "(ingest.ingested_dealers, ingest.stale_dealers, ingest.files_to_parse, "
                          "ingest.parsed_dealers, on a parsing connection of its own: the step never opens the "
                          "warehouse, so dealers can be parsed by several steps or runs at once).")
    def checked(context, warehouse: Warehouse, run_settings: RunSettings, settings: Settings) -> dg.MaterializeResult:
        with warehouse.parsing_connection() as con, stopwatch() as timing:
            install_parse_inputs(con, warehouse.parse_inputs_dir)
            future_limit = run_settings.future_limit(settings.ingest.future_tolerance_days)
            done = ingest_dealers(con, source, context.partition_keys, warehouse.checked_dir, warehouse.batch_bytes,
                                  warehouse.empty_file(), future_limit)
            preview = table_preview(con, f"intermediate.{source}_checked")
        rows = done.pop("rows")
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "folder": str(warehouse.checked_dir / source),
                                              "seconds": timing["seconds"], "dealers": len(context.partition_keys),
                                              **done, **preview})

    @dg.asset(pool=WAREHOUSE_POOL, name=clean_name, key_prefix="clean", group_name=GROUP, deps=[landing_files,
              checked], kinds={"duckdb"},
              description=f"clean.{clean_name}: one row per usable {source} record: typed, validated, one row "
                          "per record id and dealer (the row of the file loaded last). A view over the checked rows, "
                          f"themselves the view intermediate.{source}_checked of every dealer's kept Parquet.")
    def clean(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            dealers = expose_checked(con, source, warehouse.checked_dir, warehouse.parse_inputs_dir)
            result = build_table(con, f"clean.{clean_name}", view=True)
        return dg.MaterializeResult(metadata={**result.metadata, "dealers": dealers})

    return SourceAssets(checked, clean)


sales_assets = _source_assets("sales", "sales")
service_assets = _source_assets("service", "repair_orders")
contacts_assets = _source_assets("contacts", "contacts")


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="ingest", group_name=GROUP, kinds={"duckdb"},
          deps=[landing_files, sales_assets.clean, service_assets.clean, contacts_assets.clean])
def rejects(warehouse: Warehouse) -> dg.MaterializeResult:
    """ingest.rejects: one row per input row that could not be used, with a reason code, a detail
    and the raw line."""
    with warehouse.connect() as con:
        result = build_table(con, "ingest.rejects")
        by_reason = counts_by(con, "ingest.rejects", "reason")
    return dg.MaterializeResult(metadata={**result.metadata, **{f"rejected_{r}": n for r, n in by_reason.items()}})


ROWS_CONSERVED = "rows_conserved"


@dg.asset(
    pool=WAREHOUSE_POOL, key_prefix="ingest", group_name=GROUP, kinds={"duckdb"},
    deps=[landing_files, rejects, sales_assets.clean, service_assets.clean, contacts_assets.clean],
    check_specs=[dg.AssetCheckSpec(ROWS_CONSERVED, asset=["ingest", "load_manifest"], blocking=True,
                                   description="Every file: rows_read = the lines after its header = "
                                               "rows_loaded + rows_rejected, and the counts match the "
                                               "clean tables and rejects.")],
)
def load_manifest(warehouse: Warehouse) -> dg.MaterializeResult:
    """ingest.load_manifest: one row per file of the landing folder (loaded, skipped as a
    re-delivery, or failed) with rows read, loaded and rejected."""
    with warehouse.connect() as con:
        result = build_table(con, "ingest.load_manifest")
        unbalanced = sql.query(con, "checks/rows_conserved").fetchall()
    return dg.MaterializeResult(
        metadata=result.metadata,
        check_results=[dg.AssetCheckResult(
            check_name=ROWS_CONSERVED,
            passed=not unbalanced,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"unbalanced_files": len(unbalanced),
                      "examples": dg.MetadataValue.md("\n".join(f"- {row}" for row in unbalanced[:20]) or "none")},
        )],
    )


ingest_assets = [landing_files, reference_lists, *sales_assets, *service_assets, *contacts_assets, rejects,
                 load_manifest]
