"""Date axes in the reader's words (issue 17): "2026年7月" / "Jul 2026", never the codes "2026-07" or "07-01".

Plotly's own month names are English only, so the Chinese formats write months and days as numbers with their
characters (d3 time formats: `%-m月%-d日`), and the English ones use d3's English month names. The format follows
the tick spacing Plotly chooses for the chart's width (`tickformatstops`): days while ticks are days or weeks
apart, months while they are months apart, years beyond.
"""
from __future__ import annotations

DAY_MS = 86_400_000
# a legend under a chart, from the left, at the foot of the whole figure (not of the plot area): placed at the
# plot's foot, it sat over the date labels once a phone's narrow chart tilted them (the item page, issue 17)
LEGEND_BELOW = dict(orientation="h", yref="container", y=0, yanchor="bottom", xanchor="left", x=0)

_FORMATS = {  # (ticks under a month apart, ticks a month to a year apart, a year or more apart, hover)
    "zh": ("%-m月%-d日", "%Y年%-m月", "%Y年", "%Y年%-m月%-d日"),
    "en": ("%-d %b", "%b %Y", "%Y", "%-d %b %Y"),
}


def date_axis(lang: str) -> dict:
    """Keyword arguments for `fig.update_xaxes` (or a `yaxis=` dict) on a date axis, in `lang`."""
    day, month, year, hover = _FORMATS["zh" if lang == "zh" else "en"]
    return dict(tickformatstops=[dict(dtickrange=[None, 28 * DAY_MS], value=day),
                                 dict(dtickrange=[28 * DAY_MS, "M6"], value=month),
                                 dict(dtickrange=["M12", None], value=year)],
                hoverformat=hover)


def hover_day(lang: str) -> str:
    """A hovertemplate's date of the point's x, e.g. "%{x|%Y年%-m月%-d日}"."""
    return "%{x|" + _FORMATS["zh" if lang == "zh" else "en"][3] + "}"
