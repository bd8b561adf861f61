"""The head-office report: one self-contained HTML file comparing dealers, with plotly charts
whose JavaScript is embedded (no CDN, opens offline)."""

from __future__ import annotations

import datetime as dt
import html

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from models.lifecycle import STAGES

STAGE_COLOURS = {"new": "#4c9be8", "stable": "#2ca02c", "churning": "#ff9f1c", "lost": "#d62728"}
SCORECARD_COLUMNS = {
    "dealer_code": "dealer", "dealer_name": "name", "customers": "customers", "active_12m": "active 12m",
    "retention_12m": "retention", "service_revisit_rate": "revisit here", "new_to_stable_rate": "new to stable",
    "a_tier_share": "A-tier share", "avg_clv_12m": "avg CLV 12m", "churning": "churning", "lost": "lost",
    "follow_up_completion": "follow-ups done", "service_due_conversion": "service due converted",
    "leakage_rate": "leakage", "win_back_rate": "won back",
}
ROUTINES = {  # KPI -> (label, colour); leakage is better low, the others high
    "follow_up_completion": ("post-delivery calls done in their window", "#1f77b4"),
    "service_due_conversion": ("due maintenance serviced within 60 days", "#2ca02c"),
    "win_back_rate": ("lost customers called and back within 90 days", "#9467bd"),
    "leakage_rate": ("serviced again only at another dealer (lower is better)", "#d62728"),
}
WORK_LISTS = {  # column -> (label, colour)
    "new_not_yet_stable": ("new, not yet stable", STAGE_COLOURS["new"]),
    "stable_starting_to_churn": ("stable, starting to churn", STAGE_COLOURS["churning"]),
    "follow_ups_open": ("post-delivery calls due or overdue", "#1f77b4"),
    "service_due_now": ("maintenance due within 30 days or overdue", "#2ca02c"),
    "win_back_list": ("lost customers to win back", "#9467bd"),
}


def _figure_html(figure: go.Figure, element_id: str) -> str:
    figure.update_layout(template="plotly_white", height=380, margin={"l": 60, "r": 20, "t": 50, "b": 60})
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=element_id, default_width="100%",
                          config={"responsive": True, "displaylogo": False})


def lifecycle_mix(scorecard: pl.DataFrame) -> go.Figure:
    dealers = scorecard["dealer_code"].to_list()
    figure = go.Figure([go.Bar(name=stage, x=dealers, y=(scorecard[stage] / scorecard["customers"]).to_list(),
                               marker_color=STAGE_COLOURS[stage]) for stage in STAGES])
    return figure.update_layout(barmode="stack", title="Lifecycle mix of home customers", yaxis_tickformat=".0%")


def retention(scorecard: pl.DataFrame) -> go.Figure:
    dealers = scorecard.filter(pl.col("dealer_code") != "ALL")
    network = scorecard.filter(pl.col("dealer_code") == "ALL")["retention_12m"].item()
    figure = go.Figure([
        go.Bar(name="back anywhere in the network", x=dealers["dealer_code"].to_list(),
               y=dealers["retention_12m"].to_list(), marker_color="#2ca02c"),
        go.Bar(name="back at the same dealer", x=dealers["dealer_code"].to_list(),
               y=dealers["service_revisit_rate"].to_list(), marker_color="#98df8a"),
    ])
    if network is not None:
        figure.add_hline(y=network, line_dash="dash", annotation_text=f"network {network:.0%}")
    return figure.update_layout(barmode="group", yaxis_tickformat=".0%",
                                title="13-month service retention against the network")


def clv_distribution(quantiles: pl.DataFrame) -> go.Figure:
    figure = go.Figure(go.Box(
        x=quantiles["dealer_code"].to_list(), q1=quantiles["q1"].to_list(), median=quantiles["median"].to_list(),
        q3=quantiles["q3"].to_list(), lowerfence=quantiles["p05"].to_list(), upperfence=quantiles["p95"].to_list(),
        name="12-month CLV", marker_color="#4c9be8"))
    return figure.update_layout(title="12-month CLV: quartiles, 5th-95th percentiles", yaxis_title="yuan")


def a_tier_share(scorecard: pl.DataFrame) -> go.Figure:
    dealers = scorecard.filter(pl.col("dealer_code") != "ALL")
    figure = go.Figure(go.Bar(x=dealers["dealer_code"].to_list(), y=dealers["a_tier_share"].to_list(),
                              marker_color="#9467bd"))
    return figure.update_layout(title="Share of home customers in the A tier", yaxis_tickformat=".0%")


