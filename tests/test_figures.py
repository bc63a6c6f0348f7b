"""Figures read without colour: the weekly light chart marks each light with a pattern and a symbol as well as a
colour (issue 17, point 9: in greyscale red and green came out the same grey)."""
from __future__ import annotations

from datetime import date

import polars as pl

from analytics.figures import lights


def test_each_light_has_its_own_pattern_and_symbol_not_colour_alone():
    weekly = pl.DataFrame({"week_end": [date(2026, 11, 15), date(2026, 11, 22)], "red": [3, 4], "yellow": [2, 2],
                           "green": [10, 9], "none": [1, 1]})
    labels = {"red": "红灯", "yellow": "黄灯", "green": "绿灯", "none": "无数据"}
    fig = lights.lights_over_time(weekly, labels, "t", "y")
    shapes = [t.marker.pattern.shape for t in fig.data]
    names = [t.name for t in fig.data]
    assert len(set(shapes)) == 4 and shapes[0] == "x"  # red: crossed
    # over the light's own colour, not on a transparent ground (red and yellow segments showed no colour)
    assert all(t.marker.pattern.fillmode == "overlay" for t in fig.data)
    assert [t.marker.color for t in fig.data] == [lights.LIGHT_COLOURS[k] for k in ("red", "yellow", "green", "none")]
    assert len({n.split()[0] for n in names}) == 4  # a distinct symbol before each word
    # dates in the reader's words, never the code "2026-11-15" (issue 17)
    assert [s.value for s in fig.layout.xaxis.tickformatstops] == ["%-m月%-d日", "%Y年%-m月", "%Y年"]
    assert "%Y年%-m月%-d日" in fig.data[0].hovertemplate
    fig = lights.lights_over_time(weekly, labels, "t", "y", "en")
    assert [s.value for s in fig.layout.xaxis.tickformatstops] == ["%-d %b", "%b %Y", "%Y"]
    assert fig.layout.xaxis.hoverformat == "%-d %b %Y"


def test_legends_under_a_chart_sit_at_the_foot_of_the_figure_not_over_the_date_labels():
    """On a phone the item page's date labels tilt and grow; a legend hung under the plot area (y=-0.12) then
    covered them ("2023年1…"). Legends under a chart are placed at the figure's foot, below the labels."""
    from analytics.figures import item, risk
    from analytics.figures.axes import LEGEND_BELOW

    weekly = pl.DataFrame({"week_end": [date(2026, 11, 15)], "red": [3], "yellow": [2], "green": [10], "none": [1]})
    fig = lights.lights_over_time(weekly, {k: k for k in ("red", "yellow", "green", "none")}, "t", "y")
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0
    assert item.LAYOUT["legend"] == LEGEND_BELOW
    frame = pl.DataFrame({"date": [date(2026, 12, 1), date(2027, 1, 1)], "n": [10, 10], "sure80": [1, 5],
                          "sure50": [2, 6], "expected": [1.5, 5.5], "planned": [3, 8]})
    curve = risk.s_curve(frame, {k: k for k in ("title", "y", "planned", "expected", "sure50", "sure80")}
                         | {"total": "all {n}"})
    assert curve.layout.legend.yref == "container" and curve.layout.legend.yanchor == "bottom"
