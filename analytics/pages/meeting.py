"""Review meetings (周调度、月分析、季评估): one deck of plain data, drawn by the presenter page, PPTX and PDF.

`page` is the block behind `ctx.block("meeting", preset=...)`: the frozen numbers of one meeting (`Facts`)
and the filter line in both languages. `deck.build` turns them, with the notes store's notes, into the
`Deck` every renderer draws.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from analytics import annotations, i18n
from analytics.db import queries
from analytics.db.queries import Scope
from analytics.filters import Filters
from analytics.metrics import Selection
from analytics.meeting import deck as deck_module
from analytics.meeting import notes as notes_store
from analytics.meeting.facts import PRESETS, Facts, build as build_facts, comparison
from analytics.meeting.model import Deck
from analytics.region_tree import RegionTree

__all__ = ["PRESETS", "Frozen", "comparison", "describe_filters", "make_deck", "page"]


@dataclass(frozen=True)
class Frozen:
    """What a meeting keeps for its whole length: the numbers, for which version and filters."""

    facts: Facts
    filters: Filters
    version: int
    filters_text: dict[str, str]  # by language
    scope: tuple = ((), ())  # the user's scope (regions, domains): keys the notes of a scoped user's meetings

    def events(self, db_path: str, regions: RegionTree | None):
        """The event notes on the overview's trend (`regions`: every region, `annotations.region_tree`), read when
        the deck is drawn, so a note added since shows."""
        trend = self.facts.trend
        if not db_path or regions is None or not trend.height:
            return None
        return annotations.for_chart(db_path, regions, Scope(*self.scope), self.filters.region_code,
                                     trend["period_start"].min(), trend["period_end"].max())

    def deck(self, lang: str, db_path: str, min_n: int, regions: RegionTree | None = None) -> Deck:
        """The deck in `lang` with the notes saved so far for this meeting and the last one of its series, and with
        `regions` the event notes on its trend."""
        f = self.facts
        now = notes_store.meeting(db_path, f.preset, self.filters, f.as_of, self.scope) if db_path else None
        before = notes_store.previous_meeting(db_path, f.preset, self.filters, f.as_of, self.scope) if db_path else None
        return deck_module.build(f, lang, self.filters_text[lang], self.version, min_n,
                                 now.notes if now else {}, before.notes if before else {},
                                 before.as_of if before else None, self.events(db_path, regions))


def describe_filters(cur: duckdb.DuckDBPyConnection, filters: Filters, lang: str) -> str:
    """One line naming the active filters (as the page headers word it), without the Streamlit edge."""
    names = []
    if filters.region_code:
        path = queries.run(cur, "region_path", code=filters.region_code)
        names = [r["name"] for r in path.iter_rows(named=True) if r["level"] != "country"]
    return i18n.describe_filters(filters, names, lang)


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict, preset: str = "week", db_path: str = "",
         version: int = 0, stamp: str = "") -> Frozen:
    """The meeting's numbers for one selection and preset (the block cached on the data version and `stamp`, the
    version's scores' `risk.scores.stamp`, which only keys the cache: scores arriving late show on the risk slide)."""
    facts = build_facts(cur, sel, preset, weights, db_path, version)
    return Frozen(facts, sel.filters, version, {lang: describe_filters(cur, sel.filters, lang) for lang in i18n.LANGS},
                  (tuple(sel.scope.region_codes), tuple(sel.scope.domains)))


def make_deck(cur: duckdb.DuckDBPyConnection, sel: Selection, preset: str, lang: str, db_path: str,
              version: int, weights: dict | None = None) -> Deck:
    """The whole deck in one call (the CLI's path): numbers, then the notes saved for the meeting."""
    from analytics.metrics import DEFAULT_WEIGHTS

    frozen = page(cur, sel, weights or DEFAULT_WEIGHTS, preset, db_path, version)
    return frozen.deck(lang, db_path, sel.thresholds.min_n, annotations.region_tree(cur))
