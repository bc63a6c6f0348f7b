"""Region boundaries for drawing: the features of a level under a region, simplified and rounded per zoom level,
and the view that fits them. Reads the committed boundary files through `analytics.geo`; draws nothing."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache

import pydeck as pdk

from analytics import geo

COUNTRY_CODE = "100000"
# islands south of this latitude are the South China Sea's (drawn again in the national map's inset): never dropped
KEEP_ISLANDS_SOUTH_OF = 17.6

@lru_cache(maxsize=1)
def _parents() -> dict[str, str | None]:
    r = geo.regions_frame()
    return dict(zip(r["region_code"].to_list(), r["parent_code"].to_list()))


@lru_cache(maxsize=1)
def _levels() -> dict[str, str]:
    r = geo.regions_frame()
    return dict(zip(r["region_code"].to_list(), r["level"].to_list()))


def is_under(code: str, ancestor: str) -> bool:
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
        feats = [f for f in feats if is_under(f["properties"]["region_code"], parent_code)]
    return feats


def _round_ring(ring: list, nd: int | None, grid: float | None = None) -> list | None:
    """The ring rounded to nd decimals, or snapped to `grid` without repeated vertices. A ring that snapping
    collapses (smaller than a grid cell: below a pixel at the zoom the grid was chosen for) is None when it lies
    north of KEEP_ISLANDS_SOUTH_OF (the caller drops it: generalisation, as on any small-scale map), else kept as
    a small ring."""
    if nd is None and grid is None:
        return [list(p) for p in ring]
    gd = None if grid is None else _grid_decimals(grid)
    out: list[list[float]] = []
    for x, y, *_ in ring:
        p = ([round(round(x / grid) * grid, gd), round(round(y / grid) * grid, gd)] if grid
             else [round(x, nd), round(y, nd)])
        if not out or p != out[-1]:
            out.append(p)
    if len(out) < 4:  # would collapse: a small island, below a grid cell
        if grid is not None and min(p[1] for p in ring) >= KEEP_ISLANDS_SOUTH_OF:
            return None
        return _small_ring(ring, _small_decimals(grid))  # its outline keeps it visible
    return out


def _grid_decimals(grid: float) -> int:
    """Decimals that print a multiple of `grid` exactly."""
    return max(0, -math.floor(math.log10(grid)) + 1)


def _small_decimals(grid: float | None) -> int:
    """Decimals of a ring below a grid cell: ten times finer than the grid (3, ≈ 100 m, without one)."""
    return 3 if grid is None else _grid_decimals(grid) + 1


def _round_polygons(polys: list, nd: int | None, grid: float | None) -> list:
    """Polygons (outer ring, holes) rounded or snapped; those whose outer ring collapsed are left out, but a
    region always keeps its largest polygon."""
    out = []
    for poly in polys:
        outer = _round_ring(poly[0], nd, grid)
        if outer is not None:
            out.append([outer] + [r for r in (_round_ring(h, nd, grid) for h in poly[1:]) if r is not None])
    if not out:
        largest = max(polys, key=lambda p: len(p[0]))
        out = [[_small_ring(largest[0], _small_decimals(grid))]]
    return out


def _small_ring(ring: list, nd: int) -> list:
    """A ring too small for the grid: at most 6 distinct vertices (its shape is below a pixel), rounded to nd
    decimals; as it is (rounded to 5) when even that collapses it."""
    step = max(1, (len(ring) - 1) // 6)
    out: list[list[float]] = []
    for x, y, *_ in ring[:-1:step]:
        p = [round(x, nd), round(y, nd)]
        if not out or p != out[-1]:
            out.append(p)
    if len(out) < 3:
        return [[round(x, 5), round(y, 5)] for x, y, *_ in ring]
    return out + [out[0]]


def copy_geometry(g: dict, nd: int | None, grid: float | None = None) -> dict:
    """A new geometry (never the cached one), coordinates rounded to nd decimals (or snapped to grid)."""
    if g["type"] == "Polygon":
        polys = _round_polygons([g["coordinates"]], nd, grid)
        return {"type": "Polygon", "coordinates": polys[0]} if len(polys) == 1 else \
            {"type": "MultiPolygon", "coordinates": polys}
    if g["type"] == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": _round_polygons(g["coordinates"], nd, grid)}
    if g["type"] == "MultiLineString":
        return {"type": "MultiLineString", "coordinates": [[list(p) for p in line]
                                                           for line in g["coordinates"]]}
    raise ValueError(f"unsupported geometry {g['type']}")


@lru_cache(maxsize=8)
def geometries(level: str, precision: int | None, grid: float | None = None, thin: int = 1) -> dict[str, dict]:
    """Rounded copies of a level's geometries (plus the county ones for level='city'), by code.

    thin > 1 keeps about one vertex in `thin` (see `_thin_ring`). Built once per (level, precision,
    grid, thin); the decks share these dicts: never mutate them.
    """
    levels = ("city", "county") if level == "city" else (level,)
    out = {f["properties"]["region_code"]: copy_geometry(f["geometry"], precision, grid)
           for lv in levels for f in geo.load_boundaries(lv)["features"]}
    if thin > 1:
        seen: dict[tuple, int] = {}
        for g in out.values():
            for poly in polygons(g):
                for ring in poly:
                    for p in ring[:-1]:
                        seen[tuple(p)] = seen.get(tuple(p), 0) + 1
        out = {code: {"type": "MultiPolygon", "coordinates": [[_thin_ring(r, thin, seen) for r in poly]
                                                             for poly in polygons(g)]}
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


def points(g: dict):
    if g["type"] == "Polygon":
        for ring in g["coordinates"][:1]:
            yield from ring
    elif g["type"] == "MultiPolygon":
        for poly in g["coordinates"]:
            yield from poly[0]
    elif g["type"] == "MultiLineString":
        for line in g["coordinates"]:
            yield from line


def polygons(g: dict) -> list:
    return [g["coordinates"]] if g["type"] == "Polygon" else list(g["coordinates"])


def merc_y(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def fit_view(bounds: tuple[float, float, float, float], width: int = 700, height: int = 500,
             padding: float = 0.06) -> pdk.ViewState:
    """A Web Mercator view showing bounds (west, south, east, north) in width × height px."""
    w, s, e, n = bounds
    dx = max(e - w, 1e-6) / 360.0
    dy = max(merc_y(n) - merc_y(s), 1e-6) / (2 * math.pi)
    usable_w, usable_h = width * (1 - 2 * padding), height * (1 - 2 * padding)
    zoom = math.log2(min(usable_w / (512 * dx), usable_h / (512 * dy)))
    cy = (merc_y(n) + merc_y(s)) / 2
    lat = math.degrees(2 * math.atan(math.exp(cy)) - math.pi / 2)
    return pdk.ViewState(longitude=round((w + e) / 2, 5), latitude=round(lat, 5),
                         zoom=round(max(min(zoom, 16.0), 0.0), 3), pitch=0, bearing=0)


def bounds(geoms: Sequence[dict]) -> tuple[float, float, float, float]:
    xs, ys = [], []
    for g in geoms:
        for x, y, *_ in points(g):
            xs.append(x)
            ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)
