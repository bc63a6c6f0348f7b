"""Row-level security, everywhere: every named query and every computed block, run with a county, a city
and a province scope on the hand-made fixture, returns exactly what it returns on a copy of the fixture
from which every row outside the scope was deleted. A query or block that reads past the scope shows a
difference (a row, a count, a sum, a rank), so a new query without scoping fails here; the only exceptions
are the names in `analytics.auth.scoping.UNSCOPED`, each with its reason.

The copies carry the same slip-risk scores for every item (the scorer scores all items in flight), so the
risk list and the meeting deck are checked to join them to scoped items only.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics import metrics
from analytics.db import marts
from analytics.db import queries, scope
from analytics.auth import scoping
from analytics.filters import Filters
from analytics.db.queries import Scope
from tests import fixture_db

AS_OF = fixture_db.AS_OF
# 瑶海区, 合肥市, 安徽省, and 安徽省 in one domain (issue 22: rows without a domain of their own follow their item's;
# with neither they lie in no domain scope)
SCOPES = {"county": Scope(("340102",)), "city": Scope(("340100",)), "province": Scope(("340000",)),
          "domain": Scope(("340000",), ("营商环境",))}
SCORES = {"A1": (0.7, "high"), "A2": (0.1, "low"), "A3": (0.3, "medium"), "B1": (0.6, "high"),
          "C1": (0.2, "medium"), "N1": (0.9, "high")}  # every item, as a scorer that ignores scope would write

# a sample value for every query parameter beyond the filters and the scope; a new parameter needs one here
_THRESHOLDS = metrics.Thresholds().params()
SAMPLES: dict[str, object] = _THRESHOLDS | {
    "code": "340102", "project_id": "A1", "limit": 50, "text": "", "keys": ["A1", "A2", "B1", "F1", "F2", "R1"],
    "group_level": "province", "total_code": "100000", "weeks": 8, "max_texts": 50_000,
    "week_dates": [date(2026, 11, 1), date(2026, 11, 8), date(2026, 11, 15)],
    "w_periods": ["2026-09", "2026-10", "2026-11"], "w_starts": [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)],
    "w_ends": [date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 22)], "by": "region",
    "since": date(2026, 8, 1), "recent_start": date(2026, 8, 1), "rect_depts": [],
    "codes": ["340102", "110105", "340100"], "level": "city", "cycle_days": 30,
}
# further values of parameters that change a query's shape (grouping), each run as well
VARIANTS: dict[str, list] = {"group_level": ["city", "county"], "by": ["domain", "none"], "project_id": ["B1", "A3"],
                             "text": ["A", "农"], "code": ["110105"], "level": ["province", "county"]}
_PARAM_RE = re.compile(r"\$([a-z_]+)")
_BASE = set(queries.params_for(Filters(), queries.NATIONAL, AS_OF))


def _write_scores(db: Path) -> None:
    from analytics.risk import scores

    out = scores.path_for(db, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    reason = pl.List(pl.Struct({"feature": pl.Utf8, "value": pl.Utf8, "effect": pl.Float64}))
    pl.DataFrame({"project_id": list(SCORES), "probability": [p for p, _ in SCORES.values()],
                  "band": [b for _, b in SCORES.values()],
                  "top_reasons": pl.Series([[{"feature": "progress_gap", "value": "15.0", "effect": 0.2}]] * len(SCORES),
                                           dtype=reason),
                  "data_version": [1] * len(SCORES), "as_of": [AS_OF] * len(SCORES),
                  "finish_curve": pl.Series([[0.0, 0.5, 1.0]] * len(SCORES), dtype=pl.List(pl.Float32))}).write_parquet(out)
    out.with_suffix(".json").write_text(json.dumps({"trained_at": "2026-11-22T08:00:00", "data_version": 1,
                                                    "data_as_of": "2026-11-22", "n_rows": 10, "evaluation": None}))


def prune(db: Path, scope: Scope) -> None:
    """Delete every row outside `scope` (the scope's own rule: an item's, a feedback's and a rectification's own
    region; reports and milestones go with their item; a domain is the row's own, else its item's, and a row with
    neither lies in no domain scope)."""
    con = duckdb.connect(str(db))
    inside = "(SELECT region_code FROM region_closure WHERE ancestor_code = $code)"
    for sql in (f"DELETE FROM progress_reports WHERE project_id IN (SELECT project_id FROM projects WHERE region_code NOT IN {inside})",
                f"DELETE FROM milestones WHERE project_id IN (SELECT project_id FROM projects WHERE region_code NOT IN {inside})",
                f"DELETE FROM projects WHERE region_code NOT IN {inside}",
                f"DELETE FROM feedback WHERE region_code NOT IN {inside}",
                f"DELETE FROM rectifications WHERE region_code NOT IN {inside}",
                f"DELETE FROM indicator_values WHERE region_code NOT IN {inside}"):
        con.execute(sql, {"code": scope.region_codes[0]})
    if scope.domains:
        in_domain = "(SELECT project_id FROM projects WHERE list_contains($d, domain))"
        for sql in ("DELETE FROM feedback f WHERE NOT coalesce(list_contains($d, coalesce(f.domain, (SELECT p.domain "
                    "FROM projects p WHERE p.project_id = f.project_id))), false)",
                    f"DELETE FROM rectifications WHERE project_id IS NULL OR project_id NOT IN {in_domain}",
                    f"DELETE FROM progress_reports WHERE project_id NOT IN {in_domain}",
                    f"DELETE FROM milestones WHERE project_id NOT IN {in_domain}",
                    "DELETE FROM projects WHERE NOT list_contains($d, domain)"):
            con.execute(sql, {"d": list(scope.domains)})
    con.close()


# rows whose links disagree with their own region (issue 22): feedback and a rectification recorded for 朝阳区
# (110105) but linked to A1, an item of 瑶海区 (340102); scoping goes by the row's own region, so a 340102 scope
# never sees them, through the item or otherwise
STRAY_FEEDBACK = fixture_db.FEEDBACK.head(1).with_columns(
    pl.lit("F-STRAY").alias("feedback_id"), pl.lit("A1").alias("project_id"), pl.lit("110105").alias("region_code"))
STRAY_RECTIFICATION = fixture_db.RECTIFICATIONS.head(1).with_columns(
    pl.lit("R-STRAY").alias("rectification_id"), pl.lit("A1").alias("project_id"), pl.lit("110105").alias("region_code"))
# feedback without a domain of its own: one about A2 (营商环境, so in that domain), one about no item (in no domain)
NO_DOMAIN_FEEDBACK = pl.concat([
    fixture_db.FEEDBACK.head(1).with_columns(pl.lit(f"F-NODOM-{i}").alias("feedback_id"), pl.lit(item).alias("project_id"),
                                             pl.lit(None, pl.Utf8).alias("domain"), pl.lit("340100").alias("region_code"))
    for i, item in enumerate(("A2", None))])


def _build(path: Path, scope: Scope | None) -> Path:
    fixture_db.build(path, feedback=pl.concat([fixture_db.FEEDBACK, STRAY_FEEDBACK, NO_DOMAIN_FEEDBACK]),
                     rectifications=pl.concat([fixture_db.RECTIFICATIONS, STRAY_RECTIFICATION]))
    if scope:
        prune(path, scope)
    con = duckdb.connect(str(path))
    marts.refresh(con, AS_OF, 1)  # so the @snapshot queries have their mart, built from these rows
    con.close()
    _write_scores(path)
    return path


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    root = tmp_path_factory.mktemp("scope_everywhere")
    full = _build(root / "full.duckdb", None)
    from analytics.risk import scores

    # one scores file for every copy: a scorer that ignores scope wrote it (SCORES); the query must scope it
    SAMPLES["scores_path"] = str(scores.path_for(full, 1))
    pruned = {name: _build(root / f"{name}.duckdb", scope) for name, scope in SCOPES.items()}
    cons = {"full": duckdb.connect(str(full), read_only=True)}
    cons |= {name: duckdb.connect(str(p), read_only=True) for name, p in pruned.items()}
    yield {"paths": {"full": full} | pruned, "cons": cons}
    for c in cons.values():
        c.close()


# ---- comparing outputs ------------------------------------------------------------------------------------

# fields that say how a block was computed, not what: the marts start at the data's first start date, which
# the pruned copy moves later, so it computes early windows live instead of from the mart (same numbers); and which
# extracts the database holds at all (meeting Facts.missing, the cards' "not uploaded yet"), a fact of the whole
# file by design, which the pruned copy changes (it keeps no rectification outside the county)
_NOT_DATA = ("db_path", "from_mart", "missing")


def canon(value):
    """A comparable form of any output: frames as sorted rows, floats rounded, dataclasses as their fields."""
    if isinstance(value, pl.DataFrame):
        return ("frame", tuple(value.columns), tuple(sorted((canon(tuple(r)) for r in value.rows()), key=repr)))
    if isinstance(value, pl.Series):
        return ("series", tuple(canon(v) for v in value.to_list()))
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple((f.name, canon(getattr(value, f.name))) for f in fields(value)
                                            if f.name not in _NOT_DATA))
    if isinstance(value, dict):
        return tuple(sorted(((repr(k), canon(v)) for k, v in value.items()), key=repr))
    if isinstance(value, (list, tuple)):
        return tuple(canon(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(canon(v) for v in value))
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if value is None or isinstance(value, (str, int, bool, date, datetime)):
        return value
    to_dict = getattr(value, "to_dict", None)  # plotly figures
    return canon(to_dict()) if callable(to_dict) else repr(value)


def param_sets(sql: str) -> list[dict]:
    wanted = set(_PARAM_RE.findall(sql)) - _BASE
    missing = sorted(wanted - set(SAMPLES))
    assert not missing, f"add a sample value for parameters {missing} to SAMPLES in this test"
    base = {p: SAMPLES[p] for p in wanted}
    out = [base]
    for p in sorted(wanted & set(VARIANTS)):
        out += [base | {p: v} for v in VARIANTS[p]]
    return out


FILTERS = [Filters(), Filters(region_code="340102"), Filters(region_code="110000"),  # a tampered URL's region
           Filters(domains=("乡村振兴",)), Filters(period="2026")]


def leaks(cons: dict, sql_name: str, scope_name: str, sql: str | None = None) -> list[str]:
    """Differences between running `sql_name` (or `sql`) scoped on the full data and on the pruned copy."""
    scope = SCOPES[scope_name]
    out = []
    text = sql or queries.QUERIES[sql_name]
    for extra in param_sets(text):
        for f in FILTERS:
            def run(con):
                if sql is not None:
                    params = queries.params_for(f, scope, AS_OF) | extra
                    return con.sql(sql, params={p: params[p] for p in dict.fromkeys(_PARAM_RE.findall(sql))}).pl()
                return queries.run(con, sql_name, f, scope, AS_OF, use_marts=False, **extra)
            full, pruned = run(cons["full"]), run(cons[scope_name])
            if canon(full) != canon(pruned):
                out.append(f"{sql_name} {f} {extra}: {full.height} rows on the full data, {pruned.height} in scope")
    return out


SCOPED_NAMES = sorted(n for n in queries.QUERIES if n not in scoping.UNSCOPED)


@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("name", SCOPED_NAMES)
def test_every_query_returns_only_rows_and_aggregates_of_the_scope(dbs, name, scope_name):
    assert not leaks(dbs["cons"], name, scope_name)


@pytest.mark.parametrize("name", SCOPED_NAMES)
def test_every_query_names_only_regions_and_items_of_the_scope(dbs, name):
    """Shape check beside the comparison: a region column holds the county, its ancestors (an aggregate's
    group) or nothing else; an item column holds only the county's items."""
    con = dbs["cons"]["full"]
    scope = Scope(("340102",))
    allowed_regions = {r[0] for r in con.execute(
        "SELECT region_code FROM region_closure WHERE ancestor_code = '340102' "
        "UNION SELECT ancestor_code FROM region_closure WHERE region_code = '340102'").fetchall()}
    allowed_items = {"A1"}
    for extra in param_sets(queries.QUERIES[name]):
        frame = queries.run(con, name, Filters(), scope, AS_OF, use_marts=False, **extra)
        for col in frame.columns:
            if frame.schema[col] != pl.Utf8:
                continue
            values = set(frame[col].drop_nulls().to_list())
            if col in ("region_code", "child_code", "group_code", "grp") and extra.get("by", "region") == "region":
                assert values <= allowed_regions, (name, col, values)
            if col == "project_id":
                assert values <= allowed_items, (name, col, values)


