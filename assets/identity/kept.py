"""Identity tables kept between runs and built again only where their inputs changed.

A signature's records are of one dealer, and the contact log resolves a contact among the records
of its own dealer, so the signatures, the contacts and the crosswalk are built per dealer: a
dealer's rows are built again when what they are made of changed (its kept rows, the ids and links
of its signatures, the code), and the others stay as the last run left them. A golden record is
made of its customer's records, so identity.customers is built again for the customers whose
signatures came, went, moved or are of a dealer whose rows changed. Each table keeps what it was
built from beside it, so a run that stopped half-way builds more the next time, never less.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import polars as pl

import sql
from assets.ingest.parsing import kept_rows_fingerprints, path_list, write_by_dealer

DEALER_INPUTS = pl.Schema({"dealer_code": pl.Utf8, "fingerprint": pl.Utf8})
"""What a kept table keeps of its inputs: one fingerprint per dealer."""

RECORDS = ("clean.sales", "clean.repair_orders", "identity.records")
"""The views every identity table reads its records through."""


def code_version(*tables: str) -> str:
    """A fingerprint of the SQL files that build `tables`, the macros and DuckDB's version."""
    texts = [sql.sql_text("macros"), *(sql.sql_text(sql.table_file(t)) for t in tables)]
    return hashlib.sha256("\n".join([*texts, duckdb.__version__]).encode()).hexdigest()


def dealer_inputs(con: duckdb.DuckDBPyConnection, checked_dir: Path, sources: tuple[str, ...], version: str,
                  link_hash: str | None = None) -> pl.DataFrame:
    """One row per dealer: a fingerprint of its kept rows of `sources` (their files), of `version`
    and, with `link_hash`, of that column of identity.dealer_links (a hash of its signatures'
    customer ids, or of their ids and links)."""
    rows = kept_rows_fingerprints(con, checked_dir, sources, version)
    if link_hash is None:
        return rows
    links = con.sql(f"select dealer_code, {link_hash}::varchar as link_hash from identity.dealer_links").pl()
    joined = rows.join(links, on="dealer_code", how="full", coalesce=True).sort("dealer_code")
    return joined.select("dealer_code", fingerprint=pl.concat_str(
        pl.col("fingerprint").fill_null(""), pl.col("link_hash").fill_null(""), separator=":")).cast(
        dict(DEALER_INPUTS))


def changed_dealers(con: duckdb.DuckDBPyConnection, inputs: str, now: pl.DataFrame) -> tuple[list[str], list[str]]:
    """(every dealer of `now`, the dealers whose fingerprint differs from the one kept in the table
    `inputs`: new, changed or gone)."""
    kept = sql.columns(con, inputs) is not None
    before = con.table(inputs).pl() if kept else pl.DataFrame(schema=DEALER_INPUTS)
    diff = now.join(before.cast(dict(DEALER_INPUTS)), on="dealer_code", how="full", coalesce=True)
    changed = diff.filter(pl.col("fingerprint").ne_missing(pl.col("fingerprint_right")))
    return sorted(now["dealer_code"]), sorted(changed["dealer_code"])


def _dealers_to_build(con: duckdb.DuckDBPyConnection, inputs: str, now: pl.DataFrame, full: bool,
                      missing: bool) -> tuple[list[str], list[str], bool]:
    """(every dealer of `now`, the dealers to build again, whether that is all of them): those whose
    inputs differ from the ones kept in `inputs`, or all (`full`, the table `missing`, every dealer
    changed)."""
    dealers, changed = changed_dealers(con, inputs, now)
    if full or missing or set(changed) >= set(dealers):
        return dealers, dealers, True
    return dealers, changed, False


def build_by_dealer(con: duckdb.DuckDBPyConnection, table: str, inputs: str, now: pl.DataFrame,
                    full: bool) -> tuple[int, int]:
    """Build the rows of `table` (its SQL file takes `$dealers`) of the dealers whose inputs `now`
    differ from those kept in `inputs`, or all of them (`full`, no table yet, every dealer
    changed), then keep `now` in `inputs`. Returns (dealers built, dealers unchanged)."""
    dealers, changed, everything = _dealers_to_build(con, inputs, now, full, sql.columns(con, table) is None)
    if everything:
        sql.build(con, table, dealers=dealers)
    elif changed:
        con.execute(f"delete from {table} where list_contains(?, dealer_code)", [changed])
        sql.append(con, table, dealers=changed)
    sql.store_frame(con, inputs, now)
    built = len(set(changed) & set(dealers))
    return built, len(dealers) - built


def build_files_by_dealer(con: duckdb.DuckDBPyConnection, table: str, folder: Path, inputs: str, now: pl.DataFrame,
                          full: bool) -> tuple[int, int]:
    """As build_by_dealer, but `table` is the view of a Parquet file per dealer under `folder`
    (`dealer=<code>/rows_0.parquet`): a dealer's rows are replaced by writing its file again, not
    deleted from a table and inserted, which costs DuckDB more than the rows' own build."""
    dealers, changed, everything = _dealers_to_build(con, inputs, now, full, not folder.is_dir())
    if everything:
        shutil.rmtree(folder, ignore_errors=True)
    for dealer in changed:
        shutil.rmtree(folder / f"dealer={dealer}", ignore_errors=True)
    if changed:
        write_by_dealer(con, f"({sql.sql_text(sql.table_file(table))})", folder, "rows",
                        params={"dealers": changed})
    files = [str(path) for path in sorted(folder.glob("dealer=*/rows_*.parquet"))]
    _drop(con, table)
    if files:
        con.execute(f"create view {table} as select * from read_parquet({path_list(files)}, hive_partitioning = false)")
    else:
        sql.build(con, table, dealers=[])
    sql.store_frame(con, inputs, now)
    built = len(set(changed) & set(dealers))
    return built, len(dealers) - built


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view `name` (schema.name), whichever it is, if it is either."""
    schema, table = name.split(".")
    kind = con.execute("select 'table' from duckdb_tables() where schema_name = $s and table_name = $t union all "
                       "select 'view' from duckdb_views() where schema_name = $s and view_name = $t",
                       {"s": schema, "t": table}).fetchone()
    if kind:
        con.execute(f"drop {kind[0]} {name}")


def build_customers(con: duckdb.DuckDBPyConnection, checked_dir: Path, sources: tuple[str, ...],
                    full: bool) -> int:
    """identity.customers, built again for the customers of identity.customer_changes (all of them
    with `full`, no table yet or other code); keeps what it was built from (identity.customer_inputs:
    each signature's customer; identity.customer_dealer_inputs: each dealer's kept rows). Returns
    how many customers were built."""
    now = dealer_inputs(con, checked_dir, sources, code_version(*RECORDS, "identity.customers"))
    dealers, changed = changed_dealers(con, "identity.customer_dealer_inputs", now)
    kept = not full and all(sql.columns(con, t) is not None for t in ("identity.customers", "identity.customer_inputs"))
    if kept and set(changed) < set(dealers):
        sql.build(con, "identity.customer_changes", dealers=changed)
        built = con.execute("select count(*) from identity.customer_changes").fetchone()[0]
        con.execute("delete from identity.customers where customer_id in "
                    "(select customer_id from identity.customer_changes)")
        sql.append(con, "identity.customers", every=False)
    else:
        con.execute("create or replace table identity.customer_changes as "
                    "select distinct customer_id from identity.signature_ids")
        built = sql.build(con, "identity.customers", every=True)
    con.execute("create or replace table identity.customer_inputs as "
                "select signature_key, customer_id from identity.signature_ids")
    sql.store_frame(con, "identity.customer_dealer_inputs", now)
    return built
