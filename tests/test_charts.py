"""ui/charts.py: every chart goes to the browser as the figure the page built, drawn with plotly.js's cartesian
build where server.py serves it, and with st.plotly_chart where it does not; a click comes back as a selection."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from analytics.pages import domains
from ui import charts

SCRIPT = """
import plotly.graph_objects as go
from ui import charts
fig = go.Figure(go.Bar(x=["a", "b"], y=[3, 5], marker_color="#0072B2"))
fig.update_layout(height=280, title="Counts")
charts.show(fig, key="k", lang="en")
"""


def _run(served: bool) -> AppTest:
    old = charts.SERVED
    charts.SERVED = served
    try:
        at = AppTest.from_string(SCRIPT, default_timeout=30).run()
    finally:
        charts.SERVED = old
    assert not at.exception
    return at


def test_the_component_gets_the_figure_as_built_with_the_apps_template_and_the_served_build():
    at = _run(served=True)
    assert at.get("plotly_chart") == []
    [element] = at.get("bidi_component")
    data = json.loads(element.proto.json)
    assert data["src"] == "/cockpit-static/plotly-cartesian-4.1.1.min.js"
    assert (charts.STATIC_DIR / charts.PLOTLY_JS).is_file()
    spec = json.loads(data["spec"])
    assert spec["data"][0]["type"] == "bar" and spec["data"][0]["y"] == [3, 5]
    assert spec["layout"]["height"] == 280 and spec["layout"]["title"]["text"] == "Counts"
    template = spec["layout"]["template"]["layout"]
    # Streamlit's template names its colours by placeholders (#000001 …) that only its own renderer replaces
    assert "#000001" not in json.dumps(spec)
    assert template["colorway"][0] == "#0072B2" and template["plot_bgcolor"] == "white"
    assert data["config"] == charts.CONFIG and data["select"] is False
    assert "lasso2d" in data["config"]["modeBarButtonsToRemove"]
    assert data["failed"] == "The chart could not be loaded. Reload the page."
    assert data["label"] == "Counts"  # the chart's name for a screen reader
    assert charts.label(go.Figure(layout=dict(yaxis_title="Share<br>(%)"))) == "Share (%)"


def test_without_the_route_the_same_figure_goes_through_st_plotly_chart():
    at = _run(served=False)
    assert at.get("bidi_component") == []
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["data"][0]["y"] == [3, 5] and spec["layout"]["height"] == 280


def test_a_figure_the_cartesian_build_cannot_draw_falls_back():
    assert charts.drawable(go.Figure([go.Bar(y=[1]), go.Scatter(y=[2]), go.Heatmap(z=[[1]])]))
    assert charts.drawable(go.Figure())
    assert not charts.drawable(go.Figure(go.Scattergeo(lat=[30], lon=[117])))
    assert not charts.drawable(go.Figure(go.Sankey()))


def test_a_figure_with_its_own_template_keeps_it():
    fig = go.Figure(go.Bar(y=[1]), layout=dict(template=pio.templates["simple_white"]))
    spec = json.loads(charts.spec(fig))
    assert spec["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    assert spec["layout"]["template"]["layout"].get("colorway") != list(charts.TEMPLATE.layout.colorway)


@pytest.mark.parametrize("clicked, expected", [
    ({"points": [{"customdata": ["营商环境", "340000"], "x": "Anhui", "y": "Business environment",
                  "curve_number": 1, "point_number": [0, 3]}]},
     {"domains": ("营商环境",), "region_code": "340000"}),
    (None, None),
    ({"points": []}, None),
])
def test_a_click_comes_back_as_the_selection_the_domains_page_reads(monkeypatch, clicked, expected):
    """The component reports a click as a trigger; show() hands it on in st.plotly_chart's selection shape."""
    calls = {}

    def fake_draw(**kwargs):
        calls.update(kwargs)
        return {"select": clicked}

    monkeypatch.setattr(charts, "SERVED", True)
    monkeypatch.setattr(charts, "_draw", fake_draw)
    event = charts.show(go.Figure(go.Heatmap(z=[[1]])), key="h", select=True)
    assert callable(calls["on_select_change"]) and calls["data"]["select"] is True
    assert domains.cell_filters("domain_region", event, ("营商环境",), ("340000",)) == expected
    assert charts.show(go.Figure(go.Bar(y=[1])), key="b") is None


def test_the_served_build_is_the_plotly_js_version_the_plotly_package_writes_for():
    """An upgrade of the plotly package without the matching build (ui/static/README.md) fails here."""
    import hashlib
    import re
    from pathlib import Path

    import plotly

    def version(path: Path) -> str:
        head = path.read_text(encoding="utf-8", errors="replace")[:300]
        return re.search(r"plotly\.js(?: \(cartesian - minified\))? v(\d+\.\d+\.\d+)", head).group(1)

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    ours = charts.STATIC_DIR / charts.PLOTLY_JS
    assert version(ours) == version(bundled) and charts.PLOTLY_JS == f"plotly-cartesian-{version(ours)}.min.js"
    readme = (charts.STATIC_DIR / "README.md").read_text(encoding="utf-8")
    assert hashlib.sha256(ours.read_bytes()).hexdigest() in readme
