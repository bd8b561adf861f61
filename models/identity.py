"""Identity scoring: the Splink model that links the customer profiles the deterministic rules
could not, connected components over accepted links, and the split of clusters that hold two
people for certain.

The model is built from the fields a landing folder actually has (a file of names and birth
dates trains on those; one with mobiles on those too), trained by EM on whatever blocks have
enough pairs, and falls back to shipped parameters (`identity_defaults.json`) for what it cannot
learn. Plain functions over a DuckDB connection and table names; nothing here imports Dagster.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl
import splink
from pypinyin import pinyin_dict
from splink import Linker, SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink import comparison_library as cl
from splink.blocking_rule_library import And, CustomRule
from splink.clustering import cluster_pairwise_predictions_at_threshold

from models.engines import Engine
from models.settings import IdentitySettings

DEFAULTS_FILE = Path(__file__).with_name("identity_defaults.json")
CALIBRATION_FILE = Path(__file__).with_name("identity_calibration.md")
"""The precision/recall curve the threshold was chosen on (written by `make bench`)."""


def pinyin_chars() -> pl.DataFrame:
    """(ch, syllable) for every Chinese character pypinyin knows: its first reading, toneless.
    Homophones and traditional forms of a character share a syllable (伟/玮/偉 -> wei)."""
    chars = [chr(code) for code in pinyin_dict.pinyin_dict]
    readings = [reading.split(",")[0] for reading in pinyin_dict.pinyin_dict.values()]
    toneless = [
        "".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c)) for r in readings
    ]
    return pl.DataFrame({"ch": chars, "syllable": toneless})


SQL_FUNCTIONS = {
    "duckdb": {"jaro_winkler": "jaro_winkler_similarity({0}, {1})", "size": "len({0})",
               "overlap": "list_has_any({0}, {1})", "has_all": "list_has_all({0}, {1})",
               "split": "string_split({0}, ' ')"},
    "spark": {"jaro_winkler": "jaro_winkler({0}, {1})", "size": "size({0})", "overlap": "arrays_overlap({0}, {1})",
              "has_all": "size(array_except({1}, {0})) = 0", "split": "split({0}, ' ')"},
}
"""The functions the custom levels use, as each engine spells them (Splink translates its own
levels; sqlglot's translation of these from DuckDB to Spark is wrong: `&&` for overlap, `length`
of an array). Spark's jaro_winkler is Splink's Scala UDF."""


class _Sql:
    """The custom levels' SQL in one engine's dialect."""

    def __init__(self, dialect: str):
        self.functions = SQL_FUNCTIONS[dialect]

    def jw(self, column: str, threshold: float) -> str:
        return self.functions["jaro_winkler"].format(f"{column}_l", f"{column}_r") + f" >= {threshold}"

    def size(self, array: str) -> str:
        return self.functions["size"].format(array)

    def overlap(self, left: str, right: str) -> str:
        return self.functions["overlap"].format(left, right)

    def has_all(self, array: str, of: str) -> str:
        return self.functions["has_all"].format(array, of)

    def split(self, text: str) -> str:
        return self.functions["split"].format(text)


LATIN = "name_script_l = 'latin' and name_script_r = 'latin'"


def _name(f: _Sql) -> list:
    """Names: as written, as they sound (pinyin key, both orders), the two parts swapped, Latin
    spellings a typo apart (each part, then the whole), one token missing or extra, one part the
    same; a shared exact name weighs by how rare it is."""
    tokens_l, tokens_r = f.split("name_key_l"), f.split("name_key_r")
    return [
        cll.NullLevel("name_key"),
        cll.ExactMatchLevel("name_norm").configure(tf_adjustment_column="name_key", label_for_charts="exact"),
        cll.ExactMatchLevel("name_key", term_frequency_adjustments=True).configure(label_for_charts="same sound"),
        cll.CustomLevel("given_key_l = family_key_r and family_key_l = given_key_r", label_for_charts="parts swapped"),
        cll.CustomLevel(f"{LATIN} and {f.jw('given_key', 0.9)} and {f.jw('family_key', 0.9)}",
                        label_for_charts="both parts close"),
        cll.CustomLevel(f"{LATIN} and ((family_key_l = family_key_r and {f.jw('given_key', 0.8)}) "
                        f"or (given_key_l = given_key_r and {f.jw('family_key', 0.8)}))",
                        label_for_charts="one part same, other close"),
        cll.CustomLevel(f"{LATIN} and {f.jw('name_key', 0.92)}", label_for_charts="close"),
        cll.CustomLevel(f"{f.size(tokens_l)} <> {f.size(tokens_r)} and ({f.has_all(tokens_l, tokens_r)} "
                        f"or {f.has_all(tokens_r, tokens_l)})", label_for_charts="token missing or extra"),
        cll.CustomLevel("family_key_l = family_key_r or given_key_l = given_key_r", label_for_charts="one part same"),
        cll.ElseLevel(),
    ]


def _birth_date(f: _Sql) -> list:
    return [
        cll.NullLevel("birth_ymd"),
        cll.ExactMatchLevel("birth_ymd").configure(label_for_charts="exact"),
        cll.DamerauLevenshteinLevel("birth_ymd", 1).configure(label_for_charts="one digit off or swapped"),
        cll.CustomLevel("left(birth_ymd_l, 4) = left(birth_ymd_r, 4) and substr(birth_ymd_l, 5, 2) = "
                        "substr(birth_ymd_r, 7, 2) and substr(birth_ymd_l, 7, 2) = substr(birth_ymd_r, 5, 2)",
                        label_for_charts="month and day swapped"),
        cll.DamerauLevenshteinLevel("birth_ymd", 2).configure(label_for_charts="two digits off"),
        cll.ElseLevel(),
    ]


def _vin(f: _Sql) -> list:
    """A shared car: strong evidence when the two were seen with it at overlapping times."""
    shared = f.overlap("vins_l", "vins_r")
    return [
        cll.CustomLevel(f"vins_l is null or vins_r is null or {f.size('vins_l')} = 0 or {f.size('vins_r')} = 0")
        .configure(is_null_level=True),
        cll.CustomLevel(f"{shared} and first_seen_l <= last_seen_r and first_seen_r <= last_seen_l",
                        label_for_charts="same car, overlapping"),
        cll.CustomLevel(shared, label_for_charts="same car"),
        cll.ElseLevel(),
    ]


def _exact_then(column: str, *levels, tf: bool = False) -> list:
    return [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column, term_frequency_adjustments=tf).configure(label_for_charts="exact"),
        *levels,
        cll.ElseLevel(),
    ]


COMPARISONS = {
    # comparison: (the columns it needs present, its levels in an engine's dialect)
    "name": (("name_key",), _name),
    "mobile": (("mobile",), lambda f: _exact_then(
        "mobile", cll.LevenshteinLevel("mobile", 1).configure(label_for_charts="one digit off"), tf=True)),
    "id_number": (("id_number",), lambda f: _exact_then(
        "id_number", cll.DamerauLevenshteinLevel("id_number", 1).configure(label_for_charts="one typo"),
        cll.DamerauLevenshteinLevel("id_number", 2).configure(label_for_charts="two typos"))),
    "birth_date": (("birth_ymd",), _birth_date),
    "address": (("address_norm",), lambda f: _exact_then(
        "address_norm", cll.JaroWinklerLevel("address_norm", 0.9).configure(label_for_charts="close"),
        cll.JaroWinklerLevel("address_norm", 0.75).configure(label_for_charts="similar"), tf=True)),
    "postcode": (("postcode",), lambda f: _exact_then(
        "postcode", cll.DamerauLevenshteinLevel("postcode", 1).configure(label_for_charts="one digit off"), tf=True)),
    "email": (("email",), lambda f: _exact_then("email")),
    "vin": (("vins",), _vin),
    "dealer": (("dealer_code",), lambda f: _exact_then("dealer_code")),
}

TERM_FREQUENCY_COLUMNS = {"name": "name_key", "mobile": "mobile", "address": "address_norm", "postcode": "postcode"}
"""The column whose term frequencies adjust each comparison's exact match (a common name, a
shared address): frozen with the model when it is trained, so a pair scores the same in every
run that uses the model file, whatever else the network holds by then."""

PREDICTION_BLOCKS = (
    ("mobile",), ("id_number",), ("name_key", "birth_ymd"), ("name_key", "address_norm"), ("name_key", "postcode"),
    ("family_key", "birth_ymd"), ("given_key", "birth_ymd"), ("birth_ymd", "postcode"), ("name_key", "email"),
    ("family_key", "postcode"), ("given_key", "postcode"), ("family_key", "address_norm"),
    ("given_key", "address_norm"), ("birth_ymd", "id_number_prefix"), ("vins",),
)
"""Pairs are scored only within these blocks (those whose columns the data has)."""

TRAINING_BLOCKS = (
    ("mobile",), ("id_number",), ("name_key", "birth_ymd"), ("name_key", "dealer_code"), ("birth_ymd", "postcode"),
    ("address_norm",),
)
"""EM blocks, each trains the comparisons outside it; used when they hold enough pairs."""

DETERMINISTIC_RULES = (("id_number",), ("mobile", "name_norm"), ("name_norm", "birth_ymd"), ("email",))
"""Rules from which the share of matching pairs (lambda) is estimated (recall 0.8)."""


def present_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The model's columns that hold a value somewhere in `table` (a column that varies: one
    dealer's folder has one dealer code, which tells nothing)."""
    columns = sorted({c for needs, _ in COMPARISONS.values() for c in needs}
                     | {c for block in PREDICTION_BLOCKS + TRAINING_BLOCKS for c in block} | {"name_norm"})
    # two values or more: the smallest is not the largest (cheaper than counting distinct values)
    filters = {c: f"filter (where {c} is not null{' and len(vins) > 0' if c == 'vins' else ''})" for c in columns}
    differs = con.execute("select " + ", ".join(f"min({c}) {filters[c]} < max({c}) {filters[c]}" for c in columns)
                          + f" from {table}").fetchone()
    return {c for c, varies in zip(columns, differs) if varies}


