"""Ingestion: the landing folder into typed, clean DuckDB tables, with every row accounted for."""

from __future__ import annotations

import warnings

import dagster as dg
import polars as pl

import sql
from assets.materialize import materialize_sql, stopwatch, table_metadata, table_preview
from landing.load import (
    catalog_landing,
    ensure_checked_table,
    ingest_dealers,
    install_code_maps,
    known_catalog,
    prune_checked,
    register_catalog,
)
from landing.mapping import SOURCES
from pipelines.resources import LandingFolder, RunSettings, Warehouse

GROUP = "ingest"

DEALERS = dg.DynamicPartitionsDefinition(name="dealer")
"""One partition per dealer folder of the landing folder, added as the folders appear."""

# one run over every dealer partition (a single-run backfill) is how every run ingests; Dagster
# still marks the parameter beta and would say so on every start
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


@dg.asset(key_prefix="ingest", group_name=GROUP, kinds={"python", "duckdb"})
def landing_files(landing: LandingFolder, warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """One row per file of the landing folder: sha256, encoding, delimiter, header mapping and
    status (loaded, skipped as a re-delivery of identical bytes, failed with the reason, or
    ignored: not an export the pipeline reads). Also drops from the checked tables the rows of
    files that are no longer loaded, so rows leave with their file even before their dealer is
    ingested again."""
    if not landing.path.is_dir():
        raise dg.Failure(f"CRM_INPUT_DIR / --input {landing.path} is not a readable folder")
    with stopwatch() as timing:
        with warehouse.connect() as con:
            catalog = catalog_landing(landing.path, warehouse.utf8_dir, known_catalog(con), full=run_settings.full)
            install_code_maps(con)
            register_catalog(con, catalog)
            dropped = {}
            for source in SOURCES:
                ensure_checked_table(con, source, warehouse.empty_file(), run_settings.future_limit())
                if run_settings.full:
                    con.execute("delete from ingest.ingested_dealers where source = $source", {"source": source})
                dropped[f"rows_dropped_{source}"] = prune_checked(con, source)
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


REFERENCE_TABLES = {
    "suppression": ("suppression.csv", "staging/stg_suppression",
                    "value varchar, value_normalized varchar, kind varchar"),
    "dealers": ("dealers.csv", "staging/stg_dealers", "dealer_code varchar, dealer_name varchar, region varchar, "
                "province varchar, city varchar, brand varchar, opened_on date"),
}


@dg.asset(key_prefix="ingest", group_name=GROUP, kinds={"duckdb"})
def reference_lists(landing: LandingFolder, warehouse: Warehouse) -> dg.MaterializeResult:
    """ingest.suppression: one row per mobile or ID number that must never be contacted
    (suppression.csv); ingest.dealers: one row per dealer with its name and region (dealers.csv).
    Both optional: a missing file gives an empty table."""
    rows = {}
    with warehouse.connect() as con, stopwatch() as timing:
        con.execute("create schema if not exists ingest")
        for table, (file_name, query, columns) in REFERENCE_TABLES.items():
            path = landing.path / file_name
            if path.is_file():
                rows[table] = sql.materialize(con, query, f"ingest.{table}", path=str(path))
            else:
                con.execute(f"create or replace table ingest.{table} ({columns})")
                rows[table] = 0
    return dg.MaterializeResult(metadata={"seconds": timing["seconds"], **rows})


def _source_assets(source: str, clean_name: str) -> list[dg.AssetsDefinition]:
    @dg.asset(name=f"{source}_checked", key_prefix="intermediate", group_name=GROUP,
              deps=[landing_files], kinds={"duckdb"}, partitions_def=DEALERS,
              backfill_policy=dg.BackfillPolicy.single_run(),
              description=f"One row per line of the loaded {source} files: typed dates, amounts, mobiles, "
                          "VIN and ID flags, canonical codes, and the reason the row cannot be used (null "
                          "when it can). Partitioned by dealer: a dealer is parsed again only when its files "
                          "or the parsing code changed since its last ingestion.")
    def checked(context, warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
        table = f"intermediate.{source}_checked"
        with warehouse.connect() as con, stopwatch() as timing:
            done = ingest_dealers(con, source, context.partition_keys, warehouse.batch_bytes, warehouse.empty_file(),
                                  run_settings.future_limit())
        with warehouse.connect() as con:
            rows = con.execute(f"select count(*) from {table} where dealer_code in (select unnest($dealers))",
                               {"dealers": context.partition_keys}).fetchone()[0]
            preview = table_preview(con, table)
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "table": table, "seconds": timing["seconds"],
                                              "dealers": len(context.partition_keys), **done, **preview})

    @dg.asset(name=clean_name, key_prefix="clean", group_name=GROUP, deps=[landing_files, checked], kinds={"duckdb"},
              description=f"One row per usable {source} record: typed, validated, one row per record id "
                          "and dealer (the row of the file loaded last). A view over the checked rows.")
    def clean(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            return materialize_sql(con, f"intermediate/int_{source}_clean", f"clean.{clean_name}", view=True)

    return [checked, clean]


sales_assets = _source_assets("sales", "sales")
service_assets = _source_assets("service", "repair_orders")
contacts_assets = _source_assets("contacts", "contacts")


@dg.asset(key_prefix="ingest", group_name=GROUP, deps=[landing_files, sales_assets[0], service_assets[0],
                                                                   contacts_assets[0]],
          kinds={"duckdb"})
def rejects(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per input row that could not be used, with a reason code, a detail and the raw line."""
    with warehouse.connect() as con:
        result = materialize_sql(con, "intermediate/int_rejects", "ingest.rejects")
        by_reason = con.execute("select reason, count(*) from ingest.rejects group by reason order by reason").fetchall()
    return dg.MaterializeResult(metadata={**result.metadata, **{f"rejected_{r}": n for r, n in by_reason}})


ROWS_CONSERVED = "rows_conserved"


@dg.asset(
    key_prefix="ingest", group_name=GROUP, kinds={"duckdb"},
    deps=[landing_files, rejects, sales_assets[1], service_assets[1], contacts_assets[1]],
    check_specs=[dg.AssetCheckSpec(ROWS_CONSERVED, asset=["ingest", "load_manifest"], blocking=True,
                                   description="Every file: rows_read = the lines after its header = "
                                               "rows_loaded + rows_rejected, and the counts match the "
                                               "clean tables and rejects.")],
)
def load_manifest(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per file of the landing folder (loaded, skipped as a re-delivery, or failed) with
    rows read, loaded and rejected."""
    with warehouse.connect() as con:
        result = materialize_sql(con, "marts/load_manifest", "ingest.load_manifest")
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
