"""The South China Sea inset (南海诸岛附图), done in geometry: clipping, scaling and moving features into the frame."""
from __future__ import annotations

import math
from functools import lru_cache

from analytics import geo
from analytics.figures.geometry import geometries, merc_y, polygons

# Published maps of China draw the whole South China Sea in a framed inset in the lower right,
# at its own scale, and stop the main map around Hainan. Here it is done in geometry: the parts of
# the features (and the maritime line) inside SCS_SOURCE are clipped, scaled in Web Mercator
# (so shapes keep their proportions) and moved into SCS_TARGET; island parts wholly south of
# MAIN_SOUTH leave the main map. One deck, no second view, no request.

SCS_SOURCE = (106.5, 2.0, 123.5, 25.0)  # west, south, east, north (degrees)
SCS_TARGET_WEST, SCS_TARGET_SOUTH, SCS_TARGET_EAST = 123.6, 16.5, 135.6
MAIN_SOUTH = 17.6  # Hainan's southern tip is at 18.1°N


def _inv_merc(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


_S = (SCS_TARGET_EAST - SCS_TARGET_WEST) / (SCS_SOURCE[2] - SCS_SOURCE[0])  # scale, in Mercator units
SCS_TARGET = (SCS_TARGET_WEST, SCS_TARGET_SOUTH, SCS_TARGET_EAST,
              round(_inv_merc(merc_y(SCS_TARGET_SOUTH) + (merc_y(SCS_SOURCE[3]) - merc_y(SCS_SOURCE[1])) * _S), 4))


def to_inset(lon: float, lat: float) -> tuple[float, float]:
    """Where a point of the South China Sea (inside SCS_SOURCE) is drawn in the inset."""
    x = SCS_TARGET_WEST + (lon - SCS_SOURCE[0]) * _S
    y = _inv_merc(merc_y(SCS_TARGET_SOUTH) + (merc_y(lat) - merc_y(SCS_SOURCE[1])) * _S)
    return round(x, 4), round(y, 4)


def in_inset_only(lon: float, lat: float) -> bool:
    """A point the main map leaves out (south of MAIN_SOUTH, inside the source box): drawn in the inset."""
    w, s, e, _ = SCS_SOURCE
    return lat < MAIN_SOUTH and w <= lon <= e and lat >= s


def clip_ring(ring: list, box: tuple[float, float, float, float]) -> list:
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


def _ring_box(ring: list) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _inset_parts(g: dict) -> list:
    """The polygons of g inside SCS_SOURCE, clipped and moved into the inset."""
    w, s, e, n = SCS_SOURCE
    out = []
    for poly in polygons(g):
        x0, y0, x1, y1 = _ring_box(poly[0])
        if x1 < w or x0 > e or y1 < s or y0 > n:
            continue
        inside = x0 >= w and x1 <= e and y0 >= s and y1 <= n
        rings = [r if inside else clip_ring(r, SCS_SOURCE) for r in poly]
        if not rings[0]:
            continue
        out.append([[list(to_inset(x, y)) for x, y, *_ in r] for r in rings if r])
    return out


@lru_cache(maxsize=6)
def inset_geometries(level: str, precision: int | None, grid: float | None = None,
                      thin: int = 1) -> dict[str, dict]:
    """Like `geometries`, for the national map with the inset: islands wholly south of MAIN_SOUTH
    leave the main map, and every part inside SCS_SOURCE is also drawn, moved, in the inset."""
    out = {}
    for code, g in geometries(level, precision, grid, thin).items():
        main = [poly for poly in polygons(g) if _ring_box(poly[0])[3] >= MAIN_SOUTH]
        parts = main + _inset_parts(g)
        out[code] = {"type": "MultiPolygon", "coordinates": parts} if parts else g
    return out


@lru_cache(maxsize=1)
def inset_maritime() -> tuple[dict, ...]:
    """The maritime line's dashes north of MAIN_SOUTH on the main map, and all of it in the inset."""
    lines = [line for f in geo.maritime_line()["features"] for line in f["geometry"]["coordinates"]]
    main = [[list(p[:2]) for p in line] for line in lines if min(p[1] for p in line) >= MAIN_SOUTH]
    moved = [[list(to_inset(x, y)) for x, y, *_ in line] for line in lines]
    return ({"type": "MultiLineString", "coordinates": main + moved},)
