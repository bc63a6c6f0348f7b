"""Plotly figures of the deck's charts for the presenter page: large type, values written on the marks,
a high-contrast variant for projectors. The data are the `Chart`'s own series, nothing recomputed."""
from __future__ import annotations

import plotly.graph_objects as go

from analytics.figures import annotations as marks
from analytics.meeting.model import Chart

SERIES = ("#1F4E79", "#E08E0B")          # dark blue, amber: distinct in greyscale too
SERIES_CONTRAST = ("#FFD400", "#5CC8FF")  # yellow and light blue on black
TICK_FORMAT = {"share": ".1%", "count": ",.0f", "score": ".1f"}


def figure(c: Chart, high_contrast: bool = False, height: int = 430) -> go.Figure:
    ink, paper = ("#FFFFFF", "#000000") if high_contrast else ("#1A1A1A", "#FFFFFF")
    colours = SERIES_CONTRAST if high_contrast else SERIES
    fmt = TICK_FORMAT.get(c.unit, "")
    # a short period's note goes on a second line under its label ("第49周<br>（截至12月4日）"), and labels stay
    # level: rotated, eight weekly labels took half the chart's height in a slide's narrow column (issue 17)
    cats = [label.replace("（", "<br>（").replace(" (", "<br>(") for label in c.categories]
    # the same categories on every axis of the chart; event notes drawn by index (a band spans whole periods)
    fig = go.Figure()
    crowded = c.kind == "line" and len(cats) > 6  # eight weekly points in a slide's narrow column
    for i, (name, values) in enumerate(c.series):
        text = [None if v is None else format(v, fmt) for v in values]
        if crowded:  # written on the last point and the highest and lowest only: eight labels ran into each other
            known = [j for j, v in enumerate(values) if v is not None]
            keep = {known[-1], max(known, key=lambda j: values[j]), min(known, key=lambda j: values[j])} if known \
                else set()
            text = [t if j in keep else None for j, t in enumerate(text)]
        colour = colours[i % len(colours)]
        if c.kind == "line":
            fig.add_scatter(x=cats, y=list(values), name=name, mode="lines+markers+text", text=text,
                            textposition="top center", line=dict(color=colour, width=4), marker=dict(size=10),
                            cliponaxis=False, textfont=dict(size=15 if len(cats) > 6 else 18),
                            connectgaps=False, hovertemplate="%{x}: %{text}<extra></extra>")
        elif c.kind == "bar":
            fig.add_bar(y=list(c.categories), x=list(values), name=name, orientation="h", marker_color=colour,
                        text=text, textposition="outside", cliponaxis=False,
                        hovertemplate="%{y}: %{text}<extra>" + name + "</extra>")
        else:
            fig.add_bar(x=cats, y=list(values), name=name, marker_color=colour, text=text,
                        textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{text}<extra></extra>")
    fig.update_layout(title=dict(text=c.title, font=dict(size=24, color=ink)), height=height, barmode="group",
                      paper_bgcolor=paper, plot_bgcolor=paper, font=dict(size=18, color=ink),
                      margin=dict(l=10, r=40, t=60, b=10), showlegend=len(c.series) > 1,
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_xaxes(tickfont=dict(size=16 if len(cats) <= 6 or c.kind == "bar" else 13, color=ink),
                     **({} if c.kind == "bar" else {"tickangle": 0}))
    if crowded:  # every other period named, counting back from the last (the current one, with its note)
        fig.update_xaxes(tickmode="array", tickvals=cats,
                         ticktext=[label if (len(cats) - 1 - j) % 2 == 0 else "" for j, label in enumerate(cats)])
    fig.update_yaxes(tickfont=dict(size=16, color=ink))
    grid = "#444444" if high_contrast else "#E5E8EC"
    value_axis = dict(gridcolor=grid, rangemode="tozero", tickformat=fmt, zerolinecolor=grid)
    values = [v for _, vs in c.series for v in vs if v is not None]
    if values and max(values) > 0:  # headroom for the value labels above the marks
        value_axis["range"] = [0, max(values) * 1.25]
    if c.kind == "bar":
        fig.update_xaxes(**value_axis)
        fig.update_yaxes(autorange="reversed")  # the first category (the best, the most) on top
    else:
        fig.update_yaxes(**value_axis)
    if c.marks and c.kind != "bar":
        marks.add_markers(fig, [marks.Marker(m.label, m.first, m.first, m.line) if m.first == m.last else
                                marks.Marker(m.label, m.first - 0.45, m.last + 0.45, m.line) for m in c.marks],
                          top=False)  # the values are written above the points
    return fig