def default_parameters() -> dict:
    """The shipped m and u of every comparison level, and where they come from."""
    return json.loads(DEFAULTS_FILE.read_text())


def _label(level) -> str | None:
    return vars(level).get("label_for_charts")


def _configured(levels: list, name: str, defaults: dict, fixed_u: dict[str, float]) -> cl.CustomComparison:
    """The comparison with the shipped m and u on each level (training replaces what it can), and
    the exact u of its exact-match level, fixed."""
    shipped = defaults.get("comparisons", {}).get(name, {})
    for level in levels:
        label = "else" if isinstance(level, cll.ElseLevel) else _label(level)
        if label in shipped and shipped[label]["m"] is not None:
            level.configure(m_probability=shipped[label]["m"], u_probability=shipped[label]["u"])
    if name in fixed_u:
        exact = next(level for level in levels if _label(level) == "exact")
        exact.configure(u_probability=fixed_u[name], fix_u_probability=True)
    return cl.CustomComparison(output_column_name=name, comparison_levels=levels)


def exact_u(con: duckdb.DuckDBPyConnection, table: str, column: str) -> float | None:
    """The chance that two different signatures share a value of `column`: sum n_v (n_v - 1) /
    N (N - 1) over the non-null values. Two million sampled pairs see an exact address match (u
    near 1e-6) once or not at all, and a sample that missed it made the model accept almost no
    pair at scale 1 (bench/RESULTS.md)."""
    u = con.execute(f"select sum(n * (n - 1)) / (sum(n) * (sum(n) - 1)) from (select count(*)::double as n "
                    f"from {table} where {column} is not null group by {column})").fetchone()[0]
    return u if u and 0 < u < 1 - 1e-6 else None


