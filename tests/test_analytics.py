"""Customer analytics: hand-computed RFM quintiles and segments, a Pareto split done by hand, one
customer per lifecycle stage, the CDNOW reproduction, features computed in DuckDB at a cut-off,
and backtests on the sample that must beat a random ranking."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import polars as pl
import pytest
from lifetimes.datasets import (
    load_cdnow_summary,
    load_cdnow_summary_data_with_monetary_value,
)

import sql
from assets.analytics.clv import clv
from assets.resources import RETRAIN_TAG, RunSettings, Warehouse
from models.abc import abc_tiers, tier_shares
from models.clv import ClvModel, fit_and_score, fit_bgnbd, fit_gamma_gamma, refit_reason
from models.lifecycle import lifecycle_stages
from models.rfm import SEGMENTS, rfm_scores
from models.settings import AnalyticsSettings, Settings
from tests.conftest import query, run_stages, write_file


def test_rfm_scores_and_segments_of_ten_customers():
    customers = pl.DataFrame({
        "customer_id": [f"c{i:02d}" for i in range(1, 11)],
        "recency_days": [5, 10, 20, 30, 60, 90, 120, 200, 400, 1],
        "frequency": [10, 8, 6, 6, 4, 3, 2, 1, 1, 0],
        "monetary": [5000.0, 4000.0, 3000.0, 2500.0, 2000.0, 1500.0, 1000.0, 800.0, 500.0, 0.0],
    })
    scores = rfm_scores(customers).sort("customer_id")
    # score = 1 + floor(5 x customers ranked strictly below / 10); equal values share a score
    assert scores["r_score"].to_list() == [5, 4, 4, 3, 3, 2, 2, 1, 1, 5]
    assert scores["f_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 1, 1, 1]
    assert scores["m_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["rfm_segment"].to_list() == [
        "Champions", "Loyal", "Loyal", "Loyal", "Need attention", "At risk", "Hibernating", "Lost", "Lost",
        # c10 bought a car yesterday and has not been back: New, not a Champion
        "New"]


def test_rfm_scores_within_a_dealer_and_the_full_segment_grid():
    customers = pl.DataFrame({
        "customer_id": ["a1", "a2", "b1", "b2"], "dealer": ["A", "A", "B", "B"],
        "recency_days": [10, 500, 300, 900], "frequency": [5, 1, 2, 0], "monetary": [900.0, 100.0, 200.0, 0.0],
    })
    by_dealer = rfm_scores(customers, by="dealer", suffix="_dealer").sort("customer_id")
    # b1 is the most recent at its dealer though it would not be network-wide
    assert by_dealer["r_score_dealer"].to_list() == [3, 1, 3, 1]
    assert set(by_dealer.columns) == {"customer_id", "r_score_dealer", "f_score_dealer", "m_score_dealer",
                                      "rfm_segment_dealer"}
    assert SEGMENTS.height == 25 and SEGMENTS["rfm_segment"].n_unique() == 11


def test_pareto_split_done_by_hand():
    values = pl.DataFrame({"customer_id": list("abcdefg"), "value": [50.0, 30.0, 10.0, 5.0, 3.0, 2.0, 0.0]})
    tiers = dict(abc_tiers(values, 0.80, 0.95).select("customer_id", "abc_tier").iter_rows())
    # before each: a 0, b 50%, c 80%, d 90%, e 95%, f 98%; g brings nothing
    assert tiers == {"a": "A", "b": "A", "c": "B", "d": "B", "e": "C", "f": "C", "g": "C"}
    shares = tier_shares(abc_tiers(values, 0.80, 0.95))
    assert shares["A"] == {"customer_share": round(2 / 7, 4), "value_share": 0.8}


def test_pareto_split_per_dealer_and_equal_values_by_customer_id():
    values = pl.DataFrame({"customer_id": ["x2", "x1", "y1", "y2"], "dealer_code": ["X", "X", "Y", "Y"],
                           "value": [10.0, 10.0, 90.0, 10.0]})
    tiers = abc_tiers(values, 0.5, 0.9, by="dealer_code").sort("customer_id")
    # X: x1 first (ids break the tie), x2 has 50% before it -> B; Y: y1 brings 90%
    assert tiers["abc_tier"].to_list() == ["A", "B", "A", "C"]


def test_one_customer_per_lifecycle_stage():
    features = pl.DataFrame({
        "customer_id": ["stable", "churning", "lost", "lost_absent", "new", "short_history"],
        "n_visits": [6, 6, 6, 6, 1, 2],
        "mean_gap_days": [180.0, 180.0, 180.0, 400.0, None, 60.0],
        "recency_days": [100, 300, 600, 800, 30, 50],
        "tenure_days": [1000, 1200, 1500, 2500, 30, 400],
        "vehicle_age_days": [1000] * 6,
        "maintenance_share": [0.8, 0.8, 0.8, 0.8, None, 1.0],
    })
    stages = lifecycle_stages(features, AnalyticsSettings()).sort("customer_id")
    by_id = {row["customer_id"]: row for row in stages.iter_rows(named=True)}
    # peers with two or more intervals: mean gaps 180, 180, 180, 400 -> norm 180
    assert by_id["stable"]["peer_norm_days"] == 180
    assert by_id["stable"]["lifecycle_stage"] == "stable"       # 100 / 180 days
    assert by_id["churning"]["lifecycle_stage"] == "churning"   # 300 / 180 = 1.67
    assert by_id["lost"]["lifecycle_stage"] == "lost"           # 600 / 180 = 3.3
    # its own rhythm is 400 days: (5 x 400 + 3 x 180) / 8 = 317.5, 800 days is 2.5 of them, but
    # two years without a visit is lost whatever the rhythm
    assert by_id["lost_absent"]["expected_interval_days"] == pytest.approx(317.5)
    assert by_id["lost_absent"]["lifecycle_stage"] == "lost"
    assert by_id["new"]["lifecycle_stage"] == "new"
    # one interval of 60 days counts for one against the norm's three: (60 + 3 x 180) / 4 = 150
    assert by_id["short_history"]["expected_interval_days"] == pytest.approx(150)
    assert by_id["short_history"]["lifecycle_stage"] == "new"


def test_bgnbd_reproduces_the_published_cdnow_estimates():
    """Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, fitted here on the
    distinct (frequency, recency, T) rows with their counts as weights."""
    summary = pl.from_pandas(load_cdnow_summary()[["frequency", "recency", "T"]])
    params = fit_bgnbd(summary)[0].params_
    assert params["r"] == pytest.approx(0.243, abs=0.001)
    assert params["alpha"] == pytest.approx(4.414, abs=0.005)
    assert params["a"] == pytest.approx(0.793, abs=0.001)
    assert params["b"] == pytest.approx(2.426, abs=0.005)


def test_gamma_gamma_reproduces_the_published_cdnow_estimates():
    """p 6.25, q 3.74, gamma 15.44 on the CDNOW customers with repeat purchases."""
    repeaters = pl.from_pandas(load_cdnow_summary_data_with_monetary_value()[["frequency", "monetary_value"]])
    params = fit_gamma_gamma(repeaters)[0].params_
    assert params["p"] == pytest.approx(6.25, abs=0.01)
    assert params["q"] == pytest.approx(3.74, abs=0.01)
    assert params["v"] == pytest.approx(15.44, abs=0.02)


def test_a_fit_on_the_rows_of_the_last_one_takes_its_parameters_and_gives_its_scores():
    """The CDNOW customers fitted once; fitted again with that fit kept, both models take its
    parameters without fitting and every score is the same. One customer more is a new fit."""
    cdnow = load_cdnow_summary_data_with_monetary_value()
    summary = pl.from_pandas(cdnow.reset_index()).with_columns(pl.col("customer_id").cast(pl.String))
    settings = AnalyticsSettings()
    first = fit_and_score(summary, dt.date(1998, 6, 30), settings, with_clv=True, kept={})
    assert first.notes["fits_kept"] == 0 and len(first.fits) == 2
    again = fit_and_score(summary, dt.date(1998, 6, 30), settings, with_clv=True, kept=first.fits)
    assert again.notes["fits_kept"] == 2 and again.fits == first.fits
    assert again.scores.equals(first.scores) and again.parameters.equals(first.parameters)
    assert again.parameters.filter(pl.col("param") == "r")["value"].item() == pytest.approx(0.243, abs=0.002)
    one_more = pl.concat([summary, summary.head(1).with_columns(customer_id=pl.lit("new"))])
    changed = fit_and_score(one_more, dt.date(1998, 6, 30), settings, with_clv=True, kept=first.fits)
    assert changed.notes["fits_kept"] == 0 and not set(changed.fits) & set(first.fits)


def test_a_kept_clv_model_file_scores_as_the_fit_it_was_made_from():
    """The CDNOW fit written as a model file and read back scores every customer exactly as the
    fit did; a later run's customers (here a tenth fewer) are scored with it, not fitted again."""
    cdnow = load_cdnow_summary_data_with_monetary_value()
    summary = pl.from_pandas(cdnow.reset_index()).with_columns(pl.col("customer_id").cast(pl.String))
    settings = AnalyticsSettings()
    fitted = fit_and_score(summary, dt.date(1997, 9, 30), settings, with_clv=True)
    kept = ClvModel.from_json(fitted.model.to_json())
    assert kept.calibration_end == dt.date(1997, 9, 30) and kept.n_customers == 2357
    scored = fit_and_score(summary, dt.date(1997, 10, 5), settings, with_clv=True, model=kept)
    assert scored.scores.equals(fitted.scores) and scored.parameters.equals(fitted.parameters)
    assert scored.parameters.filter(pl.col("param") == "r")["value"].item() == pytest.approx(0.243, abs=0.002)
    fewer = summary.filter(pl.col("customer_id").cast(pl.Int64) % 10 != 0)
    later = fit_and_score(fewer, dt.date(1997, 10, 5), settings, with_clv=True, model=kept)
    assert later.fits == {} and later.parameters.equals(fitted.parameters)
    assert later.scores.equals(fitted.scores.filter(pl.col("customer_id").cast(pl.Int64) % 10 != 0))


