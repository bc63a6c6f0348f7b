"""Plotly figures of the risk page; every label comes in from the caller's language (plain text)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

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
