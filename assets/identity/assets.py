"""Identity resolution: one customer across dealers, sales and service.

Deterministic rules link signatures first; the Splink model, kept between runs, links what the
rules could not; customer ids stay stable across runs into the same output.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version

import dagster as dg
import polars as pl

import sql
from assets.ingest.assets import contacts_assets, sales_assets, service_assets
from assets.identity.kept import (RECORDS, build_by_dealer, build_customers, build_files_by_dealer, code_version,
                                  dealer_inputs)
from assets.identity.rules import build_rule_clusters
from assets.ingest.parsing import KEYED_SOURCES, kept_rows_fingerprints
from assets.marts.publish import write_text_atomically
from assets.metadata import build_table, counts_by, distinct_count, markdown_table, stopwatch, table_metadata
from assets.resources import RETRAIN_TAG, IdentityEngine, RunSettings, WAREHOUSE_POOL, Warehouse
from models.identity import (CALIBRATION_FILE, TrainedModel, connected_components, pinyin_chars, retrain_reason,
                             score_signatures, split_conflicting_clusters, train_linkage_model)
from models.settings import Settings

GROUP = "identity"


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[sales_assets.clean,
          service_assets.clean], kinds={"duckdb"})
def signatures(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """identity.signatures: one row per distinct identity signature (every identifying field a
    record carries) of the clean records, with its name keys and cars. A signature's records are
    of one dealer, so only the signatures of dealers whose kept rows changed since the last run
    are built again (identity.signature_inputs: what each dealer's signatures were built from;
    --full builds all). Also the view identity.records (one row per usable record with its
    signature) and identity.pinyin_chars (the syllable of every Chinese character, for name keys)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.store_frame(con, "identity.pinyin_chars", pinyin_chars())
            records = sql.build(con, "identity.records", view=True)
            now = kept_rows_fingerprints(con, warehouse.checked_dir, KEYED_SOURCES, signatures_version())
            built, unchanged = build_by_dealer(con, "identity.signatures", "identity.signature_inputs", now,
                                               run_settings.full)
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.signatures", timing["seconds"],
                                                            records=records, dealers_built=built,
                                                            dealers_unchanged=unchanged))


