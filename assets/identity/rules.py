"""The deterministic rules' clusters of signatures, found again only where signatures came or went.

The rules link signatures on fields that are part of the signature (a valid ID number, a dealer's
customer number, a mobile with a name), so a signature that stays keeps its edges: a cluster
changes only when one of its signatures goes or a new one shares a rule's key with it. A run
finds those clusters again from their signatures alone and keeps the others as the last run left
them, which gives the clusters and edges of finding them all (`identity.rule_changes`).
"""

from __future__ import annotations

import duckdb

import sql
from assets.identity.kept import code_version
from models.engines import Engine
from models.identity import connected_components


def rules_version() -> str:
    """A fingerprint of the code the kept clusters were found with."""
    return code_version("identity.rule_edges", "identity.rule_changes")


def build_rule_clusters(con: duckdb.DuckDBPyConnection, engine: Engine, full: bool) -> int:
    """identity.rule_edges and identity.rule_clusters (signature_key, cluster: its smallest
    signature), found on `engine` for the signatures whose cluster may have changed since the
    last run, or for all of them (`full`, no kept clusters, other code: identity.rule_inputs);
    returns how many signatures were clustered."""
    version = rules_version()
    kept = not full and all(sql.columns(con, t) is not None for t in (
        "identity.rule_edges", "identity.rule_clusters", "identity.rule_inputs")) and con.execute(
        "select fingerprint from identity.rule_inputs").fetchone() == (version,)
    edges_sql = sql.sql_text(sql.table_file("identity.rule_edges"))
    if kept:
        sql.build(con, "identity.rule_changes")
        con.execute("create or replace view identity.rule_signatures as select * from identity.signatures "
                    "where signature_key in (select signature_key from identity.rule_changes where present)")
    else:  # every signature is clustered
        con.execute("create or replace table identity.rule_changes as "
                    "select signature_key, true as present from identity.signatures")
        con.execute("create or replace view identity.rule_signatures as select * from identity.signatures")
    clustered = con.execute("select count(*) from identity.rule_signatures").fetchone()[0]
    out_edges, out_clusters = ("identity.rule_edges_changed", "identity.rule_clusters_changed") if kept else (
        "identity.rule_edges", "identity.rule_clusters")
    engine.query(edges_sql, ("identity.rule_signatures",), out_edges)
    if clustered:
        connected_components(engine, "identity.rule_signatures", "signature_key", out_edges, out_clusters)
    else:
        con.execute(f"create or replace table {out_clusters} as select signature_key, signature_key as cluster "
                    "from identity.rule_signatures")
    if kept:
        for table, key, changed in (("identity.rule_edges", "signature_key_r", out_edges),
                                    ("identity.rule_clusters", "signature_key", out_clusters)):
            con.execute(f"delete from {table} where {key} in (select signature_key from identity.rule_changes)")
            con.execute(f"insert into {table} by name select * from {changed}")
            con.execute(f"drop table {changed}")
    con.execute("create or replace table identity.rule_inputs as select ? as fingerprint", [version])
    return clustered
