"""The head-office report: one self-contained HTML file that answers "who keeps customers and who
loses them" for 6 dealers or 600, with plotly charts whose JavaScript is embedded (no CDN, opens
offline).

It opens with the network's figures and the dealers that keep customers best and worst, then
ranks the dealers by a KPI chosen in the chart (each dealer's gap to the network, not a 0-100%
axis), shows the 12-month trend per region, and holds the whole scorecard with ranks and
percentiles, filterable by region. Above `MANY_DEALERS` the per-dealer charts show the best and the
worst dealers and the others by region.
"""

from __future__ import annotations

import datetime as dt
import html

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from models.lifecycle import STAGES

STAGE_COLOURS = {"new": "#4c9be8", "stable": "#2ca02c", "churning": "#ff9f1c", "lost": "#d62728"}
MANY_DEALERS = 30
"""Above this many dealers a chart with a bar per dealer is unreadable: the best and worst
`SHOWN_AT_EACH_END` dealers are shown, and the regions."""
SHOWN_AT_EACH_END = 12
KPIS = {  # column -> (label, higher is better)
    "retention_12m": ("13-month retention", True),
    "service_revisit_rate": ("serviced again here", True),
    "new_to_stable_rate": ("new customers now stable", True),
    "leakage_rate": ("leakage to other dealers", False),
    "follow_up_completion": ("post-delivery calls done", True),
    "service_due_conversion": ("due maintenance serviced", True),
    "win_back_rate": ("lost customers won back", True),
    "a_tier_share": ("A-tier share", True),
    "lost_share": ("share of customers lost", False),
}
TABLE_COLUMNS = {"dealer_code": "dealer", "dealer_name": "name", "region": "region", "province": "province",
                 "customers": "customers", "active_12m": "active 12m", **{k: v[0] for k, v in KPIS.items()},
                 "avg_clv_12m": "avg CLV 12m"}
# the R x F grid from the best cell to the worst, and a sequential palette in that order
RFM_ORDER = ["Champions", "Loyal", "Potential loyalist", "New", "Promising", "Need attention", "About to sleep",
             "Can't lose", "At risk", "Hibernating", "Lost"]
RFM_PALETTE = ["#005a32", "#238443", "#41ab5d", "#78c679", "#addd8e", "#d9f0a3", "#fee391", "#fec44f",
               "#fe9929", "#ec7014", "#cc4c02"]
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
    figure.update_layout(template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 60})
    if figure.layout.height is None:
        figure.update_layout(height=400)
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=element_id, default_width="100%",
                          config={"responsive": True, "displaylogo": False})


def _dealers(scorecard: pl.DataFrame) -> pl.DataFrame:
    return scorecard.filter(pl.col("dealer_code") != "ALL")


def _network(scorecard: pl.DataFrame, column: str) -> float | None:
    network = scorecard.filter(pl.col("dealer_code") == "ALL")
    return network[column].item() if network.height and column in network.columns else None


def _ends(ranked: pl.DataFrame) -> pl.DataFrame:
    """All dealers, or the best and the worst of many (`ranked` best first)."""
    if ranked.height <= 2 * SHOWN_AT_EACH_END:
        return ranked
    return pl.concat([ranked.head(SHOWN_AT_EACH_END), ranked.tail(SHOWN_AT_EACH_END)])


