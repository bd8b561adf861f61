"""Identity resolution: pairs that must not merge, people who must, stable ids, and accuracy on
the sample against the generator's truth."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import polars as pl
import pytest
from splink import DuckDBAPI, Linker

import sql
from assets.identity.rules import build_rule_clusters
from models.engines import DuckDBEngine
from models.identity import COMPARISONS, TrainedModel, default_parameters, exact_u, linkage_model, score_signatures
from models.settings import IdentitySettings
from tests.conftest import SAMPLE_TRUTH, query, run_stages, write_file

SERVICE_HEADER = "ro_number,open_date,total_amount,vin,customer_no,customer_name,mobile,id_number,address\n"
V1, V2, V3 = "1M8GDM9AXKP042788", "1HGCM82633A004352", "LSVAU2180N2183297"


def customer_of(out, dealer_code: str, record_id: str) -> str:
    rows = query(out, "select customer_id from identity.identity_crosswalk where dealer_code = $d and record_id = $r",
                 {"d": dealer_code, "r": record_id})
    assert len(rows) == 1, (dealer_code, record_id, rows)
    return rows[0][0]


def write_resolved_landing(landing):
    """Two dealers' service files with a family, two 张伟, a used car and a customer who moved."""
    write_file(landing, "D01/service/ro.csv", SERVICE_HEADER + "\n".join([
        # a family: one mobile, one address, two people with their own names and IDs
        "F1,2024-01-05,500,LSVAU2180N2183291,C1,王芳,13800138000,11010519491231002X,北京人民路1号",
        "F2,2024-02-05,600,LSVAU2180N2183292,C2,李强,13800138000,440524188001010014,北京人民路1号",
        # two people called 张伟: other mobiles, other IDs
        "Z1,2024-03-01,300,LSVAU2180N2183293,C3,张伟,13900139001,110101199003070011,北京解放路2号",
        "Z2,2024-03-02,300,LSVAU2180N2183294,C4,张伟,13900139002,110101198507120022,北京和平路3号",
        # a used car: the first owner services it, sells it; the next owner services it
        f"U1,2022-05-01,800,{V1},C5,赵敏,13700137000,,北京长江路4号",
        f"U2,2024-06-01,900,{V1},C6,钱磊,13600136000,,北京学府路5号",
        # a customer who later services at D02, where the clerk writes the name in pinyin
        f"M1,2023-01-01,400,{V2},C7,孙伟,+86 135 0013 5000,,北京光明街6号",
        # a customer with a second customer number, another mobile and another address, seen with
        # the same car over the same months (her mobile one digit from 周杰's of a later file)
        f"W1,2023-03-01,400,{V3},C8,吴敏,13300133001,,北京中山路7号",
        f"W2,2023-08-01,400,{V3},C10,吴敏,17712345678,,北京新华街8号",
        f"W3,2024-02-01,400,{V3},C8,吴敏,13300133001,,北京中山路7号",
    ]) + "\n")
    write_file(landing, "D02/service/ro.csv", SERVICE_HEADER + "\n".join([
        f"M2,2024-09-01,450,{V2},K1,Wei Sun,135-0013-5000,,Shanghai",
        "P1,2024-09-02,100,LSVAU2180N2183295,K2,John Smith,,E12345678,",
        "P2,2024-09-03,100,LSVAU2180N2183295,K3,JOHN SMITH,,E12345678,",
    ]) + "\n")


def resolve(root):
    landing, out = root / "landing", root / "out"
    write_resolved_landing(landing)
    run_stages(landing, out, "ingest", "identity")
    return landing, out


@pytest.fixture(scope="module")
def resolved(tmp_path_factory):
    """The landing folder resolved once, for the tests that only read the result."""
    return resolve(tmp_path_factory.mktemp("resolved"))


@pytest.fixture
def resolved_to_change(tmp_path):
    """The same, for a test that adds files and runs again."""
    return resolve(tmp_path)


