"""Per-run page context: language, filters, scope, data version, and cached access to queries."""
from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date

import polars as pl
import streamlit as st

from analytics import cockpit, i18n, metrics, queries, settings
from analytics.filters import Filters
from analytics.metrics import Selection, Thresholds
from analytics.queries import Scope
from analytics.store import Database

# what a page may compute through `Context.block`: a fixed list, so the cache key names a known function
BLOCKS = {
    "cockpit": cockpit.page,
}


@dataclass(frozen=True)
class Context:
    lang: str
    filters: Filters
    scope: Scope
    version: int
    as_of: date
    db_path: str
    thresholds: Thresholds = Thresholds()
    weights: tuple[tuple[str, float], ...] = tuple(metrics.DEFAULT_WEIGHTS.items())

    def t(self, key: str, **values) -> str:
        return i18n.t(key, self.lang, **values)

    def query(self, name: str, **extra) -> pl.DataFrame:
        """The named query for this context, cached on the data version (so a new load shows at once)."""
        return _cached_query(self.db_path, self.version, name, astuple(self.filters), astuple(self.scope),
                             self.as_of, tuple(sorted(extra.items())))


    def selection(self) -> Selection:
        return Selection(self.filters, self.scope, self.as_of, self.thresholds)

    def block(self, name: str):
        """A block of `analytics.cockpit` for this context, cached on the data version and every input."""
        return _cached_block(self.db_path, self.version, name, astuple(self.filters), astuple(self.scope),
                             self.as_of, astuple(self.thresholds), self.weights)


@st.cache_resource(show_spinner=False)
def database(path: str) -> Database:
    """One DuckDB connection per file for all sessions; each thread queries through its own cursor."""
    return Database(path, read_only=True)


@st.cache_data(ttl=settings.get("COCKPIT_CACHE_TTL_SECONDS"), max_entries=512, show_spinner=False)
def _cached_query(db_path: str, version: int, name: str, filters: tuple, scope: tuple, as_of: date,
                  extra: tuple) -> pl.DataFrame:
    return queries.run(database(db_path).cursor(), name, Filters(*filters), Scope(*scope), as_of, **dict(extra))


@st.cache_data(ttl=settings.get("COCKPIT_CACHE_TTL_SECONDS"), max_entries=256, show_spinner=False)
def _cached_block(db_path: str, version: int, name: str, filters: tuple, scope: tuple, as_of: date,
                  thresholds: tuple, weights: tuple):
    sel = Selection(Filters(*filters), Scope(*scope), as_of, Thresholds(*thresholds))
    fn = BLOCKS[name]
    cur = database(db_path).cursor()
    return fn(cur, sel, dict(weights))


def current() -> Context:
    """The context app.py built for this run."""
    return st.session_state["_context"]
