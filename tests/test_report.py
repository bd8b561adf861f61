"""The head-office report: one self-contained HTML file whose charts render in a real headless
browser (Debian's chromium, installed by .ci/run) without any network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

CHARTS = ["lifecycle", "retention", "clv", "a-tier", "segments", "actions", "routines"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed on this machine (.ci/run installs it)")
    return found


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
    dom = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    sections = dom.split('<section class="chart">')[1:]
    assert len(sections) == len(CHARTS)
    for chart, section in zip(CHARTS, sections, strict=True):
        assert f'id="chart-{chart}"' in section
        # plotly draws each chart as SVG, with bars, boxes or lines inside
        assert 'class="main-svg"' in section, chart
        assert re.search(r'class="(point|box|trace bars|bars)', section) or "<path" in section, chart