EXACT_COLUMNS = {"name": "name_norm", "mobile": "mobile", "id_number": "id_number", "birth_date": "birth_ymd",
                 "address": "address_norm", "postcode": "postcode", "email": "email", "dealer": "dealer_code"}


ACROSS_PROFILES = "l.profile_id <> r.profile_id"


def scoring_rule(block: tuple[str, ...]):
    """Pairs sharing the block's columns, in two different profiles (within one, the rules have
    linked them already)."""
    if "vins" in block:
        return CustomRule(f"l.vins = r.vins and {ACROSS_PROFILES}", arrays_to_explode=["vins"])
    return And(block_on(*block), CustomRule(ACROSS_PROFILES))


def linkage_model(present: set[str], defaults: dict, fixed_u: dict[str, float],
                  blocks: tuple[tuple[str, ...], ...] = PREDICTION_BLOCKS, dialect: str = "duckdb") -> SettingsCreator:
    """The Fellegi-Sunter model over signatures, with the comparisons the data has, scoring the
    pairs of `blocks` across profiles, in `dialect` (duckdb or spark): one model, either engine."""
    comparisons = [_configured(build(_Sql(dialect)), name, defaults, fixed_u)
                   for name, (needs, build) in COMPARISONS.items() if set(needs) <= present]
    blocks = [scoring_rule(b) for b in blocks if set(b) <= present]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="signature_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocks,
        probability_two_random_records_match=defaults.get("probability_two_random_records_match", 1e-4),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def pairs_sharing(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...],
                  across_profiles: bool = False) -> int:
    """How many record pairs share all of `keys` (the size of a blocking rule's block); with
    `across_profiles`, only those in two different profiles."""
    not_null = " and ".join(f"{k} is not null" for k in keys)
    columns = ", ".join(keys)
    if not across_profiles:
        return con.execute(f"select coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n from {table} "
                           f"where {not_null} group by {columns})").fetchone()[0]
    return con.execute(
        f"select coalesce(sum((n * n - squares) / 2), 0) from (select sum(c) as n, sum(c * c) as squares from "
        f"(select {columns}, count(*) as c from {table} where {not_null} group by {columns}, profile_id) "
        f"group by {columns})").fetchone()[0]