def test_the_clv_asset_scores_with_the_kept_model_and_fits_again_when_asked(sample_run, tmp_path):
    """On a copy of the sample's warehouse and models: a run scores with the model file the sample
    run fitted (the same scores, the file untouched); --retrain and the weekly schedule's tag fit
    again, and a fit of the same rows writes the same file."""
    out, _ = sample_run
    copy = tmp_path / "out"
    copy.mkdir()
    shutil.copy(out / "warehouse.duckdb", copy)
    shutil.copytree(out / "models", copy / "models")
    model_file = copy / "models" / "clv_model.json"
    fitted = model_file.read_bytes()
    scores = query(copy, "select * from analytics.clv order by customer_id")
    resources = {"warehouse": Warehouse(output_dir=str(copy)), "settings": Settings()}
    asked = "asked (--retrain or the weekly schedule)"
    for run_settings, tags, because in ((RunSettings(), None, "kept"), (RunSettings(retrain=True), None, asked),
                                        (RunSettings(), {RETRAIN_TAG: "true"}, asked)):
        result = dg.materialize([clv], resources={**resources, "run_settings": run_settings}, tags=tags)
        metadata = result.asset_materializations_for_node("analytics__clv")[0].metadata
        assert metadata["fitted_because"].value == because and metadata["fitted"].value == (because != "kept")
        assert model_file.read_bytes() == fitted
        assert query(copy, "select * from analytics.clv order by customer_id") == scores


