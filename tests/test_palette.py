"""The colour language (docs/colours.md, issue 17 points 8 and 9): one bad → good scale for every "how good"
figure, warm and dark at the bad end, cool and pale at the good end, ordered in lightness (so it reads in
greyscale and with colour-vision deficiencies), no green or yellow (those belong to the lights), and no class that
matches no-data. Each surface that colours by quality — the map of every page, the heatmaps, the ranked bars — is
held to the direction of its metric."""
import colorsys

import polars as pl
import pytest

from analytics import metrics
from analytics.figures import maps, palette
from analytics.figures.heatmap import Axis, heatmap


def _lin(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def lab(colour) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of "#rrggbb" or an RGB(A) tuple."""
    r, g, b = (_lin(x) for x in (palette.rgb(colour) if isinstance(colour, str) else colour[:3]))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = lambda t: t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116  # noqa: E731
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def grey(colour) -> float:
    return lab(colour)[0]


def hue(colour) -> float:
    r, g, b = (x / 255 for x in (palette.rgb(colour) if isinstance(colour, str) else colour[:3]))
    return 360 * colorsys.rgb_to_hls(r, g, b)[0]


def test_the_quality_scale_runs_dark_warm_to_pale_cool_in_lightness_order():
    lightness = [grey(c) for c in palette.QUALITY]
    assert lightness == sorted(lightness)
    assert min(b - a for a, b in zip(lightness, lightness[1:])) >= 9  # each class its own grey
    bad, good = lab(palette.QUALITY[0]), lab(palette.QUALITY[-1])
    assert bad[1] > 40 and bad[2] > 20 and bad[0] < 40  # red, dark: unmistakably bad
    assert good[2] < 0 and good[0] > 85  # blue side, pale
    for c in palette.QUALITY_WORSE:
        assert lab(c)[1] > 20 and lab(c)[2] > 20  # warm
    for c in palette.QUALITY_BETTER:
        assert lab(c)[2] < -5  # cool
    for c in palette.QUALITY:  # no green (≈ 80°–170°) and no yellow (≈ 45°–70°): those hues are the lights'
        assert not 45 <= hue(c) <= 170, c


def test_no_data_matches_no_class_in_colour_or_in_grey():
    nd = palette.NO_DATA_COLOR
    for c in palette.QUALITY + palette.DENSITY:
        assert palette.rgba(c) != nd
        assert abs(grey(c) - grey(nd)) >= 8, c
    assert palette.hex_colour(nd) not in palette.QUALITY


def test_a_legend_says_which_end_is_better_and_shows_no_data_outlined():
    frame = pl.DataFrame({"region_code": ["110000", "120000"], "value": [0.1, 0.4], "n": [20, 20]})
    spec = maps.choropleth("province", frame, higher_is_better=False, lang="en")
    text = maps.legend_html(spec, lambda v: f"{v:.0%}", title="Red share",
                            note=maps.scale_note(False, "en"))
    assert "Darker and redder is worse" in text and "lower values are better" in text
    assert f"border:1px solid {palette.NO_DATA_OUTLINE}" in text and "No data" in text
    assert "颜色越深、越红越差" in maps.scale_note(True, "zh") and "数值越高越好" in maps.scale_note(True, "zh")


@pytest.mark.parametrize("key", [m.key for m in metrics.METRICS])
def test_every_metric_puts_its_worst_value_at_the_bad_end_of_map_and_heatmap(key):
    m = metrics.BY_KEY[key]
    better_high = m.direction == "higher_is_better"
    lo, hi = (0.2, 0.8) if m.unit in ("share", "rate") else (1.0, 4.0)
    worst, best = (lo, hi) if better_high else (hi, lo)
    frame = pl.DataFrame({"region_code": ["110000", "120000", "130000"], "value": [lo, (lo + hi) / 2, hi],
                          "n": [50, 50, 50]})
    for scale in ("quantile", "continuous"):
        spec = maps.choropleth("province", frame, higher_is_better=better_high, scale=scale)
        fills = {spec.values[c]: tuple(f) for c, f in spec.fills.items() if spec.values[c] is not None}
        assert fills[worst] == palette.rgba(palette.QUALITY[0]), (key, scale)
        assert fills[best] == palette.rgba(palette.QUALITY[-1]), (key, scale)
    rows, cols = Axis.of(("a",), str), Axis.of(("x", "y"), str)
    cells = pl.DataFrame({"row": ["a", "a"], "col": ["x", "y"], "value": [lo, hi], "n": [50, 50]})
    heat = heatmap(cells, rows, cols, m, "en", 10, title="t", row_title="r", col_title="c").data[0]
    scale = [c for _, c in heat.colorscale]
    at_worst, at_best = (scale[0], scale[-1]) if better_high else (scale[-1], scale[0])
    if m.target is None or (lo < m.target < hi):  # the span reaches both ends of the scale
        assert at_worst == palette.QUALITY[0] and at_best == palette.QUALITY[-1], key
    assert grey(at_worst) < grey(at_best), key  # whatever the target: the worse end is the darker


def test_the_ranked_share_bars_put_a_larger_share_at_the_bad_end():
    scale = palette.plotly_scale(False)
    assert scale[0] == (0.0, palette.QUALITY[-1]) and scale[-1] == (1.0, palette.QUALITY[0])


def _fills(at) -> dict[str, tuple]:
    """region_code → fill of the regions with a value, from the page's (one) map."""
    import json
    from analytics.db.store import read_regions_csv
    from analytics.figures import raster

    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    layer = next(layer for layer in deck["layers"] if layer["id"] == maps.REGION_LAYER_ID)
    if layer["@@type"] == "GeoJsonLayer" and "fill" in layer["data"]["features"][0]["properties"]:  # vector
        return {f["properties"]["region_code"]: tuple(f["properties"]["fill"]) for f in layer["data"]["features"]
                if f["properties"]["value"] is not None}
    # the national map is a picture: the colour the reader sees at each region's own point
    picture = next(layer for layer in deck["layers"] if layer["id"] == maps.PICTURE_LAYER_ID)
    where = read_regions_csv().select("region_code", "lon", "lat").rows_by_key("region_code", unique=True)
    colours = {code: raster.colour_at(picture["image"], picture["bounds"], *where[code])
               for code in ("110000", "340000")}
    return {code: c for code, c in colours.items() if c != maps.NO_DATA_COLOR}


def test_the_cockpit_map_colours_the_worse_region_dark_red_for_either_metric(app_env):
    """On the fixture 北京 has the lower index and the higher red share: the worse region by both metrics. The
    cockpit's map once coloured the red share as if higher were better."""
    from tests.app_pages import open_page

    worst, best = palette.rgba(palette.QUALITY[0]), palette.rgba(palette.QUALITY[-1])
    at = open_page("cockpit")
    assert _fills(at) == {"110000": worst, "340000": best}
    control = next(c for c in at.segmented_control if c.key == "map_metric")
    control.set_value("red_share").run()
    assert not at.exception
    assert _fills(at) == {"110000": worst, "340000": best}
    text = " ".join(m.value for m in at.markdown)
    assert "数值越低越好" in text and "颜色越深、越红越差" in text


def test_an_open_rectifications_age_runs_from_cool_to_dark_warm_red():
    """The age buckets (≤15 days … over 60) were yellow for the best and navy for the worst: yellow means the
    worst on the quality pages' bars. They take the quality scale, its bad end for the oldest."""
    from ui.blocks import rectifications

    assert rectifications.AGE_COLOURS[-1] == palette.QUALITY[0] and rectifications.AGE_COLOURS[0] in palette.QUALITY[3:]
    assert set(rectifications.FLOW_COLOURS) <= set(palette.DENSITY)  # the steps of the flow: neither good nor bad