MODEL_COLUMNS = ("signature_id", "profile_id", "name_norm", "name_key", "given_key", "family_key", "name_script", "mobile",
                 "id_number", "birth_ymd", "address_norm", "postcode", "email", "vins", "first_seen", "last_seen",
                 "dealer_code")


ID_NUMBER_PREFIX = "left(id_number, 3) as id_number_prefix"
"""The one derived column the model blocks on (birth date + the ID's region code)."""


def prepare_signatures(con: duckdb.DuckDBPyConnection, signatures_table: str, profiles_table: str) -> int:
    """The temp table Splink reads (`signatures_to_link`: the model's columns of every signature
    with its profile, from `profiles_table`'s signature_key -> signature_id, profile_id); returns
    its row count. Splink reads the columns of unqualified table names only."""
    con.execute(f"create or replace temp table signatures_to_link as select {', '.join(MODEL_COLUMNS)}, "
                f"{ID_NUMBER_PREFIX} from {signatures_table} join {profiles_table} using (signature_key)")
    return con.execute("select count(*) from signatures_to_link").fetchone()[0]


@dataclass
class TrainedModel:
    """A linkage model as it is kept between runs, the same for either engine: the m and u of
    every comparison level by its label, lambda, the fields and scoring blocks it was built with,
    and what training did. Splink's own saved model holds SQL of the engine it was trained on and
    does not load on the other; this file rebuilds the settings for whichever scores. No
    comparisons: there was nothing to train or score."""

    status: str
    comparisons: dict[str, dict[str, dict]] = field(default_factory=dict)
    probability_two_random_records_match: float | None = None
    learned: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    scoring_blocks: list[str] = field(default_factory=list)
    signatures: int = 0
    fields: list[str] = field(default_factory=list)
    engine: str = "duckdb"
    term_frequencies: str = ""
    """The sha256 of the term frequencies frozen with the model (write_term_frequencies), or ""
    for a model without them: it then takes them from the signatures it scores."""

    def to_json(self) -> str:
        """The model file's text: the same model gives the same bytes."""
        return json.dumps(vars(self), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        kept = json.loads(text)
        if "splink" in kept:  # a file of before engine-neutral models: Splink's own, trained on DuckDB
            saved = kept.pop("splink") or {}
            kept["comparisons"] = _levels(parameters(saved)) if saved else {}
            kept["probability_two_random_records_match"] = saved.get("probability_two_random_records_match")
        return cls(**kept)

    def settings(self, dialect: str) -> SettingsCreator:
        """Splink's settings of this model in `dialect`."""
        return linkage_model(set(self.fields), {"comparisons": self.comparisons, "probability_two_random_records_match":
                                                self.probability_two_random_records_match}, {},
                             tuple(tuple(b.split("+")) for b in self.scoring_blocks), dialect)

    def parameters(self) -> pl.DataFrame:
        """m and u of every comparison level."""
        rows = [{"comparison": name, "level": level, "m": values["m"], "u": values["u"]}
                for name, levels in self.comparisons.items() for level, values in levels.items()]
        return pl.DataFrame(rows, schema=PARAMETER_SCHEMA)


def _levels(table: pl.DataFrame) -> dict[str, dict[str, dict]]:
    """{comparison: {level: {m, u}}} of a parameters table, in its order."""
    levels: dict[str, dict[str, dict]] = {}
    for row in table.iter_rows(named=True):
        levels.setdefault(row["comparison"], {})[row["level"]] = {"m": row["m"], "u": row["u"]}
    return levels


def train_linkage_model(engine: Engine, signatures_table: str, profiles_table: str,
                        settings: IdentitySettings, term_frequencies: Path | None = None) -> TrainedModel:
    """Train the model on signatures (`profiles_table` gives each signature's profile:
    signature_key, signature_id, profile_id); with `term_frequencies`, the term frequencies of
    the signatures are frozen with it in that file.

    Training runs on signatures, before the rules merge them: there, a shared mobile still means
    the same person (other spelling of the name, a missing ID) or a family member, which is the
    mixture EM needs. Each EM block trains the comparisons outside it (Splink averages the
    estimates), in turn until every comparison is trained twice; a block that is too small or that
    EM cannot fit is skipped, and what no block trains keeps the shipped parameters.
    """
    con = engine.con
    n = prepare_signatures(con, signatures_table, profiles_table)
    if n < 2:
        return TrainedModel("not scored: fewer than two signatures", signatures=n)
    present = present_columns(con, "signatures_to_link")
    if not any(set(needs) <= present for needs, _ in COMPARISONS.values()):
        return TrainedModel("not scored: no field the model compares differs between signatures",
                            signatures=n, fields=sorted(present))
    defaults = default_parameters()
    fixed_u = {name: u for name, column in EXACT_COLUMNS.items()
               if column in present and (u := exact_u(con, "signatures_to_link", column)) is not None}
    budget = max(settings.min_block_budget, settings.max_block_pairs_per_signature * n)
    scoring_blocks = tuple(b for b in PREDICTION_BLOCKS if set(b) <= present and (
        "vins" in b or pairs_sharing(con, "signatures_to_link", b, across_profiles=True) <= budget))
    db_api = engine.api()
    linker = Linker(db_api.register(engine.source("signatures_to_link")),
                    linkage_model(present, defaults, fixed_u, scoring_blocks, engine.dialect), log_level="WARNING")
    trained = []
    rules = [r for r in DETERMINISTIC_RULES if set(r) <= present]
    # with no pair any rule links, Splink would estimate lambda as 0: it keeps its shipped value
    if any(pairs_sharing(con, "signatures_to_link", r) for r in rules):
        linker.training.estimate_probability_two_random_records_match([block_on(*r) for r in rules], recall=0.8)
        trained.append("lambda")
    try:
        linker.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed)
        trained.append("u")
    except Exception:  # noqa: BLE001 - too few records to sample: u keeps its shipped values
        pass
    blocks, learned = [], set()
    sample = min(1.0, 200_000 / n)
    compared = {name for name, (needs, _) in COMPARISONS.items() if set(needs) <= present}
    times_trained = dict.fromkeys(compared, 0)
    for block in TRAINING_BLOCKS:
        if min(times_trained.values()) >= 2:
            break  # every comparison has been trained by two blocks outside it
        if not set(block) <= present or pairs_sharing(con, "signatures_to_link", block) < settings.min_training_pairs:
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*block), max_pairs=settings.em_max_pairs, record_sample_proportion=sample)
        except Exception:  # noqa: BLE001 - EM found nothing to fit in this block: the next one may
            continue
        blocks.append("+".join(block))
        # EM trains every comparison that does not read the block's columns
        trained_here = {name for name in compared if not set(COMPARISONS[name][0]) & set(block)}
        learned |= trained_here
        for name in trained_here:
            times_trained[name] += 1
    model = linker.misc.save_model_to_json()
    db_api.delete_tables_created_by_splink_from_db()
    used = [c["output_column_name"] for c in model["comparisons"]]
    learned &= set(used)
    status = "trained" if blocks else "shipped parameters (no block had enough pairs to train on)"
    frozen = write_term_frequencies(con, "signatures_to_link", sorted(present), term_frequencies) \
        if term_frequencies else ""
    return TrainedModel(status, _levels(parameters(model)), model["probability_two_random_records_match"],
                        sorted(learned), sorted(set(used) - learned),
                        blocks + [f"{'+'.join(trained)} estimated" if trained else "lambda and u shipped"],
                        ["+".join(b) for b in scoring_blocks], n, sorted(present), engine.dialect, frozen)


