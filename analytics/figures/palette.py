"""Every colour the app draws with, in one place, for Plotly and pydeck alike.

- Lights (红黄绿灯) use the field's red/yellow/green in the Okabe–Ito palette, which the common colour-vision
  deficiencies can tell apart, and always with a word or symbol beside the colour (`LIGHT_SYMBOLS`).
- Series and categories take the Okabe–Ito colours in order (`CATEGORICAL`).
- Continuous and classed scales use viridis (maps) and cividis (heatmaps): perceptually uniform and readable in
  greyscale. No-data is a neutral grey that is on neither ramp.
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

# viridis (matplotlib), 9 evenly spaced stops from dark purple to yellow
VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725")
# plotly's cividis, dark to light
CIVIDIS_STOPS = ("#00224e", "#123570", "#3b496c", "#575d6d", "#707173", "#8a8678", "#a59c74", "#c3b369", "#e1cc55",
                 "#fee838")
NO_DATA_COLOR = (214, 214, 214, 255)  # neutral light grey, on neither ramp


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


def ramp(t: float, reverse: bool = False, stops: Sequence[str] = VIRIDIS) -> tuple[int, int, int, int]:
    """The colour at t in [0, 1] on the light → dark ramp of `palette` (dark → light if reverse)."""
    t = min(max(1.0 - t if reverse else t, 0.0), 1.0)
    colours = [rgb(s) for s in reversed(stops)]
    x = t * (len(colours) - 1)
    j = min(int(x), len(colours) - 2)
    a, b = colours[j], colours[j + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * (x - j)) for c in range(3)) + (255,)


def palette(k: int, stops: Sequence[str] = VIRIDIS) -> list[tuple[int, int, int, int]]:
    """k colours from light (low) to dark (high), interpolated on the stops (viridis reversed)."""
    if k < 1:
        return []
    return [ramp(0.5 if k == 1 else i / (k - 1), stops=stops) for i in range(k)]
