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
import pydeck.bindings.deck as _pydeck_deck
from pydeck.bindings.json_tools import default_serialize

from analytics import geo
from analytics.figures.palette import NO_DATA_COLOR, hex_colour, light_rgba, palette, ramp, rgba

# Every pdk.Deck() asks has_jupyter_extra(), which retries a failing import of pydeck's Jupyter widget each
# time (ipywidgets is not installed): 11% of the server's time in the 30-session load test, mostly waiting
# for the import lock. The answer cannot change while the process runs, so ask once.
if not hasattr(_pydeck_deck.has_jupyter_extra, "cache_info"):
    _pydeck_deck.has_jupyter_extra = lru_cache(maxsize=1)(_pydeck_deck.has_jupyter_extra)

REGION_LAYER_ID = "regions"
MARITIME_LAYER_ID = "maritime-line"
COUNTRY_CODE = "100000"

LINE_COLOR = (110, 110, 110, 200)         # region borders; also keeps tiny islands visible
MARITIME_COLOR = (60, 60, 60, 255)
DEFAULT_CLASSES = 5
# deck.gl's text tooltip: dark text on white, one line per "\n"
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
    reverse: bool = False  # the ramp runs dark → light (low values dark)
    tooltip: Mapping | None = None  # the deck's tooltip ({"text": template, "style": TOOLTIP_STYLE})

    def gradient(self, steps: int = 9) -> list[str]:
        """The continuous ramp from vmin to vmax as "#rrggbb" stops (for a CSS linear-gradient)."""
        return [hex_colour(ramp(i / (steps - 1), self.reverse)) for i in range(steps)]

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