def write_term_frequencies(con: duckdb.DuckDBPyConnection, table: str, fields: list[str], path: Path) -> str:
    """Write the term frequency of every value of the TERM_FREQUENCY_COLUMNS among `fields` in
    `table` (a value's share of the column's non-null values, as Splink computes it) to `path`,
    as Parquet (column_name, value, tf); return the file's sha256."""
    columns = [c for c in TERM_FREQUENCY_COLUMNS.values() if c in fields]
    parts = [f"select '{c}' as column_name, {c} as value, cast(count(*) as float8) / (select count({c}) from {table}) "
             f"as tf from {table} where {c} is not null group by {c}" for c in columns]
    query = " union all ".join(parts) if parts else "select null::varchar as column_name, null::varchar as value, " \
                                                     "null::double as tf where false"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({query} order by column_name, value) to '{path}' (format parquet)")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _register_term_frequencies(engine: Engine, linker: Linker, db_api, model: TrainedModel, path: Path) -> None:
    """Give Splink the model's frozen term frequencies instead of those of the table it scores."""
    if hashlib.sha256(path.read_bytes()).hexdigest() != model.term_frequencies:
        raise ValueError(f"{path.name} is not the file the model was trained with (its sha256 differs)")
    con = engine.con
    for column in (c for c in TERM_FREQUENCY_COLUMNS.values() if c in model.fields):
        con.execute(f"create or replace temp table tf_{column} as select value as {column}, tf as tf_{column} "
                    f"from read_parquet('{path}') where column_name = '{column}'")
        linker.table_management.register_term_frequency_lookup(db_api.register(engine.source(f"tf_{column}")), column)