def test_family_sharing_a_mobile_stays_two_customers_in_one_household(resolved):
    _, out = resolved
    mother, father = customer_of(out, "D01", "F1"), customer_of(out, "D01", "F2")
    assert mother != father
    households = dict(query(out, "select customer_id, household_id from identity.households"))
    assert households[mother] == households[father]


def test_two_people_with_one_common_name_do_not_merge(resolved):
    _, out = resolved
    assert customer_of(out, "D01", "Z1") != customer_of(out, "D01", "Z2")


def test_previous_and_next_owner_of_a_used_car_do_not_merge(resolved):
    _, out = resolved
    first, next_owner = customer_of(out, "D01", "U1"), customer_of(out, "D01", "U2")
    assert first != next_owner
    periods = query(out, "select owner_seq, customer_id, owned_from, owned_to from identity.vehicles where vin = $v",
                    {"v": V1})
    assert [(p[0], p[1], str(p[2]), str(p[3])) for p in periods] == [
        (1, first, "2022-05-01", "2024-06-01"), (2, next_owner, "2024-06-01", "None")]


def test_one_person_across_dealers_and_scripts_is_one_customer(resolved):
    _, out = resolved
    assert customer_of(out, "D01", "M1") == customer_of(out, "D02", "M2")
    assert query(out, "select match_rule from identity.identity_crosswalk where record_id = 'M2'") == [("mobile_name",)]


def test_a_foreign_id_with_the_same_name_links(resolved):
    _, out = resolved
    assert customer_of(out, "D02", "P1") == customer_of(out, "D02", "P2")


def test_golden_record_takes_the_latest_mobile_and_both_dealers(resolved):
    _, out = resolved
    customer = customer_of(out, "D01", "M1")
    row = query(out, "select mobile, n_dealers, n_repair_orders, first_seen, last_seen from identity.customers "
                     "where customer_id = $c", {"c": customer})
    assert [(r[0], r[1], r[2], str(r[3]), str(r[4])) for r in row] == [
        ("13500135000", 2, 2, "2023-01-01", "2024-09-01")]


def test_ids_stay_when_new_files_arrive(resolved_to_change):
    landing, out = resolved_to_change
    before = dict(query(out, "select record_id, customer_id from identity.identity_crosswalk"))
    write_file(landing, "D01/service/ro_2025.csv", SERVICE_HEADER +
               "Z3,2025-01-01,300,LSVAU2180N2183293,C3,张伟,13900139001,110101199003070011,北京解放路2号\n"
               "N1,2025-01-02,300,LSVAU2180N2183296,C9,周杰,13300133000,,北京中山路7号\n")
    run_stages(landing, out, "ingest", "identity")
    after = dict(query(out, "select record_id, customer_id from identity.identity_crosswalk"))
    assert {r: after[r] for r in before} == before
    assert after["Z3"] == before["Z1"]
    assert after["N1"] not in before.values() and after["N1"] > max(before.values())


def test_on_a_merge_the_oldest_id_survives_and_the_other_retires(resolved_to_change):
    landing, out = resolved_to_change
    first, second = customer_of(out, "D01", "Z1"), customer_of(out, "D01", "U1")
    # a new record proves 张伟 (Z1) and 赵敏's customer (U1) are one person: same valid ID as Z1,
    # same dealer customer number as U1
    write_file(landing, "D01/service/merge.csv", SERVICE_HEADER +
               "X1,2025-02-01,100,LSVAU2180N2183293,C5,张伟,,110101199003070011,\n")
    run_stages(landing, out, "ingest", "identity")
    survivor = min(first, second)
    assert customer_of(out, "D01", "Z1") == customer_of(out, "D01", "U1") == survivor
    assert query(out, "select customer_id, merged_into from identity.retired_ids") == [(max(first, second), survivor)]


def test_same_input_gives_the_same_ids_on_a_fresh_output(resolved, tmp_path):
    landing, out = resolved
    again = tmp_path / "again"
    run_stages(landing, again, "ingest", "identity")
    ids = "select record_id, customer_id from identity.identity_crosswalk order by record_id"
    assert query(again, ids) == query(out, ids)


