"""The head-office report: one self-contained HTML file whose charts render in a real headless
browser (Debian's chromium, installed by .ci/run) without any network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import sql

CHARTS = ["ranking", "trend-active", "retention", "lifecycle", "routines", "actions", "segments", "clv"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed on this machine (.ci/run installs it)")
    return found


def rendered_dom(report: Path, tmp_path: Path, budget_ms: int, timeout: int) -> str:
    """The page as headless chromium leaves it once its scripts have run."""
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", f"--virtual-time-budget={budget_ms}", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=timeout, check=True).stdout


def test_the_report_is_self_contained_and_holds_no_personal_data(sample_run):
    out, _ = sample_run
    page = (out / "reports" / "head_office.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page), "every script is inline: the page opens offline"
    assert not re.search(r"<link[^>]+href=\"?https?:", page)
    for chart in CHARTS:
        assert f'id="chart-{chart}"' in page
    assert not re.search(r"\b1[3-9]\d{9}\b", page), "no mobile numbers"


def test_the_charts_render_in_a_headless_browser(sample_run, tmp_path):
    out, _ = sample_run
    report = out / "reports" / "head_office.html"
    dom = rendered_dom(report, tmp_path, budget_ms=15000, timeout=120)
    sections = dom.split('<section class="chart">')[1:]
    assert len(sections) == len(CHARTS)
    for chart, section in zip(CHARTS, sections, strict=True):
        assert f'id="chart-{chart}"' in section
        # plotly draws each chart as SVG, with bars, boxes or lines inside
        assert 'class="main-svg"' in section, chart
        assert re.search(r'class="(point|box|trace bars|bars)', section) or "<path" in section, chart


def _network_of(n_dealers: int, seed: int = 3):
    """Frames in the shape of the report's queries for a network of `n_dealers` dealers in eight
    regions, each dealer with its own retention (the lower its number, the better)."""
    import datetime as dt

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    codes = [f"D{i:03d}" for i in range(n_dealers)]
    retention = np.linspace(0.96, 0.86, n_dealers)
    dealers = pl.DataFrame({
        "dealer_code": codes, "dealer_name": [f"dealer {c}" for c in codes],
        "region": [f"region {i % 8}" for i in range(n_dealers)], "province": [f"province {i % 16}" for i in range(n_dealers)],
        "customers": rng.integers(2000, 8000, n_dealers), "active_12m": rng.integers(1500, 6000, n_dealers),
        **{stage: rng.integers(100, 1000, n_dealers) for stage in ("new", "stable", "churning", "lost")},
        "retention_12m": retention, "service_revisit_rate": retention - 0.05, "new_to_stable_rate": rng.uniform(0.4, 0.7, n_dealers),
        "leakage_rate": rng.uniform(0.03, 0.12, n_dealers), "follow_up_completion": rng.uniform(0.4, 0.95, n_dealers),
        "service_due_conversion": rng.uniform(0.5, 0.8, n_dealers), "win_back_rate": rng.uniform(0.05, 0.25, n_dealers),
        "a_tier_share": rng.uniform(0.4, 0.6, n_dealers), "lost_share": rng.uniform(0.1, 0.3, n_dealers),
        "avg_clv_12m": rng.uniform(2000, 5000, n_dealers), "follow_ups_open": rng.integers(0, 50, n_dealers),
        "service_due_now": rng.integers(50, 300, n_dealers), "win_back_list": rng.integers(20, 200, n_dealers),
    }).with_columns(retention_12m_rank=pl.col("retention_12m").rank(descending=True).cast(pl.Int64),
                    retention_12m_percentile=pl.col("retention_12m").rank() / n_dealers)
    network = dealers.select(pl.lit("ALL").alias("dealer_code"), *(pl.col(c).mean() for c in dealers.columns
                                                                   if dealers[c].dtype.is_float()),
                             *(pl.col(c).sum() for c in ("customers", "active_12m", "new", "stable", "churning", "lost")))
    scorecard = pl.concat([dealers, network], how="diagonal_relaxed")
    quantiles = pl.DataFrame({"dealer_code": [*codes, "ALL"]}).with_columns(
        p05=pl.lit(100.0), q1=pl.lit(1500.0), median=pl.lit(3000.0), q3=pl.lit(4500.0), p95=pl.lit(7000.0))
    segments = pl.DataFrame({"dealer_code": codes}).join(pl.DataFrame({"rfm_segment": ["Champions", "Lost", "At risk"]}),
                                                        how="cross").with_columns(share=pl.lit(1 / 3))
    actions = pl.DataFrame({"dealer_code": codes, "new_not_yet_stable": rng.integers(10, 100, n_dealers),
                            "stable_starting_to_churn": rng.integers(5, 50, n_dealers)})
    months = [dt.date(2026, m, 1) for m in range(1, 13)]
    trends = pl.DataFrame({"month": months * 9, "region": [r for r in ["ALL", *(f"region {i}" for i in range(8))]
                                                           for _ in months],
                           "active_customers": rng.integers(1000, 9000, 108), "retention_12m": rng.uniform(0.88, 0.95, 108)})
    return scorecard, quantiles, segments, actions, trends, dt.date(2026, 12, 31)


@pytest.mark.parametrize("n_dealers", [6, 200, 600])
def test_the_report_reads_at_any_network_size(tmp_path, n_dealers):
    """6 or 600 dealers: every chart renders, the ranking shows all dealers or the best and worst
    twelve, the best and worst dealers are named, the table holds every dealer with a region filter."""
    from assets.marts.report import head_office_report

    page = head_office_report(*_network_of(n_dealers))
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    best, worst = "D000", f"D{n_dealers - 1:03d}"
    verdict = page.split('<p class="verdict">')[1].split("</p>")[0]
    assert verdict.index(best) < verdict.index("Lose the most") < verdict.index(worst)
    assert page.count('<tr data-region="region') == n_dealers
    assert 'data-column="region"' in page and 'data-column="province"' in page
    assert ("the best and worst 12 of" in page) == (n_dealers > 24)
    dom = rendered_dom(report, tmp_path, budget_ms=20000, timeout=180)
    sections = dom.split('<section class="chart">')[1:]
    assert len(sections) == len(CHARTS)
    assert all('class="main-svg"' in section for section in sections)


def test_the_report_and_the_scorecard_put_the_dealers_made_worst_at_the_bottom(sample_run):
    """The generator gives each dealer its own share of customers who stop coming: the two it made
    worst are the two the scorecard ranks last on retention, and the two the report names first
    among those that lose the most."""
    import polars as pl

    from tests.conftest import SAMPLE_TRUTH

    out, _ = sample_run
    truth = pl.read_csv(SAMPLE_TRUTH / "dealer_quality.csv").sort("stop_share", descending=True)
    worst = set(truth["dealer_code"].head(2))
    scorecard = pl.read_parquet(out / "marts" / "dealer_scorecard.parquet").filter(pl.col("dealer_code") != "ALL")
    assert set(scorecard.sort("retention_12m")["dealer_code"].head(2)) == worst
    page = (out / "reports" / "head_office.html").read_text(encoding="utf-8")
    named = page.split('<span class="bad">Lose the most:</span>')[1].split("Network:")[0]
    assert all(code in named for code in worst)


def test_the_trend_counts_active_and_retained_customers_by_calendar_month(con):
    """As of 2025-06-30: A serviced in June 2025 and May 2024, B bought a car in December 2024, C
    serviced in July 2023, D in January 2022 (beyond the 36 months read). June 2025: A and B active;
    A and C serviced in the 12 months before, A again: retention 0.5. May 2025: only B active,
    nobody of A and C back: 0. July 2024: A active, C in the base and not back: 0."""
    con.execute("create schema analytics; create schema ingest")
    con.execute("create table analytics.as_of as select date '2025-06-30' as as_of")
    con.execute("create table ingest.dealers as select 'D1' as dealer_code, 'north' as region")
    con.execute("create table analytics.features as select unnest(['A', 'B', 'C', 'D']) as customer_id, "
                "'D1' as home_dealer_code")
    con.execute("create table analytics.visits as select * from (values ('A', date '2025-06-10'), "
                "('A', date '2024-05-03'), ('C', date '2023-07-15'), ('D', date '2022-01-01')) "
                "as t(customer_id, visit_date)")
    con.execute("create table analytics.purchases as select 'B' as customer_id, date '2024-12-01' as sale_date")
    rows = {(month.isoformat(), region): (active, retention)
            for month, region, active, retention in sql.query(con, "reports/trend").fetchall()}
    assert len(rows) == 24 and rows[("2025-06-01", "north")] == rows[("2025-06-01", "ALL")]
    assert rows[("2025-06-01", "ALL")] == (2, 0.5)
    assert rows[("2025-05-01", "ALL")] == (1, 0.0)
    assert rows[("2024-12-01", "ALL")] == (2, 0.0)
    assert rows[("2024-07-01", "ALL")] == (1, 0.0)