def retrain_reason(con: duckdb.DuckDBPyConnection, kept: TrainedModel | None, signatures_table: str,
                   new_share: float) -> str | None:
    """Why the kept model must be trained again on the signatures of now, or None to keep it: there
    is none, the fields the data holds changed, or the signatures it has not seen are more than
    `new_share` of all (judged by count: the file holds no signature)."""
    if kept is None:
        return "no kept model"
    # the columns of signatures_to_link, without building it: every signature has a profile
    con.execute(f"create or replace temp view signature_fields as select *, {ID_NUMBER_PREFIX} "
                f"from {signatures_table}")
    n = con.table(signatures_table).count("*").fetchone()[0]
    fields = sorted(present_columns(con, "signature_fields")) if n >= 2 else []
    if fields != kept.fields:
        return f"the fields compared changed ({', '.join(kept.fields) or 'none'} -> {', '.join(fields) or 'none'})"
    unseen = (n - kept.signatures) / n if n else 0.0
    if unseen > new_share:
        return f"{unseen:.0%} of the signatures are new since training (more than {new_share:.0%})"
    return None


def score_signatures(engine: Engine, signatures_table: str, profiles_table: str, out_table: str,
                     model: TrainedModel, settings: IdentitySettings, term_frequencies: Path | None = None,
                     rescore_all: bool = True) -> dict[str, int]:
    """Write every pair in two different profiles that `model` scores at or above the floor to
    `out_table` (signature_id_l, signature_id_r, match_probability), on `engine`; return how many
    signatures were scored and how many pairs were carried over from the last scoring.

    With the model's frozen term frequencies (`term_frequencies`), a pair's score depends on its
    two signatures and the model alone. Unless `rescore_all`, a run then scores only the pairs of
    the signatures that are new, changed, or in a profile of the last scoring that the rules have
    since split (its pairs were never scored): with every signature that shares a scoring block
    with one of them, they are scored as a network of their own, and the other pairs keep their
    last score, if they are still in two profiles. The pairs are those a scoring of every
    signature gives. The last scoring is kept as <out_table>_kept (its pairs by signature key),
    <out_table>_inputs (each signature's content and profile) and <out_table>_state (a fingerprint
    of the model, the floor and the code that scored).
    """
    con = engine.con
    kept, inputs, state = f"{out_table}_kept", f"{out_table}_inputs", f"{out_table}_state"
    if not model.comparisons or prepare_signatures(con, signatures_table, profiles_table) < 2:
        con.execute(f"create or replace table {out_table} (signature_id_l bigint, signature_id_r bigint, "
                    "match_probability double)")
        for table in (kept, inputs, state):
            con.execute(f"drop table if exists {table}")
        return {"signatures_scored": 0, "pairs_carried_over": 0}
    fingerprint = _scoring_fingerprint(model, settings, engine.dialect)
    content = ", ".join(c for c in MODEL_COLUMNS if c not in ("signature_id", "profile_id"))
    con.execute(f"create or replace temp table signatures_now as select p.signature_key, s.signature_id, "
                f"s.profile_id, hash({content}) as content from signatures_to_link as s "
                f"join {profiles_table} as p using (signature_id)")
    incremental = (term_frequencies is not None and not rescore_all and _table_exists(con, state)
                   and con.execute(f"select fingerprint from {state}").fetchone() == (fingerprint,))
    n = con.execute("select count(*) from signatures_now").fetchone()[0]
    if incremental:
        con.execute(_SIGNATURES_TO_SCORE.format(previous=inputs))
        dirty = con.execute("select count(*) from signatures_to_score where dirty").fetchone()[0]
        incremental = dirty <= settings.rescore_share * n
    if incremental:
        con.execute(_neighbourhood(model.scoring_blocks))
        to_score, scored = "signatures_to_rescore", con.execute("select count(*) from signatures_to_rescore").fetchone()[0]
    else:
        to_score, scored = "signatures_to_link", n
    carried = 0
    if scored >= 2:
        db_api = engine.api()
        linker = Linker(db_api.register(engine.source(to_score)), model.settings(engine.dialect), log_level="WARNING")
        if term_frequencies is not None:
            _register_term_frequencies(engine, linker, db_api, model, term_frequencies)
        predictions = linker.inference.predict(threshold_match_probability=settings.score_floor)
        engine.keep(predictions, ["signature_id_l", "signature_id_r", "match_probability"], "rescored_pairs")
        db_api.delete_tables_created_by_splink_from_db()
    else:
        con.execute("create or replace table rescored_pairs (signature_id_l bigint, signature_id_r bigint, "
                    "match_probability double)")
    if incremental:
        con.execute(_CARRIED_AND_RESCORED.format(out_table=out_table, kept=kept))
        carried = con.execute(f"select count(*) from {out_table}").fetchone()[0] - con.execute(
            "select count(*) from rescored_pairs").fetchone()[0]
    else:
        con.execute(f"create or replace table {out_table} as select * from rescored_pairs")
    con.execute(f"create or replace table {kept} as select l.signature_key as signature_key_l, "
                f"r.signature_key as signature_key_r, pairs.match_probability from {out_table} as pairs "
                "join signatures_now as l on l.signature_id = pairs.signature_id_l "
                "join signatures_now as r on r.signature_id = pairs.signature_id_r")
    con.execute(f"create or replace table {inputs} as select signature_key, content, profile_id from signatures_now")
    con.execute(f"create or replace table {state} as select ? as fingerprint", [fingerprint])
    con.execute("drop table rescored_pairs")
    return {"signatures_scored": scored, "pairs_carried_over": carried}


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".") if "." in table else ("main", table)
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                            [schema, name]).fetchone()[0])