def test_sample_accuracy_against_the_truth(sample_run):
    out, _ = sample_run
    truth = pl.read_csv(SAMPLE_TRUTH / "records.csv", infer_schema=False).select(
        "dealer_code", "source", "record_id", pl.col("person_id").cast(pl.Int64))
    import duckdb

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        con.register("truth_records", truth.to_arrow())
        precision, recall, *_ = sql.query(con, "checks/identity_accuracy").fetchone()
        persons = pl.read_csv(SAMPLE_TRUTH / "persons.csv", infer_schema=False)
        con.register("persons", persons.to_arrow())
        wrong = con.execute("""
            with rows as (
                select c.customer_id, t.person_id from identity.identity_crosswalk c
                join truth_records t using (dealer_code, source, record_id)),
            merged as (
                select distinct a.person_id as p1, b.person_id as p2 from rows a
                join rows b on a.customer_id = b.customer_id and a.person_id < b.person_id)
            select count(*) filter (where x.household_id = y.household_id),
                   count(*) filter (where x.name = y.name),
                   count(*)
            from merged
            join persons x on cast(x.person_id as bigint) = merged.p1
            join persons y on cast(y.person_id as bigint) = merged.p2""").fetchone()
    assert precision >= 0.995 and recall >= 0.99, (precision, recall)
    assert wrong == (0, 0, 0)


def test_exact_match_u_is_the_share_of_record_pairs_sharing_the_value():
    """u of an exact-match level, computed rather than sampled: mobiles A, A, B, C and a null
    give 1 sharing pair of 4 * 3 / 2, so 1/6; a value every record shares tells nothing (None)."""
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('A', 'D1'), ('A', 'D1'), ('B', 'D1'), ('C', 'D1'), "
                "(null, 'D1')) as t(mobile, dealer_code)")
    assert exact_u(con, "t", "mobile") == pytest.approx(1 / 6)
    assert exact_u(con, "t", "dealer_code") is None


PERSON = {"name_norm": None, "name_key": None, "given_key": None, "family_key": None, "name_script": "latin",
          "mobile": None, "id_number": None, "birth_ymd": None, "address_norm": None, "postcode": None,
          "email": None, "vins": [], "profile_id": 0, "first_seen": dt.date(2024, 1, 1), "last_seen": dt.date(2024, 12, 31),
          "dealer_code": "D1"}


