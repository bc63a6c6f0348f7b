"""Every colour the app draws with, in one place, for Plotly and pydeck alike (the colour language of
docs/colours.md).

- **Lights** (红黄绿灯) and only lights use red/yellow/green: the Okabe–Ito vermillion, orange and bluish green,
  which the common colour-vision deficiencies can tell apart, and always with a word or symbol beside the colour
  (`LIGHT_SYMBOLS`).
- **How good** (an index, a share, a rate: maps, heatmaps, ranked bars) is one scale from bad to good, `QUALITY`:
  dark warm red (worst) → vermillion → light orange → light blue → pale blue (best). Lightness rises from bad to
  good (33 → 89 L*), so the order survives greyscale and every colour-vision deficiency; bad is warm and salient,
  good is cool and quiet; no green and no yellow, so nothing reads as a light. The metric's direction decides which
  end its high values take (`quality_colours(k, higher_is_better)`).
- **How many** (counts with no good or bad side: item density) is a neutral purple ramp, `DENSITY`.
- **No data** is white with an outline on every map, chart and legend (`NO_DATA_COLOR`): no class is white.
- Series and categories take the Okabe–Ito colours in order (`CATEGORICAL`).
"""
from __future__ import annotations

from collections.abc import Sequence

# Okabe & Ito (2008)
BLACK, ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
GREY, LIGHT_GREY = "#666666", "#999999"
CATEGORICAL = (BLUE, ORANGE, GREEN, PURPLE, SKY_BLUE, VERMILLION, YELLOW, BLACK, LIGHT_GREY)

LIGHT_COLOURS = {"red": VERMILLION, "yellow": ORANGE, "green": GREEN, "none": "#9E9E9E"}
LIGHT_SYMBOLS = {"red": "●", "yellow": "▲", "green": "■", "none": "○"}

# bad → good; CIE L* 33, 50, 66, 77, 89 (tests/test_palette.py holds the order, the hues and the gaps)
QUALITY = ("#9b1426", "#cf4b35", "#e58a5e", "#9fc3e0", "#cfe3f3")
QUALITY_WORSE, QUALITY_BETTER = QUALITY[:3], QUALITY[3:]  # the warm and the cool half (a target sits between)
# few → many (ColorBrewer Purples): counts that are neither good nor bad
DENSITY = ("#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f")
NO_DATA_COLOR = (255, 255, 255, 255)  # white, drawn with an outline; no class of any scale is white
NO_DATA_OUTLINE = "#555555"


def rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def hex_colour(c: Sequence[int]) -> str:
    """"#rrggbb" of an RGB(A) colour."""
    return "#{:02x}{:02x}{:02x}".format(*c[:3])


def rgba(c: Sequence[int] | str, alpha: int = 255) -> tuple[int, int, int, int]:
    """An RGBA tuple of a "#rrggbb" colour (with `alpha`) or of an RGB(A) sequence."""
    if isinstance(c, str):
        return rgb(c) + (alpha,)
    c = tuple(int(x) for x in c)
    return c if len(c) == 4 else c[:3] + (alpha,)


def light_rgba(light: str | None, alpha: int = 235) -> tuple[int, int, int, int]:
    """A light's colour for pydeck (an unknown or missing light is 'none')."""
    return rgba(LIGHT_COLOURS.get(light or "none", LIGHT_COLOURS["none"]), alpha)


def ramp(t: float, stops: Sequence[str] = QUALITY) -> tuple[int, int, int, int]:
    """The colour at t in [0, 1] along `stops` (for QUALITY: 0 the worst, 1 the best), interpolated in sRGB."""
    t = min(max(t, 0.0), 1.0)
    colours = [rgb(s) for s in stops]
    x = t * (len(colours) - 1)
    j = min(int(x), len(colours) - 2)
    a, b = colours[j], colours[j + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * (x - j)) for c in range(3)) + (255,)


def quality_at(t: float, higher_is_better: bool) -> tuple[int, int, int, int]:
    """The colour of a value at position t in [0, 1] of its span (0 the lowest value)."""
    return ramp(t if higher_is_better else 1.0 - t)


def quality_colours(k: int, higher_is_better: bool) -> list[tuple[int, int, int, int]]:
    """k class colours for values from low to high: the low classes are the bad end unless lower is worse."""
    if k < 1:
        return []
    return [quality_at(0.5 if k == 1 else i / (k - 1), higher_is_better) for i in range(k)]


def density_colours(k: int) -> list[tuple[int, int, int, int]]:
    """k colours from few to many (neutral)."""
    if k < 1:
        return []
    return [ramp(0.5 if k == 1 else i / (k - 1), DENSITY) for i in range(k)]


def plotly_scale(higher_is_better: bool, stops: Sequence[str] = QUALITY) -> list[tuple[float, str]]:
    """A Plotly colorscale from the lowest to the highest value: bad → good, or good → bad when lower is better."""
    seq = list(stops) if higher_is_better else list(reversed(stops))
    return [(i / (len(seq) - 1), c) for i, c in enumerate(seq)]