def test_the_kept_clv_model_is_fitted_again_when_due():
    """None kept, as-of before its calibration end or more than 7 days after it, more than 5%
    other customers, another penalizer: fitted again. Within a week and 5%: kept."""
    settings = AnalyticsSettings()
    cdnow = pl.from_pandas(load_cdnow_summary_data_with_monetary_value().reset_index())
    model = fit_and_score(cdnow.with_columns(pl.col("customer_id").cast(pl.String)), dt.date(1997, 9, 30),
                          settings, with_clv=False).model
    end = dt.date(1997, 9, 30)
    assert refit_reason(None, 2357, end, settings) == "no kept model"
    assert refit_reason(model, 2357, end, settings) is None
    assert refit_reason(model, 2357 + 117, end + dt.timedelta(days=7), settings) is None
    assert "before" in refit_reason(model, 2357, end - dt.timedelta(days=1), settings)
    assert "8 days after" in refit_reason(model, 2357, end + dt.timedelta(days=8), settings)
    assert "customers changed by 6%" in refit_reason(model, 2357 + 150, end, settings)
    assert "penalizer" in refit_reason(model, 2357, end, AnalyticsSettings(penalizer=0.001))


@pytest.fixture
def events(con):
    """Two customers' visits and purchases, written straight into the analytics tables."""
    con.execute("create schema analytics")
    con.execute("""create table analytics.visits as select * from (values
        ('A', date '2024-01-01', 'D1', 100.0, 1, true),
        ('A', date '2024-07-01', 'D1', 300.0, 1, true),
        ('A', date '2025-01-01', 'D2', 200.0, 2, false),
        ('A', date '2025-06-01', 'D1', 400.0, 1, true),
        ('B', date '2024-09-01', 'D1', 500.0, 1, false)
    ) as t(customer_id, visit_date, dealer_code, spend, repair_orders, maintenance)""")
    con.execute("""create table analytics.purchases as select * from (values
        ('B', 'D1', 'S1', date '2024-03-01', 'LSVAU2180N2183291', 'new', 200000.0, 10000.0)
    ) as t(customer_id, dealer_code, sale_id, sale_date, vin, new_or_used, sale_amount, value)""")
    con.execute("""create table analytics.customer_vehicles as select * from (values
        ('A', 'LSVAU2180N2183292', date '2024-01-01', date '2022-01-01'),
        ('B', 'LSVAU2180N2183291', date '2024-03-01', date '2024-03-01')
    ) as t(customer_id, vin, first_date, vehicle_first_seen)""")
    return con