@pytest.mark.parametrize(("left", "right", "comparison", "level"), [
    ({"name_norm": "john smith", "name_key": "john smith"}, {"name_norm": "john smith", "name_key": "john smith"},
     "name", "exact"),
    ({"name_norm": "张伟", "name_key": "wei zhang"}, {"name_norm": "wei zhang", "name_key": "wei zhang"},
     "name", "same sound"),
    ({"name_norm": "smith john", "name_key": "johm smith", "given_key": "smith", "family_key": "johm"},
     {"name_norm": "johm smith", "name_key": "johm smitt", "given_key": "johm", "family_key": "smith"},
     "name", "parts swapped"),
    ({"name_norm": "jon smithe", "name_key": "jon smithe", "given_key": "jon", "family_key": "smithe"},
     {"name_norm": "john smith", "name_key": "john smith", "given_key": "john", "family_key": "smith"},
     "name", "both parts close"),
    ({"name_norm": "john smith", "name_key": "john smith", "given_key": "john", "family_key": "smith"},
     {"name_norm": "jonathan smith", "name_key": "jonathan smith", "given_key": "jonathan", "family_key": "smith"},
     "name", "one part same, other close"),
    ({"name_norm": "anna maria lee", "name_key": "anna lee maria"}, {"name_norm": "anna lee", "name_key": "anna lee"},
     "name", "token missing or extra"),
    ({"name_norm": "mary smith", "name_key": "mary smith", "given_key": "mary", "family_key": "smith"},
     {"name_norm": "peter smith", "name_key": "peter smith", "given_key": "peter", "family_key": "smith"},
     "name", "one part same"),
    ({"birth_ymd": "19800512"}, {"birth_ymd": "19800521"}, "birth_date", "one digit off or swapped"),
    ({"birth_ymd": "19800612"}, {"birth_ymd": "19801206"}, "birth_date", "month and day swapped"),
    ({"birth_ymd": "19800612"}, {"birth_ymd": "19810712"}, "birth_date", "two digits off"),
    ({"id_number": "6794161"}, {"id_number": "6794611"}, "id_number", "one typo"),
    ({"id_number": "6794161"}, {"id_number": "6749611"}, "id_number", "two typos"),
    ({"mobile": "13800138000"}, {"mobile": "13800138001"}, "mobile", "one digit off"),
    ({"postcode": "2795"}, {"postcode": "2759"}, "postcode", "one digit off"),
    ({"address_norm": "11cochranecrescentspylawfarm"}, {"address_norm": "11cochranecrescentspylawfarms"},
     "address", "close"),
    ({"vins": [V1]}, {"vins": [V1, V2]}, "vin", "same car, overlapping"),
    ({"vins": [V1], "last_seen": dt.date(2022, 5, 1)}, {"vins": [V1], "first_seen": dt.date(2024, 6, 1)},
     "vin", "same car"),
])
def test_each_comparison_level_is_reached(left, right, comparison, level):
    """The level a pair of records falls into, scored by the model as built for a data set with
    every field."""
    con = duckdb.connect()
    columns = {c for needs, _ in COMPARISONS.values() for c in needs}
    model = linkage_model(columns, default_parameters(), {})
    records = pl.DataFrame([PERSON | {"signature_id": 1, "profile_id": 1} | left, PERSON | {"signature_id": 2, "profile_id": 2} | right])
    con.register("records", records.to_arrow())
    con.execute("create table pair as select * from records")
    linker = Linker(DuckDBAPI(connection=con).register("pair"), model)
    scored = linker.inference.score_pair(records.row(0, named=True), records.row(1, named=True)).as_pandas_dataframe()
    saved = linker.misc.save_model_to_json()
    levels = next(c for c in saved["comparisons"] if c["output_column_name"] == comparison)["comparison_levels"]
    labels = {len(levels) - 1 - i: lv.get("label_for_charts") for i, lv in enumerate(levels)}
    assert labels[scored[f"gamma_{comparison}"].iloc[0]] == level

def test_a_folder_too_small_to_train_on_scores_with_the_shipped_parameters(tmp_path):
    """One dealer, three records: no block has pairs to train on, so the model scores with the
    parameters shipped in models/identity_defaults.json, says so, and still links the customer
    who came back with a mobile one digit off and the same ID."""
    landing, out = tmp_path / "landing", tmp_path / "out"
    write_file(landing, "D01/service/ro.csv", SERVICE_HEADER + "\n".join([
        "A1,2024-01-05,500,LSVAU2180N2183291,C1,王芳,13800138000,11010519491231002X,北京人民路1号",
        "A2,2024-06-05,500,LSVAU2180N2183291,C2,王芳,13800138001,11010519491231002X,北京人民路1号",
        "B1,2024-02-05,600,LSVAU2180N2183292,C3,李强,13700137000,,上海淮海路2号",
    ]) + "\n")
    run_stages(landing, out, "ingest", "identity")
    status, learned = query(out, "select status, learned from identity.linkage_model")[0]
    assert status.startswith("shipped parameters") and learned == ""
    assert customer_of(out, "D01", "A1") == customer_of(out, "D01", "A2") != customer_of(out, "D01", "B1")


def _linkage_model(out) -> tuple:
    return query(out, "select status, trained_because, signatures_at_training from identity.linkage_model")[0]