def signatures_version() -> str:
    """A fingerprint of the code that builds signatures from the kept rows: the SQL of the records
    and the signatures, and the versions of DuckDB and pypinyin."""
    return hashlib.sha256(f"{code_version(*RECORDS, 'identity.signatures')}\n{version('pypinyin')}".encode()).hexdigest()


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signatures], kinds={"duckdb"})
def rule_clusters(warehouse: Warehouse, run_settings: RunSettings,
                  identity_engine: IdentityEngine) -> dg.MaterializeResult:
    """identity.rule_clusters: one row per signature with the group the deterministic rules put
    it in (same valid ID number; same dealer customer number; same mobile and name), from the
    edges in identity.rule_edges, both on the identity engine, found again only for the clusters
    that signatures came to or left since the last run (assets.identity.rules: the signatures in
    identity.rule_changes, clustered as the view identity.rule_signatures, with the code's
    fingerprint in identity.rule_inputs; --full: all). Each group is a profile:
    identity.profiles, and identity.signature_profiles gives each signature its profile and a
    small integer id."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            clustered = build_rule_clusters(con, identity_engine.open(con, warehouse.path), run_settings.full)
            sql.build(con, "identity.profiles")
            sql.build(con, "identity.signature_profiles")
        by_rule = counts_by(con, "identity.rule_edges", "rule")
        profiles = distinct_count(con, "identity.rule_clusters", "cluster")
        return dg.MaterializeResult(metadata=table_metadata(
            con, "identity.rule_clusters", timing["seconds"], profiles=profiles, signatures_clustered=clustered,
            **{f"edges_{rule}": n for rule, n in by_rule.items()}))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[rule_clusters], kinds={"splink", "json"})
def linkage_model(context, warehouse: Warehouse, run_settings: RunSettings, settings: Settings,
                  identity_engine: IdentityEngine) -> dg.MaterializeResult:
    """`<output>/models/linkage_model.json`: the Splink model every run scores with, kept between
    runs. It is trained (EM on the fields the data has, fixed seed) when there is none, when the
    run asks (--retrain, the weekly schedule), when the fields the data holds change, or when more
    of the signatures than `identity.retrain_new_share` are new since it was trained; else the kept
    file is used as it is, so the same input, as-of and model file give the same marts. The file
    holds parameters, not engine SQL: a model trained on either engine scores on the other. Also
    identity.linkage_model (what training did) and identity.linkage_parameters (m and u of every
    level)."""
    path = warehouse.linkage_model_file
    with warehouse.connect() as con, stopwatch() as timing:
        kept = TrainedModel.from_json(path.read_text(encoding="utf-8")) if path.is_file() else None
        asked = run_settings.retrain or context.run.tags.get(RETRAIN_TAG) == "true"
        reason = "asked (--retrain or the weekly schedule)" if asked else retrain_reason(
            con, kept, "identity.signatures", settings.identity.retrain_new_share)
        if reason:
            model = train_linkage_model(identity_engine.open(con, warehouse.path), "identity.signatures",
                                        "identity.signature_profiles", settings.identity,
                                        warehouse.term_frequencies_file)
            write_text_atomically(path, model.to_json())
        else:
            model = kept
        sql.store_frame(con, "identity.linkage_parameters", model.parameters())
        sql.store_frame(con, "identity.linkage_model", pl.DataFrame({
            "status": [model.status], "trained_because": [reason], "signatures_at_training": [model.signatures],
            "learned": [", ".join(model.learned)], "shipped": [", ".join(model.defaulted)],
            "training": [", ".join(model.blocks)],
            "probability_two_random_records_match": [model.probability_two_random_records_match]}))
    return dg.MaterializeResult(metadata={
        "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "seconds": timing["seconds"],
        "trained": reason is not None, "trained_because": reason or "kept", "model": model.status,
        "signatures_at_training": model.signatures, "learned": ", ".join(model.learned) or "none",
        "shipped": ", ".join(model.defaulted) or "none", "training": ", ".join(model.blocks),
        "scoring_blocks": ", ".join(model.scoring_blocks), "parameters": markdown_table(model.parameters()),
        "calibration": dg.MetadataValue.md(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.exists() else "none"})


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[linkage_model], kinds={"duckdb",
          "splink"})
def profile_links(warehouse: Warehouse, run_settings: RunSettings, settings: Settings,
                  identity_engine: IdentityEngine) -> dg.MaterializeResult:
    """identity.profile_links: one row per pair of profiles the kept Splink model links at or above
    the threshold, less pairs that must never link (different valid IDs, family, a car's next
    owner, a common name alone). Also writes identity.scored_signature_pairs (the model's scores
    above the floor), identity.signature_pairs (those pairs with their veto),
    identity.profile_clusters_linked and identity.profile_conflicts (the linked clusters and their
    pairs that must not link) and identity.profile_clusters (clusters that held two people for
    certain split by their weakest links). Scoring and connected components run on the identity
    engine; the vetoes, on the scored pairs, in the warehouse. A run scores only the signatures
    that changed since the last scoring and those that share a block with them, the same pairs
    as scoring them all (models.identity.score_signatures; --full scores them all); the last
    scoring is kept as identity.scored_signature_pairs_kept, identity.scored_signature_pairs_inputs
    and identity.scored_signature_pairs_state."""
    identity = settings.identity
    model = TrainedModel.from_json(warehouse.linkage_model_file.read_text(encoding="utf-8"))
    with warehouse.connect() as con:
        with stopwatch() as timing:
            engine = identity_engine.open(con, warehouse.path)
            scoring = score_signatures(engine, "identity.signatures", "identity.signature_profiles",
                                       "identity.scored_signature_pairs", model, identity,
                                       warehouse.term_frequencies_file if model.term_frequencies else None,
                                       rescore_all=run_settings.full)
            sql.build(con, "identity.signature_pairs", min_name_similarity=identity.min_name_similarity,
                      common_name_share=identity.common_name_share,
                      common_name_min_count=identity.common_name_min_count)
            sql.build(con, "identity.profile_links", match_threshold=identity.match_threshold)
            connected_components(engine, "identity.profiles", "profile_id", "identity.profile_links",
                                 "identity.profile_clusters_linked")
            sql.build(con, "identity.profile_conflicts")
            split = split_conflicting_clusters(con, "identity.profile_clusters_linked", "identity.profile_links",
                                               "identity.profile_conflicts", "identity.profile_clusters")
        vetoes = {reason: n for reason, n in counts_by(con, "identity.signature_pairs", "must_not_link").items()
                  if reason is not None}
        bands = con.table("identity.signature_pairs").aggregate(
            "floor(match_probability * 20) / 20 as band, count(*) as pairs", "band").order("band").pl()
        return dg.MaterializeResult(metadata=table_metadata(
            con, "identity.profile_links", timing["seconds"], threshold=identity.match_threshold,
            model=model.status, scored_pairs_by_band=markdown_table(bands), clusters_split=split, **scoring,
            **{f"vetoed_{reason}": n for reason, n in vetoes.items()}))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[profile_links], kinds={"duckdb"})
def signature_ids(warehouse: Warehouse) -> dg.MaterializeResult:
    """identity.signature_ids: one row per signature with its customer_id, stable across runs into
    the same output (the rule is in sql/intermediate/identity.signature_ids.sql), from the ids the
    last run left (identity.previous_signature_ids). Also keeps identity.retired_ids: ids that
    merged into another; and builds the view identity.signature_links (each signature's dealer,
    customer and what linked it) and identity.dealer_links (per dealer, a hash of them: what tells
    the contacts and the crosswalk which dealers' rows to build again)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.run(con, "identity.signature_ids.create")
            sql.run(con, "identity.retired_ids.create")
            sql.build(con, "identity.previous_signature_ids")
            sql.build(con, "identity.signature_ids")
            sql.build(con, "identity.retired_ids")
            sql.build(con, "identity.signature_links", view=True)
            sql.build(con, "identity.dealer_links")
        customers = distinct_count(con, "identity.signature_ids", "customer_id")
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.signature_ids", timing["seconds"],
                                                            customers=customers))


