"""Region scope beyond the queries: which named queries are unscoped by design, the filters a scoped user
starts from, and what a scoped steward may upload.

Every named query that reads items, feedback or rectifications applies the scope in SQL (analytics/db/scope.py
and its `scoped_*` fragments); `tests/test_scope_everywhere.py` runs every name in `QUERIES` with a county
scope and fails for a query that is neither scoped nor listed in `UNSCOPED` with its reason.

Uploads: a steward whose scope is national may upload anything. A scoped steward (a province, a city, a
county, or a set of domains) may only add or update rows that belong to the scope: every row's region (or,
for reports and milestones, its item's region) must lie in the scope, a stored row with the same key must
lie in it too (so no row of another region is overwritten), and the mode must be upsert (replace would
remove every other region's rows). Policies and indicator definitions are national reference data: only
national stewards upload them. A scoped steward may not roll back either, since a rollback restores every
region's data. An upload that breaks a rule is refused whole, with the rule, the table, how many rows and
the first of their keys, before anything is compared or written.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import polars as pl

from analytics.db import queries
from analytics.filters import Filters
from analytics.db.queries import Scope

# named queries that do not apply the user's scope, and why that cannot show a row outside it
UNSCOPED: dict[str, str] = {
    "ingest_item_regions": "checks an upload's links against stored items' regions; never shown (only problems "
                           "naming the upload's own rows)",
    "ingest_region_below": "the region tree below given codes, for the same check: no rows of items",
    "data_version": "the newest data version number and date: no rows of items",
    "region_names": "region names, joined to rows that came from scoped queries: no rows of items",
    "region_level": "one region's level, for a region the user chose from a scoped list",
    "region_has_cities": "whether a region has cities (which levels to draw): no rows",
    "region_path": "the names of one region's ancestors (breadcrumbs); the region itself comes from a scoped list",
    "table_sizes": "row counts of whole tables on the data page: no row, and no figure by region or item",
    "versions": "the list of data versions (who loaded which file when): metadata, no rows",
    "annotation_regions": "the region tree event notes hang on: codes, names and parents, no rows of items (which "
                          "notes a user sees is decided in analytics/annotations.py from the scope)",
    "ingest_regions": "the region list, to resolve names given instead of codes in an upload",
    "ingest_versions": "upload history: metadata, no rows",
    "audit_anchors": "the audit log's entry number and hash at each commit: metadata, no rows",
    "ingest_versions_plain": "upload history before the first upload: metadata, no rows",
    "ingest_version_tables": "per-table counts of each version: metadata, no rows",
    "ingest_stored_states": "names of stored table states, to say which versions can be restored",
    "risk_child_regions": "region codes and names only; the items counted per region come from scoped item_lights",
    "auth_existing_projects": "checks a scoped steward's upload against stored keys; never shown (only refusals)",
    "auth_existing_feedback": "checks a scoped steward's upload against stored keys; never shown (only refusals)",
    "auth_existing_rectifications": "checks a scoped steward's upload against stored keys; never shown",
    "auth_existing_milestones": "checks a scoped steward's upload against stored keys; never shown (only refusals)",
}

NATIONAL_TABLES = ("policies", "indicators")  # reference data every region shares
_EXISTING = {"projects": "auth_existing_projects", "feedback": "auth_existing_feedback",
             "rectifications": "auth_existing_rectifications", "milestones": "auth_existing_milestones"}
_KEY = {"projects": "project_id", "feedback": "feedback_id", "rectifications": "rectification_id",
        "milestones": "milestone_id", "progress_reports": "project_id", "indicator_values": "indicator_id"}
MAX_EXAMPLES = 5


def is_national(scope: Scope) -> bool:
    return not scope.region_codes and not scope.domains


def scope_root(scope: Scope) -> str | None:
    """The region a user with one scope region starts from (so pages open on it); None otherwise."""
    return scope.region_codes[0] if len(scope.region_codes) == 1 else None


def home_scope(home_region: str | None) -> Scope:
    """The scope of a deployment's home region (national when there is none, or when it is the nation)."""
    return Scope() if not home_region or home_region == "100000" else Scope((home_region,))


def within_home(scope: Scope, home_region: str | None) -> Scope:
    """The scope a user works in on a deployment for one home region (analytics/db/store.py: init): an account
    without a region scope sees the home region, not the nation; an account's own region scope is kept."""
    if scope.region_codes or not home_region or home_region == "100000":
        return scope
    return replace(scope, region_codes=(home_region,))


def clamp_filters(filters: Filters, scope: Scope, region_codes: frozenset[str]) -> Filters:
    """Filters whose region lies in the scope: a region outside it (an ancestor chosen in the cascade) or
    none at all becomes the scope's own region when there is one. The scope applies in SQL whatever the
    filter says; this only keeps the view, its header and its downloads naming what they show."""
    if not scope.region_codes:
        return filters
    if filters.region_code is None or filters.region_code not in region_codes:
        return replace(filters, region_code=scope_root(scope))
    return filters