def ranking(scorecard: pl.DataFrame) -> go.Figure:
    """Each dealer's gap to the network on the KPI chosen in the menu, best at the top."""
    dealers = _dealers(scorecard)
    figure, buttons, layouts = go.Figure(), [], []
    kpis = [k for k in KPIS if k in dealers.columns and dealers[k].drop_nulls().len() and _network(scorecard, k)
            is not None]
    for index, column in enumerate(kpis):
        label, higher_better = KPIS[column]
        network = _network(scorecard, column)
        ranked = _ends(dealers.drop_nulls(column).sort(column, descending=higher_better))
        gap = (ranked[column] - network).round(5)
        better = gap >= 0 if higher_better else gap <= 0
        figure.add_trace(go.Bar(
            x=gap.to_list(), y=ranked["dealer_code"].to_list(), orientation="h", visible=index == 0,
            marker_color=["#2ca02c" if b else "#d62728" for b in better.to_list()],
            text=[f"{v:.1%}" for v in ranked[column].to_list()], textposition="outside", cliponaxis=False,
            customdata=ranked.select(pl.col("region").fill_null("")).to_series().to_list(),
            hovertemplate="%{y} (%{customdata}): %{text}, %{x:+.1%} against the network<extra></extra>",
            name=label))
        layouts.append({"title.text": f"{label}: gap to the network ({network:.1%})"
                                      + ("" if ranked.height == dealers.height else
                                         f", the best and worst {SHOWN_AT_EACH_END} of {dealers.height}"),
                        "yaxis.categoryarray": ranked["dealer_code"].to_list()[::-1]})
    for index, column in enumerate(kpis):
        buttons.append({"label": KPIS[column][0], "method": "update",
                        "args": [{"visible": [i == index for i in range(len(kpis))]}, layouts[index]]})
    rows = min(dealers.height, 2 * SHOWN_AT_EACH_END)
    figure.update_layout(height=max(360, 120 + 22 * rows), showlegend=False, xaxis_tickformat="+.1%",
                         xaxis_zeroline=True, xaxis_zerolinewidth=2, yaxis_type="category",
                         updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.12}] if buttons else [],
                         **({"title": layouts[0]["title.text"], "yaxis_categoryarray": layouts[0]["yaxis.categoryarray"]}
                            if layouts else {}))
    return figure


def trend(trends: pl.DataFrame, column: str, title: str, tick_format: str) -> go.Figure:
    """The network and each region over the 12 months to as-of."""
    figure = go.Figure()
    for (region,), part in trends.sort("region", "month").group_by("region", maintain_order=True):
        figure.add_trace(go.Scatter(x=part["month"].to_list(), y=part[column].to_list(), mode="lines+markers",
                                    name="network" if region == "ALL" else region,
                                    line={"width": 4 if region == "ALL" else 2,
                                          "color": "#222" if region == "ALL" else None}))
    return figure.update_layout(title=title, yaxis_tickformat=tick_format)


def _by_region(scorecard: pl.DataFrame, counts: list[str]) -> pl.DataFrame:
    """The dealers' counts summed per region, in the shape of the scorecard's rows."""
    return (_dealers(scorecard).with_columns(dealer_code=pl.col("region").fill_null("unknown"))
            .group_by("dealer_code").agg(pl.col(c).sum() for c in counts).sort("dealer_code"))


def lifecycle_mix(scorecard: pl.DataFrame) -> go.Figure:
    many = _dealers(scorecard).height > MANY_DEALERS
    rows = pl.concat([_by_region(scorecard, ["customers", *STAGES]),
                      scorecard.filter(pl.col("dealer_code") == "ALL").select("dealer_code", "customers", *STAGES)],
                     how="diagonal_relaxed") if many else scorecard
    groups = rows["dealer_code"].to_list()
    figure = go.Figure([go.Bar(name=stage, x=groups, y=(rows[stage] / rows["customers"]).round(4).to_list(),
                               text=[f"{v:.0%}" for v in (rows[stage] / rows["customers"]).to_list()],
                               textposition="inside", marker_color=STAGE_COLOURS[stage]) for stage in STAGES])
    return figure.update_layout(barmode="stack", yaxis_tickformat=".0%",
                                title="Lifecycle mix of home customers" + (" by region" if many else ""))


