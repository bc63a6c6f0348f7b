"""Plotly figures built from the frames of `analytics`; every label comes in from the caller's language.

Lights use the field's red/yellow/green, in the Okabe–Ito palette (distinguishable with the
common colour-vision deficiencies), and always with a word and a pattern beside the colour (red crossed, yellow
hatched, green plain, no data dotted), so status never rests on colour alone.
"""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from analytics.figures.axes import LEGEND_BELOW, date_axis, hover_day
from analytics.figures.palette import LIGHT_COLOURS, LIGHT_SYMBOLS

PATTERNS = {"red": "x", "yellow": "/", "green": "", "none": "."}  # red crossed, yellow hatched, green plain



def lights_over_time(weekly: pl.DataFrame, labels: dict[str, str], title: str, y_title: str,
                     lang: str = "zh") -> go.Figure:
    """Stacked weekly counts of items by light; `labels` maps red/yellow/green/none to legend text."""
    fig = go.Figure()
    for light in ("red", "yellow", "green", "none"):
        fig.add_bar(x=weekly["week_end"].to_list(), y=weekly[light].to_list(),
                    name=f"{LIGHT_SYMBOLS[light]} {labels[light]}", marker_color=LIGHT_COLOURS[light],
                    # a pattern per light as well as a colour: in greyscale or to a colour-blind reader, red and
                    # green segments are otherwise the same grey (issue 17); "overlay": the pattern is drawn over
                    # the light's colour (Plotly's default, "replace", drew it on a transparent ground: red and
                    # yellow segments showed no colour at all)
                    marker_pattern=dict(shape=PATTERNS[light], fgcolor="rgba(0,0,0,0.45)", size=7, solidity=0.25,
                                        fillmode="overlay"),
                    hovertemplate=hover_day(lang) + ": %{y:,}<extra>" + labels[light] + "</extra>")
    # the legend under the weeks (beside the title it wrapped onto the title on a phone)
    fig.update_layout(barmode="stack", title=title, yaxis_title=y_title, height=380, margin=dict(l=10, r=10, t=50, b=10),
                      legend=LEGEND_BELOW,
                      plot_bgcolor="white", bargap=0.15)
    fig.update_yaxes(gridcolor="#e5e8ec", rangemode="tozero")
    fig.update_xaxes(**date_axis(lang))  # "7月5日" / "5 Jul", never "2026-07-05"
    return fig
