"""A choropleth drawn as one picture: the national maps of provinces, of every city and of every county (issue 17,
point 14).

Thousands of polygons are too many bytes as GeoJSON (0.5–1.8 MB at any useful precision), and outlines, the
maritime line and the inset's frame are seconds of tessellation for deck.gl in software WebGL (office PCs and VDI
desktops without a GPU), so these maps go to the browser as a paletted PNG covering exactly the deck's view (a
BitmapLayer) under an invisible layer that carries the tooltips and the clicks (`maps._picture_choropleth`). The picture is drawn here in Web Mercator, the projection of deck.gl's map view and of a
BitmapLayer's image, pixel for pixel at the size the map is shown.

What the picture holds, in the colours of analytics/figures/palette.py (docs/colours.md): each region's class
colour; no-data regions white, hatched and outlined (never a class colour); the borders of the level above
(provinces) in the border grey, the country's outline included; the maritime line and the South China Sea inset's
frame. Outside the country it is transparent.

A region's pixels are found once per (level, view, size) and kept (`_labels`): a new metric or filter only
recolours them (a lookup and a PNG encoding, tens of milliseconds).
"""
from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from analytics import geo
from analytics.figures.geometry import geometries, polygons
from analytics.figures.inset import SCS_TARGET, inset_geometries, inset_maritime

TILE = 512  # deck.gl's world is 512 px wide at zoom 0
HATCH_EVERY = 5  # px between the no-data hatch's diagonals


def _world(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    size = TILE * 2 ** zoom
    lat = np.clip(lat, -85.0, 85.0)
    x = (lon + 180.0) / 360.0 * size
    y = (1 - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) / np.pi) / 2 * size
    return x, y


def _lonlat(x: float, y: float, zoom: float) -> tuple[float, float]:
    size = TILE * 2 ** zoom
    lon = x / size * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / size))))
    return lon, lat


def view_bounds(view: tuple[float, float, float], width: int, height: int) -> list[float]:
    """[west, south, east, north] of a deck view (longitude, latitude, zoom) `width` × `height` px."""
    lon, lat, zoom = view
    cx, cy = _world(np.array([lon]), np.array([lat]), zoom)
    west, north = _lonlat(float(cx[0]) - width / 2, float(cy[0]) - height / 2, zoom)
    east, south = _lonlat(float(cx[0]) + width / 2, float(cy[0]) + height / 2, zoom)
    return [round(west, 6), round(south, 6), round(east, 6), round(north, 6)]


def pixel_lonlat(view: tuple[float, float, float], width: int, height: int, x: float, y: float) -> tuple[float, float]:
    """The lon/lat of the view's pixel (x, y) (screen pixels from the top left)."""
    lon, lat, zoom = view
    cx, cy = _world(np.array([lon]), np.array([lat]), zoom)
    return _lonlat(float(cx[0]) - width / 2 + x, float(cy[0]) - height / 2 + y, zoom)


class _Canvas:
    """Lon/lat → pixel of the picture (`scale` pixels per screen pixel)."""

    def __init__(self, view: tuple[float, float, float], width: int, height: int, scale: int):
        self.zoom, self.scale = view[2], scale
        cx, cy = _world(np.array([view[0]]), np.array([view[1]]), view[2])
        self.x0, self.y0 = float(cx[0]) - width / 2, float(cy[0]) - height / 2
        self.size = (width * scale, height * scale)

    def xy(self, ring: Sequence) -> list[tuple[float, float]]:
        a = np.asarray([p[:2] for p in ring], dtype=float)
        x, y = _world(a[:, 0], a[:, 1], self.zoom)
        return list(zip(((x - self.x0) * self.scale).tolist(), ((y - self.y0) * self.scale).tolist()))


@lru_cache(maxsize=12)  # at most 2,800 × 1,120 px (a 1,400 px map drawn 2x): 6 MB each
def _labels(level: str, codes: tuple[str, ...], view: tuple[float, float, float], width: int, height: int,
            scale: int, inset: bool, grid: float | None, thin: int) -> np.ndarray:
    """The picture's pixels as region numbers: 1 + the region's place in `codes`, 0 outside every region.
    Regions are drawn largest first, so an enclave drawn after the region around it keeps its pixels."""
    geoms = (inset_geometries if inset else geometries)(level, None, grid, thin)
    canvas = _Canvas(view, width, height, scale)
    image = Image.new("I", canvas.size, 0)
    draw = ImageDraw.Draw(image)

    def extent(code: str) -> float:
        rings = [poly[0] for poly in polygons(geoms[code])]
        xs = [p[0] for r in rings for p in r]
        ys = [p[1] for r in rings for p in r]
        return (max(xs) - min(xs)) * (max(ys) - min(ys))

    for i, code in sorted(enumerate(codes), key=lambda ic: -extent(ic[1])):
        for poly in polygons(geoms[code]):
            draw.polygon(canvas.xy(poly[0]), fill=i + 1)
            for hole in poly[1:]:
                draw.polygon(canvas.xy(hole), fill=0)
    out = np.asarray(image).astype(np.uint16)  # at most a few thousand regions; a quarter of the memory
    out.flags.writeable = False
    return out