def clv_distribution(quantiles: pl.DataFrame, scorecard: pl.DataFrame) -> go.Figure:
    shown = quantiles
    if _dealers(scorecard).height > MANY_DEALERS:
        ranked = _ends(_dealers(scorecard).drop_nulls("avg_clv_12m").sort("avg_clv_12m", descending=True))
        shown = quantiles.filter(pl.col("dealer_code").is_in([*ranked["dealer_code"].to_list(), "ALL"]))
    figure = go.Figure(go.Box(
        x=shown["dealer_code"].to_list(), q1=shown["q1"].to_list(), median=shown["median"].to_list(),
        q3=shown["q3"].to_list(), lowerfence=shown["p05"].to_list(), upperfence=shown["p95"].to_list(),
        name="12-month CLV", marker_color="#4c9be8"))
    return figure.update_layout(title="12-month CLV: quartiles, 5th-95th percentiles", yaxis_title="yuan")


def segment_mix(segments: pl.DataFrame, scorecard: pl.DataFrame) -> go.Figure:
    """The RFM segments from the best cell of the grid to the worst, in a sequential palette."""
    if _dealers(scorecard).height > MANY_DEALERS:
        regions = _dealers(scorecard).select("dealer_code", region=pl.col("region").fill_null("unknown"))
        segments = (segments.join(regions, on="dealer_code").join(
            scorecard.select("dealer_code", "customers"), on="dealer_code")
            .with_columns(n=pl.col("share") * pl.col("customers"))
            .group_by("region", "rfm_segment").agg(pl.col("n").sum())
            .with_columns(share=(pl.col("n") / pl.col("n").sum().over("region")).round(4))
            .rename({"region": "dealer_code"}))
    figure = go.Figure()
    for segment, colour in zip(RFM_ORDER, RFM_PALETTE, strict=True):
        part = segments.filter(pl.col("rfm_segment") == segment).sort("dealer_code")
        figure.add_trace(go.Bar(name=segment, x=part["dealer_code"].to_list(), y=part["share"].to_list(),
                                marker_color=colour, text=[f"{v:.0%}" if v >= 0.04 else "" for v in part["share"]],
                                textposition="inside"))
    return figure.update_layout(barmode="stack", yaxis_tickformat=".0%", legend={"traceorder": "normal"},
                                title="RFM segment mix, best cell of the grid first")


def action_list_sizes(sizes: pl.DataFrame, scorecard: pl.DataFrame) -> go.Figure:
    """The two target groups of the value cycle and the three routines' lists, per dealer (per
    region for many dealers)."""
    columns = [c for c in WORK_LISTS if c in scorecard.columns and c not in sizes.columns]
    lists = _dealers(scorecard).select("dealer_code", "region", *columns).join(sizes, on="dealer_code", how="left")
    many = lists.height > MANY_DEALERS
    if many:
        lists = (lists.with_columns(dealer_code=pl.col("region").fill_null("unknown"))
                 .group_by("dealer_code").agg(pl.col(c).sum() for c in WORK_LISTS if c in lists.columns))
    lists = lists.sort("dealer_code")
    figure = go.Figure([go.Bar(name=label, x=lists["dealer_code"].to_list(), y=lists[column].fill_null(0).to_list(),
                               text=lists[column].fill_null(0).to_list(), textposition="outside",
                               marker_color=colour) for column, (label, colour) in WORK_LISTS.items()
                        if column in lists.columns])
    return figure.update_layout(barmode="group", legend={"orientation": "h", "y": -0.15},
                                title="Customers to act on now" + (" by region" if many else ""))


def routines(scorecard: pl.DataFrame) -> go.Figure:
    """How well each dealer runs the four routines a dealer group measures, against the network."""
    dealers = _ends(_dealers(scorecard).sort("follow_up_completion", "service_due_conversion",
                                             descending=True, nulls_last=True))
    figure = go.Figure([go.Bar(name=label, x=dealers["dealer_code"].to_list(), y=dealers[column].round(4).to_list(),
                               marker_color=colour) for column, (label, colour) in ROUTINES.items()])
    for column, (_, colour) in ROUTINES.items():
        value = _network(scorecard, column)
        if value is not None:
            figure.add_hline(y=round(value, 4), line_dash="dot", line_color=colour, opacity=0.6)
    return figure.update_layout(barmode="group", yaxis_tickformat=".0%", legend={"orientation": "h", "y": -0.15},
                                title="The dealer's routines (dotted: the network)")