def segment_mix(segments: pl.DataFrame) -> go.Figure:
    figure = go.Figure([go.Bar(name=name, x=part["dealer_code"].to_list(), y=part["share"].to_list())
                        for (name,), part in segments.sort("rfm_segment").group_by("rfm_segment",
                                                                                 maintain_order=True)])
    return figure.update_layout(barmode="stack", title="RFM segment mix", yaxis_tickformat=".0%")


def action_list_sizes(sizes: pl.DataFrame, scorecard: pl.DataFrame) -> go.Figure:
    """The two target groups of the value cycle and the three routines' lists, per dealer."""
    lists = scorecard.filter(pl.col("dealer_code") != "ALL").select(
        "dealer_code", *(c for c in WORK_LISTS if c in scorecard.columns and c not in sizes.columns)).join(
        sizes, on="dealer_code", how="left").sort("dealer_code")
    figure = go.Figure([go.Bar(name=label, x=lists["dealer_code"].to_list(), y=lists[column].fill_null(0).to_list(),
                               marker_color=colour) for column, (label, colour) in WORK_LISTS.items()
                        if column in lists.columns])
    return figure.update_layout(barmode="group", title="Customers to act on now",
                                legend={"orientation": "h", "y": -0.15})


def routines(scorecard: pl.DataFrame) -> go.Figure:
    """How well each dealer runs the four routines a dealer group measures, against the network."""
    dealers = scorecard.filter(pl.col("dealer_code") != "ALL")
    network = scorecard.filter(pl.col("dealer_code") == "ALL")
    figure = go.Figure([go.Bar(name=label, x=dealers["dealer_code"].to_list(), y=dealers[column].to_list(),
                               marker_color=colour) for column, (label, colour) in ROUTINES.items()])
    for column, (_, colour) in ROUTINES.items():
        value = network[column].item() if network.height else None
        if value is not None:
            figure.add_hline(y=value, line_dash="dot", line_color=colour, opacity=0.6)
    return figure.update_layout(barmode="group", yaxis_tickformat=".0%", legend={"orientation": "h", "y": -0.15},
                                title="The dealer's routines (dotted: the network)")


def _scorecard_table(scorecard: pl.DataFrame) -> str:
    columns = [c for c in SCORECARD_COLUMNS if c in scorecard.columns]
    head = "".join(f"<th>{html.escape(SCORECARD_COLUMNS[c])}</th>" for c in columns)

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.1%}" if abs(value) <= 1 else f"{value:,.0f}"
        return html.escape("" if value is None else str(value))

    body = "".join("<tr>" + "".join(f"<td>{cell(row[c])}</td>" for c in columns) + "</tr>"
                   for row in scorecard.select(columns).iter_rows(named=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def head_office_report(scorecard: pl.DataFrame, clv_quantiles: pl.DataFrame, segments: pl.DataFrame,
                       action_lists: pl.DataFrame, as_of: dt.date | None) -> str:
    """The report as one HTML document (as_of is None when the landing folder holds no records)."""
    as_of_text = as_of.isoformat() if as_of else "no records yet"
    charts = [
        ("lifecycle", lifecycle_mix(scorecard)),
        ("retention", retention(scorecard)),
        ("clv", clv_distribution(clv_quantiles)),
        ("a-tier", a_tier_share(scorecard)),
        ("segments", segment_mix(segments)),
        ("actions", action_list_sizes(action_lists, scorecard)),
        ("routines", routines(scorecard)),
    ]
    sections = "\n".join(f'<section class="chart">{_figure_html(figure, f"chart-{name}")}</section>'
                         for name, figure in charts)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>dealer-crm: dealers compared, as of {as_of_text}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
.charts {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1em; }}
@media (max-width: 1000px) {{ .charts {{ grid-template-columns: minmax(0, 1fr); }} }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>Dealers compared, as of {as_of_text}</h1>
<p><em>As of: the run's <code>--as-of</code> (or <code>CRM_AS_OF</code>), else the latest record date in
the data: the same rule for <code>crm run</code>, the landing sensor and the nightly schedule.</em></p>
<p>Customers count at their home dealer. Retention: of the customers serviced 13 to 24 months before
as-of, the share serviced again since. Follow-ups done: of the post-delivery calls (24 h, 3 d, 7 d,
30 d) whose window closed in the last 12 months, the share made in time (dealers with a contact log).
Service due converted: of the vehicles due for maintenance 3 to 6 months ago, the share serviced by
60 days after. Leakage: of the retention base, the share serviced again only at another dealer.
Won back: of the lost customers called to win them back, the share back within 90 days.
No customer names, mobiles or ID numbers appear here.</p>
{_scorecard_table(scorecard)}
<div class="charts">
{sections}
</div>
</body>
</html>
"""