def region_pixels(labels: np.ndarray, n: int) -> np.ndarray:
    """Pixels per region (index 0 = the first code)."""
    return np.bincount(labels.ravel(), minlength=n + 1)[1:n + 1]


def region_centres(labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each region's mean pixel (x, y), for regions without a point of their own."""
    ys, xs = np.indices(labels.shape)
    count = np.maximum(region_pixels(labels, n), 1)
    flat = labels.ravel()
    cx = np.bincount(flat, weights=xs.ravel(), minlength=n + 1)[1:n + 1] / count
    cy = np.bincount(flat, weights=ys.ravel(), minlength=n + 1)[1:n + 1] / count
    return cx, cy


def _edges(ids: np.ndarray) -> np.ndarray:
    """Pixels where `ids` changes to the right or below (a line one pixel wide between two areas)."""
    edge = np.zeros(ids.shape, dtype=bool)
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    edge[:-1, :] |= ids[:-1, :] != ids[1:, :]
    return edge


def labels_for(level: str, codes: Sequence[str], view: tuple[float, float, float], width: int, height: int,
               scale: int, inset: bool, grid: float | None, thin: int) -> np.ndarray:
    return _labels(level, tuple(codes), tuple(view), width, height, scale, inset, grid, thin)


def picture(labels: np.ndarray, fills: Sequence[Sequence[int] | None], group: Sequence[int], *,
            view: tuple[float, float, float], width: int, height: int, scale: int, inset: bool,
            border: Sequence[int], no_data: Sequence[int], maritime: Sequence[int]) -> str:
    """The PNG as a data URI. fills: each region's RGB(A) colour, None for no data (white, hatched, outlined);
    group: each region's number in the level above (its province), whose borders are drawn."""
    n = len(fills)
    palette: list[tuple[int, int, int]] = [(255, 255, 255)]  # 0: outside, transparent
    index: dict[tuple[int, int, int], int] = {}

    def entry(c: Sequence[int]) -> int:
        key = tuple(int(v) for v in c[:3])
        if key not in index:
            if len(palette) >= 256:  # a continuous scale of many regions: the nearest colour already there
                return min(index.values(), key=lambda i: sum((a - b) ** 2 for a, b in zip(palette[i], key)))
            index[key] = len(palette)
            palette.append(key)
        return index[key]

    blank, line, hatch, sea = entry(no_data), entry(border), entry((150, 150, 150)), entry(maritime)
    lut = np.zeros(n + 1, dtype=np.uint8)
    missing = np.zeros(n + 1, dtype=bool)
    for i, c in enumerate(fills):
        if c is None:
            lut[i + 1], missing[i + 1] = blank, True
        else:
            lut[i + 1] = entry(c)
    pixels = lut[labels]
    grey = missing[labels]
    ys, xs = np.indices(labels.shape)
    pixels[grey & ((xs + ys) % (HATCH_EVERY * scale) == 0)] = hatch
    groups = np.concatenate([[-1], np.asarray(group, dtype=np.int64)])[labels]
    outline = _edges(groups) | (_edges(labels) & (grey | np.roll(grey, -1, 1) | np.roll(grey, -1, 0)))
    pixels[outline] = line

    image = Image.fromarray(pixels, mode="P")
    draw = ImageDraw.Draw(image)
    canvas = _Canvas(view, width, height, scale)
    lines = (inset_maritime() if inset else tuple(f["geometry"] for f in geo.maritime_line()["features"]))
    for g in lines:
        for part in g["coordinates"]:
            draw.line(canvas.xy(part), fill=sea, width=2 * scale)
    if inset:
        w, s, e, nn = SCS_TARGET
        draw.line(canvas.xy([[w, s], [e, s], [e, nn], [w, nn], [w, s]]), fill=sea, width=scale)
    flat = [v for rgb in palette for v in rgb]
    image.putpalette(flat + [0] * (768 - len(flat)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, transparency=0)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def decode(image_uri: str) -> np.ndarray:
    """The picture of a data URI as an RGBA array (for tests and checks: what the reader sees)."""
    data = base64.b64decode(image_uri.split(",", 1)[1].strip("'"))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def colour_at(image_uri: str, bounds: Sequence[float], lon: float, lat: float) -> tuple[int, int, int, int]:
    """The picture's colour at (lon, lat), its image covering `bounds` [west, south, east, north] in Web Mercator."""
    rgba = decode(image_uri)
    h, w = rgba.shape[:2]
    west, south, east, north = bounds
    x0, y0 = _world(np.array([west]), np.array([north]), 0)
    x1, y1 = _world(np.array([east]), np.array([south]), 0)
    x, y = _world(np.array([lon]), np.array([lat]), 0)
    col = int((x[0] - x0[0]) / (x1[0] - x0[0]) * w)
    row = int((y[0] - y0[0]) / (y1[0] - y0[0]) * h)
    return tuple(int(v) for v in rgba[min(max(row, 0), h - 1), min(max(col, 0), w - 1)])
