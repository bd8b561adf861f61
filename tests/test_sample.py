"""The committed sample landing folder, run once through every asset, against its ground truth."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq

from tests.conftest import SAMPLE_TRUTH, query


def test_every_row_is_conserved(sample_run):
    out, result = sample_run
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert query(out, "select count(*) from ingest.load_manifest where rows_read <> rows_loaded + rows_rejected") == [(0,)]
    read, loaded, rejected = query(out, "select sum(rows_read), sum(rows_loaded), sum(rows_rejected) from ingest.load_manifest")[0]
    clean = query(out, "select (select count(*) from clean.sales) + (select count(*) from clean.repair_orders) "
                       "+ (select count(*) from clean.contacts)")[0][0]
    assert (loaded, rejected) == (clean, query(out, "select count(*) from ingest.rejects")[0][0])
    assert read == loaded + rejected


def test_the_broken_export_fails_alone_and_the_redelivery_is_skipped(sample_run):
    out, _ = sample_run
    statuses = dict(query(out, "select status, count(*) from ingest.load_manifest group by status"))
    assert statuses == {"loaded": 124, "skipped": 1, "failed": 1}
    (error,) = query(out, "select error from ingest.load_manifest where status = 'failed'")[0]
    assert error.startswith("CD004/service/service_2022.csv: missing required column(s) open_date")


def test_clean_tables_hold_exactly_the_usable_true_records(sample_run):
    """Every generated record that was not broken on purpose and not in the failed file is clean,
    once; none of the deliberately broken ones is."""
    out, _ = sample_run
    truth = pl.read_csv(SAMPLE_TRUTH / "records.csv", infer_schema=False)
    in_failed_file = pl.DataFrame(
        query(out, "select dealer_code, source, record_id from ingest.rejects where reason = 'file_failed'"),
        schema=["dealer_code", "source", "record_id"], orient="row",
    )
    expected = truth.filter(pl.col("broken") == "").join(in_failed_file, on=["dealer_code", "source", "record_id"],
                                                          how="anti")
    clean = pl.DataFrame(
        query(out, "select dealer_code, 'sales', sale_id from clean.sales union all "
                   "select dealer_code, 'service', ro_number from clean.repair_orders"),
        schema=["dealer_code", "source", "record_id"], orient="row",
    )
    assert clean.height == clean.unique().height
    assert set(clean.iter_rows()) == set(expected.select("dealer_code", "source", "record_id").iter_rows())


def test_mobiles_and_ids_match_the_people_behind_them(sample_run):
    out, _ = sample_run
    persons = pl.read_csv(SAMPLE_TRUTH / "persons.csv", infer_schema=False)
    records = pl.read_csv(SAMPLE_TRUTH / "records.csv", infer_schema=False)
    clean = pl.DataFrame(
        query(out, "select dealer_code, ro_number, mobile, id_number, id_valid from clean.repair_orders"),
        schema=["dealer_code", "record_id", "mobile", "id_number", "id_valid"], orient="row",
    )
    joined = (clean.join(records.filter(pl.col("source") == "service"), on=["dealer_code", "record_id"])
                   .join(persons, on="person_id", suffix="_true"))
    # a record gives the person's mobile, or the new one of a person who moved, or one typed with
    # one digit wrong (about 1%)
    movers = pl.read_csv(SAMPLE_TRUTH / "movers.csv", infer_schema=False).select("person_id", "new_mobile")
    with_mobile = joined.filter(pl.col("mobile").is_not_null()).join(movers, on="person_id", how="left")
    assert with_mobile.height > 15_000
    known = (with_mobile["mobile"] == with_mobile["mobile_true"]) | (with_mobile["mobile"] == with_mobile["new_mobile"])
    assert 0.98 < known.mean() < 1.0 and (~known).sum() > 0
    mistyped = with_mobile.filter(~known)
    digits_off = [sum(a != b for a, b in zip(m, t, strict=True)) for m, t in
                  zip(mistyped["mobile"], mistyped["mobile_true"], strict=True)]
    moved_and_mistyped = mistyped["new_mobile"].is_not_null().sum()
    assert sum(d == 1 for d in digits_off) >= mistyped.height - moved_and_mistyped
    valid_ids = joined.filter(pl.col("id_valid"))
    assert (valid_ids["id_number"] == valid_ids["id_number_true"]).mean() == 1.0
    typos = joined.filter(pl.col("id_valid").not_() & (pl.col("id_number") != pl.col("id_number_true")))
    assert 0 < typos.height < 0.03 * joined.filter(pl.col("id_number").is_not_null()).height


def test_marts_are_written(sample_run):
    out, _ = sample_run
    manifest = pq.read_table(out / "marts" / "load_manifest.parquet")
    expected = {"dealer_code", "source", "file_name", "file_sha256", "rows_read", "rows_loaded", "rows_rejected",
                "status", "error"}
    assert expected <= set(manifest.column_names)
    assert manifest.num_rows == 126
    rejects = pq.read_table(out / "marts" / "rejects.parquet")
    assert {"dealer_code", "source", "file_name", "source_row", "reason", "raw"} <= set(rejects.column_names)
    assert rejects.num_rows == query(out, "select count(*) from ingest.rejects")[0][0]


def test_identity_crosswalk_mart_holds_every_accepted_row(sample_run):
    out, _ = sample_run
    crosswalk = pq.read_table(out / "marts" / "identity_crosswalk.parquet")
    assert {"dealer_code", "source", "file_name", "source_row", "record_id", "customer_id",
            "match_rule"} <= set(crosswalk.column_names)
    loaded = query(out, "select sum(rows_loaded) from ingest.load_manifest")[0][0]
    assert crosswalk.num_rows == loaded
    assert crosswalk.select(["dealer_code", "source", "file_name", "source_row"]).to_pandas().duplicated().sum() == 0


def test_names_of_the_dealer_with_split_name_fields_come_out_whole(sample_run):
    """CD004's DMS writes LastName and FirstName apart (US style): 杨 + 英 is 杨英, a company name
    torn in two is whole again, in the clean tables, the golden record and the marketing list; a
    name its clerk wrote in pinyin is "given family"."""
    out, _ = sample_run
    persons = pl.read_csv(SAMPLE_TRUTH / "persons.csv", infer_schema=False).select("person_id", "name")
    records = pl.read_csv(SAMPLE_TRUTH / "records.csv", infer_schema=False).filter(
        (pl.col("dealer_code") == "CD004") & (pl.col("source") == "service"))
    clean = pl.DataFrame(query(out, "select ro_number, customer_name from clean.repair_orders "
                                    "where dealer_code = 'CD004'"), schema=["record_id", "customer_name"], orient="row")
    joined = clean.join(records, on="record_id").join(persons, on="person_id")
    assert joined.height > 3000
    # its clerks write about 40% of the people in pinyin, given name first ("Wei Zhang")
    chinese = joined.filter(pl.col("customer_name").str.contains(r"\p{Han}"))
    assert 0.5 < chinese.height / joined.height < 0.7
    assert (chinese["customer_name"] == chinese["name"]).mean() > 0.95  # the rest: the generator's typos
    # (a company may write its legal form in English: "成都恒通贸易 Co., Ltd.")
    assert not chinese.filter(~pl.col("customer_name").str.contains("Co., Ltd."))["customer_name"].str.contains(" ").any()
    latin = joined.filter(~pl.col("customer_name").str.contains(r"\p{Han}") & ~pl.col("name").str.contains("公司"))
    assert (latin["customer_name"].str.count_matches(" ") == 1).all()
    members = pq.read_table(out / "marts" / "segment_members.parquet").to_pandas()
    cd004 = members[members["dealer_code"] == "CD004"]["customer_name"].dropna()
    chinese_members = cd004[cd004.str.contains("[\u4e00-\u9fff]", regex=True) & ~cd004.str.contains("Co., Ltd.")]
    assert not chinese_members.str.contains(" ").any()