class _CompactDeck(pdk.Deck):
    """pydeck's to_json indents by 2 (a coordinate per line): several times the payload."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize,
                          separators=(",", ":"), ensure_ascii=False)


# --- colours and classes -------------------------------------------------------------------

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


def _round_ring(ring: list, nd: int | None, grid: float | None = None) -> list:
    if nd is None and grid is None:
        return [list(p) for p in ring]
    gd = None if grid is None else max(0, -math.floor(math.log10(grid)) + 1)  # decimals of the grid
    out: list[list[float]] = []
    for x, y, *_ in ring:
        p = ([round(round(x / grid) * grid, gd), round(round(y / grid) * grid, gd)] if grid
             else [round(x, nd), round(y, nd)])
        if not out or p != out[-1]:
            out.append(p)
    if len(out) < 4:  # would collapse (a small island): keep it as it is
        return [list(p) for p in ring]
    return out


def _copy_geometry(g: dict, nd: int | None, grid: float | None = None) -> dict:
    """A new geometry (never the cached one), coordinates rounded to nd decimals (or snapped to grid)."""
    if g["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_round_ring(r, nd, grid) for r in g["coordinates"]]}
    if g["type"] == "MultiPolygon":
        return {"type": "MultiPolygon",
                "coordinates": [[_round_ring(r, nd, grid) for r in poly] for poly in g["coordinates"]]}
    if g["type"] == "MultiLineString":
        return {"type": "MultiLineString", "coordinates": [[list(p) for p in line]
                                                           for line in g["coordinates"]]}
    raise ValueError(f"unsupported geometry {g['type']}")


@lru_cache(maxsize=8)
def _geometries(level: str, precision: int | None, grid: float | None = None, thin: int = 1) -> dict[str, dict]:
    """Rounded copies of a level's geometries (plus the county ones for level='city'), by code.

    thin > 1 keeps about one vertex in `thin` (see `_thin_ring`). Built once per (level, precision,
    grid, thin); the decks share these dicts: never mutate them.
    """
    levels = ("city", "county") if level == "city" else (level,)
    out = {f["properties"]["region_code"]: _copy_geometry(f["geometry"], precision, grid)
           for lv in levels for f in geo.load_boundaries(lv)["features"]}
    if thin > 1:
        seen: dict[tuple, int] = {}
        for g in out.values():
            for poly in _polygons(g):
                for ring in poly:
                    for p in ring[:-1]:
                        seen[tuple(p)] = seen.get(tuple(p), 0) + 1
        out = {code: {"type": "MultiPolygon", "coordinates": [[_thin_ring(r, thin, seen) for r in poly]
                                                             for poly in _polygons(g)]}
               for code, g in out.items()}
    return out


def _thin_ring(ring: list, k: int, seen: Mapping[tuple, int]) -> list:
    """About one vertex in k, chosen by the vertex's own coordinates, so that two neighbours keep the
    same vertices of their shared border (no gaps); corners where three rings meet are always kept,
    and small rings are kept whole. Good enough where a vertex spacing is below a pixel."""
    if len(ring) <= 4 * k:
        return ring
    kept = [p for i, p in enumerate(ring[:-1])
            if i == 0 or seen.get(tuple(p), 0) >= 3
            or hash((p[0], p[1])) % k == 0]  # a float tuple's hash is the same in every process
    return kept + [kept[0]] if len(kept) >= 3 else ring


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

def choropleth(level: str, values: pl.DataFrame, *, parent_code: str | None = None,
               lang: str = "zh", legend_breaks: Sequence[float] | None = None,
               classes: int = DEFAULT_CLASSES,
               no_data_color: Sequence[int] | str = NO_DATA_COLOR,
               tooltip_labels: Mapping[str, str] | None = None,
               value_format: Callable[[float], str] | str = "{:,.2f}",
               precision: int | None = 3, width: int = 700, height: int = 500,
               scale: str = "quantile", reverse: bool = False, grid: float | None = None, thin: int = 1,
               inset: bool = False, rank_label: str | None = None, stroked: bool = True) -> MapSpec:
    """Regions of `level` (under `parent_code`, if given) coloured by `values`.

    values: region_code (str), value (float, null = no data), n (int, may be null); region
    codes not drawn are ignored, drawn regions without a row get the no-data colour.
    legend_breaks: thresholds t1 < … < t(k-1) (k classes); default: `classes` quantile classes
    of the drawn regions' values. tooltip_labels: {"value": …, "n": …} (defaults per lang).
    precision: decimals kept in coordinates (3 ≈ 100 m; None keeps the file's).
    width/height: the chart's expected size in px, only to fit the view.
    scale: "quantile" (classes, `breaks`) or "continuous" (viridis between the drawn min and max).
    reverse: low values dark instead of light (so that "better" reads the same for every metric).
    grid: snap coordinates to a grid of this many degrees instead of rounding to `precision`
    (neighbours snap alike, so borders stay shared). thin: keep about one vertex in `thin`, the
    same ones on both sides of a shared border (3 with precision 2 suits a national county map).
    inset: at national view, draw the South China Sea in a framed inset (see `SCS_SOURCE`).
    rank_label: with a `rank` column in values (null = unranked), the tooltip gains a rank line;
    the tooltip text then comes from each feature's `tip` property (name on the first line).
    stroked: draw each region's outline (software WebGL spends seconds stroking thousands of rings:
    national city/county maps go without, with `border_layer` on top instead).
    """
    text = _TEXT.get(lang, _TEXT["zh"])
    labels = {"value": text["value"], "n": text["n"], **(tooltip_labels or {})}
    fmt = value_format.format if isinstance(value_format, str) else value_format
    no_data = rgba(no_data_color)

    missing = {"region_code", "value", "n"} - set(values.columns)
    if missing:
        raise ValueError(f"values lacks column(s) {', '.join(sorted(missing))}")
    if scale not in ("quantile", "continuous"):
        raise ValueError(f"scale must be quantile or continuous, not {scale!r}")
    with_rank = rank_label is not None and "rank" in values.columns
    rows = values.select(pl.col("region_code").cast(pl.Utf8), pl.col("value").cast(pl.Float64),
                         pl.col("n").cast(pl.Float64),
                         (pl.col("rank") if with_rank else pl.lit(None)).cast(pl.Float64).alias("rank"))
    if rows["region_code"].is_duplicated().any():
        raise ValueError("values has duplicate region_code rows")
    by_code = {c: (v, n) for c, v, n, _ in rows.iter_rows()}
    ranks = {c: r for c, _, _, r in rows.iter_rows()}
    n_ranked = sum(1 for r in ranks.values() if r is not None)

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
    if reverse:
        colors = colors[::-1]
    vmin, vmax = (min(drawn), max(drawn)) if drawn else (None, None)

    def fill(v: float) -> tuple[int, int, int, int]:
        if scale == "continuous":
            return ramp(0.5 if vmax == vmin else (v - vmin) / (vmax - vmin), reverse)
        return colors[class_of(v, breaks)]

    national = parent_code in (None, COUNTRY_CODE)
    inset = inset and national
    geoms = (_inset_geometries(level, precision, grid, thin) if inset
             else _geometries(level, precision, grid, thin))
    out_features = []
    for f in feats:
        p = f["properties"]
        v, n = by_code.get(p["region_code"], (None, None))
        has = v is not None and not math.isnan(v)
        props = {
            "region_code": p["region_code"],
            "name": str(p["name"]),
            "value": v if has else None,
            "value_str": fmt(v) if has else text["no_data"],
            "n_str": "—" if n is None or math.isnan(n) else f"{int(round(n)):,}",
            "fill": list(fill(v) if has else no_data),
        }
        if with_rank:
            r = ranks.get(p["region_code"])
            props["rank_str"] = "—" if r is None else f"{int(r)} / {n_ranked}"
            props["tip"] = (f"{labels['value']}: {props['value_str']}\n{labels['n']}: {props['n_str']}\n"
                            f"{rank_label}: {props['rank_str']}")
        out_features.append({"type": "Feature", "geometry": geoms[p["region_code"]], "properties": props})

    maritime = [{"type": "Feature", "properties": {}, "geometry": g}
                for g in (_inset_maritime() if inset else
                          [_copy_geometry(f["geometry"], None) for f in geo.maritime_line()["features"]])]
    fit_geoms = [f["geometry"] for f in out_features] + (
        [f["geometry"] for f in maritime] if national else [])
    view = fit_view(_bounds(fit_geoms), width, height)
    border = 0.4 if level == "county" and national else 0.8

    regions = pdk.Layer(
        "GeoJsonLayer",
        id=REGION_LAYER_ID,
        data={"type": "FeatureCollection", "features": out_features},
        pickable=True, auto_highlight=True, highlight_color=[255, 255, 255, 90],
        stroked=stroked, filled=True,
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
        "text": "{name}\n{tip}" if with_rank else
                f"{{name}}\n{labels['value']}: {{value_str}}\n{labels['n']}: {{n_str}}",
        "style": TOOLTIP_STYLE,
    }
    deck = _CompactDeck(
        layers=[regions, line] + (inset_layers(lang) if inset else []),
        initial_view_state=view,
        map_provider=None,  # keep map_style's default sentinel: no basemap, no request
        tooltip=tooltip,
    )
    return MapSpec(deck=deck, breaks=tuple(breaks), colors=tuple(colors),
                   no_data_color=no_data, no_data_label=text["no_data"],
                   region_codes=tuple(f["properties"]["region_code"] for f in out_features),
                   scale=scale, vmin=vmin, vmax=vmax, reverse=reverse, tooltip=tooltip)


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


# --- continuous scale ----------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """lo, hi and the round values (1, 2 or 5 × 10^k apart) strictly between them."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    inner = [round(first + i * step, 12) for i in range(int((hi - first) / step) + 1)]
    inner = [v for v in inner if lo + step / 3 < v < hi - step / 3]  # not crowding the ends
    return [lo, *inner, hi]


