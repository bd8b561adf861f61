"""The one Definitions loads, and its assets are grouped and documented."""

import re

import dagster as dg

import sql
from assets.ingest.parsing import PARSING_TABLES
from pipelines.definitions import defs
from tests.conftest import ROOT, query


def test_definitions_load():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {"ingest/landing_files", "clean/sales", "clean/repair_orders", "ingest/rejects", "ingest/load_manifest",
            "marts/load_manifest", "marts/rejects"} <= keys


def test_every_asset_has_a_group_and_a_docstring():
    for assets_def in defs.assets:
        for key in assets_def.keys:
            assert assets_def.group_names_by_key[key] in {"ingest", "identity", "analytics", "act", "marts"}
            assert assets_def.descriptions_by_key.get(key), key


def test_conservation_check_is_defined():
    checks = {spec.key.name for a in defs.assets for spec in a.check_specs}
    assert "rows_conserved" in checks
    assert isinstance(defs.resolve_job_def("materialize_all"), dg.JobDefinition)


def test_tables_show_their_schema_and_a_preview_without_personal_data(sample_run):
    output, result = sample_run
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    mobiles = {m for (m,) in query(output, "select mobile from identity.customers where mobile is not null")}
    for key in ("intermediate/service_checked", "identity/customers", "marts/segment_members", "marts/rejects"):
        preview = metadata[key]["preview"].value
        schema = {column.name for column in metadata[key]["dagster/column_schema"].value.columns}
        assert preview.count("\n") == 6, key  # header, rule and five rows
        assert not any(mobile in preview for mobile in mobiles), key
        assert schema and all(column in preview for column in schema), key
    assert "***" in metadata["identity/customers"]["preview"].value
    assert "region" in metadata["marts/dealer_scorecard"]["preview"].value


def _warehouse_tables(output) -> set[str]:
    return {f"{schema}.{name}" for schema, name in query(
        output, "select schema_name, table_name from duckdb_tables() union all "
                "select schema_name, view_name from duckdb_views() where not internal")}


def test_every_sql_file_is_named_after_the_table_it_builds(sample_run):
    output, _ = sample_run
    tables = _warehouse_tables(output)
    for layer in sql.LAYERS:
        for path in sorted((sql.SQL_DIR / layer).glob("*.sql")):
            parts = path.stem.split(".")
            if layer == "staging" and path.stem.startswith("stg_"):
                assert f"staging/{path.stem}" in sql.STAGING_MACROS, path  # a table macro over the landing files
                continue
            assert len(parts) in (2, 3), path  # schema.table, or schema.table.verb: a statement on it
            assert ".".join(parts[:2]) in tables | set(PARSING_TABLES), path
            assert sql.table_file(path.stem) == f"{layer}/{path.stem}"
    assert not [p for p in sql.SQL_DIR.rglob("*.sql") if p.parent.parent != sql.SQL_DIR and p.parent != sql.SQL_DIR]


def test_every_table_is_named_by_the_asset_that_writes_it_and_in_the_architecture_page(sample_run):
    output, _ = sample_run
    described = " ".join(assets_def.descriptions_by_key[key] for assets_def in defs.assets for key in assets_def.keys)
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for table in sorted(_warehouse_tables(output)):
        assert re.search(rf"\b{re.escape(table)}\b", described), f"no asset's description names {table}"
        assert f"`{table}`" in architecture, f"docs/architecture.md does not name {table}"