def _scoring_fingerprint(model: TrainedModel, settings: IdentitySettings, dialect: str) -> str:
    """What a pair's score depends on besides its two signatures: the model as Splink runs it (its
    SQL and parameters), its term frequencies, the floor, and the versions of Splink and DuckDB."""
    spelled = json.dumps(model.settings(dialect).create_settings_dict(dialect), sort_keys=True, default=str)
    return hashlib.sha256("|".join((spelled, model.term_frequencies, str(settings.score_floor), splink.__version__,
                                    duckdb.__version__)).encode()).hexdigest()


_SIGNATURES_TO_SCORE = """
create or replace temp table signatures_to_score as
with previous as (
    select signature_key, content, profile_id from {previous}
),

split_profiles as (
    -- profiles of the last scoring whose signatures the rules now hold apart: their pairs were never scored
    select previous.profile_id
    from previous
    join signatures_now using (signature_key)
    group by previous.profile_id
    having count(distinct signatures_now.profile_id) > 1
)

select
    signatures_now.*,
    previous.signature_key is null
        or previous.content <> signatures_now.content
        or previous.profile_id in (select profile_id from split_profiles) as dirty
from signatures_now
left join previous using (signature_key)
"""


def _neighbourhood(blocks: list[str]) -> str:
    """signatures_to_rescore: the signatures to score again and every signature that shares one
    of the scoring `blocks` with one of them."""
    dirty = "(select signatures_to_link.* from signatures_to_link join signatures_to_score using (signature_id) " \
            "where dirty)"
    shared = []
    for block in blocks:
        columns = block.split("+")
        if columns == ["vins"]:
            shared.append(f"select signature_id from (select signature_id, unnest(vins) as vin from signatures_to_link) "
                          f"semi join (select distinct unnest(vins) as vin from {dirty}) using (vin)")
            continue
        keys = ", ".join(columns)
        not_null = " and ".join(f"{c} is not null" for c in columns)
        shared.append(f"select signature_id from signatures_to_link semi join "
                      f"(select distinct {keys} from {dirty} where {not_null}) using ({keys})")
    members = " union ".join(["select signature_id from signatures_to_score where dirty", *shared])
    return ("create or replace temp table signatures_to_rescore as select * from signatures_to_link "
            f"where signature_id in ({members})")


