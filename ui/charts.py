"""Every Plotly chart of the app, drawn with plotly.js's cartesian build (issue 17, point 14).

Streamlit's `st.plotly_chart` loads the whole of plotly.js, 4.8 MB with maps, 3-D and the rest, and on an office PC
without a GPU evaluating it took 0.7–0.85 s of every first visit to a page with a chart. The app draws bars, lines,
scatters and heatmaps only, which the cartesian build (the npm package plotly.js-cartesian-dist-min, 1.5 MB, MIT,
`ui/static/`, the same plotly.js version the plotly package writes for) draws alike. `show` hands the figure to a
small component (`_JS`) that loads that build once per page, from the app's own server (server.py serves
`ui/static/` at `STATIC_ROUTE`; nothing leaves the machine), and draws with `Plotly.react`, at the column's width,
following its resizes. A click on a point can be reported back (`select=True`): the domains heatmap's click
filters the page, as `st.plotly_chart`'s selection did.

Streamlit draws its figures with its own theme, which the plotly package knows only as placeholder colours; the
component draws `TEMPLATE` instead, Streamlit's light look (fonts, text and grid colours) with the app's colours
(analytics/figures/palette.py).

Without server.py's route (`streamlit run app.py`, AppTest) `SERVED` is False and `show` falls back to
`st.plotly_chart` with the same figure, so a chart is never missing; tests/test_charts.py runs both paths.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from analytics import i18n
from analytics.figures import palette

STATIC_DIR = Path(__file__).with_name("static")
STATIC_ROUTE = "/cockpit-static"  # server.py serves STATIC_DIR here
PLOTLY_JS = "plotly-cartesian-4.1.1.min.js"
SERVED = False  # server.py: the route is there, draw with the component
# the trace types the cartesian build draws; a figure with any other falls back to st.plotly_chart
CARTESIAN = frozenset({"scatter", "scattergl", "bar", "heatmap", "box", "histogram", "histogram2d",
                       "histogram2dcontour", "contour", "pie", "image"})
DEFAULT_HEIGHT = 450  # px, as st.plotly_chart draws a figure without its own height

# Streamlit's light theme as its renderer applies it to a figure (read from a drawn chart's _fullLayout)
_TEXT, _TITLE, _LEGEND, _MUTED, _GRID, _LINE = "#31333F", "#1b1f24", "#262730", "#808495", "#e6eaf1", "#d5dae5"
_FONT = '"Source Sans", sans-serif'
_AXIS = dict(gridcolor=_GRID, linecolor=_LINE, zerolinecolor=_LINE, tickcolor=_LINE, automargin=True,
             title=dict(font=dict(size=14, color=_MUTED)), tickfont=dict(size=12, color=_MUTED))
_X_AXIS = _AXIS | {"title": _AXIS["title"] | {"standoff": 20}, "showgrid": False}
_Y_AXIS = _AXIS | {"title": _AXIS["title"] | {"standoff": 24}}
TEMPLATE = go.layout.Template(layout=go.Layout(
    font=dict(family=_FONT, size=12, color=_MUTED),
    title=dict(font=dict(size=16, color=_TITLE, weight=600), x=0, xanchor="left"),
    margin=dict(pad=8),
    paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="white",
    colorway=list(palette.CATEGORICAL),
    xaxis=_X_AXIS, yaxis=_Y_AXIS,
    legend=dict(font=dict(size=12, color=_LEGEND), bgcolor="rgba(0,0,0,0)"),
    hoverlabel=dict(bgcolor="white", bordercolor=_LINE, font=dict(family=_FONT, size=13, color=_TEXT)),
    coloraxis=dict(colorbar=dict(outlinewidth=0, tickfont=dict(size=12, color=_MUTED))),
    # Plotly derives the toolbar's ground from the paper's colour, which is transparent here: a grey box otherwise
    modebar=dict(bgcolor="rgba(255,255,255,0.85)", color="#a3a8b8", activecolor=_TEXT),
))
# the toolbar keeps what a reader uses (save as PNG, zoom, pan, reset); box and lasso selection, zoom in/out
# buttons and autoscale crowded a phone's chart title
CONFIG = {"displaylogo": False,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]}

_JS = """
const SELECT = "select";
function plotly(src) {  // one load per page, shared by every chart on it
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__cockpitPlotly) {
    window.__cockpitPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src; s.async = true;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__cockpitPlotly = null; s.remove(); reject(new Error(src)); };
      document.head.appendChild(s);
    });
  }
  return window.__cockpitPlotly;
}
export default function (component) {
  const { parentElement, data, setTriggerValue } = component;
  const host = parentElement.querySelector(".cockpit-chart");
  if (!host) return;
  const spec = JSON.parse(data.spec);
  const layout = Object.assign({}, spec.layout || {});
  const height = layout.height || data.height;
  host.style.height = height + "px";
  host.setAttribute("role", "figure");  // named for screen readers; its data is in the table beside or below it
  if (data.label) host.setAttribute("aria-label", data.label); else host.removeAttribute("aria-label");
  if (host.__cockpitStop) host.__cockpitStop();
  let alive = true, observer = null, frame = 0;
  const stop = () => {
    alive = false;
    if (observer) observer.disconnect();
    cancelAnimationFrame(frame);
    if (host.removeAllListeners) host.removeAllListeners("plotly_click");
  };
  host.__cockpitStop = stop;
  plotly(data.src).then((Plotly) => {
    if (!alive) return;
    const config = Object.assign({responsive: false}, data.config);  // CONFIG and the caller's, from show()
    layout.height = height;
    layout.autosize = true;
    return Plotly.react(host, spec.data || [], layout, config).then(() => {
      if (!alive) return;
      host.dataset.drawn = "1";
      if (data.select) {
        host.on("plotly_click", (event) => setTriggerValue(SELECT, {points: (event.points || []).map((p) => ({
          customdata: p.customdata === undefined ? null : p.customdata, x: p.x, y: p.y,
          curve_number: p.curveNumber, point_number: p.pointNumber}))}));
      }
      let width = host.getBoundingClientRect().width;
      observer = new ResizeObserver(() => {
        const now = host.getBoundingClientRect().width;
        if (Math.abs(now - width) < 1) return;
        width = now;
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(() => { if (alive) Plotly.Plots.resize(host); });
      });
      observer.observe(host);
    });
  }).catch(() => { if (alive) { host.textContent = data.failed; host.classList.add("cockpit-chart-failed"); } });
  return stop;
}
"""
_CSS = """
.cockpit-chart { width: 100%; }
.cockpit-chart-failed { display: flex; align-items: center; justify-content: center; color: #31333F;
                         border: 1px dashed #d5dae5; border-radius: 0.5rem; }
"""

_draw = st.components.v2.component("cockpit_chart", html='<div class="cockpit-chart"></div>', js=_JS, css=_CSS,
                                   isolate_styles=False)


def drawable(fig: go.Figure) -> bool:
    """Whether the cartesian build draws every trace of `fig`."""
    return all((trace.type or "scatter") in CARTESIAN for trace in fig.data)


def spec(fig: go.Figure) -> str:
    """`fig` as the JSON the component draws: its data and layout, `TEMPLATE` in place of the plotly package's
    default (Streamlit's placeholder colours), unless the figure names a template of its own."""
    figure = fig.to_dict()
    layout = figure.setdefault("layout", {})
    if layout.get("template") in (None, pio.templates[pio.templates.default].to_plotly_json()):
        layout["template"] = TEMPLATE.to_plotly_json()
    return pio.to_json(figure, validate=False)


def label(fig: go.Figure) -> str:
    """What a screen reader announces for the chart: its title, else its value axis's title; markup removed."""
    text = fig.layout.title.text or fig.layout.yaxis.title.text or ""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", text)).strip()


def show(fig: go.Figure, *, key: str | None = None, config: dict | None = None,
         select: bool = False, lang: str = "zh") -> dict[str, Any] | None:
    """Draw `fig` across its column. With `select`, return what a click on a point reported, in the shape of
    st.plotly_chart's selection event ({"selection": {"points": [{"customdata", "x", "y", …}]}}), on the run the
    click asks for; None otherwise."""
    config = {**CONFIG, **(config or {})}
    if not SERVED or not drawable(fig):
        options: dict[str, Any] = {"on_select": "rerun", "selection_mode": "points"} if select else {}
        event = st.plotly_chart(fig, key=key, width="stretch", config=config, **options)
        return dict(event) if select and event else None
    failed = i18n.t("error.chart", lang)
    callbacks = {"on_select_change": lambda: None} if select else {}
    result = _draw(key=key, data={"spec": spec(fig), "config": config, "select": select, "label": label(fig),
                                  "height": DEFAULT_HEIGHT, "src": f"{STATIC_ROUTE}/{PLOTLY_JS}", "failed": failed},
                   width="stretch", height="content", **callbacks)
    if not select:
        return None
    clicked = result.get("select") or {}  # a trigger: the click's points on the run it asked for, else None
    return {"selection": {"points": list(clicked.get("points") or [])}}