def test_unscoped_queries_are_declared_and_exist():
    """Every exception is a real query, and none of them reads items, feedback or rectifications except
    the upload checks, whose results never reach a page."""
    assert set(scoping.UNSCOPED) <= set(queries.QUERIES)
    for name in scoping.UNSCOPED:
        sql = queries.QUERIES[name]
        reads_rows = re.search(r"\b(FROM|JOIN)\s+(projects|feedback|rectifications|progress_reports|milestones)\b", sql)
        assert not reads_rows or name.startswith("auth_existing_") or name == "ingest_item_regions", name


def test_the_check_catches_a_query_that_ignores_the_scope(dbs):
    """The comparison can fail: a count over all items, or a scoped count beside a national benchmark."""
    assert leaks(dbs["cons"], "unscoped_count", "county", "SELECT count(*) AS n_items FROM projects")
    benchmark = ("WITH " + scope.SCOPED_ITEMS + " SELECT (SELECT count(*) FROM scoped_items) AS n, "
                 "(SELECT avg(budget_wan_yuan) FROM projects) AS national_mean")
    assert leaks(dbs["cons"], "benchmark", "city", benchmark)
    assert not leaks(dbs["cons"], "scoped_count", "city", "WITH " + scope.SCOPED_ITEMS
                     + " SELECT count(*) AS n FROM scoped_items")


