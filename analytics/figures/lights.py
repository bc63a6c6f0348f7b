"""Plotly figures built from the frames of `analytics`; every label comes in from the caller's language.

Lights use the field's red/yellow/green, in the Okabe–Ito palette (distinguishable with the
common colour-vision deficiencies), and always with a word beside the colour.
"""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics.figures.palette import LIGHT_COLOURS, LIGHT_SYMBOLS



def lights_over_time(weekly: pl.DataFrame, labels: dict[str, str], title: str, y_title: str) -> go.Figure:
    """Stacked weekly counts of items by light; `labels` maps red/yellow/green/none to legend text."""
    fig = go.Figure()
    for light in ("red", "yellow", "green", "none"):
        fig.add_bar(x=weekly["week_end"].to_list(), y=weekly[light].to_list(),
                    name=f"{LIGHT_SYMBOLS[light]} {labels[light]}", marker_color=LIGHT_COLOURS[light],
                    hovertemplate="%{x|%Y-%m-%d}: %{y:,}<extra>" + labels[light] + "</extra>")
    fig.update_layout(barmode="stack", title=title, yaxis_title=y_title, height=360, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
                      plot_bgcolor="white", bargap=0.15)
    fig.update_yaxes(gridcolor="#e5e8ec", rangemode="tozero")
    fig.update_xaxes(tickformat="%Y-%m-%d")  # numbers in either language (plotly's month names are English only)
    return fig
