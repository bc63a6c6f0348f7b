"""The deck as plain data: slides with a title, a narrative, KPI cards, tables and chart series.

The presenter page, the PPTX writer and the PDF writer all draw the same `Deck`; none of them computes
a number. Chart values are raw numbers (shares as 0–1) so that an exported chart stays editable and a
test can compare it with the metrics functions' output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Card:
    """One KPI: its label, value and change as shown, n, and words for how it moved and against target."""

    label: str
    value: str
    change: str = ""      # e.g. "▲ +1.2 个百分点 变差" (never colour alone)
    note: str = ""        # n, target verdict
    tone: str = "flat"    # better | worse | flat (the page may colour it, the words already say it)


@dataclass(frozen=True)
class Mark:
    """An event note on a chart (analytics/annotations.py): its number, the categories it covers, the note in one
    plain line (every writer shows the line as text under the chart)."""

    label: str                                  # "①"
    first: int                                  # index of the first category the note's dates fall in
    last: int
    line: str


@dataclass(frozen=True)
class Chart:
    kind: str                                   # bar (horizontal ranking) | column | line
    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    unit: str = "count"                         # share (0–1) | count | score
    note: str = ""
    marks: tuple[Mark, ...] = ()                # event notes on a time chart

    def category_labels(self) -> list[str]:
        """The categories with the numbers of the notes that start in them ("第49周 ①")."""
        out = list(self.categories)
        for m in self.marks:
            out[m.first] += (" " if out[m.first] == self.categories[m.first] else "") + m.label
        return out


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]           # every row, as shown; a writer pages or trims them
    shown: int = 8                              # rows on a slide; the PDF continues on further pages
    note: str = ""
    item_ids: tuple[str, ...] = ()              # project_id per row, when rows are items


@dataclass(frozen=True)
class Note:
    text: str
    saved_by: str
    saved_at: str


@dataclass(frozen=True)
class Slide:
    key: str
    title: str
    narrative: str
    cards: tuple[Card, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[Chart, ...] = ()
    empty: str = ""                             # said instead of content when there is nothing to show
    note: Note | None = None                    # this meeting's note for the slide
    previous_note: Note | None = None           # the last meeting of the series' note for it


@dataclass(frozen=True)
class Deck:
    lang: str
    title: str
    subtitle: str
    footer: str                                 # filters · as-of · data version · comparison: on every slide
    as_of: date
    previous_as_of: date
    version: int
    preset: str
    slides: tuple[Slide, ...] = field(default=())
    previous_meeting: date | None = None        # the last meeting of the series with notes, if any

    def slide(self, key: str) -> Slide:
        return next(s for s in self.slides if s.key == key)
