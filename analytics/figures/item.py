"""Figures of one item's detail page (plotly), built from `analytics.item.ItemDetail` frames.

Colours are Okabe–Ito (safe for colour-blind readers) and every series also differs by line style or
marker, so the charts read in greyscale. Texts arrive already translated; values from data are only
ever plotted or shown as plain hover text.
"""
from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl

from analytics.figures.axes import LEGEND_BELOW, date_axis
from analytics.figures.palette import BLUE, GREEN, GREY, ORANGE, VERMILLION

LAYOUT = dict(margin=dict(l=10, r=10, t=20, b=10), height=360, hovermode="x unified",
              legend=LEGEND_BELOW)


def _layout(lang: str, **extra) -> dict:
    """The item charts' layout, dates in the reader's words ("2026年7月" / "Jul 2026", `axes.date_axis`). The
    charts carry no title of their own (`labels["title"]` is ignored): the page writes it above the chart, where
    it wraps on a phone instead of being cut (issue 17)."""
    return LAYOUT | {"xaxis": date_axis(lang)} | extra


def progress(reports: pl.DataFrame, labels: dict[str, str], planned_end: date | None,
             forecast: dict | None = None, lang: str = "zh") -> go.Figure:
    """Planned and actual progress, and spending as a share of budget, over report dates (all in %). With
    `forecast` (the item's saved P50 / P80 dates, `scores.item_forecast`), a fan from the last actual progress to
    100 % between the P50 and P80 dates, each date marked and labelled (`labels` p50 / p80, already naming the
    date, and fan)."""
    fig = go.Figure()
    if forecast is not None:
        _fan(fig, reports, forecast, labels)
    series = (("planned_progress_pct", labels["planned"], BLUE, "dash", "circle-open"),
              ("actual_progress_pct", labels["actual"], ORANGE, "solid", "circle"),
              ("spent_share_pct", labels["spent"], GREEN, "dot", "diamond"))
    for col, name, colour, dash, symbol in series:
        rows = reports.filter(pl.col(col).is_not_null())
        if rows.height:
            fig.add_trace(go.Scatter(x=rows["report_date"].to_list(), y=rows[col].round(1).to_list(), name=name,
                                     mode="lines+markers", line=dict(color=colour, dash=dash, width=2),
                                     marker=dict(symbol=symbol, size=5), hovertemplate="%{y:.1f}%"))
    if planned_end is not None:
        fig.add_vline(x=planned_end, line=dict(color=VERMILLION, dash="dot"))
        # at the foot of the line: at its head it sat on the forecast markers at 100 %
        fig.add_annotation(x=planned_end, y=0, yref="paper", yanchor="bottom", text=labels["planned_end"],
                           showarrow=False, xanchor="right", font=dict(color=VERMILLION),
                           bgcolor="rgba(255,255,255,0.85)")
    fig.update_layout(yaxis=dict(title=labels["y"], range=[0, 105], ticksuffix="%"), **_layout(lang))
    return fig


def _fan(fig: go.Figure, reports: pl.DataFrame, fc: dict, labels: dict[str, str]) -> None:
    actual = reports.filter(pl.col("actual_progress_pct").is_not_null())
    start = (actual["report_date"][-1], float(actual["actual_progress_pct"][-1])) if actual.height else (fc["as_of"], 0.0)
    p50, p80 = fc["p50_date"], fc["p80_date"]
    fig.add_trace(go.Scatter(x=[start[0], p50, p80, start[0]], y=[start[1], 100, 100, start[1]], fill="toself",
                             mode="lines", line=dict(width=0), fillcolor="rgba(230,159,0,0.18)", name=labels["fan"],
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[start[0], p50], y=[start[1], 100], mode="lines", line=dict(color=ORANGE, dash="dash", width=1.5),
                             showlegend=False, hoverinfo="skip"))
    for when, beyond, text, symbol in ((p50, fc["p50_beyond"], labels["p50"], "diamond-open"),
                                       (p80, fc["p80_beyond"], labels["p80"], "diamond")):
        # named in the legend, not written on the chart: at 100 % a label would sit on the planned-end note
        fig.add_trace(go.Scatter(x=[when], y=[100], mode="markers", name=text,
                                 marker=dict(symbol="triangle-right" if beyond else symbol, size=11, color=ORANGE,
                                             line=dict(color="#444", width=1)),
                                 hovertemplate=text + "<extra></extra>"))


def forecast(reports: pl.DataFrame, labels: dict[str, str], planned_end: date, lang: str = "zh") -> go.Figure:
    """The forecast end date as reported over time, against the planned end date."""
    rows = reports.filter(pl.col("forecast_end_date").is_not_null())
    fig = go.Figure(go.Scatter(x=rows["report_date"].to_list(), y=rows["forecast_end_date"].to_list(),
                               name=labels["forecast"], mode="lines+markers", line=dict(color=ORANGE, shape="hv"),
                               marker=dict(size=4)))
    if rows.height:  # the planned end as a dashed line across the reports (add_hline cannot annotate dates)
        span = [rows["report_date"][0], rows["report_date"][-1]]
        fig.add_trace(go.Scatter(x=span, y=[planned_end, planned_end], name=labels["planned_end"], mode="lines",
                                 line=dict(color=BLUE, dash="dash"), hoverinfo="skip"))
    # dates on the value axis too, in words
    fig.update_layout(**_layout(lang, yaxis=dict(title=labels["y"], **date_axis(lang))))
    return fig


def milestones(ms: pl.DataFrame, labels: dict[str, str], as_of: date, lang: str = "zh") -> go.Figure:
    """Each milestone on its own row: planned date (open circle) joined to the actual one (filled)."""
    fig = go.Figure()
    names = [f"{i + 1}. {n}" for i, n in enumerate(ms["name"].to_list())]
    planned, actual = ms["planned_date"].to_list(), ms["actual_date"].to_list()
    for y, p, a in zip(names, planned, actual):
        if a is not None:
            fig.add_trace(go.Scatter(x=[p, a], y=[y, y], mode="lines", line=dict(color=GREY, width=2),
                                     showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=planned, y=names, mode="markers", name=labels["planned"],
                             marker=dict(symbol="circle-open", size=11, color=BLUE, line=dict(width=2))))
    done = [(a, y) for a, y in zip(actual, names) if a is not None]
    if done:
        fig.add_trace(go.Scatter(x=[a for a, _ in done], y=[y for _, y in done], mode="markers", name=labels["actual"],
                                 marker=dict(symbol="diamond", size=11, color=ORANGE)))
    fig.add_vline(x=as_of, line=dict(color=GREY, dash="dot"))
    fig.update_layout(yaxis=dict(autorange="reversed"),
                      **_layout(lang, height=max(220, 60 + 36 * len(names)), hovermode="closest"))
    return fig


def risk_history(history: pl.DataFrame, labels: dict[str, str], bands: tuple[tuple[str, float], ...],
                 lang: str = "zh") -> go.Figure:
    """The slip probability at each past snapshot, with the band thresholds."""
    fig = go.Figure(go.Scatter(x=history["snapshot_date"].to_list(), y=(history["probability"] * 100).round(1).to_list(),
                               name=labels["probability"], mode="lines+markers", line=dict(color=VERMILLION, width=2),
                               hovertemplate="%{y:.1f}%"))
    for name, threshold in bands:
        fig.add_hline(y=threshold * 100, line=dict(color=GREY, dash="dot"), annotation_text=labels[name],
                      annotation_position="top left")
    fig.update_layout(yaxis=dict(title=labels["y"], range=[0, 100], ticksuffix="%"), **_layout(lang))
    return fig