# --- South China Sea inset (南海诸岛附图) -----------------------------------------------------
# Published maps of China draw the whole South China Sea in a framed inset in the lower right,
# at its own scale, and stop the main map around Hainan. Here it is done in geometry: the parts of
# the features (and the maritime line) inside SCS_SOURCE are clipped, scaled in Web Mercator
# (so shapes keep their proportions) and moved into SCS_TARGET; island parts wholly south of
# MAIN_SOUTH leave the main map. One deck, no second view, no request.

SCS_SOURCE = (106.5, 2.0, 123.5, 25.0)  # west, south, east, north (degrees)
SCS_TARGET_WEST, SCS_TARGET_SOUTH, SCS_TARGET_EAST = 123.6, 16.5, 135.6
MAIN_SOUTH = 17.6  # Hainan's southern tip is at 18.1°N
INSET_FRAME_LAYER_ID = "scs-inset-frame"
INSET_LABEL_LAYER_ID = "scs-inset-label"
_INSET_TEXT = {"zh": "南海诸岛", "en": "South China\nSea Islands"}


def _inv_merc(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


_S = (SCS_TARGET_EAST - SCS_TARGET_WEST) / (SCS_SOURCE[2] - SCS_SOURCE[0])  # scale, in Mercator units
SCS_TARGET = (SCS_TARGET_WEST, SCS_TARGET_SOUTH, SCS_TARGET_EAST,
              round(_inv_merc(_merc_y(SCS_TARGET_SOUTH) + (_merc_y(SCS_SOURCE[3]) - _merc_y(SCS_SOURCE[1])) * _S), 4))


def to_inset(lon: float, lat: float) -> tuple[float, float]:
    """Where a point of the South China Sea (inside SCS_SOURCE) is drawn in the inset."""
    x = SCS_TARGET_WEST + (lon - SCS_SOURCE[0]) * _S
    y = _inv_merc(_merc_y(SCS_TARGET_SOUTH) + (_merc_y(lat) - _merc_y(SCS_SOURCE[1])) * _S)
    return round(x, 4), round(y, 4)


def in_inset_only(lon: float, lat: float) -> bool:
    """A point the main map leaves out (south of MAIN_SOUTH, inside the source box): drawn in the inset."""
    w, s, e, _ = SCS_SOURCE
    return lat < MAIN_SOUTH and w <= lon <= e and lat >= s


def _clip_ring(ring: list, box: tuple[float, float, float, float]) -> list:
    """Sutherland–Hodgman clip of a closed ring to an axis-aligned box (fine for filling)."""
    w, s, e, n = box
    pts = [tuple(p[:2]) for p in ring[:-1]] if ring and ring[0] == ring[-1] else [tuple(p[:2]) for p in ring]
    edges = ((lambda p: p[0] >= w, lambda a, b: _cut_x(a, b, w)), (lambda p: p[0] <= e, lambda a, b: _cut_x(a, b, e)),
             (lambda p: p[1] >= s, lambda a, b: _cut_y(a, b, s)), (lambda p: p[1] <= n, lambda a, b: _cut_y(a, b, n)))
    for inside, cut in edges:
        if not pts:
            break
        out, prev = [], pts[-1]
        for cur in pts:
            if inside(cur):
                if not inside(prev):
                    out.append(cut(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cut(prev, cur))
            prev = cur
        pts = out
    return [list(p) for p in pts] + [list(pts[0])] if len(pts) >= 3 else []


def _cut_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return x, a[1] + t * (b[1] - a[1])


def _cut_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return a[0] + t * (b[0] - a[0]), y


def _polygons(g: dict) -> list:
    return [g["coordinates"]] if g["type"] == "Polygon" else list(g["coordinates"])


def _ring_box(ring: list) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _inset_parts(g: dict) -> list:
    """The polygons of g inside SCS_SOURCE, clipped and moved into the inset."""
    w, s, e, n = SCS_SOURCE
    out = []
    for poly in _polygons(g):
        x0, y0, x1, y1 = _ring_box(poly[0])
        if x1 < w or x0 > e or y1 < s or y0 > n:
            continue
        inside = x0 >= w and x1 <= e and y0 >= s and y1 <= n
        rings = [r if inside else _clip_ring(r, SCS_SOURCE) for r in poly]
        if not rings[0]:
            continue
        out.append([[list(to_inset(x, y)) for x, y, *_ in r] for r in rings if r])
    return out


@lru_cache(maxsize=6)
def _inset_geometries(level: str, precision: int | None, grid: float | None = None,
                      thin: int = 1) -> dict[str, dict]:
    """Like `_geometries`, for the national map with the inset: islands wholly south of MAIN_SOUTH
    leave the main map, and every part inside SCS_SOURCE is also drawn, moved, in the inset."""
    out = {}
    for code, g in _geometries(level, precision, grid, thin).items():
        main = [poly for poly in _polygons(g) if _ring_box(poly[0])[3] >= MAIN_SOUTH]
        parts = main + _inset_parts(g)
        out[code] = {"type": "MultiPolygon", "coordinates": parts} if parts else g
    return out


@lru_cache(maxsize=1)
def _inset_maritime() -> tuple[dict, ...]:
    """The maritime line's dashes north of MAIN_SOUTH on the main map, and all of it in the inset."""
    lines = [line for f in geo.maritime_line()["features"] for line in f["geometry"]["coordinates"]]
    main = [[list(p[:2]) for p in line] for line in lines if min(p[1] for p in line) >= MAIN_SOUTH]
    moved = [[list(to_inset(x, y)) for x, y, *_ in line] for line in lines]
    return ({"type": "MultiLineString", "coordinates": main + moved},)


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

    rows: position [lon, lat], light, n, name, tip (the tooltip's text below the name), region_code.
    """
    top = max((r["n"] for r in rows), default=1) or 1
    data = [{**r, "radius": round(max(2.0, max_radius_px * math.sqrt(r["n"] / top)), 2),
             "color": list(light_rgba(r["light"]))}
            for r in sorted(rows, key=lambda r: -r["n"])]
    return pdk.Layer("ScatterplotLayer", id=POINTS_LAYER_ID, data=data, pickable=True, stroked=True,
                     filled=True, get_position="position", get_radius="radius", radius_units="'pixels'",
                     get_fill_color="color", get_line_color=[255, 255, 255, 255], line_width_min_pixels=1)


def hexagon_layer(rows: Sequence[Mapping], radius_m: float) -> pdk.Layer:
    """Hexagon density of items (weights `n` at `position`), on the light → dark ramp (darker = more)."""
    return pdk.Layer("HexagonLayer", id=HEXAGON_LAYER_ID, data=[{"position": r["position"], "n": r["n"]} for r in rows],
                     pickable=False, extruded=False, radius=radius_m, coverage=0.9, opacity=0.85,
                     get_position="position", get_color_weight="n", color_aggregation="'SUM'",
                     get_elevation_weight="n", elevation_aggregation="'SUM'", gpu_aggregation=False,
                     color_range=[list(c[:3]) for c in palette(6)])


BORDER_LAYER_ID = "borders"


@lru_cache(maxsize=4)
def _border_paths(level: str, precision: int | None, thin: int, inset: bool, min_vertices: int) -> tuple:
    geoms = (_inset_geometries if inset else _geometries)(level, precision, None, thin)
    codes = {f["properties"]["region_code"] for f in geo.load_boundaries(level)["features"]}
    return tuple({"path": ring} for code, g in geoms.items() if code in codes
                 for poly in _polygons(g) for ring in poly[:1] if len(ring) >= min_vertices)


def border_layer(level: str = "province", *, precision: int | None = 2, thin: int = 4, inset: bool = True,
                 min_vertices: int = 12, width_px: float = 0.8) -> pdk.Layer:
    """The outlines of one level's regions as one PathLayer (outer rings of min_vertices or more: the
    small islands, which a border would only blot, are left to their fill)."""
    return pdk.Layer("PathLayer", id=BORDER_LAYER_ID, data=list(_border_paths(level, precision, thin, inset, min_vertices)),
                     pickable=False, get_path="path", get_color=list(LINE_COLOR), width_units="'pixels'",
                     get_width=width_px, width_min_pixels=width_px)


def with_layers(spec: MapSpec, extra: Sequence[pdk.Layer], tooltip: Mapping | None = None) -> pdk.Deck:
    """The spec's deck with `extra` layers drawn between the regions and the maritime line."""
    first, rest = spec.deck.layers[0], list(spec.deck.layers[1:])
    return _CompactDeck(layers=[first, *extra, *rest], initial_view_state=spec.deck.initial_view_state,
                        map_provider=None, tooltip=tooltip or spec.tooltip)


def selected_code(event, layer_ids: Sequence[str] = (REGION_LAYER_ID, POINTS_LAYER_ID)) -> str | None:
    """region_code of the clicked region or point (the first of `layer_ids` with a selection)."""
    try:
        chosen = event.selection["objects"]
    except (AttributeError, KeyError, TypeError):
        return None
    for layer_id in layer_ids:
        objects = (chosen or {}).get(layer_id) or []
        if objects and isinstance(objects[0], dict):
            props = objects[0].get("properties", objects[0])
            if props.get("region_code"):
                return props["region_code"]
    return None