# ---- the computed blocks of every page ------------------------------------------------------------------

def _block_kwargs(fn, db: Path) -> list[dict]:
    """Keyword arguments for a block: its required ones from a pool, the database (scores live beside it)."""
    pool = {"project_id": ["A1", "B1"], "db_path": [str(db)], "version": [1], "preset": ["week", "month"],
            "stamp": ["2026-11-22T08:00:00"]}
    params = inspect.signature(fn).parameters
    base, variants = {}, []
    for name, p in list(params.items())[3:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if name in pool:
            base[name] = pool[name][0]
            variants += [(name, v) for v in pool[name][1:]]
        else:
            assert p.default is not inspect.Parameter.empty, f"{fn.__qualname__}: give {name!r} a value in the pool"
    return [base] + [base | {k: v} for k, v in variants]


def _blocks():
    from analytics.pages import BLOCKS

    return sorted(BLOCKS)


@pytest.mark.parametrize("scope_name", list(SCOPES))
@pytest.mark.parametrize("block", _blocks())
def test_every_block_computes_on_the_scope_only(dbs, block, scope_name):
    from analytics.pages import BLOCKS

    fn = BLOCKS[block]
    scope = SCOPES[scope_name]
    for f in (Filters(), Filters(region_code="110000"), Filters(period="2026")):
        sel = metrics.Selection(f, scope, AS_OF)
        for kwargs in _block_kwargs(fn, dbs["paths"]["full"]):
            full = fn(dbs["cons"]["full"], sel, dict(metrics.DEFAULT_WEIGHTS), **kwargs)
            kwargs = kwargs | ({"db_path": str(dbs["paths"][scope_name])} if "db_path" in kwargs else {})
            pruned = fn(dbs["cons"][scope_name], sel, dict(metrics.DEFAULT_WEIGHTS), **kwargs)
            assert canon(full) == canon(pruned), (block, f, kwargs)


def test_the_risk_list_of_a_county_user_holds_only_the_county(dbs):
    """By hand: scores exist for all six items; a 瑶海区 user's risk list holds A1 alone."""
    from analytics.pages import risk as risk_page

    sel = metrics.Selection(Filters(), Scope(("340102",)), AS_OF)
    data = risk_page.page(dbs["cons"]["full"], sel, {}, db_path=str(dbs["paths"]["full"]), version=1)
    assert data.flagged["project_id"].to_list() == ["A1"]
    national = risk_page.page(dbs["cons"]["full"], metrics.Selection(Filters(), as_of=AS_OF), {},
                              db_path=str(dbs["paths"]["full"]), version=1)
    assert set(national.flagged["project_id"]) == {"A1", "A3", "B1"}  # the items in flight


def test_item_detail_and_search_stay_in_scope(dbs):
    from analytics.pages import item

    con = dbs["cons"]["full"]
    county = metrics.Selection(Filters(), Scope(("340102",)), AS_OF)
    assert item.page(con, county, project_id="A1").head["project_id"] == "A1"
    assert item.page(con, county, project_id="B1") is None  # 朝阳区: the same answer as an unknown id
    assert item.search(con, county, "")["project_id"].to_list() == ["A1"]
    assert item.search(con, county, "B1").is_empty()