_CARRIED_AND_RESCORED = """
create or replace table {out_table} as
select l.signature_id as signature_id_l, r.signature_id as signature_id_r, kept.match_probability
from {kept} as kept
join signatures_to_score as l on l.signature_key = kept.signature_key_l
join signatures_to_score as r on r.signature_key = kept.signature_key_r
where not l.dirty and not r.dirty and l.profile_id <> r.profile_id
union all
select rescored_pairs.*
from rescored_pairs
join signatures_to_score as l on l.signature_id = rescored_pairs.signature_id_l
join signatures_to_score as r on r.signature_id = rescored_pairs.signature_id_r
where l.dirty or r.dirty
"""


PARAMETER_SCHEMA = {"comparison": pl.Utf8, "level": pl.Utf8, "m": pl.Float64, "u": pl.Float64}


def parameters(model: dict) -> pl.DataFrame:
    """m and u probability of every comparison level of a model Splink saved."""
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            else_level = level["sql_condition"].strip().upper() == "ELSE"
            rows.append({"comparison": comparison["output_column_name"],
                         "level": "else" if else_level else level.get("label_for_charts") or level["sql_condition"],
                         "m": level.get("m_probability"), "u": level.get("u_probability")})
    return pl.DataFrame(rows, schema=PARAMETER_SCHEMA)


def connected_components(engine: Engine, nodes_table: str, node_column: str, edges_table: str,
                         out_table: str) -> None:
    """Write (node, cluster) to `out_table`: the connected components of the edges
    (`<node_column>_l`, `<node_column>_r`), found on `engine`; the cluster is its smallest node."""
    db_api = engine.api()
    clusters = cluster_pairwise_predictions_at_threshold(
        engine.source(nodes_table, node_column), engine.source(edges_table, f"{node_column}_l, {node_column}_r"),
        db_api=db_api, node_id_column_name=node_column)
    engine.keep(clusters, [node_column, f"min({node_column}) over (partition by cluster_id) as cluster"], out_table)
    db_api.delete_tables_created_by_splink_from_db()


def split_conflicting_clusters(con: duckdb.DuckDBPyConnection, clusters_table: str, links_table: str,
                               conflicts_table: str, out_table: str) -> int:
    """Write (profile_id, cluster) to `out_table`: the clusters of `clusters_table`, where one
    holds a pair of `conflicts_table` (two people for certain) rebuilt from its links strongest
    first, leaving out each link that would join a conflicting pair (the weakest links go).
    Only the conflicting clusters are read into Python, and they are few. Returns how many."""
    conflicts = con.execute(f"select profile_id_l, profile_id_r from {conflicts_table}").fetchall()
    if not conflicts:
        con.execute(f"create or replace table {out_table} as select profile_id, cluster from {clusters_table}")
        return 0
    edges = con.execute(
        f"select links.profile_id_l, links.profile_id_r from {links_table} as links "
        f"join {clusters_table} as c on c.profile_id = links.profile_id_l "
        f"where c.cluster in (select cluster from {conflicts_table}) "
        "order by links.match_probability desc, links.profile_id_l, links.profile_id_r").fetchall()
    members = con.execute(f"select profile_id from {clusters_table} "
                          f"where cluster in (select cluster from {conflicts_table})").fetchall()
    parent = {p: p for (p,) in members}
    component = {p: {p} for p in parent}
    apart = {p: set() for p in parent}
    for a, b in conflicts:
        apart[a].add(b)
        apart[b].add(a)

    def root(p):
        while parent[p] != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        small, large = sorted((ra, rb), key=lambda r: len(component[r]))
        if any(root(q) == large for p in component[small] for q in apart[p]):
            continue
        parent[small] = large
        component[large] |= component.pop(small)
    split = pl.DataFrame({"profile_id": list(parent), "split_cluster": [min(component[root(p)]) for p in parent]},
                         schema={"profile_id": pl.Int64, "split_cluster": pl.Int64})
    con.register("split_clusters", split.to_arrow())
    con.execute(f"create or replace table {out_table} as select c.profile_id, "
                f"coalesce(s.split_cluster, c.cluster) as cluster from {clusters_table} as c "
                "left join split_clusters as s using (profile_id)")
    con.unregister("split_clusters")
    return con.execute(f"select count(distinct cluster) from {conflicts_table}").fetchone()[0]