CONTACT_SOURCES = ("contacts", *KEYED_SOURCES)
"""The kept rows a dealer's contacts and crosswalk rows are made of."""


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signature_ids, contacts_assets.clean],
          kinds={"duckdb"})
def contacts(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """identity.contacts: one row per usable contact-log record with the customer it was about,
    resolved at its dealer by sale, customer number or mobile (match_rule; 'unmatched' when none is
    known there). A contact is resolved among its own dealer's records, so only the dealers whose
    kept rows or signatures' customer ids changed are resolved again (identity.contact_inputs:
    what each dealer's rows were resolved from; --full resolves all)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            now = dealer_inputs(con, warehouse.checked_dir, CONTACT_SOURCES, code_version(
                *RECORDS, "clean.contacts", "identity.contacts"), link_hash="ids_hash")
            built, unchanged = build_by_dealer(con, "identity.contacts", "identity.contact_inputs", now,
                                               run_settings.full)
        by_rule = counts_by(con, "identity.contacts", "match_rule")
        return dg.MaterializeResult(metadata={
            **table_metadata(con, "identity.contacts", timing["seconds"], dealers_built=built,
                             dealers_unchanged=unchanged),
            **{f"matched_{k}": v for k, v in by_rule.items()}})


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signature_ids, contacts],
          kinds={"duckdb"})
def identity_crosswalk(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """identity.identity_crosswalk: one row per accepted input row: its customer_id and the rule
    or score that linked it. The view of a Parquet file per dealer under `<output>/crosswalk`, not
    a view of the joins that build it: the mart sorts it, and a sort on top of those joins ran out
    of DuckDB's memory at scale 1. Only the files of dealers whose kept rows, contacts or
    signatures' links changed are written again (identity.crosswalk_inputs; --full writes all)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            now = dealer_inputs(con, warehouse.checked_dir, CONTACT_SOURCES, code_version(
                *RECORDS, "clean.contacts", "identity.contacts", "identity.signature_links",
                "identity.identity_crosswalk"),
                link_hash="links_hash")
            built, unchanged = build_files_by_dealer(con, "identity.identity_crosswalk", warehouse.crosswalk_dir,
                                                     "identity.crosswalk_inputs", now, run_settings.full)
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.identity_crosswalk", timing["seconds"],
                                                            preview_rows=0, dealers_built=built,
                                                            dealers_unchanged=unchanged))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def customers(warehouse: Warehouse, run_settings: RunSettings) -> dg.MaterializeResult:
    """identity.customers: one row per resolved customer: the golden record (latest valid mobile,
    most frequent name and ID, home dealer, first and last seen). Built again only for the
    customers whose signatures came, went, moved or whose dealer's kept rows changed
    (identity.customer_changes, from identity.customer_inputs and identity.customer_dealer_inputs;
    --full builds all)."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            built = build_customers(con, warehouse.checked_dir, KEYED_SOURCES, run_settings.full)
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.customers", timing["seconds"],
                                                            customers_built=built))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def households(warehouse: Warehouse, settings: Settings, identity_engine: IdentityEngine) -> dg.MaterializeResult:
    """identity.households: one row per customer who shares a mobile or an address with another:
    their household. Linked, never merged: identity.household_edges, identity.household_nodes and
    identity.household_clusters are its graph."""
    with warehouse.connect() as con:
        with stopwatch() as timing:
            sql.build(con, "identity.household_edges", max_household_size=settings.identity.max_household_size)
            sql.build(con, "identity.household_nodes")
            connected_components(identity_engine.open(con, warehouse.path), "identity.household_nodes",
                                 "customer_id", "identity.household_edges", "identity.household_clusters")
            sql.build(con, "identity.households")
        return dg.MaterializeResult(metadata=table_metadata(con, "identity.households", timing["seconds"]))


@dg.asset(pool=WAREHOUSE_POOL, key_prefix="identity", group_name=GROUP, deps=[signature_ids], kinds={"duckdb"})
def vehicles(warehouse: Warehouse) -> dg.MaterializeResult:
    """identity.vehicles: one row per vehicle and owner: who owned each VIN from when to when."""
    with warehouse.connect() as con:
        return build_table(con, "identity.vehicles")


identity_assets = [signatures, rule_clusters, linkage_model, profile_links, signature_ids, contacts, identity_crosswalk, customers,
                   households, vehicles]