def test_the_model_is_kept_between_runs_and_trained_again_when_due_or_asked(resolved_to_change):
    landing, out = resolved_to_change
    model_file = out / "models" / "linkage_model.json"
    trained = model_file.read_bytes()
    status, because, signatures = _linkage_model(out)
    assert because == "no kept model" and signatures == query(out, "select count(*) from identity.signatures")[0][0]

    write_file(landing, "D01/service/ro_2025.csv", SERVICE_HEADER +
               "Z3,2025-01-01,300,LSVAU2180N2183293,C3,张伟,13900139001,110101199003070011,北京解放路2号\n")
    run_stages(landing, out, "ingest", "identity")
    assert model_file.read_bytes() == trained and _linkage_model(out) == (status, None, signatures)

    now = query(out, "select count(*) from identity.signatures")[0][0]
    for asked in ({"retrain": True}, {"tags": {"crm/retrain": "true"}}):  # crm run --retrain; the weekly tag
        run_stages(landing, out, "ingest", "identity", **asked)
        assert _linkage_model(out)[1:] == ("asked (--retrain or the weekly schedule)", now)

    write_file(landing, "D02/service/ro_2025.csv", SERVICE_HEADER + "".join(
        f"Q{i},2025-02-0{i},100,LSVAU2180N218330{i},K{i + 10},新客{i},1350013500{i},,上海路{i}号\n" for i in range(1, 6)))
    run_stages(landing, out, "ingest", "identity")
    assert _linkage_model(out)[1].endswith("of the signatures are new since training (more than 20%)")


def test_scoring_only_what_changed_gives_the_pairs_of_scoring_everything(sample_run, tmp_path):
    """On the sample's warehouse, with signatures added, changed and removed and profiles split
    and merged since the last scoring, scoring the changed signatures and their blocks gives the
    pairs, and the very scores, of scoring every signature again."""
    out, _ = sample_run
    model = TrainedModel.from_json((out / "models" / "linkage_model.json").read_text())
    frequencies = out / "models" / "linkage_model.term_frequencies.parquet"
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(out / "warehouse.duckdb", copy)
    settings = IdentitySettings()
    with duckdb.connect(str(copy)) as con:
        engine = DuckDBEngine(con)
        last = con.table("identity.scored_signature_pairs").order("all").fetchall()
        nothing_changed = score_signatures(engine, "identity.signatures", "identity.signature_profiles",
                                           "identity.scored_signature_pairs", model, settings, frequencies,
                                           rescore_all=False)
        assert nothing_changed == {"signatures_scored": 0, "pairs_carried_over": len(last)}
        assert con.table("identity.scored_signature_pairs").order("all").fetchall() == last

        # split: a signature leaves the profile of the signatures it shares a mobile and a name with
        (moved, profile) = con.execute(
            "select min(signature_id), profile_id from identity.signature_profiles join identity.signatures "
            "using (signature_key) where mobile is not null group by profile_id, mobile "
            "having count(*) >= 2 order by profile_id limit 1").fetchone()
        con.execute("update identity.signature_profiles set profile_id = (select max(profile_id) + 1 from "
                    "identity.signature_profiles) where signature_id = ?", [moved])
        # merge: two other profiles become one
        con.execute("update identity.signature_profiles set profile_id = 1 where profile_id = 2")
        # changed: new cars and mobiles; removed: three signatures; added: a copy under a new key
        con.execute("update identity.signatures set vins = list_append(vins, 'LSVAU2180N2183299'), "
                    "mobile = '13912345678' where signature_key in (select signature_key from identity.signatures "
                    "order by signature_key limit 4)")
        con.execute("delete from identity.signature_profiles where signature_id in (select signature_id from "
                    "identity.signature_profiles order by signature_id desc limit 3)")
        con.execute("insert into identity.signatures select * replace (signature_key + 1 as signature_key) "
                    "from identity.signatures where signature_key = (select max(signature_key) from "
                    "identity.signatures join identity.signature_profiles using (signature_key))")
        con.execute("insert into identity.signature_profiles select signature_key + 1, "
                    "(select max(signature_id) + 1 from identity.signature_profiles), profile_id from "
                    "identity.signature_profiles where signature_key = (select max(signature_key) from "
                    "identity.signature_profiles)")

        changed = score_signatures(engine, "identity.signatures", "identity.signature_profiles",
                                   "identity.scored_signature_pairs", model, settings, frequencies, rescore_all=False)
        everything = score_signatures(engine, "identity.signatures", "identity.signature_profiles", "rescored",
                                      model, settings, frequencies)
        n = con.table("identity.signature_profiles").count("*").fetchone()[0]
        assert 2 <= changed["signatures_scored"] < n / 4 and changed["pairs_carried_over"] > 0
        assert everything == {"signatures_scored": n, "pairs_carried_over": 0}
        pairs = con.table("identity.scored_signature_pairs").order("all").fetchall()
        assert pairs == con.table("rescored").order("all").fetchall() and pairs != last
        # the pair the split left across two profiles was never scored before; it is now
        assert con.execute("select count(*) from identity.scored_signature_pairs join identity.signature_profiles "
                           "as p on p.signature_id in (signature_id_l, signature_id_r) and p.profile_id = ? "
                           "where ? in (signature_id_l, signature_id_r)", [profile, moved]).fetchone()[0] >= 1


