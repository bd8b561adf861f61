"""Identity resolution: pairs that must not merge, people who must, stable ids, and accuracy on
the sample against the generator's truth."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from splink import DuckDBAPI, Linker

import sql
from models.identity import IdentitySettings, profile_model, set_exact_match_u
from tests.conftest import SAMPLE_TRUTH, query, run_pipeline, write_file

SERVICE_HEADER = "ro_number,open_date,total_amount,vin,customer_no,customer_name,mobile,id_number,address\n"
V1, V2 = "1M8GDM9AXKP042788", "1HGCM82633A004352"


def customer_of(out, dealer_code: str, record_id: str) -> str:
    rows = query(out, "select customer_id from identity.identity_crosswalk where dealer_code = $d and record_id = $r",
                 {"d": dealer_code, "r": record_id})
    assert len(rows) == 1, (dealer_code, record_id, rows)
    return rows[0][0]


@pytest.fixture
def resolved(tmp_path):
    """Two dealers' service files with a family, two 张伟, a used car and a customer who moved."""
    landing = tmp_path / "landing"
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
    ]) + "\n")
    write_file(landing, "D02/service/ro.csv", SERVICE_HEADER + "\n".join([
        f"M2,2024-09-01,450,{V2},K1,Wei Sun,135-0013-5000,,Shanghai",
        "P1,2024-09-02,100,LSVAU2180N2183295,K2,John Smith,,E12345678,",
        "P2,2024-09-03,100,LSVAU2180N2183295,K3,JOHN SMITH,,E12345678,",
    ]) + "\n")
    out = tmp_path / "out"
    run_pipeline(landing, out)
    return landing, out


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


def test_ids_stay_when_new_files_arrive(resolved):
    landing, out = resolved
    before = dict(query(out, "select record_id, customer_id from identity.identity_crosswalk"))
    write_file(landing, "D01/service/ro_2025.csv", SERVICE_HEADER +
               "Z3,2025-01-01,300,LSVAU2180N2183293,C3,张伟,13900139001,110101199003070011,北京解放路2号\n"
               "N1,2025-01-02,300,LSVAU2180N2183296,C9,周杰,13300133000,,北京中山路7号\n")
    run_pipeline(landing, out)
    after = dict(query(out, "select record_id, customer_id from identity.identity_crosswalk"))
    assert {r: after[r] for r in before} == before
    assert after["Z3"] == before["Z1"]
    assert after["N1"] not in before.values() and after["N1"] > max(before.values())


def test_on_a_merge_the_oldest_id_survives_and_the_other_retires(resolved):
    landing, out = resolved
    first, second = customer_of(out, "D01", "Z1"), customer_of(out, "D01", "U1")
    # a new record proves 张伟 (Z1) and 赵敏's customer (U1) are one person: same valid ID as Z1,
    # same dealer customer number as U1
    write_file(landing, "D01/service/merge.csv", SERVICE_HEADER +
               "X1,2025-02-01,100,LSVAU2180N2183293,C5,张伟,,110101199003070011,\n")
    run_pipeline(landing, out)
    survivor = min(first, second)
    assert customer_of(out, "D01", "Z1") == customer_of(out, "D01", "U1") == survivor
    assert query(out, "select customer_id, merged_into from identity.retired_ids") == [(max(first, second), survivor)]


def test_same_input_gives_the_same_ids_on_a_fresh_output(resolved, tmp_path):
    landing, out = resolved
    again = tmp_path / "again"
    run_pipeline(landing, again)
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
    assert precision >= 0.995 and recall >= 0.98, (precision, recall)
    assert wrong == (0, 0, 0)


def test_exact_match_u_is_the_share_of_record_pairs_sharing_the_value():
    """u of an exact-match level, computed rather than sampled: mobiles A, A, B, C and a null
    give 1 sharing pair of 4 * 3 / 2, so 1/6; the last level takes the rest."""
    con = duckdb.connect()
    con.execute("create table to_train as select * from (values "
                "(1, 'a', 'a', 'A', null, null, null, null, 'D1'), (2, 'b', 'b', 'A', null, null, null, null, 'D1'), "
                "(3, 'c', 'c', 'B', null, null, null, null, 'D1'), (4, 'd', 'd', 'C', null, null, null, null, 'D2'), "
                "(5, 'e', 'e', null, null, null, null, null, 'D2')) as t(profile_id, name_norm, name_key, mobile, "
                "id_number, birth_date, address_norm, email, dealer_code)")
    linker = Linker(DuckDBAPI(connection=con).register("to_train"), profile_model(IdentitySettings()))
    exact = set_exact_match_u(con, "to_train", linker)
    assert exact == {"mobile": pytest.approx(1 / 6), "dealer_code": pytest.approx((3 * 2 + 2 * 1) / (5 * 4))}
    mobile = next(c for c in linker._settings_obj.comparisons if c.output_column_name == "mobile")
    exact_level, other_levels = [level for level in mobile.comparison_levels if not level.is_null_level]
    assert (exact_level.u_probability, other_levels.u_probability) == (pytest.approx(1 / 6), pytest.approx(5 / 6))
    exact_level._add_trained_u_probability(0.5, "a sampled estimate")
    linker._populate_m_u_from_trained_values()  # what Splink does after each training step
    assert exact_level.u_probability == pytest.approx(1 / 6)
