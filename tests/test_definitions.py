"""The one Definitions loads, and its assets are grouped and documented."""

import dagster as dg

from pipelines.definitions import defs


def test_definitions_load():
    repository = defs.get_repository_def()
    keys = {key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()}
    assert {"ingest/landing_files", "clean/sales", "clean/repair_orders", "ingest/rejects", "ingest/load_manifest",
            "marts/load_manifest", "marts/rejects"} <= keys


def test_every_asset_has_a_group_and_a_docstring():
    for assets_def in defs.assets:
        for key in assets_def.keys:
            assert assets_def.group_names_by_key[key] in {"ingest", "identity", "analytics", "marts"}
            assert assets_def.descriptions_by_key.get(key), key


def test_conservation_check_is_defined():
    checks = {spec.key.name for a in defs.assets for spec in a.check_specs}
    assert "rows_conserved" in checks
    assert isinstance(defs.resolve_job_def("materialize_all"), dg.JobDefinition)
