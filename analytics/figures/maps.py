"""Choropleth maps of regions for st.pydeck_chart, drawn without any basemap.

No network request: the deck has no basemap at all. ``pdk.Deck(map_provider=None)`` with
``map_style`` left at pydeck's default serialises ``"mapStyle": "__MAP_STYLE__"``; Streamlit's
frontend drops that sentinel and then draws neither a basemap nor its Carto fallback.
(``map_style=None`` — with or without ``map_provider=None`` — leaves ``mapStyle`` out of the
JSON, and Streamlit then fetches Carto's positron style: do not use it.)
The light background is the page's own (theme backgroundColor #ffffff).

Tooltips use deck.gl's ``text`` mode (the text is set with innerText): region names and
values are shown as plain text, nothing is interpreted as HTML, so nothing is escaped by hand.
Streamlit also HTML-escapes values substituted into an ``html`` tooltip, so pre-escaped
values there would show as ``&lt;…``.

Selection (drill-down): ``st.pydeck_chart(spec.deck, on_select="rerun",
selection_mode="single-object", key=...)`` returns
``event.selection["objects"][REGION_LAYER_ID][0]["properties"]["region_code"]`` on a vector map; a national
map is a picture whose pickable regions carry no code, and the click's index in the layer is its place in
``spec.region_codes`` (see `selected_code`).

No streamlit import here: the module is tested without a running app.
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl
import pydeck as pdk
import pydeck.bindings.deck as _pydeck_deck
from pydeck.bindings.json_tools import default_serialize

from analytics import geo, i18n
from analytics.figures import raster
from analytics.figures.classes import DEFAULT_CLASSES, class_of, nice_ticks, quantile_breaks
from analytics.figures.geometry import (COUNTRY_CODE, bounds, fit_view, geometries, polygons,
                                        region_features)
from analytics.figures.inset import SCS_TARGET, in_inset_only, inset_geometries, inset_maritime, to_inset
from analytics.figures.palette import (NO_DATA_COLOR, NO_DATA_OUTLINE, density_colours, hex_colour, light_rgba,
                                       quality_at, quality_colours, rgba)

# Every pdk.Deck() asks has_jupyter_extra(), which retries a failing import of pydeck's Jupyter widget each
# time (ipywidgets is not installed): 11% of the server's time in the 30-session load test, mostly waiting
# for the import lock. The answer cannot change while the process runs, so ask once.
if not hasattr(_pydeck_deck.has_jupyter_extra, "cache_info"):
    _pydeck_deck.has_jupyter_extra = lru_cache(maxsize=1)(_pydeck_deck.has_jupyter_extra)

REGION_LAYER_ID = "regions"


MARITIME_LAYER_ID = "maritime-line"




LINE_COLOR = (110, 110, 110, 200)         # region borders; also keeps tiny islands visible


MARITIME_COLOR = (60, 60, 60, 255)


TOOLTIP_STYLE = {"backgroundColor": "#ffffff", "color": "#1b1f24", "fontSize": "13px", "border": "1px solid #c8ced6",
                 "whiteSpace": "pre-line"}


_TEXT = {
    "zh": {"value": "数值", "n": "样本数", "no_data": "无数据"},
    "en": {"value": "Value", "n": "Count", "no_data": "No data"},
}


@dataclass(frozen=True)
class MapSpec:
    """What the page needs: the deck to draw and the legend that goes with it.

    ``breaks`` are the class thresholds t1 < … < t(k-1); ``colors`` the k class colours (RGBA),
    class i holding t(i) <= value < t(i+1) (below t1 → colors[0], from t(k-1) → colors[-1]).
    """

    deck: pdk.Deck
    breaks: tuple[float, ...]
    colors: tuple[tuple[int, int, int, int], ...]
    no_data_color: tuple[int, int, int, int]
    no_data_label: str
    region_codes: tuple[str, ...] = field(default=())  # drawn features, in layer order
    scale: str = "quantile"  # or "continuous": colours interpolated between vmin and vmax
    vmin: float | None = None
    vmax: float | None = None
    higher_is_better: bool = True  # which end of the bad → good scale the high values take
    tooltip: Mapping | None = None  # the deck's tooltip ({"text": template, "style": TOOLTIP_STYLE})
    base_layers: int = 1  # the regions' own layers at the bottom of the deck (2 for a picture: it and its points)
    values: Mapping[str, float | None] = field(default_factory=dict)  # each drawn region's value (None: no data)
    fills: Mapping[str, tuple[int, int, int, int]] = field(default_factory=dict)  # and its colour on the map

    def gradient(self, steps: int = 9) -> list[str]:
        """The continuous ramp from vmin to vmax as "#rrggbb" stops (for a CSS linear-gradient)."""
        return [hex_colour(quality_at(i / (steps - 1), self.higher_is_better)) for i in range(steps)]

    def ticks(self, count: int = 5) -> list[float]:
        """Round tick values between vmin and vmax (both ends included) for the continuous legend."""
        if self.vmin is None or self.vmax is None:
            return []
        return nice_ticks(self.vmin, self.vmax, count)

    def legend(self, fmt: Callable[[float], str] | str = "{:,.2f}") -> list[tuple[str, str]]:
        """(label, "#rrggbb") per class, lowest first, then the no-data entry."""
        f = fmt.format if isinstance(fmt, str) else fmt
        b = [f(x) for x in self.breaks]
        if not b:
            labels = ["—"] if self.colors else []
        else:
            labels = [f"< {b[0]}"] + [f"{lo} – {hi}" for lo, hi in zip(b, b[1:])] + [f"≥ {b[-1]}"]
        rows = [(label, hex_colour(c)) for label, c in zip(labels, self.colors)]
        return rows + [(self.no_data_label, hex_colour(self.no_data_color))]


def swatch_html(colour: str, label: str, shape: str = "0.15em", outline: str = "#777") -> str:
    """A legend entry: a small box of `colour` and its (escaped) label, kept on one line."""
    return (f'<span style="white-space:nowrap;margin-right:0.8em"><span style="display:inline-block;width:0.9em;'
            f'height:0.9em;background:{colour};border:1px solid {outline};border-radius:{shape};'
            f'vertical-align:middle"></span> {html.escape(label)}</span>')


def no_data_swatch(label: str) -> str:
    """No data: white with a dark outline, like the regions on the map (no class is white)."""
    return swatch_html(hex_colour(NO_DATA_COLOR), label, outline=NO_DATA_OUTLINE)


def gradient_html(stops: Sequence[str], left: str, right: str, ticks: Sequence[tuple[float, str]] = ()) -> str:
    """A continuous legend: the colour bar and, under it, tick labels at fractions of its width (or its ends)."""
    marks = "".join(f'<span style="position:absolute;left:{100 * p:.1f}%;transform:translateX(-50%);top:0">'
                    f'{html.escape(t)}</span>' for p, t in ticks)
    bar = (f'<div style="height:0.8em;width:min(20em,80vw);background:linear-gradient(to right,{",".join(stops)});'
           f'border:1px solid #777"></div>')
    scale_row = (f'<div style="position:relative;width:min(20em,80vw);height:1.3em;font-size:0.75rem">{marks}</div>'
                 if ticks else f'<div style="display:flex;justify-content:space-between;width:min(20em,80vw);'
                               f'font-size:0.75rem"><span>{html.escape(left)}</span><span>{html.escape(right)}</span></div>')
    return f'<div style="display:inline-block;vertical-align:top;margin:0.2em 1em 0 0">{bar}{scale_row}</div>'


def scale_note(higher_is_better: bool, lang: str) -> str:
    """Which end of the colour scale is better, in words (the legend's note)."""
    direction = i18n.t("map.higher_better" if higher_is_better else "map.lower_better", lang)
    return i18n.t("map.scale_note", lang, direction=direction)


def legend_html(spec: MapSpec, fmt: Callable[[float], str], *, title: str | None = None,
                note: str | None = None) -> str:
    """The map's legend as HTML (every text escaped): the classes lowest value first (or the colour bar of a
    continuous scale), no data, and a note such as which end is better."""
    no_data = no_data_swatch(spec.no_data_label)
    if spec.scale == "continuous" and spec.vmin is not None:
        span = (spec.vmax - spec.vmin) or 1
        ticks = [((t - spec.vmin) / span, fmt(t)) for t in spec.ticks()]
        body = f"{gradient_html(spec.gradient(), fmt(spec.vmin), fmt(spec.vmax), ticks)} {no_data}"
    else:
        body = "".join(swatch_html(c, label) for label, c in spec.legend(fmt)[:-1]) + no_data
    head = f"{html.escape(title)}: " if title else ""
    tail = f"<br>{html.escape(note)}" if note else ""
    return f"<div style='font-size:0.85rem;line-height:1.9'>{head}{body}{tail}</div>"


class _CompactDeck(pdk.Deck):
    """pydeck's to_json indents by 2 (a coordinate per line): several times the payload."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize,
                          separators=(",", ":"), ensure_ascii=False)


# --- the map -------------------------------------------------------------------------------


def empty_deck() -> pdk.Deck:
    """A deck with nothing in it, over China: the placeholder a page draws until it knows the map's width
    (ui/mapfit.py), so that deck.gl loads and opens its canvas meanwhile."""
    return _CompactDeck(layers=[], initial_view_state=pdk.ViewState(longitude=104.0, latitude=36.0, zoom=2.5),
                        map_provider=None)


def choropleth(level: str, values: pl.DataFrame, *, parent_code: str | None = None,
               lang: str = "zh", legend_breaks: Sequence[float] | None = None,
               classes: int = DEFAULT_CLASSES,
               no_data_color: Sequence[int] | str = NO_DATA_COLOR,
               tooltip_labels: Mapping[str, str] | None = None,
               value_format: Callable[[float], str] | str = "{:,.2f}",
               precision: int | None = 3, width: int = 700, height: int = 500,
               scale: str = "quantile", higher_is_better: bool = True, grid: float | None = None, thin: int = 1,
               inset: bool = False, rank_label: str | None = None, stroked: bool = True) -> MapSpec:
    """Regions of `level` (under `parent_code`, if given) coloured by `values`.

    values: region_code (str), value (float, null = no data), n (int, may be null); region
    codes not drawn are ignored, drawn regions without a row get the no-data colour.
    legend_breaks: thresholds t1 < … < t(k-1) (k classes); default: `classes` quantile classes
    of the drawn regions' values. tooltip_labels: {"value": …, "n": …} (defaults per lang).
    precision: decimals kept in coordinates (3 ≈ 100 m; None keeps the file's).
    width/height: the chart's expected size in px, only to fit the view.
    scale: "quantile" (classes, `breaks`) or "continuous" (the scale between the drawn min and max).
    higher_is_better: the metric's direction; the bad end of palette.QUALITY (dark warm red) goes to the worst
    values and its good end (pale blue) to the best, whichever way the metric runs.
    grid: snap coordinates to a grid of this many degrees instead of rounding to `precision`
    (neighbours snap alike, so borders stay shared). thin: keep about one vertex in `thin`, the
    same ones on both sides of a shared border (3 with precision 2 suits a national county map).
    inset: at national view, draw the South China Sea in a framed inset (see `SCS_SOURCE`).
    rank_label: with a `rank` column in values (null = unranked), the tooltip gains a rank line;
    the tooltip text then comes from each feature's `tip` property (name on the first line).
    stroked: draw each region's outline.
    National maps (RASTER_LEVELS) are drawn as a picture: `_picture_choropleth`.
    """
    text = _TEXT.get(lang, _TEXT["zh"])
    labels = {"value": text["value"], "n": text["n"], **(tooltip_labels or {})}
    if scale not in ("quantile", "continuous"):
        raise ValueError(f"scale must be quantile or continuous, not {scale!r}")
    with_rank = rank_label is not None and "rank" in values.columns
    by_code = _values_by_code(values, with_rank)
    feats = region_features(level, parent_code)
    if not feats:
        raise ValueError(f"no {level} boundaries under {parent_code}")
    drawn = [v for v in (by_code.get(f["properties"]["region_code"], (None, None, None))[0] for f in feats)
             if _has(v)]
    breaks, colors = _classes(drawn, legend_breaks, classes, higher_is_better)
    vmin, vmax = (min(drawn), max(drawn)) if drawn else (None, None)

    def fill(v: float) -> tuple[int, int, int, int]:
        if scale == "continuous":
            return quality_at(0.5 if vmax == vmin else (v - vmin) / (vmax - vmin), higher_is_better)
        return colors[class_of(v, breaks)]

    national = parent_code in (None, COUNTRY_CODE)
    inset = inset and national
    fmt = value_format.format if isinstance(value_format, str) else value_format
    if national and level in RASTER_LEVELS:
        return _picture_choropleth(level, feats, by_code, fill, fmt, labels, text["no_data"], rgba(no_data_color),
                                   with_rank=with_rank, rank_label=rank_label, width=width, height=height,
                                   inset=inset, grid=grid, thin=thin, lang=lang,
                                   legend=dict(breaks=tuple(breaks), colors=tuple(colors), scale=scale, vmin=vmin,
                                               vmax=vmax, higher_is_better=higher_is_better))
    geoms = geometries(level, precision, grid, thin)
    no_data = rgba(no_data_color)
    n_ranked = sum(1 for _, _, r in by_code.values() if r is not None)
    out_features = []
    for f in feats:
        code = f["properties"]["region_code"]
        props = _properties(f["properties"], by_code.get(code, (None, None, None)), fmt, text["no_data"],
                            fill, no_data, lang)
        if with_rank:
            r = by_code.get(code, (None, None, None))[2]
            props["rank_str"] = "—" if r is None else f"{int(r)} / {n_ranked}"
        out_features.append({"type": "Feature", "geometry": geoms[code], "properties": props})

    # a province's or a city's map (national maps are pictures): the view fits its regions, and the maritime
    # line is drawn where it is in view (Hainan's, Guangdong's …): off screen it is only work for software WebGL
    view = fit_view(bounds([f["geometry"] for f in out_features]), width, height)
    w, s, e, n = raster.view_bounds((view.longitude, view.latitude, view.zoom), width, height)
    dashes = [[list(p[:2]) for p in line] for f in geo.maritime_line()["features"]
              for line in f["geometry"]["coordinates"] if any(w <= p[0] <= e and s <= p[1] <= n for p in line)]
    maritime = [{"type": "Feature", "properties": {}, "geometry": {"type": "MultiLineString", "coordinates": dashes}}]
    # the labels go in the template once, not in every region's properties (bytes sent per region, issue 17)
    tooltip = {"text": f"{{name}}\n{_tpl(labels['value'])}: {{value_str}}\n{_tpl(labels['n'])}: {{n_str}}"
               + (f"\n{_tpl(rank_label)}: {{rank_str}}" if with_rank else ""), "style": TOOLTIP_STYLE}
    deck = _CompactDeck(
        layers=[_region_layer(out_features, stroked, 0.8)] + ([_maritime_layer(maritime)] if dashes else []),
        initial_view_state=view,
        map_provider=None,  # keep map_style's default sentinel: no basemap, no request
        tooltip=tooltip,
    )
    return MapSpec(deck=deck, breaks=tuple(breaks), colors=tuple(colors),
                   no_data_color=no_data, no_data_label=text["no_data"],
                   region_codes=tuple(f["properties"]["region_code"] for f in out_features),
                   scale=scale, vmin=vmin, vmax=vmax, higher_is_better=higher_is_better, tooltip=tooltip,
                   values={f["properties"]["region_code"]: f["properties"]["value"] for f in out_features},
                   fills={f["properties"]["region_code"]: tuple(f["properties"]["fill"]) for f in out_features})


# National maps are drawn as a picture (analytics/figures/raster.py) under an invisible layer that picks: software
# WebGL spent seconds tessellating and stroking their polygons, and every city or county was 0.5-2 MB of GeoJSON
RASTER_LEVELS = ("province", "city", "county")
# ... of these few regions the click and the tooltip take the region's own shape, coarsely (about 6 px a step) and
# invisible: a click anywhere in a province picks it, as on a vector map; thousands of counties take a point each
SHAPE_PICKED_LEVELS = ("province",)
PICTURE_LAYER_ID = "regions-picture"


@lru_cache(maxsize=16)
def _fit_bounds(level: str, inset: bool, grid: float | None, thin: int) -> tuple[float, float, float, float]:
    geoms = (inset_geometries if inset else geometries)(level, None, grid, thin)
    lines = inset_maritime() if inset else tuple(f["geometry"] for f in geo.maritime_line()["features"])
    return bounds([*geoms.values(), *lines])


@lru_cache(maxsize=1)
def _region_points() -> dict[str, tuple[float, float]]:
    r = geo.regions_frame().drop_nulls(["lon", "lat"])
    return {c: (x, y) for c, x, y in zip(r["region_code"].to_list(), r["lon"].to_list(), r["lat"].to_list())}


def _picture_choropleth(level: str, feats: list[dict], by_code: Mapping, fill: Callable, fmt: Callable,
                        labels: Mapping[str, str], no_data_text: str, no_data: tuple, *, with_rank: bool,
                        rank_label: str | None, width: int, height: int, inset: bool, grid: float | None,
                        thin: int, lang: str, legend: dict) -> MapSpec:
    """A national map: the regions as one PNG (raster.picture) under an invisible layer that carries the tooltip
    and takes the click (deck.gl cannot pick a pixel of a picture): the provinces' coarse shapes
    (SHAPE_PICKED_LEVELS), or, for every city or county, one point per region sized to it. Their properties
    are short ("t" name, "v" value, "k" count, "o" rank), the points' positions rounded to 0.1° (about a pixel at
    national zoom), and they carry no region code: a click's index in the layer is its place in
    `MapSpec.region_codes` (`selected_code`). 2,845 counties fit in under 300 KB.

    The picture is drawn for the size rounded down to 16 px (a hair smaller than the chart, centred in it), so
    that the readers' many window widths share a few drawings (raster._labels is cached per size)."""
    width, height = max(width // 16 * 16, 192), max(height // 16 * 16, 192)
    codes = tuple(f["properties"]["region_code"] for f in feats)
    view_state = fit_view(_fit_bounds(level, inset, grid, thin), width, height)
    view = (view_state.longitude, view_state.latitude, view_state.zoom)
    scale = 2 if len(codes) < 1000 else 1  # sharp on a phone's or a laptop's 2x screen, where the bytes allow it
    lab = raster.labels_for(level, codes, view, width, height, scale, inset, grid, thin)
    values = [by_code.get(c, (None, None, None)) for c in codes]
    fills = [tuple(fill(v)) if _has(v) else None for v, _, _ in values]
    group = [int(c[:2]) for c in codes]
    image = raster.picture(lab, fills, group, view=view, width=width, height=height, scale=scale, inset=inset,
                           border=LINE_COLOR, no_data=no_data, maritime=MARITIME_COLOR)
    count = raster.region_pixels(lab, len(codes)) / scale ** 2
    cx, cy = raster.region_centres(lab, len(codes))
    points, n_ranked = _region_points(), sum(1 for _, _, r in by_code.values() if r is not None)
    rows = []
    for i, (f, (v, n, r)) in enumerate(zip(feats, values)):
        code = codes[i]
        if code in points:
            lon, lat = points[code]
            if inset and in_inset_only(lon, lat):
                lon, lat = to_inset(lon, lat)
        else:  # no point of its own: the middle of its pixels
            lon, lat = raster.pixel_lonlat(view, width, height, cx[i] / scale, cy[i] / scale)
        row = {"p": [round(lon, 1), round(lat, 1)], "r": int(min(max(0.6 * math.sqrt(count[i] / math.pi), 3), 40)),
               "t": i18n.glossary("province", str(f["properties"]["name"]), lang), "v": fmt(v) if _has(v) else no_data_text,
               "k": "—" if n is None or math.isnan(n) else f"{int(round(n)):,}"}
        if with_rank:
            row["o"] = "—" if r is None else f"{int(r)} / {n_ranked}"
        rows.append((code, row))
    if level in SHAPE_PICKED_LEVELS:
        rows = _pick_shapes(level, rows, inset, width)
    else:
        rows.sort(key=lambda code_row: -code_row[1]["r"])  # the small on top, so that each can be picked
    rank_line = f"\n{_tpl(rank_label)}: {{o}}" if with_rank else ""
    tooltip = {"text": f"{{t}}\n{_tpl(labels['value'])}: {{v}}\n{_tpl(labels['n'])}: {{k}}{rank_line}",
               "style": TOOLTIP_STYLE}
    w, s, e, n = raster.view_bounds(view, width, height)
    layers = [pdk.Layer("BitmapLayer", id=PICTURE_LAYER_ID, image=f"'{image}'",  # quoted: a literal
                        bounds=[w, s, e, n], pickable=False),
              _pick_layer(rows, level in SHAPE_PICKED_LEVELS)]
    deck = _CompactDeck(layers=layers + (inset_layers(lang) if inset else []), initial_view_state=view_state,
                        map_provider=None, tooltip=tooltip)
    return MapSpec(deck=deck, no_data_color=no_data, no_data_label=no_data_text,
                   region_codes=tuple(code for code, _ in rows), tooltip=tooltip, base_layers=2,
                   values={c: v if _has(v) else None for c, (v, _, _) in zip(codes, values)},
                   fills={c: f or no_data for c, f in zip(codes, fills)}, **legend)


def _pick_shapes(level: str, rows: list[tuple[str, dict]], inset: bool, width: int) -> list[tuple[str, dict]]:
    """The rows as GeoJSON features of the regions' coarse shapes (their properties the row's text)."""
    per_px = _span(level, None) / max(width, 200)
    grid = max([g for g in GRID_LADDER if g <= 6 * per_px] or [GRID_LADDER[0]])
    geoms = (inset_geometries if inset else geometries)(level, None, grid, 2)
    return [(code, {"type": "Feature", "geometry": _pickable_parts(geoms[code], 4 * grid),
                    "properties": {k: v for k, v in row.items() if k not in ("p", "r")}})
            for code, row in rows]


def _pickable_parts(g: dict, least: float) -> dict:
    """The polygons of `g` at least `least` degrees across (islets are too small to point at; the picture still
    draws them), with their holes (河北 around 北京 and 天津); the largest is always kept."""
    def across(poly: list) -> float:
        xs, ys = [p[0] for p in poly[0]], [p[1] for p in poly[0]]
        return max(max(xs) - min(xs), max(ys) - min(ys))

    polys = polygons(g)
    kept = [poly for poly in polys if across(poly) >= least] or [max(polys, key=across)]
    return {"type": "MultiPolygon", "coordinates": kept}


def _pick_layer(rows: list[tuple[str, dict]], shapes: bool) -> pdk.Layer:
    """The invisible layer over a picture that carries its tooltips and takes its clicks (lit up on hover)."""
    common = dict(id=REGION_LAYER_ID, pickable=True, stroked=False, filled=True, get_fill_color=[0, 0, 0, 0],
                  auto_highlight=True, highlight_color=[255, 255, 255, 110])
    if shapes:
        return pdk.Layer("GeoJsonLayer", data={"type": "FeatureCollection", "features": [r for _, r in rows]},
                         **common)
    return pdk.Layer("ScatterplotLayer", data=[row for _, row in rows], get_position="p", get_radius="r",
                     radius_units="'pixels'", **common)


def pick_properties(spec: MapSpec) -> list[dict]:
    """The properties of the regions' pickable objects, in the order of `spec.region_codes`."""
    layer = next(layer for layer in spec.deck.layers if layer.id == REGION_LAYER_ID)
    data = layer.data["features"] if isinstance(layer.data, dict) else layer.data
    return [d.get("properties", d) if "type" in d else d for d in data]


def shown(spec: MapSpec) -> dict[str, dict]:
    """What the map shows of each region, by code, for either kind of map: its value and fill, and its tooltip's
    name, value_str, n_str (and rank_str)."""
    short = {"t": "name", "v": "value_str", "k": "n_str", "o": "rank_str"}
    out = {}
    for code, p in zip(spec.region_codes, pick_properties(spec)):
        row = {short.get(k, k): v for k, v in p.items()}
        row["value"], row["fill"] = spec.values.get(code), list(spec.fills.get(code, ()))
        out[code] = row
    return out


def _tpl(label: str) -> str:
    """A label placed in deck.gl's tooltip template, where "{…}" would name a property."""
    return label.replace("{", "(").replace("}", ")")


# Cells of the snapping grid, in degrees: one of these, so that few geometry sets are built and cached
GRID_LADDER = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
NATIONAL_SPAN = 62.0  # degrees of longitude the national map spans with the inset


@lru_cache(maxsize=512)
def _span(level: str, parent_code: str | None) -> float:
    """The larger side, in degrees, of the regions of `level` under `parent_code`."""
    if parent_code in (None, COUNTRY_CODE):
        return NATIONAL_SPAN
    feats = region_features(level, parent_code)
    if not feats:
        return 1.0
    w, s, e, n = bounds([f["geometry"] for f in feats])
    return max(e - w, (n - s) * 1.25)  # latitude degrees are longer on the map at China's latitudes


def detail(level: str, parent_code: str | None, width: int) -> dict:
    """How finely to send a map `width` px wide: coordinates snapped to a grid of about 1.5 px and one vertex in
    two kept (shared borders alike on both sides), so that a national map of provinces is about 0.2 MB, not 1.5.
    Returns choropleth keyword arguments (grid, thin)."""
    per_px = _span(level, parent_code) / max(width, 200)
    grid = max([g for g in GRID_LADDER if g <= 1.5 * per_px] or [GRID_LADDER[0]])
    return {"grid": grid, "thin": 2}


def _has(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


def _values_by_code(values: pl.DataFrame, with_rank: bool) -> dict[str, tuple]:
    """region_code -> (value, n, rank), checked: the columns are there and no region has two rows."""
    missing = {"region_code", "value", "n"} - set(values.columns)
    if missing:
        raise ValueError(f"values lacks column(s) {', '.join(sorted(missing))}")
    rows = values.select(pl.col("region_code").cast(pl.Utf8), pl.col("value").cast(pl.Float64),
                         pl.col("n").cast(pl.Float64),
                         (pl.col("rank") if with_rank else pl.lit(None)).cast(pl.Float64).alias("rank"))
    if rows["region_code"].is_duplicated().any():
        raise ValueError("values has duplicate region_code rows")
    return {c: (v, n, r) for c, v, n, r in rows.iter_rows()}


def _classes(drawn: list[float], legend_breaks: Sequence[float] | None, classes: int,
             higher_is_better: bool) -> tuple[list[float], list[tuple[int, int, int, int]]]:
    """(breaks, one colour per class): the given breaks, or quantile classes of the drawn values."""
    if legend_breaks is not None:
        breaks = [float(b) for b in legend_breaks]
        if any(b >= c for b, c in zip(breaks, breaks[1:])):
            raise ValueError("legend_breaks must be strictly increasing")
    else:
        breaks = quantile_breaks(drawn, classes)
    colors = quality_colours(len(breaks) + 1, higher_is_better) if (drawn or legend_breaks is not None) else []
    return breaks, colors


def _properties(p: Mapping, value_n_rank: tuple, fmt: Callable[[float], str], no_data_text: str,
                fill: Callable[[float], tuple], no_data: tuple, lang: str = "zh") -> dict:
    """What a region's feature carries to the browser: its code, name (in the reader's language), value as a
    number and as text, n, fill."""
    v, n, _ = value_n_rank
    has = _has(v)
    return {"region_code": p["region_code"], "name": i18n.glossary("province", str(p["name"]), lang), "value": v if has else None,
            "value_str": fmt(v) if has else no_data_text,
            "n_str": "—" if n is None or math.isnan(n) else f"{int(round(n)):,}",
            "fill": list(fill(v) if has else no_data)}


def _region_layer(features: list[dict], stroked: bool, border: float) -> pdk.Layer:
    return pdk.Layer(
        "GeoJsonLayer",
        id=REGION_LAYER_ID,
        data={"type": "FeatureCollection", "features": features},
        pickable=True, auto_highlight=True, highlight_color=[255, 255, 255, 90],
        stroked=stroked, filled=True,
        get_fill_color="properties.fill",  # pydeck turns it into "@@=properties.fill"
        get_line_color=list(LINE_COLOR),
        line_width_units="'pixels'",  # quoted: a literal, not an expression
        get_line_width=border, line_width_min_pixels=border,
    )


def _maritime_layer(features: list[dict]) -> pdk.Layer:
    return pdk.Layer(  # last = on top; width in pixels so it stays visible at country zoom
        "GeoJsonLayer",
        id=MARITIME_LAYER_ID,
        data={"type": "FeatureCollection", "features": features},
        pickable=False, stroked=True, filled=False,
        get_line_color=list(MARITIME_COLOR),
        line_width_units="'pixels'", get_line_width=2, line_width_min_pixels=2,
    )


def selected_region_code(event, spec: MapSpec | None = None) -> str | None:
    """region_code of the clicked region from st.pydeck_chart(..., on_select="rerun")."""
    return selected_code(event, (REGION_LAYER_ID,), spec)


INSET_FRAME_LAYER_ID = "scs-inset-frame"


INSET_LABEL_LAYER_ID = "scs-inset-label"


_INSET_TEXT = {"zh": "南海诸岛", "en": "South China\nSea Islands"}


def inset_layers(lang: str = "zh") -> list[pdk.Layer]:
    """The inset's frame and its caption (南海诸岛), drawn above the regions."""
    w, s, e, n = SCS_TARGET
    frame = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "LineString", "coordinates": [[w, s], [e, s], [e, n], [w, n], [w, s]]}}]}
    label = _INSET_TEXT.get(lang, _INSET_TEXT["zh"])
    return [
        pdk.Layer("GeoJsonLayer", id=INSET_FRAME_LAYER_ID, data=frame, pickable=False, stroked=True,
                  filled=False, get_line_color=list(MARITIME_COLOR), line_width_units="'pixels'",
                  get_line_width=1, line_width_min_pixels=1),
        pdk.Layer("TextLayer", id=INSET_LABEL_LAYER_ID, data=[{"position": [e - 0.4, s + 0.4], "text": label}],
                  pickable=False, get_position="position", get_text="text", get_size=12 if lang == "zh" else 10,
                  size_units="'pixels'", get_color=[60, 60, 60, 255], get_text_anchor="'end'",
                  get_alignment_baseline="'bottom'", character_set=f"'{label.replace(chr(10), '')}'",  # quoted: a literal
                  font_family="'Noto Sans CJK SC, Noto Sans SC, sans-serif'"),
    ]


