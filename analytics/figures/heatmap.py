"""The heatmaps of the domains page, built from the cell frames of `analytics.domains`.

Colour reads the same way for every metric, on the app's one quality scale (palette.QUALITY): dark red is
worse, pale blue better, so a lower-is-better metric runs the scale the other way; a metric with a seed
target is split at it (the warm half below the target's side, the cool half beyond it). Lightness rises from
bad to good, so the scale reads with every common colour vision deficiency and in greyscale. Colour is never alone: each cell prints its value, "*" marks a
value resting on fewer than min_n cases (such cells do not set the colour range, and are drawn washed out, at a
third of their colour's strength, so a cell of three items never reads as the grid's worst), and a cell without
data is white with "—".

Plotly does not report clicks on heatmap cells to Streamlit (heatmaps have no point selection), so
an invisible scatter layer with one point per cell centre carries the hover text and the cell's
keys (customdata = [row key, column key, hover text]); `domains.cell_filters` reads a click on it.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl

from analytics import i18n
from analytics.figures.palette import QUALITY_BETTER, QUALITY_WORSE, plotly_scale
from analytics.metrics import Metric

NO_DATA = "—"
SMALL_MARK = "*"


@dataclass(frozen=True)
class Axis:
    """The keys along one axis of a heatmap, in order, and the labels shown for them."""

    keys: tuple[str, ...]
    labels: tuple[str, ...]

    def __post_init__(self):
        if len(self.keys) != len(self.labels):
            raise ValueError("an axis needs one label per key")

    @staticmethod
    def of(keys, label) -> Axis:
        """Labels from `label(key)`, made unique (plotly merges equal category names)."""
        keys = tuple(keys)
        labels, seen = [], set()
        for k in keys:
            text = label(k)
            if text in seen:
                text = f"{text} ({k})"
            seen.add(text)
            labels.append(text)
        return Axis(keys, tuple(labels))


def matrix(frame: pl.DataFrame, rows: Axis, cols: Axis, column: str = "value") -> list[list]:
    """`frame` (row, col, value, n) as a rows × cols list of lists; None where no cell exists."""
    lookup = {(r, c): v for r, c, v in frame.select("row", "col", column).iter_rows()}
    return [[lookup.get((r, c)) for c in cols.keys] for r in rows.keys]


def _short(metric: Metric, value: float, lang: str) -> str:
    """Compact text inside a cell: the unit goes in the colour bar title and the hover."""
    if metric.unit == "share":
        return f"{100 * value:.0f}%"
    if metric.unit == "count":
        return f"{int(round(value)):,}"
    if metric.unit == "rating":
        return f"{value:.2f}"
    return f"{value:.1f}"


NARROW_TEXT_COLS = 8  # on a narrow screen, cells print their value only up to this many columns
MIN_TEXT_CELL_PX = 26  # a cell narrower than this cannot hold "11%*" without running into its neighbours
LABELS_PX = 230  # of a chart's width, what the row labels, the colour bar and the margins take


def shows_values(n_cols: int, narrow: bool = False, width: int | None = None) -> bool:
    """Whether the cells print their values: not on a phone's grid of more than NARROW_TEXT_COLS columns, nor
    when the chart, `width` px wide, leaves each column fewer than MIN_TEXT_CELL_PX (31 provinces at 1280 px).
    The hover and the table under the chart give the values then."""
    if narrow:
        return n_cols <= NARROW_TEXT_COLS
    return width is None or (width - LABELS_PX) / max(1, n_cols) >= MIN_TEXT_CELL_PX


def heatmap(frame: pl.DataFrame, rows: Axis, cols: Axis, metric: Metric, lang: str, min_n: int, *,
            title: str, row_title: str, col_title: str, narrow: bool = False, width: int | None = None) -> go.Figure:
    """Cells of `frame` (row, col, value, n) on a rows × cols grid, coloured by `metric`'s value. `narrow` (a
    phone's column): smaller type, column labels upright, the colour bar across the top, and values in the cells
    only when there are few columns (the hover and the table below carry them)."""
    z = matrix(frame, rows, cols)
    n = matrix(frame, rows, cols, "n")
    # names come from data and plotly reads a little HTML in labels (links even): shown as plain text
    row_labels = [html.escape(label, quote=False) for label in rows.labels]
    col_labels = [html.escape(label, quote=False) for label in cols.labels]
    t = lambda key, **kw: i18n.t(f"domains.{key}", lang, **kw)  # noqa: E731
    name = metric.zh if lang == "zh" else metric.en
    small_cell = [[v is not None and (c or 0) < min_n for v, c in zip(zr, nr)] for zr, nr in zip(z, n)]
    text = [["" if v is None else _short(metric, v, lang) + (SMALL_MARK if s else "")
             for v, s in zip(zr, sr)] for zr, sr in zip(z, small_cell)]
    # small-n cells keep their colour but do not set the scale (a cell of 3 items took the darkest colour and
    # stretched the range for every other cell, issue 17): the range comes from the cells with enough cases,
    # unless every cell is small
    sized = [[None if s else v for v, s in zip(zr, sr)] for zr, sr in zip(z, small_cell)]
    any_sized = any(v is not None for r in sized for v in r)
    colour = _colours(sized if any_sized else z, metric)
    font = dict(size=11 if len(cols.keys) <= 20 and not narrow else 9)
    if not shows_values(len(cols.keys), narrow, width):
        text = [["" for _ in r] for r in text]
    fig = go.Figure()
    fig.add_heatmap(
        z=z, x=col_labels, y=row_labels, text=text, texttemplate="%{text}", textfont=font,
        hoverinfo="skip", xgap=1, ygap=1, **colour,
        colorbar=dict(title=dict(text=_colour_title(metric, lang, " · " if narrow else "<br>"),
                                 side="top" if narrow else "right"),
                      thickness=10 if narrow else 14, tickformat=".0%" if metric.unit == "share" else None,
                      **(dict(orientation="h", x=0, xanchor="left", y=1.01, yanchor="bottom", len=1.0, ypad=0,
                              title_font_size=10) if narrow else {})))
    hover, keys_r, keys_c, xs, ys, blank = [], [], [], [], [], []
    for i, (rk, rl) in enumerate(zip(rows.keys, row_labels)):
        for j, (ck, cl) in enumerate(zip(cols.keys, col_labels)):
            v, c = z[i][j], n[i][j]
            if v is None:
                line = t("hover_no_data")
            else:
                line = f"{name}: {i18n.fmt_metric(metric.unit, v, lang)} · n = {i18n.fmt_int(c, lang)}"
                if small_cell[i][j]:
                    line += "<br>" + t("hover_small", min_n=min_n)
            hover.append(f"{rl} · {cl}<br>{line}<br>{t('hover_click')}")
            keys_r.append(rk)
            keys_c.append(ck)
            xs.append(cl)
            ys.append(rl)
            blank.append(NO_DATA if v is None else "")
    fig.add_scatter(x=xs, y=ys, mode="markers+text", text=blank, textfont=dict(color="#555555", size=11),
                    marker=dict(size=18, color="rgba(0,0,0,0)", symbol="square"), showlegend=False,
                    customdata=[[r, c, h] for r, c, h in zip(keys_r, keys_c, hover)],
                    hovertemplate="%{customdata[2]}<extra></extra>", name="")
    if any_sized and any(any(r) for r in small_cell):
        # over the small-n cells (after the click layer, which stays trace 1) the same scale washed out to a third
        # of its strength: a cell of 3 items never reads as the grid's darkest, worst cell; its "*" and the hover
        # say why, its text stays at full strength
        small = [[v if s else None for v, s in zip(zr, sr)] for zr, sr in zip(z, small_cell)]
        washed = colour | dict(colorscale=[(p, wash(c)) for p, c in colour["colorscale"]])
        fig.add_heatmap(z=small, x=col_labels, y=row_labels, text=text, texttemplate="%{text}", textfont=font,
                        hoverinfo="skip", xgap=1, ygap=1, showscale=False, name="small", **washed)
    upright = len(cols.keys) > (4 if narrow else 12)
    height = max(280, 130 + (24 if narrow else 30) * len(rows.keys)
                 + max(len(c) for c in cols.labels) * ((8 if narrow else 9) if upright else 0))
    fig.update_layout(title=None if narrow else title, height=height + (40 if narrow else 0),
                      margin=dict(l=4, r=4, t=52, b=10) if narrow else dict(l=10, r=10, t=50, b=10),
                      plot_bgcolor="white", hovermode="closest", hoverdistance=-1, dragmode=False,
                      clickmode="event+select")
    if narrow:
        fig.update_yaxes(tickfont_size=10)
        fig.update_xaxes(tickfont_size=10)
    fig.update_xaxes(type="category", title=None if narrow else col_title,
                     tickangle=(-90 if narrow else -45) if upright else 0,
                     fixedrange=True, showgrid=False, categoryorder="array", categoryarray=col_labels)
    # the grid's own extent, first row on top: autorange padded it for the click layer's markers and text, which
    # left a white band between the colour bar and the first row (and under the last)
    fig.update_yaxes(type="category", title=None if narrow else row_title, range=[len(rows.keys) - 0.5, -0.5],
                     autorange=False, fixedrange=True, showgrid=False, categoryorder="array", categoryarray=row_labels)
    fig.update_xaxes(range=[-0.5, len(cols.keys) - 0.5], autorange=False)
    return fig


def wash(colour: str, strength: float = 1 / 3) -> str:
    """`colour` ("#rrggbb") mixed with white, keeping `strength` of it."""
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - v) * strength):02x}" for v in rgb)


def _colours(z: list[list], metric: Metric) -> dict:
    """Colour scale and domain. Without a target: the quality scale over the values' span (a single value gets a
    span around it, so it is not drawn as the scale's middle by accident), bad → good from the worse end.
    With a target: the warm (worse) half on the failing side of it and the cool (better) half on the other, the
    target where they meet, over the span of the values and the target (so a share never runs past 100%)."""
    values = [v for r in z for v in r if v is not None]
    better_high = metric.direction == "higher_is_better"
    if metric.target is None or not values:
        out = dict(colorscale=plotly_scale(better_high))
        if not values:
            return out
        lo, hi = min(values), max(values)
        if lo == hi:
            if metric.unit == "share":
                lo, hi = min(lo, 0.0), (max(hi, 1.0) if lo > 0 else 0.25)
            else:
                lo, hi = lo - max(abs(lo), 1), hi + max(abs(hi), 1)
        return out | dict(zmin=lo, zmax=hi)
    lo, hi = min(values + [metric.target]), max(values + [metric.target])
    if lo == hi:
        lo, hi = lo - max(abs(lo) * 0.1, 0.01), hi + max(abs(hi) * 0.1, 0.01)
    at = (metric.target - lo) / (hi - lo)
    worse, better = QUALITY_WORSE, QUALITY_BETTER
    low_side, high_side = (worse, better) if better_high else (better[::-1], worse[::-1])
    if at <= 0 or at >= 1:  # every value on one side of the target: that half spans the scale
        side = high_side if at <= 0 else low_side
        stops = [(i / (len(side) - 1), c) for i, c in enumerate(side)]
    else:  # strictly rising stops: the low half on [0, at), the high half on [at, 1]
        stops = ([(at * i / len(low_side), c) for i, c in enumerate(low_side)]
                 + [(at + (1 - at) * i / (len(high_side) - 1), c) for i, c in enumerate(high_side)])
    return dict(colorscale=stops, zmin=lo, zmax=hi)


def _colour_title(metric: Metric, lang: str, sep: str = "<br>") -> str:
    better_high = metric.direction == "higher_is_better"
    lines = [i18n.t(f"domains.unit_{metric.unit}", lang),
             i18n.t("domains.better_high" if better_high else "domains.better_low", lang)]
    if metric.target is not None:
        lines.append(i18n.t("domains.target", lang, op="≥" if better_high else "≤",
                            target=i18n.fmt_metric(metric.unit, metric.target, lang)))
    return sep.join(lines)
