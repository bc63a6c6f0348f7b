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
``event.selection["objects"][REGION_LAYER_ID][0]["properties"]["region_code"]``
(see `selected_region_code`).

No streamlit import here: the module is tested without a running app.
"""
from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from . import geo

REGION_LAYER_ID = "regions"
MARITIME_LAYER_ID = "maritime-line"
COUNTRY_CODE = "100000"

# viridis (matplotlib), 9 evenly spaced stops from dark purple to yellow: colour-blind safe,
# perceptually uniform, readable in greyscale.
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
           "#28ae80", "#5ec962", "#addc30", "#fde725")
NO_DATA_COLOR = (214, 214, 214, 255)      # neutral light grey, not on the viridis ramp
LINE_COLOR = (110, 110, 110, 200)         # region borders; also keeps tiny islands visible
MARITIME_COLOR = (60, 60, 60, 255)
DEFAULT_CLASSES = 5

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

    def legend(self, fmt: Callable[[float], str] | str = "{:,.2f}") -> list[tuple[str, str]]:
        """(label, "#rrggbb") per class, lowest first, then the no-data entry."""
        f = fmt.format if isinstance(fmt, str) else fmt
        b = [f(x) for x in self.breaks]
        if not b:
            labels = ["—"] if self.colors else []
        else:
            labels = [f"< {b[0]}"] + [f"{lo} – {hi}" for lo, hi in zip(b, b[1:])] + [f"≥ {b[-1]}"]
        rows = [(label, _hex(c)) for label, c in zip(labels, self.colors)]
        return rows + [(self.no_data_label, _hex(self.no_data_color))]


class _CompactDeck(pdk.Deck):
    """pydeck's to_json indents by 2 (a coordinate per line): several times the payload."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize,
                          separators=(",", ":"), ensure_ascii=False)


# --- colours and classes -------------------------------------------------------------------

def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _hex(c: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c[:3])


def palette(k: int, stops: Sequence[str] = VIRIDIS) -> list[tuple[int, int, int, int]]:
    """k colours from light (low) to dark (high), interpolated on the stops (viridis reversed)."""
    if k < 1:
        return []
    ramp = [_rgb(s) for s in reversed(stops)]  # yellow → purple: darker means more
    out = []
    for i in range(k):
        pos = 0.5 if k == 1 else i / (k - 1)
        x = pos * (len(ramp) - 1)
        j = min(int(x), len(ramp) - 2)
        t = x - j
        a, b = ramp[j], ramp[j + 1]
        out.append(tuple(round(a[c] + (b[c] - a[c]) * t) for c in range(3)) + (255,))
    return out


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, Hyndman–Fan type 7)."""
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def quantile_breaks(values: Sequence[float], classes: int = DEFAULT_CLASSES) -> list[float]:
    """Thresholds t1..t(k-1) at the i/k quantiles; ties merged, no empty lowest class."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals or classes < 2:
        return []
    k = min(classes, len(set(vals)))
    out: list[float] = []
    for i in range(1, k):
        t = _quantile(vals, i / k)
        if t > vals[0] and (not out or t > out[-1]):
            out.append(t)
    return out


def class_of(value: float, breaks: Sequence[float]) -> int:
    return bisect.bisect_right(list(breaks), value)


# --- features ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _parents() -> dict[str, str | None]:
    r = geo.regions_frame()
    return dict(zip(r["region_code"].to_list(), r["parent_code"].to_list()))


@lru_cache(maxsize=1)
def _levels() -> dict[str, str]:
    r = geo.regions_frame()
    return dict(zip(r["region_code"].to_list(), r["level"].to_list()))


def _is_under(code: str, ancestor: str) -> bool:
    parents = _parents()
    p = parents.get(code)
    while p is not None:
        if p == ancestor:
            return True
        p = parents.get(p)
    return False


def region_features(level: str, parent_code: str | None = None) -> list[dict]:
    """The cached boundary features of `level` under `parent_code` (None/100000: all).

    level='city' also takes the county-level units hanging directly under a province
    (municipalities' districts, 省直辖县级行政单位), as geo.children_of does, so a province
    or the country has no holes. The features are geo's shared dicts: do not mutate them.
    """
    if level not in geo.LEVELS:
        raise ValueError(f"level must be one of {', '.join(geo.LEVELS)}, not {level!r}")
    feats = list(geo.load_boundaries(level)["features"])
    if level == "city":
        lv = _levels()
        feats += [f for f in geo.load_boundaries("county")["features"]
                  if lv.get(f["properties"]["parent_code"]) == "province"]
    if parent_code not in (None, COUNTRY_CODE):
        feats = [f for f in feats if _is_under(f["properties"]["region_code"], parent_code)]
    return feats