def test_features_at_a_cutoff_use_only_what_happened_before_it(events):
    rows = sql.query(events, sql.table_file("analytics.features"), cutoff=dt.date(2025, 3, 1),
                     window_months=36, horizon_months=12).pl()
    a, b = (row for row in rows.sort("customer_id").iter_rows(named=True))
    # A: born 2024-01-01, repeat visits 2024-07-01 and 2025-01-01; the 2025-06-01 visit is after
    # recency and T in exact days, in weeks (not rounded: rounding moved the CDNOW fit by 2%)
    assert (a["frequency"], a["recency"], a["T"]) == (2, pytest.approx(366 / 7), pytest.approx(425 / 7))
    assert a["monetary_value"] == 250 and a["n_visits"] == 3 and a["spend_window"] == 600
    assert (a["recency_days"], a["mean_gap_days"], a["last_gap_days"]) == (59, 183, 184)
    assert a["maintenance_share"] == pytest.approx(2 / 3)
    assert (a["visits_next"], a["spend_next"]) == (1, 400)
    assert (a["home_dealer_code"], a["n_dealers"], a["vehicle_age_days"]) == ("D1", 2, 1155)
    # B bought a car, then came once: the purchase is the birth, the visit the one repeat;
    # value counts the car's margin, monetary only the after-sales spend
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (1, pytest.approx(184 / 7), pytest.approx(365 / 7), 500)
    assert (b["spend_window"], b["value_window"], b["n_purchases"]) == (500, 10500, 1)