@dataclass(frozen=True)
class Refusal:
    """Rows of one table a scoped steward may not write, and why (locale key `auth.refuse_<rule>`)."""

    table: str
    rule: str  # replace | national_table | region | domain | item | overwrite
    n_rows: int
    examples: tuple[str, ...]


def _keys(frame: pl.DataFrame, table: str) -> pl.Series:
    col = _KEY.get(table)
    return frame[col].cast(pl.Utf8) if col and col in frame.columns else pl.Series([], dtype=pl.Utf8)


def _refuse(out: list, table: str, rule: str, frame: pl.DataFrame, mask: pl.Series) -> None:
    bad = frame.filter(mask)
    if bad.height:
        keys = _keys(bad, table).drop_nulls().unique(maintain_order=True).head(MAX_EXAMPLES).to_list()
        out.append(Refusal(table, rule, bad.height, tuple(keys)))


def upload_refusals(cur: duckdb.DuckDBPyConnection, scope: Scope, changes, home_only: bool = False) -> list[Refusal]:
    """Why a scoped steward's upload (`versions.Change` list) may not be written; [] = it may. `home_only`: the scope
    is a deployment's home region, not an account's narrower scope (`within_home`), so whole-table replaces and the
    shared tables (policies, indicators) are the office's own to load; only rows outside the region are refused."""
    if is_national(scope):
        return []
    in_scope = set(queries.run(cur, "auth_scope_region_codes", scope=scope)["region_code"].to_list())
    domains = set(scope.domains)

    def region_ok(col: pl.Series) -> pl.Series:
        return col.cast(pl.Utf8).is_in(list(in_scope)) if scope.region_codes else pl.Series([True] * col.len())

    def domain_ok(col: pl.Series) -> pl.Series:
        # a row with no domain lies in no domain scope (docs/security.md): a domain-scoped steward may not write one
        return col.is_in(list(domains)).fill_null(False) if domains else pl.Series([True] * col.len())

    out: list[Refusal] = []
    uploaded_items: dict[str, bool] = {}  # project_id → in scope, for this upload's own new items
    for ch in sorted(changes, key=lambda c: c.table != "projects"):
        frame = ch.frame
        if ch.mode == "replace" and not home_only:
            out.append(Refusal(ch.table, "replace", frame.height, ()))
            continue
        if ch.table in NATIONAL_TABLES and not home_only:
            out.append(Refusal(ch.table, "national_table", frame.height, ()))
            continue
        ok = pl.Series([True] * frame.height)
        if "region_code" in frame.columns:
            good = region_ok(frame["region_code"])
            _refuse(out, ch.table, "region", frame, ~good)
            ok = ok & good
        if domains and ch.table in ("projects", "feedback", "rectifications"):
            own = frame["domain"] if "domain" in frame.columns else pl.Series([None] * frame.height, dtype=pl.Utf8)
            good = domain_ok(own)
            if ch.table != "projects" and "project_id" in frame.columns:
                # no domain of its own: its item's, which the item check below holds to the scope
                good = good | (own.is_null() & frame["project_id"].is_not_null())
            _refuse(out, ch.table, "domain", frame, ok & ~good)
            ok = ok & good
        if ch.table == "projects":
            uploaded_items |= dict(zip(frame["project_id"].cast(pl.Utf8).to_list(), ok.to_list()))
        if "project_id" in frame.columns and ch.table != "projects":
            ids = frame["project_id"].cast(pl.Utf8)
            known = _item_in_scope(cur, scope, in_scope, [i for i in ids.drop_nulls().unique().to_list()
                                                          if i not in uploaded_items])
            known |= uploaded_items
            optional = ch.table not in ("progress_reports", "milestones")  # feedback may name no item
            good = pl.Series([(optional if i is None else known.get(i, False)) for i in ids.to_list()],
                             dtype=pl.Boolean)
            _refuse(out, ch.table, "item", frame, ok & ~good)
            ok = ok & good
        if ch.table in _EXISTING:
            stored = queries.run(cur, _EXISTING[ch.table], keys=_keys(frame, ch.table).drop_nulls().to_list())
            foreign = {k for k, r, d in stored.iter_rows()
                       if (scope.region_codes and r not in in_scope) or (domains and d not in domains)}
            if foreign:
                _refuse(out, ch.table, "overwrite", frame, ok & _keys(frame, ch.table).is_in(list(foreign)))
    return out


def _item_in_scope(cur, scope: Scope, in_scope: set, ids: list[str]) -> dict[str, bool]:
    if not ids:
        return {}
    stored = queries.run(cur, "auth_existing_projects", keys=ids)
    return {k: (not scope.region_codes or r in in_scope) and (not scope.domains or d in scope.domains)
            for k, r, d in stored.iter_rows()}