# --- items as points or hexagons, by traffic light ----------------------------------------------


POINTS_LAYER_ID = "item-points"


HEXAGON_LAYER_ID = "item-hexagons"


def points_layer(rows: Sequence[Mapping], max_radius_px: float = 16.0) -> pdk.Layer:
    """One circle per (region, light): area ∝ items, biggest drawn first so smaller ones stay visible.

    rows: position [lon, lat], light, n, name, tip (the tooltip's text below the name), region_code. The light and
    n go to the browser as the circle's colour and radius only (the tooltip says them in words).
    """
    top = max((r["n"] for r in rows), default=1) or 1
    data = [{"position": r["position"], "name": r["name"], "tip": r["tip"], "region_code": r["region_code"],
             "radius": round(max(2.0, max_radius_px * math.sqrt(r["n"] / top)), 1), "color": list(light_rgba(r["light"]))}
            for r in sorted(rows, key=lambda r: -r["n"])]
    return pdk.Layer("ScatterplotLayer", id=POINTS_LAYER_ID, data=data, pickable=True, stroked=True,
                     filled=True, get_position="position", get_radius="radius", radius_units="'pixels'",
                     get_fill_color="color", get_line_color=[255, 255, 255, 255], line_width_min_pixels=1)


def hexagon_layer(rows: Sequence[Mapping], radius_m: float) -> pdk.Layer:
    """Hexagon density of items (weights `n` at `position`), on the neutral few → many ramp (darker = more)."""
    return pdk.Layer("HexagonLayer", id=HEXAGON_LAYER_ID, data=[{"position": r["position"], "n": r["n"]} for r in rows],
                     pickable=False, extruded=False, radius=radius_m, coverage=0.9, opacity=0.85,
                     get_position="position", get_color_weight="n", color_aggregation="'SUM'",
                     get_elevation_weight="n", elevation_aggregation="'SUM'", gpu_aggregation=False,
                     color_range=[list(c[:3]) for c in density_colours(6)])


