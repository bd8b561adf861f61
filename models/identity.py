"""Identity scoring: the Splink model that links customer profiles the deterministic rules
could not, and connected components over accepted links.

Plain functions over a DuckDB connection and table names; nothing here imports Dagster.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import duckdb
import polars as pl
from pydantic import BaseModel, Field
from pypinyin import pinyin_dict
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink import comparison_library as cl
from splink.clustering import cluster_pairwise_predictions_at_threshold


class IdentitySettings(BaseModel):
    """Thresholds and seeds of identity resolution."""

    match_threshold: float = Field(
        0.95, description="Splink match probability at or above which two profiles are one customer.")
    min_name_similarity: float = Field(
        0.95, description="Two profiles whose name keys are neither equal nor reach this Jaro-Winkler "
                          "similarity never link, whatever else they share (family members share a "
                          "mobile, an address and often a surname).")
    max_household_size: int = Field(
        6, description="A mobile or address shared by more customers than this is not a household's.")
    seed: int = Field(42, description="Seed of Splink's random sampling for u probabilities.")
    u_max_pairs: float = Field(2e6, description="Pairs sampled to estimate u probabilities.")
    em_max_pairs: float = Field(2e6, description="Pairs per expectation-maximisation training block.")
    min_training_pairs: int = Field(
        50, description="Fewer pairs than this in a training block and the model is not trained: "
                        "only the deterministic rules link (small landing folders).")


def pinyin_chars() -> pl.DataFrame:
    """(ch, syllable) for every Chinese character pypinyin knows: its first reading, toneless.
    Homophones and traditional forms of a character share a syllable (伟/玮/偉 -> wei)."""
    chars = [chr(code) for code in pinyin_dict.pinyin_dict]
    readings = [reading.split(",")[0] for reading in pinyin_dict.pinyin_dict.values()]
    toneless = [
        "".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c)) for r in readings
    ]
    return pl.DataFrame({"ch": chars, "syllable": toneless})


def profile_model(settings: IdentitySettings) -> SettingsCreator:
    """The Fellegi-Sunter model over customer profiles (one per group of signatures the rules linked)."""
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_norm"),
            cll.ExactMatchLevel("name_key"),
            cll.JaroWinklerLevel("name_key", 0.92),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="profile_id",
        comparisons=[
            name,
            cl.ExactMatch("mobile"),
            cl.LevenshteinAtThresholds("id_number", [1]),
            cl.ExactMatch("birth_date"),
            cl.JaroWinklerAtThresholds("address_norm", [0.9]),
            cl.ExactMatch("email"),
            cl.ExactMatch("dealer_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("mobile"),
            block_on("id_number"),
            block_on("name_key", "birth_date"),
            block_on("name_key", "address_norm"),
        ],
        retain_intermediate_calculation_columns=False,
        additional_columns_to_retain=[],
    )


@dataclass
class ProfileLinks:
    """Scored pairs at or above the threshold, the trained model's parameters, and whether it
    could be trained."""

    pairs_table: str
    parameters: pl.DataFrame
    status: str


def link_profiles(con: duckdb.DuckDBPyConnection, signatures_table: str, profiles_table: str, out_table: str,
                  settings: IdentitySettings) -> ProfileLinks:
    """Train the model by EM on signatures and write the profile pairs it accepts to `out_table`
    (profile_id_l, profile_id_r, match_probability).

    Training runs on signatures, before the rules merge them: there, a shared mobile still means
    the same person (other spelling of the name, a missing ID) or a family member, which is the
    mixture EM needs. Among profiles, what the rules left sharing a mobile is mostly family, and
    EM would learn that a shared mobile means nothing.
    """
    db_api = DuckDBAPI(connection=con)
    # Splink reads the columns of unqualified table names only
    con.execute(f"create or replace temp table signatures_to_train as select "
                f"row_number() over (order by signature_key) as profile_id, * exclude (signature_key) "
                f"from {signatures_table}")
    con.execute(f"create or replace temp view profiles_to_link as select * exclude (rule_cluster) from {profiles_table}")
    em_blocks = {"mobile": ["mobile"], "name_key_dealer": ["name_key", "dealer_code"]}
    too_few = {name: n for name, keys in em_blocks.items()
               if (n := _pairs_sharing(con, "signatures_to_train", keys)) < settings.min_training_pairs}
    if too_few:
        con.execute(f"create or replace table {out_table} (profile_id_l varchar, profile_id_r varchar, "
                    "match_probability double)")
        return ProfileLinks(out_table, pl.DataFrame(), f"not trained: too few pairs to train on {too_few}")
    try:
        trainer = Linker(db_api.register("signatures_to_train"), profile_model(settings), log_level="WARNING")
        trainer.training.estimate_probability_two_random_records_match(
            [block_on("id_number"), block_on("mobile", "name_norm")], recall=0.8)
        trainer.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed)
        set_exact_match_u(con, "signatures_to_train", trainer)
        for keys in em_blocks.values():
            trainer.training.estimate_parameters_using_expectation_maximisation(
                block_on(*keys), max_pairs=settings.em_max_pairs)
        model = trainer._settings_obj.as_dict()
        linker = Linker(db_api.register("profiles_to_link"), model, log_level="WARNING")
        predictions = linker.inference.predict(threshold_match_probability=settings.match_threshold)
    except (ValueError, ArithmeticError) as exc:
        # a landing folder whose data gives EM nothing to learn from: only the rules link, and the
        # asset's metadata says why (the run goes on)
        db_api.delete_tables_created_by_splink_from_db()
        con.execute(f"create or replace table {out_table} (profile_id_l varchar, profile_id_r varchar, "
                    "match_probability double)")
        reason = str(exc).splitlines()[0][:200]
        return ProfileLinks(out_table, pl.DataFrame(), f"not trained: Splink could not train ({reason})")
    con.execute(
        f"create or replace table {out_table} as "
        f"select profile_id_l, profile_id_r, match_probability from {predictions.physical_name}"
    )
    parameters = _parameters(trainer)
    db_api.delete_tables_created_by_splink_from_db()
    return ProfileLinks(out_table, parameters, "trained")


MAX_EXACT_U = 1 - 1e-6


def set_exact_match_u(con: duckdb.DuckDBPyConnection, table: str, linker: Linker) -> dict[str, float]:
    """Replace the sampled u probability of each comparison's exact-match level by its exact
    value, the chance that two different records of `table` share the value:
    sum n_v (n_v - 1) / N (N - 1) over the non-null values, and fix it so that training keeps it.
    Two million sampled pairs see an exact address match (u near 1e-6) once or not at all: at
    scale 1, a sample that missed it made the model accept 54 pairs instead of 147,416. The last
    level (everything else) takes what the others leave. Returns the values set."""
    exact = {}
    for comparison in linker._settings_obj.comparisons:
        levels = [level for level in comparison.comparison_levels if not level.is_null_level]
        match = re.fullmatch(r'"(\w+)_l" = "\1_r"', levels[0].sql_condition)
        if not match:
            continue
        column = match.group(1)
        u = con.execute(f"select sum(n * (n - 1)) / (sum(n) * (sum(n) - 1)) from (select count(*)::double as n "
                        f"from {table} where {column} is not null group by {column})").fetchone()[0]
        # every pair shares the value (one dealer's folder): the comparison tells nothing, and an
        # exact u of 1 would leave the other levels none
        if u and u < MAX_EXACT_U:
            levels[0].u_probability = exact[column] = u
            levels[-1].u_probability = 1 - sum(level.u_probability for level in levels[:-1])
            for level in (levels[0], levels[-1]):
                level._fix_u_probability = True  # Splink's own flag: training leaves a fixed u alone
    return exact


def _pairs_sharing(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> int:
    """How many record pairs share all of `keys` (the size of a blocking rule's block)."""
    columns = ", ".join(keys)
    not_null = " and ".join(f"{k} is not null" for k in keys)
    return con.execute(
        f"select coalesce(sum(n * (n - 1) / 2), 0) from "
        f"(select count(*) as n from {table} where {not_null} group by {columns})"
    ).fetchone()[0]


def _parameters(linker: Linker) -> pl.DataFrame:
    """m and u probability of every comparison level, for the asset's metadata."""
    rows = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            rows.append({"comparison": comparison.output_column_name, "level": level.label_for_charts,
                         "m": level.m_probability, "u": level.u_probability})
    return pl.DataFrame(rows)


def connected_components(con: duckdb.DuckDBPyConnection, nodes_table: str, node_column: str,
                         edges_table: str, out_table: str) -> None:
    """Write (node, cluster) to `out_table`: the connected components of the edges
    (`<node_column>_l`, `<node_column>_r`); the cluster is its smallest node."""
    db_api = DuckDBAPI(connection=con)
    con.execute(f"create or replace temp view nodes_to_cluster as select {node_column} from {nodes_table}")
    con.execute(f"create or replace temp view edges_to_cluster as select {node_column}_l, {node_column}_r "
                f"from {edges_table}")
    clusters = cluster_pairwise_predictions_at_threshold(
        "nodes_to_cluster", "edges_to_cluster", db_api=db_api, node_id_column_name=node_column)
    con.execute(
        f"create or replace table {out_table} as "
        f"select {node_column}, min({node_column}) over (partition by cluster_id) as cluster "
        f"from {clusters.physical_name}"
    )
    db_api.delete_tables_created_by_splink_from_db()
