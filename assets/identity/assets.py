"""Identity resolution: one customer across dealers, sales and service.

Deterministic rules link signatures first; the Splink profile model links what the rules could
not; customer ids stay stable across runs into the same output.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

import sql
from assets.ingest.assets import contacts_assets, sales_assets, service_assets
from assets.materialize import markdown_table, materialize_sql, stopwatch, table_metadata
from models.identity import (CALIBRATION_FILE, IdentitySettings, connected_components, pinyin_chars,
                             score_signatures, split_conflicting_clusters)
from pipelines.resources import Warehouse

GROUP = "identity"


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[sales_assets[1], service_assets[1]], kinds={"duckdb"})
def signatures(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per distinct identity signature (every identifying field a record carries) of the
    clean records, with its name keys and cars. Also defines the view
    identity.records (one row per usable record with its signature)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.store_frame(con, "identity.pinyin_chars", pinyin_chars())
            records = sql.materialize(con, "intermediate/identity/int_identity_records", "identity.records",
                                      view=True)
            sql.materialize(con, "intermediate/identity/int_identity_signatures", "identity.signatures")
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.signatures", timing["seconds"],
                                                            records=records))


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signatures], kinds={"duckdb"})
def rule_clusters(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per signature with the group the deterministic rules put it in (same valid ID
    number; same dealer customer number; same mobile and name). Each group is a profile."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/identity/int_identity_rule_edges", "identity.rule_edges")
            connected_components(con, "identity.signatures", "signature_key", "identity.rule_edges",
                                 "identity.rule_clusters")
        by_rule = dict(con.execute("select rule, count(*) from identity.rule_edges group by rule").fetchall())
        profiles = con.execute("select count(distinct cluster) from identity.rule_clusters").fetchone()[0]
        return dg.MaterializeResult(metadata=table_metadata(
            con, "identity.rule_clusters", timing["seconds"], profiles=profiles,
            **{f"edges_{rule}": n for rule, n in by_rule.items()}))


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[rule_clusters], kinds={"duckdb", "splink"})
def profile_links(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per pair of profiles the Splink model (trained by EM on the fields the data has,
    fixed seed) links at or above the threshold, less pairs that must never link (different
    valid IDs, family, a car's next owner, a common name alone). Also writes identity.profiles,
    identity.signature_pairs (every pair scored above the floor, with its veto) and
    identity.profile_clusters (clusters that held two people for certain split by their weakest
    links), and the model's parameters and what was learned (identity.linkage_parameters,
    identity.linkage_model)."""
    settings = IdentitySettings()
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/identity/int_identity_profiles", "identity.profiles")
            sql.materialize(con, "intermediate/identity/int_identity_signature_profiles", "identity.signature_profiles")
            model = score_signatures(con, "identity.signatures", "identity.signature_profiles",
                                     "identity.scored_signature_pairs", settings)
            sql.materialize(con, "intermediate/identity/int_identity_signature_pairs", "identity.signature_pairs",
                            min_name_similarity=settings.min_name_similarity,
                            common_name_share=settings.common_name_share,
                            common_name_min_count=settings.common_name_min_count)
            sql.materialize(con, "intermediate/identity/int_identity_links", "identity.profile_links",
                            match_threshold=settings.match_threshold)
            connected_components(con, "identity.profiles", "profile_id", "identity.profile_links",
                                 "identity.profile_clusters_linked")
            sql.materialize(con, "intermediate/identity/int_identity_profile_conflicts", "identity.profile_conflicts")
            split = split_conflicting_clusters(con, "identity.profile_clusters_linked", "identity.profile_links",
                                               "identity.profile_conflicts", "identity.profile_clusters")
            sql.store_frame(con, "identity.linkage_parameters", model.parameters)
            sql.store_frame(con, "identity.linkage_model", pl.DataFrame({
                "status": [model.status], "learned": [", ".join(model.learned)],
                "shipped": [", ".join(model.defaulted)], "training": [", ".join(model.blocks)],
                "probability_two_random_records_match": [model.probability_two_random_records_match]}))
        vetoes = dict(con.execute("select must_not_link, count(*) from identity.signature_pairs "
                                  "where must_not_link is not null group by 1").fetchall())
        bands = con.execute("select floor(match_probability * 20) / 20 as band, count(*) as pairs "
                            "from identity.signature_pairs group by 1 order by 1").pl()
        return dg.MaterializeResult(metadata=table_metadata(
            con, "identity.profile_links", timing["seconds"], threshold=settings.match_threshold,
            model=model.status, learned=", ".join(model.learned) or "none",
            shipped=", ".join(model.defaulted) or "none", training=", ".join(model.blocks),
            scoring_blocks=", ".join(model.scoring_blocks),
            parameters=markdown_table(model.parameters), scored_pairs_by_band=markdown_table(bands),
            calibration=dg.MetadataValue.md(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else "none",
            clusters_split=split, **{f"vetoed_{reason}": n for reason, n in vetoes.items()}))


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[profile_links], kinds={"duckdb"})
def signature_ids(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per signature with its customer_id, stable across runs into the same output
    (rule in sql/intermediate/identity/int_identity_customer_ids.sql). Also keeps
    identity.retired_ids: ids that merged into another."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            con.execute("create table if not exists identity.signature_ids (signature_key uhugeint, cluster bigint, "
                        "customer_id varchar)")
            con.execute("create table if not exists identity.retired_ids (customer_id varchar, merged_into varchar)")
            con.execute("create or replace table identity.previous_signature_ids as "
                        "select signature_key, customer_id from identity.signature_ids")
            sql.materialize(con, "intermediate/identity/int_identity_customer_ids", "identity.signature_ids")
            sql.materialize(con, "intermediate/identity/int_identity_retired_ids", "identity.retired_ids_next")
            con.execute("create or replace table identity.retired_ids as select * from identity.retired_ids_next")
            con.execute("drop table identity.retired_ids_next")
        customers = con.execute("select count(distinct customer_id) from identity.signature_ids").fetchone()[0]
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.signature_ids", timing["seconds"],
                                                            customers=customers))


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signature_ids, contacts_assets[1]], kinds={"duckdb"})
def contacts(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per usable contact-log record with the customer it was about, resolved at its dealer
    by sale, customer number or mobile (match_rule; 'unmatched' when none is known there)."""
    with warehouse.connect() as con:
        result = materialize_sql(con, "intermediate/identity/int_identity_contacts", "identity.contacts")
        by_rule = dict(con.execute("select match_rule, count(*) from identity.contacts group by 1").fetchall())
    return dg.MaterializeResult(metadata={**result.metadata, **{f"matched_{k}": v for k, v in by_rule.items()}})


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signature_ids, contacts], kinds={"duckdb"})
def identity_crosswalk(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per accepted input row: its customer_id and the rule or score that linked it.
    A table, not a view: the mart sorts it for Parquet, and a sort on top of the joins that build
    it ran out of DuckDB's memory at scale 1."""
    with warehouse.connect() as con:
        return materialize_sql(con, "marts/identity_crosswalk", "identity.identity_crosswalk", preview_rows=0)


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def customers(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per resolved customer: the golden record (latest valid mobile, most frequent name
    and ID, home dealer, first and last seen)."""
    with warehouse.connect() as con:
        return materialize_sql(con, "marts/customers", "identity.customers")


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def households(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per customer who shares a mobile or an address with another: their household.
    Linked, never merged."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.materialize(con, "intermediate/identity/int_household_edges", "identity.household_edges",
                            max_household_size=IdentitySettings().max_household_size)
            con.execute("create or replace table identity.household_nodes as select distinct customer_id from "
                        "(select customer_id_l as customer_id from identity.household_edges union "
                        "select customer_id_r from identity.household_edges)")
            connected_components(con, "identity.household_nodes", "customer_id", "identity.household_edges",
                                 "identity.household_clusters")
            sql.materialize(con, "marts/households", "identity.households")
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.households", timing["seconds"]))


@dg.asset(key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def vehicles(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per vehicle and owner: who owned each VIN from when to when."""
    with warehouse.connect() as con:
        return materialize_sql(con, "marts/vehicles", "identity.vehicles")


identity_assets = [signatures, rule_clusters, profile_links, signature_ids, contacts, identity_crosswalk, customers,
                   households, vehicles]