@pytest.fixture(scope="module")
def as_of_run(tmp_path_factory):
    """One dealer: a car buyer, a regular, and a visit after the as-of date."""
    root = tmp_path_factory.mktemp("as_of")
    landing = root / "landing"
    write_file(landing, "D01/sales/sales.csv", "sale_id,sale_date,sale_amount,vin,customer_name,mobile\n"
               "S1,2025-06-20,\"¥200,000\",LSVAU2180N2183291,钱磊,13600136000\n")
    write_file(landing, "D01/service/ro.csv", "ro_number,open_date,total_amount,vin,customer_name,mobile\n"
               + "".join(f"R{i},{day},{amount},LSVAU2180N2183292,赵敏,13700137000\n" for i, (day, amount) in
                         enumerate([("2023-01-10", 500), ("2023-07-10", 700), ("2024-01-10", 600),
                                    ("2024-07-10", 800), ("2025-01-10", 650), ("2025-09-01", 9999)])))
    out = root / "out"
    run_stages(landing, out, "ingest", "identity", "analytics", as_of="2025-06-30")
    return out


def test_a_run_as_of_a_date_ignores_later_records(as_of_run):
    assert query(as_of_run, "select as_of from analytics.as_of") == [(dt.date(2025, 6, 30),)]
    assert query(as_of_run, "select count(*), max(visit_date), sum(spend) from analytics.visits") == [
        (5, dt.date(2025, 1, 10), 3250.0)]


def test_a_car_purchase_counts_for_recency_not_for_frequency_or_spend(as_of_run):
    rows = query(as_of_run, """select f.n_purchases, f.recency_days, f.visits_window, f.spend_window, r.r_score,
                                      r.f_score, l.lifecycle_stage
                               from analytics.features f join analytics.rfm r using (customer_id)
                               join analytics.lifecycle l using (customer_id) order by f.n_purchases""")
    regular, buyer = rows
    # with two customers the quintile scores can only be 1 and 3
    assert buyer == (1, 10, 0, 0, 3, 1, "new")
    # visits every ~183 days, last one 171 days ago: on rhythm
    assert regular == (0, 171, 5, 3250, 1, 3, "stable")


def test_too_few_customers_leave_the_models_unfitted(as_of_run):
    assert query(as_of_run, "select count(*), count(p_alive) from analytics.clv") == [(2, 0)]
    assert query(as_of_run, "select count(*), count(churn_risk) from analytics.churn_risk") == [(2, 0)]
    assert query(as_of_run, "select count(*) from analytics.clv_parameters") == [(0,)]


def test_every_customer_is_analysed_once(sample_run):
    out, _ = sample_run
    customers = query(out, "select count(*) from identity.customers")[0][0]
    for table in ("features", "rfm", "abc_tiers", "lifecycle", "clv", "churn_risk"):
        assert query(out, f"select count(*), count(distinct customer_id) from analytics.{table}") == [
            (customers, customers)], table
    stages = dict(query(out, "select lifecycle_stage, count(*) from analytics.lifecycle group by 1"))
    assert set(stages) == {"new", "stable", "churning", "lost"}
    assert query(out, "select count(*) from analytics.action_lists") == [(stages["new"] + stages["churning"],)]


def test_realised_a_tier_share_is_the_setting(sample_run):
    out, _ = sample_run
    (a_share,), = query(out, "select sum(value) filter (where abc_tier = 'A') / sum(value) from analytics.abc_tiers")
    assert 0.80 <= a_share < 0.81


def test_clv_holdout_predicts_the_next_year(sample_run):
    out, _ = sample_run
    metrics = dict(query(out, "select metric, value from analytics.clv_holdout"))
    assert abs(metrics["aggregate_error"]) < 0.15
    assert metrics["top_decile_lift"] > 1.5
    assert abs(metrics["frequency_spend_correlation"]) < 0.1


def test_churn_backtest_beats_a_random_ranking(sample_run):
    out, _ = sample_run
    auc = dict(query(out, "select model, value from analytics.churn_backtest where metric = 'roc_auc'"))
    assert abs(auc["random"] - 0.5) < 0.05
    assert auc["churn_classifier"] > 0.8
    assert auc["bgnbd_p_alive"] > 0.65
    (risky, safe), = query(out, """select avg(churn_risk) filter (where lifecycle_stage = 'lost'),
                                          avg(churn_risk) filter (where lifecycle_stage = 'stable')
                                   from analytics.churn_risk join analytics.lifecycle using (customer_id)""")
    assert risky > safe + 0.3