def with_layers(spec: MapSpec, extra: Sequence[pdk.Layer], tooltip: Mapping | None = None,
                top: Sequence[pdk.Layer] = ()) -> pdk.Deck:
    """The spec's deck with `extra` layers drawn between the regions and the maritime line, and `top` over all."""
    first, rest = list(spec.deck.layers[:spec.base_layers]), list(spec.deck.layers[spec.base_layers:])
    return _CompactDeck(layers=[*first, *extra, *rest, *top], initial_view_state=spec.deck.initial_view_state,
                        map_provider=None, tooltip=tooltip or spec.tooltip)


SILENT_LAYER_ID = "silent-regions"
SILENT_COLOUR = (17, 17, 17, 255)  # a black ring: no class of the quality or density scales, nor a light, is black


def silent_layer(rows: Sequence[Mapping]) -> pdk.Layer:
    """A ring at each region that has gone silent (no report for longer than the cycle; analytics/freshness.py):
    drawn over everything, not pickable (the region under it keeps its own tooltip); rows: position, region_code."""
    return pdk.Layer("ScatterplotLayer", id=SILENT_LAYER_ID, data=[{"position": r["position"]} for r in rows],
                     pickable=False, stroked=True, filled=False, get_position="position", get_radius=7,
                     radius_units="'pixels'", get_line_color=list(SILENT_COLOUR), line_width_units="'pixels'",
                     get_line_width=2.5, line_width_min_pixels=2)


def silent_swatch(label: str) -> str:
    """The legend's entry for `silent_layer`: an open black ring and its words."""
    return (f"<span style='display:inline-block;width:0.8em;height:0.8em;border:2px solid #111;border-radius:50%;"
            f"vertical-align:-0.1em;margin-right:0.3em'></span>{html.escape(label)}")


def selected_code(event, layer_ids: Sequence[str] = (REGION_LAYER_ID, POINTS_LAYER_ID),
                  spec: MapSpec | None = None) -> str | None:
    """region_code of the clicked region or point (the first of `layer_ids` with a selection). A region of a
    picture map carries no code: its index in the layer is its place in `spec.region_codes`."""
    try:
        chosen, indices = event.selection["objects"], event.selection.get("indices") or {}
    except (AttributeError, KeyError, TypeError):
        return None
    for layer_id in layer_ids:
        objects = (chosen or {}).get(layer_id) or []
        if objects and isinstance(objects[0], dict):
            props = objects[0].get("properties", objects[0])
            if props.get("region_code"):
                return props["region_code"]
            where = indices.get(layer_id) or []
            if layer_id == REGION_LAYER_ID and spec is not None and where and 0 <= where[0] < len(spec.region_codes):
                return spec.region_codes[where[0]]
    return None
