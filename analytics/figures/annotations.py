"""Event notes (analytics/annotations.py) drawn on a Plotly time chart: a dashed vertical line for a day, a light
band for a range, and the note's number (①) at the top with the whole note in its hover.

Plotly reads some HTML in hover and annotation text (<b>, <br>, entities), so a note's text is escaped (`<`, `>`,
`&`) and shows exactly as typed; nothing reads Markdown. The numbers are listed with the full text under every
chart that has markers (nothing essential may need hover).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from analytics import annotations as A

INK = "#4B3C7A"                    # a muted violet: no light's colour, not the seasons' shading
BAND = "rgba(75, 60, 122, 0.10)"
HOVER_WIDTH = 36                   # characters on one line of the hover


@dataclass(frozen=True)
class Marker:
    label: str   # "①"
    x0: object   # a date, or a category of a categorical axis
    x1: object   # = x0 for one point
    line: str    # the note as one plain line (analytics.annotations.lines)


def escape(text: str) -> str:
    """Text shown literally by Plotly: `<`, `>` and `&` as entities."""
    return html.escape(text, quote=False)


def _hover(line: str) -> str:
    chunks = [line[i:i + HOVER_WIDTH] for i in range(0, len(line), HOVER_WIDTH)]
    return "<br>".join(escape(c) for c in chunks)


def date_markers(notes: pl.DataFrame, lang: str, lo: date, hi: date) -> list[Marker]:
    """Markers of a chart's notes (`annotations.for_chart`) on a date axis, each clipped to [lo, hi] (a note that
    starts before the first point must not stretch the axis); a range's band covers its last day too."""
    out = []
    for r, line in zip(notes.iter_rows(named=True), A.lines(notes, lang)):
        x0 = max(r["start_date"], lo)
        x1 = x0 if r["start_date"] == r["end_date"] else min(r["end_date"] + timedelta(days=1), hi)
        out.append(Marker(A.number_label(r["number"]), x0, max(x0, x1), line))
    return out


def add_markers(fig: go.Figure, markers: list[Marker], top: bool = True) -> go.Figure:
    """Draw `markers` on `fig` (in place, and returned); markers at the same place share one label, at the top of
    the plot or (`top` False: a chart whose values are written above its points) at the bottom."""
    at: dict[object, list[Marker]] = {}
    for m in markers:
        if m.x0 == m.x1:
            fig.add_shape(type="line", x0=m.x0, x1=m.x0, y0=0, y1=1, yref="paper", layer="above",
                          line=dict(color=INK, width=1.5, dash="dash"))
        else:
            fig.add_shape(type="rect", x0=m.x0, x1=m.x1, y0=0, y1=1, yref="paper", layer="below", fillcolor=BAND,
                          line=dict(color=INK, width=1, dash="dot"))
        at.setdefault(m.x0, []).append(m)
    for x, group in at.items():
        fig.add_annotation(x=x, y=1 if top else 0, yref="paper", yanchor="top" if top else "bottom",
                           yshift=-16 if top else 4, showarrow=False,
                           text="".join(m.label for m in group), font=dict(size=15, color=INK),
                           bgcolor="rgba(255, 255, 255, 0.85)",
                           hovertext="<br>".join(_hover(m.line) for m in group),
                           hoverlabel=dict(bgcolor="white", font=dict(color="#1A1A1A")))
    return fig