def _round_ring(ring: list, nd: int | None) -> list:
    if nd is None:
        return [list(p) for p in ring]
    out: list[list[float]] = []
    for x, y, *_ in ring:
        p = [round(x, nd), round(y, nd)]
        if not out or p != out[-1]:
            out.append(p)
    if len(out) < 4:  # would collapse (a small island): keep it as it is
        return [list(p) for p in ring]
    return out


def _copy_geometry(g: dict, nd: int | None) -> dict:
    """A new geometry (never the cached one), coordinates rounded to nd decimals."""
    if g["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_round_ring(r, nd) for r in g["coordinates"]]}
    if g["type"] == "MultiPolygon":
        return {"type": "MultiPolygon",
                "coordinates": [[_round_ring(r, nd) for r in poly] for poly in g["coordinates"]]}
    if g["type"] == "MultiLineString":
        return {"type": "MultiLineString", "coordinates": [[list(p) for p in line]
                                                           for line in g["coordinates"]]}
    raise ValueError(f"unsupported geometry {g['type']}")


@lru_cache(maxsize=8)
def _geometries(level: str, precision: int | None) -> dict[str, dict]:
    """Rounded copies of a level's geometries (plus the county ones for level='city'), by code.

    Built once per (level, precision); the decks share these dicts: never mutate them.
    """
    levels = ("city", "county") if level == "city" else (level,)
    return {f["properties"]["region_code"]: _copy_geometry(f["geometry"], precision)
            for lv in levels for f in geo.load_boundaries(lv)["features"]}


def _points(g: dict):
    if g["type"] == "Polygon":
        for ring in g["coordinates"][:1]:
            yield from ring
    elif g["type"] == "MultiPolygon":
        for poly in g["coordinates"]:
            yield from poly[0]
    elif g["type"] == "MultiLineString":
        for line in g["coordinates"]:
            yield from line


def _merc_y(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def fit_view(bounds: tuple[float, float, float, float], width: int = 700, height: int = 500,
             padding: float = 0.06) -> pdk.ViewState:
    """A Web Mercator view showing bounds (west, south, east, north) in width × height px."""
    w, s, e, n = bounds
    dx = max(e - w, 1e-6) / 360.0
    dy = max(_merc_y(n) - _merc_y(s), 1e-6) / (2 * math.pi)
    usable_w, usable_h = width * (1 - 2 * padding), height * (1 - 2 * padding)
    zoom = math.log2(min(usable_w / (512 * dx), usable_h / (512 * dy)))
    cy = (_merc_y(n) + _merc_y(s)) / 2
    lat = math.degrees(2 * math.atan(math.exp(cy)) - math.pi / 2)
    return pdk.ViewState(longitude=round((w + e) / 2, 5), latitude=round(lat, 5),
                         zoom=round(max(min(zoom, 16.0), 0.0), 3), pitch=0, bearing=0)


def _bounds(geoms: Sequence[dict]) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for g in geoms:
        for x, y, *_ in _points(g):
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


# --- the map -------------------------------------------------------------------------------

def _to_rgba(c: Sequence[int] | str) -> tuple[int, int, int, int]:
    if isinstance(c, str):
        return _rgb(c) + (255,)
    c = tuple(int(x) for x in c)
    return c if len(c) == 4 else c[:3] + (255,)


def choropleth(level: str, values: pl.DataFrame, *, parent_code: str | None = None,
               lang: str = "zh", legend_breaks: Sequence[float] | None = None,
               classes: int = DEFAULT_CLASSES,
               no_data_color: Sequence[int] | str = NO_DATA_COLOR,
               tooltip_labels: Mapping[str, str] | None = None,
               value_format: Callable[[float], str] | str = "{:,.2f}",
               precision: int | None = 3, width: int = 700, height: int = 500) -> MapSpec:
    """Regions of `level` (under `parent_code`, if given) coloured by `values`.

    values: region_code (str), value (float, null = no data), n (int, may be null); region
    codes not drawn are ignored, drawn regions without a row get the no-data colour.
    legend_breaks: thresholds t1 < … < t(k-1) (k classes); default: `classes` quantile classes
    of the drawn regions' values. tooltip_labels: {"value": …, "n": …} (defaults per lang).
    precision: decimals kept in coordinates (3 ≈ 100 m; None keeps the file's).
    width/height: the chart's expected size in px, only to fit the view.
    """
    text = _TEXT.get(lang, _TEXT["zh"])
    labels = {"value": text["value"], "n": text["n"], **(tooltip_labels or {})}
    fmt = value_format.format if isinstance(value_format, str) else value_format
    no_data = _to_rgba(no_data_color)

    missing = {"region_code", "value", "n"} - set(values.columns)
    if missing:
        raise ValueError(f"values lacks column(s) {', '.join(sorted(missing))}")
    rows = values.select(pl.col("region_code").cast(pl.Utf8), pl.col("value").cast(pl.Float64),
                         pl.col("n").cast(pl.Float64))
    if rows["region_code"].is_duplicated().any():
        raise ValueError("values has duplicate region_code rows")
    by_code = {c: (v, n) for c, v, n in rows.iter_rows()}

    feats = region_features(level, parent_code)
    if not feats:
        raise ValueError(f"no {level} boundaries under {parent_code}")
    drawn = [by_code.get(f["properties"]["region_code"], (None, None))[0] for f in feats]
    drawn = [v for v in drawn if v is not None and not math.isnan(v)]

    if legend_breaks is not None:
        breaks = [float(b) for b in legend_breaks]
        if any(b >= c for b, c in zip(breaks, breaks[1:])):
            raise ValueError("legend_breaks must be strictly increasing")
    else:
        breaks = quantile_breaks(drawn, classes)
    colors = palette(len(breaks) + 1) if (drawn or legend_breaks is not None) else []

    geoms = _geometries(level, precision)
    out_features = []
    for f in feats:
        p = f["properties"]
        v, n = by_code.get(p["region_code"], (None, None))
        has = v is not None and not math.isnan(v)
        out_features.append({
            "type": "Feature",
            "geometry": geoms[p["region_code"]],
            "properties": {
                "region_code": p["region_code"],
                "name": str(p["name"]),
                "value": v if has else None,
                "value_str": fmt(v) if has else text["no_data"],
                "n_str": "—" if n is None or math.isnan(n) else f"{int(round(n)):,}",
                "fill": list(colors[class_of(v, breaks)] if has else no_data),
            },
        })

    national = parent_code in (None, COUNTRY_CODE)
    maritime = [{"type": "Feature", "properties": {},
                 "geometry": _copy_geometry(f["geometry"], None)}
                for f in geo.maritime_line()["features"]]
    fit_geoms = [f["geometry"] for f in out_features] + (
        [f["geometry"] for f in maritime] if national else [])
    view = fit_view(_bounds(fit_geoms), width, height)
    border = 0.4 if level == "county" and national else 0.8

    regions = pdk.Layer(
        "GeoJsonLayer",
        id=REGION_LAYER_ID,
        data={"type": "FeatureCollection", "features": out_features},
        pickable=True, auto_highlight=True, highlight_color=[255, 255, 255, 90],
        stroked=True, filled=True,
        get_fill_color="properties.fill",  # pydeck turns it into "@@=properties.fill"
        get_line_color=list(LINE_COLOR),
        line_width_units="'pixels'",  # quoted: a literal, not an expression
        get_line_width=border, line_width_min_pixels=border,
    )
    line = pdk.Layer(  # last = on top; width in pixels so it stays visible at country zoom
        "GeoJsonLayer",
        id=MARITIME_LAYER_ID,
        data={"type": "FeatureCollection", "features": maritime},
        pickable=False, stroked=True, filled=False,
        get_line_color=list(MARITIME_COLOR),
        line_width_units="'pixels'", get_line_width=2, line_width_min_pixels=2,
    )
    tooltip = {
        "text": f"{{name}}\n{labels['value']}: {{value_str}}\n{labels['n']}: {{n_str}}",
        "style": {"backgroundColor": "#ffffff", "color": "#1b1f24", "fontSize": "13px",
                  "border": "1px solid #c8ced6", "whiteSpace": "pre-line"},
    }
    deck = _CompactDeck(
        layers=[regions, line],
        initial_view_state=view,
        map_provider=None,  # keep map_style's default sentinel: no basemap, no request
        tooltip=tooltip,
    )
    return MapSpec(deck=deck, breaks=tuple(breaks), colors=tuple(colors),
                   no_data_color=no_data, no_data_label=text["no_data"],
                   region_codes=tuple(f["properties"]["region_code"] for f in out_features))


def selected_region_code(event) -> str | None:
    """region_code of the clicked region from st.pydeck_chart(..., on_select="rerun")."""
    try:
        objects = event.selection["objects"].get(REGION_LAYER_ID) or []
    except (AttributeError, KeyError, TypeError):
        return None
    if not objects:
        return None
    obj = objects[0]
    props = obj.get("properties", obj) if isinstance(obj, dict) else {}
    return props.get("region_code")
