"""Plotly figures of the risk page; every label comes in from the caller's language (plain text)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics.figures.axes import LEGEND_BELOW, date_axis

MODEL_COLOUR = "#0072B2"  # Okabe–Ito blue; the diagonal is grey and dashed, so colour is never the only cue


def reliability(frame: pl.DataFrame, labels: dict[str, str]) -> go.Figure:
    """Observed slip rate against mean predicted probability per bin (rows in the bin on hover; the caller
    states them in words too), with the diagonal of perfect calibration. `labels`: title, x, y, ideal,
    model, rows."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name=labels["ideal"],
                    line=dict(color="#757575", dash="dash", width=1), hoverinfo="skip")
    n = frame["n"].to_list()
    fig.add_scatter(
        x=frame["mean_predicted"].to_list(), y=frame["observed_rate"].to_list(), mode="lines+markers",
        name=labels["model"], line=dict(color=MODEL_COLOUR, width=2),
        marker=dict(color=MODEL_COLOUR, size=9, symbol="circle"), customdata=n,
        hovertemplate=labels["x"] + " %{x:.1%}<br>" + labels["y"] + " %{y:.1%}<br>" + labels["rows"]
        + " %{customdata:,}<extra></extra>")
    top = max([0.05] + frame["mean_predicted"].to_list() + frame["observed_rate"].to_list())
    fig.update_layout(title=labels["title"], height=380, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_xaxes(title=labels["x"], tickformat=".0%", range=[0, min(1, top * 1.1)], gridcolor="#e5e8ec")
    fig.update_yaxes(title=labels["y"], tickformat=".0%", range=[0, min(1, top * 1.1)], gridcolor="#e5e8ec")
    return fig


PLAN_COLOUR = "#0072B2"      # Okabe–Ito blue, dashed: the plan
FORECAST_COLOUR = "#E69F00"  # Okabe–Ito orange, solid: the forecast; its band a pale fill of the same hue


def s_curve(frame: pl.DataFrame, labels: dict[str, str], lang: str = "zh") -> go.Figure:
    """The portfolio S-curve (`analytics.pages.risk.s_curve`): items finished by each date under the plan (dashed),
    expected (solid), and the band from the items 80 % sure to the items 50 % sure to be finished (filled), against
    the population (dotted). `labels`: title, y, planned, expected, sure50, sure80, total (with {n})."""
    x = [d.isoformat() for d in frame["date"]]
    n = int(frame["n"][0])
    fig = go.Figure()
    fig.add_scatter(x=x, y=frame["sure80"].to_list(), mode="lines", name=labels["sure80"],
                    line=dict(color=FORECAST_COLOUR, width=1, dash="dot"),
                    hovertemplate=labels["sure80"] + " %{y:,}<extra></extra>")
    fig.add_scatter(x=x, y=frame["sure50"].to_list(), mode="lines", name=labels["sure50"], fill="tonexty",
                    fillcolor="rgba(230,159,0,0.18)", line=dict(color=FORECAST_COLOUR, width=1, dash="dot"),
                    hovertemplate=labels["sure50"] + " %{y:,}<extra></extra>")
    fig.add_scatter(x=x, y=[round(v, 1) for v in frame["expected"]], mode="lines", name=labels["expected"],
                    line=dict(color=FORECAST_COLOUR, width=3),
                    hovertemplate=labels["expected"] + " %{y:,.0f}<extra></extra>")
    fig.add_scatter(x=x, y=frame["planned"].to_list(), mode="lines", name=labels["planned"],
                    line=dict(color=PLAN_COLOUR, width=2, dash="dash", shape="hv"),
                    hovertemplate=labels["planned"] + " %{y:,}<extra></extra>")
    fig.add_scatter(x=[x[0], x[-1]], y=[n, n], mode="lines", name=labels["total"].format(n=f"{n:,}"),
                    line=dict(color="#757575", width=1, dash="dot"), hoverinfo="skip")
    fig.update_layout(title=labels["title"], height=420, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="white",
                      hovermode="x unified", legend=LEGEND_BELOW)
    fig.update_xaxes(gridcolor="#e5e8ec", **date_axis(lang))  # dates in words
    fig.update_yaxes(title=labels["y"], rangemode="tozero", gridcolor="#e5e8ec", tickformat=",")
    return fig