def test_rule_clusters_found_again_where_signatures_came_or_went_equal_finding_them_all(sample_run, tmp_path):
    """On the sample's warehouse, with a signature that bridged two rules gone and a new one that
    shares one cluster's mobile and name and another's ID number, finding again only the
    clusters they touch gives the edges and clusters of finding them all."""
    out, _ = sample_run
    changed, everything = tmp_path / "changed.duckdb", tmp_path / "everything.duckdb"
    shutil.copy(out / "warehouse.duckdb", changed)
    with duckdb.connect(str(changed)) as con:
        assert build_rule_clusters(con, DuckDBEngine(con), full=False) == 0
        (bridge,) = con.execute(
            "select signature_key from (select signature_key_l as signature_key, rule from identity.rule_edges "
            "union all select signature_key_r, rule from identity.rule_edges) group by signature_key "
            "having count(distinct rule) >= 2 order by signature_key limit 1").fetchone()
        con.execute("delete from identity.signatures where signature_key = ?", [bridge])
        (with_mobile, with_id) = con.execute(
            "select (select min(signature_key) from identity.signatures where mobile is not null and name_key is not "
            "null and id_number is null), (select max(signature_key) from identity.signatures where id_valid)"
        ).fetchone()
        con.execute("insert into identity.signatures select * replace (signature_key + 1 as signature_key, "
                    "(select id_number from identity.signatures where signature_key = $id) as id_number, "
                    "true as id_valid, 'resident' as id_type) from identity.signatures where signature_key = $mobile",
                    {"id": with_id, "mobile": with_mobile})
        clusters_before = con.execute("select count(distinct cluster) from identity.rule_clusters").fetchone()[0]
    shutil.copy(changed, everything)
    with duckdb.connect(str(changed)) as con:
        clustered = build_rule_clusters(con, DuckDBEngine(con), full=False)
        n = con.execute("select count(*) from identity.signatures").fetchone()[0]
        assert 2 <= clustered < n / 10
        found = [con.execute(f"select * from {t} order by all").fetchall()
                 for t in ("identity.rule_edges", "identity.rule_clusters")]
        joined = con.execute("select count(distinct cluster) from identity.rule_clusters where signature_key in ($a, $b)",
                             {"a": with_mobile + 1, "b": with_id}).fetchone()[0]
        assert joined == 1 and con.execute("select count(distinct cluster) from identity.rule_clusters"
                                           ).fetchone()[0] != clusters_before
    with duckdb.connect(str(everything)) as con:
        assert build_rule_clusters(con, DuckDBEngine(con), full=True) == n
        assert found == [con.execute(f"select * from {t} order by all").fetchall()
                         for t in ("identity.rule_edges", "identity.rule_clusters")]