def headline(scorecard: pl.DataFrame) -> str:
    """The network's figures and the dealers that keep customers best and worst, in words."""
    dealers = _dealers(scorecard).drop_nulls("retention_12m").sort("retention_12m", descending=True)
    network = _network(scorecard, "retention_12m")
    figures = [(label, _network(scorecard, column)) for column, (label, _) in KPIS.items()
               if column in ("retention_12m", "follow_up_completion", "service_due_conversion", "leakage_rate",
                             "win_back_rate")]
    cards = "".join(f'<div class="card"><b>{value:.1%}</b><span>{html.escape(label)}</span></div>'
                    for label, value in figures if value is not None)
    customers = _network(scorecard, "customers") or 0
    active = _network(scorecard, "active_12m") or 0
    cards = (f'<div class="card"><b>{customers:,}</b><span>customers</span></div>'
             f'<div class="card"><b>{active:,}</b><span>active in 12 months</span></div>' + cards)

    def named(rows: pl.DataFrame) -> str:
        return ", ".join(f"{html.escape(str(r['dealer_code']))} {html.escape(str(r['dealer_name'] or ''))} "
                         f"({r['retention_12m']:.1%})" for r in rows.iter_rows(named=True))

    best_worst = ""
    if dealers.height and network is not None:
        n = min(3, max(1, dealers.height // 3))
        best_worst = (f'<p class="verdict"><span class="good">Keep customers best:</span> {named(dealers.head(n))}. '
                      f'<span class="bad">Lose the most:</span> {named(dealers.tail(n).reverse())}. '
                      f"Network: {network:.1%}.</p>")
    return f'<div class="cards">{cards}</div>{best_worst}'


def _percentile_colour(percentile: float | None) -> str:
    """Red (worst) through white to green (best) for a network percentile."""
    if percentile is None:
        return ""
    red, green = (214, 39, 40), (44, 160, 44)
    end, t = (green, 2 * percentile - 1) if percentile >= 0.5 else (red, 1 - 2 * percentile)
    r, g, b = (round(255 + (c - 255) * t * 0.6) for c in end)
    return f' style="background:rgb({r},{g},{b})"'


def _scorecard_table(scorecard: pl.DataFrame) -> str:
    columns = [c for c in TABLE_COLUMNS if c in scorecard.columns]
    head = "".join(f"<th>{html.escape(TABLE_COLUMNS[c])}</th>" for c in columns)
    ordered = pl.concat([_dealers(scorecard).sort("retention_12m_rank", "dealer_code", nulls_last=True)
                         if "retention_12m_rank" in scorecard.columns else _dealers(scorecard),
                         scorecard.filter(pl.col("dealer_code") == "ALL")], how="diagonal_relaxed")

    def cell(row: dict, column: str) -> str:
        value = row[column]
        if column in KPIS and value is not None:
            rank = row.get(f"{column}_rank")
            percentile = row.get(f"{column}_percentile")
            ranked = f' <small>#{rank}</small>' if rank is not None else ""
            return f"<td{_percentile_colour(percentile)}>{value:.1%}{ranked}</td>"
        if isinstance(value, float):
            return f"<td>{value:,.0f}</td>"
        if isinstance(value, int):
            return f"<td>{value:,}</td>"
        return f"<td>{html.escape('' if value is None else str(value))}</td>"

    body = "".join(f'<tr data-region="{html.escape(str(row.get("region") or ""))}" '
                   f'data-province="{html.escape(str(row.get("province") or ""))}">'
                   + "".join(cell(row, c) for c in columns) + "</tr>" for row in ordered.iter_rows(named=True))

    def select(column: str, label: str) -> str:
        values = sorted({v for v in _dealers(scorecard)[column].to_list() if v} if column in scorecard.columns
                        else set())
        options = "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)
        return f'<label>{label} <select class="filter" data-column="{column}"><option value="">all</option>{options}</select></label> '

    return (select("region", "Region") + select("province", "Province")
            + f'<table id="scorecard"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


FILTER_SCRIPT = """
document.querySelectorAll('select.filter').forEach(function (select) {
  select.addEventListener('change', function () {
    var wanted = {};
    document.querySelectorAll('select.filter').forEach(function (s) { wanted[s.dataset.column] = s.value; });
    document.querySelectorAll('#scorecard tbody tr').forEach(function (row) {
      var shown = Object.keys(wanted).every(function (column) {
        var value = row.getAttribute('data-' + column);
        return !wanted[column] || value === wanted[column] || value === '';
      });
      row.style.display = shown ? '' : 'none';
    });
  });
});
"""


def head_office_report(scorecard: pl.DataFrame, clv_quantiles: pl.DataFrame, segments: pl.DataFrame,
                       action_lists: pl.DataFrame, trends: pl.DataFrame, as_of: dt.date | None) -> str:
    """The report as one HTML document (as_of is None when the landing folder holds no records)."""
    as_of_text = as_of.isoformat() if as_of else "no records yet"
    charts = [
        ("ranking", ranking(scorecard)),
        ("trend-active", trend(trends, "active_customers", "Active customers, 12 months to each month", ",d")),
        ("retention", trend(trends, "retention_12m", "12-month service retention by month", ".1%")),
        ("lifecycle", lifecycle_mix(scorecard)),
        ("routines", routines(scorecard)),
        ("actions", action_list_sizes(action_lists, scorecard)),
        ("segments", segment_mix(segments, scorecard)),
        ("clv", clv_distribution(clv_quantiles, scorecard)),
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
table {{ border-collapse: collapse; font-size: 0.85em; margin-top: 0.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
th:nth-child(-n+4), td:nth-child(-n+4) {{ text-align: left; }}
td small {{ color: #555; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }}
.card b {{ display: block; font-size: 1.6em; }}
.card span {{ color: #555; font-size: 0.85em; }}
.verdict {{ font-size: 1.1em; }}
.good {{ color: #2ca02c; font-weight: bold; }}
.bad {{ color: #d62728; font-weight: bold; }}
.charts {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1em; }}
.charts .chart:first-child {{ grid-column: 1 / -1; }}
@media (max-width: 1000px) {{ .charts {{ grid-template-columns: minmax(0, 1fr); }} }}
</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head>
<body>
<h1>Dealers compared, as of {as_of_text}</h1>
<p><em>As of: the run's <code>--as-of</code> (or <code>CRM_AS_OF</code>), else the latest record date in
the data: the same rule for <code>crm run</code>, the landing sensor and the nightly schedule.</em></p>
{headline(scorecard)}
<div class="charts">
{sections}
</div>
<h2>Scorecard</h2>
<p>Customers count at their home dealer. Retention: of the customers serviced 13 to 24 months before
as-of, the share serviced again since. Follow-ups done: of the post-delivery calls (24 h, 3 d, 7 d,
30 d) whose window closed in the last 12 months, the share made in time (dealers with a contact log).
Service due converted: of the vehicles due for maintenance 3 to 6 months ago, the share serviced by
60 days after. Leakage: of the retention base, the share serviced again only at another dealer.
Won back: of the lost customers called to win them back, the share back within 90 days. Each KPI
shows its rank (#1 = best) and is coloured by its network percentile (green best, red worst).
No customer names, mobiles or ID numbers appear here.</p>
{_scorecard_table(scorecard)}
<script type="text/javascript">{FILTER_SCRIPT}</script>
</body>
</html>
"""
