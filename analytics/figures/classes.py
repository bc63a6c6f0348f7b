"""Classes and ticks of a map's or a chart's legend: quantile breaks, the class of a value, round tick values."""
from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

DEFAULT_CLASSES = 5
# deck.gl's text tooltip: dark text on white, one line per "\n"


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
