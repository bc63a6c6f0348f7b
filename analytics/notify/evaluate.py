"""Where each rule's condition holds now: for a data version's as-of date and a scope, the items, rectifications
and regions on each rule's line, each with what a message about it says.

Nothing here writes; firings.py records what started and what cleared. The conditions come from the definitions
the pages use: the light and "overdue" / "behind plan" of the item mart (sql/notify.py on sql/rules.py), the overdue
rectification (`rect_overdue`), report freshness (analytics/freshness.py) and the saved slip-risk scores of the data
version (analytics/risk/scores.py); only the rules' own parameters (days, weeks) are applied here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics import freshness, metrics
from analytics.db import marts, queries
from analytics.db.queries import NATIONAL, Scope
from analytics.filters import Filters
from analytics.notify.rules import Rule, RuleSet


@dataclass(frozen=True)
class Line:
    """One subject on one rule's line: an item (its ID), a rectification (its ID) or a region (its code)."""

    rule_key: str
    subject: str
    region_code: str
    domain: str | None
    detail: dict  # the wording's placeholders, and project_id / light for the links and the lights


@dataclass(frozen=True)
class Context:
    """What an evaluation reads: a database cursor, the database's path (for the saved risk scores), the data
    version with its as-of date, and the scope (national for the firings; a person's for a dry run)."""

    cur: duckdb.DuckDBPyConnection
    db_path: str
    data_version: int
    as_of: date
    scope: Scope = NATIONAL

    def run(self, name: str, as_of: date | None = None, **extra) -> pl.DataFrame:
        return queries.run(self.cur, name, Filters(), self.scope, as_of or self.as_of,
                           **(metrics.Thresholds().params() | extra))


def lines(ctx: Context, ruleset: RuleSet) -> dict[str, list[Line] | None]:
    """Every enabled rule's lines; None for a rule that cannot be judged on this version (no saved risk scores),
    so that its firings are neither started nor cleared."""
    items = ctx.run("notify_items")
    return {r.key: _RULES[r.key](ctx, r, items) for r in ruleset.enabled}


def _fmt_lag(x) -> int | None:
    return None if x is None else round(x)


def _item_line(rule: Rule, row: dict, **extra) -> Line:
    detail = {"project_id": row["project_id"], "name": row["name"], "region": row["region_name"],
              "owner": row["lead_dept"], "deadline": str(row["planned_end_date"]), "days_left": row["days_left"],
              "days_late": row["days_late"], "lag": _fmt_lag(row["lag_pp"]), "light": row["light"],
              "weeks": None, "probability": None, "urged": None, "days_unanswered": None, "last_report": None,
              "leaders": row["responsible_leaders"]} | extra
    return Line(rule.key, row["project_id"], row["region_code"], row["domain"], detail)


def due_soon(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    """Behind plan (the yellow line) with the deadline within `days` days, not yet passed."""
    hit = items.filter(pl.col("is_behind") & ~pl.col("is_overdue")
                       & pl.col("days_left").is_between(0, rule.param("days")))
    return [_item_line(rule, r) for r in hit.iter_rows(named=True)]


def overdue(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    return [_item_line(rule, r) for r in items.filter(pl.col("is_overdue")).iter_rows(named=True)]


def week_dates(as_of: date, weeks: int) -> list[date]:
    """The as-of date and the Sundays before it, `weeks` dates in all (each a date the item mart holds)."""
    return sorted({as_of} | set(marts.sundays(as_of - timedelta(days=1), weeks)))[-weeks:]


def red_weeks(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    """Red now and at each of the `weeks` − 1 week ends before: red for that many weeks in a row."""
    weeks = rule.param("weeks")
    red = set(items.filter(pl.col("light") == "red")["project_id"].to_list())
    for day in week_dates(ctx.as_of, weeks)[:-1]:
        if not red:
            break
        red &= set(ctx.run("notify_items", as_of=day).filter(pl.col("light") == "red")["project_id"].to_list())
    hit = items.filter(pl.col("project_id").is_in(sorted(red)))
    return [_item_line(rule, r, weeks=weeks) for r in hit.iter_rows(named=True)]


def unanswered(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    """Up the ladder (催办 → 通报): an item urged as overdue at least `days` days ago (its open `overdue` firing's
    as-of date), still overdue, with no progress report since it was urged: the notice was not answered."""
    from analytics.notify import firings, store

    urged = firings.open_since(store.path_for(ctx.db_path), "overdue")
    days = rule.param("days")
    out = []
    for r in items.filter(pl.col("is_overdue") & pl.col("project_id").is_in(list(urged))).iter_rows(named=True):
        since = urged[r["project_id"]]
        last = r["last_report_date"]
        if (ctx.as_of - since).days >= days and (last is None or last <= since):
            out.append(_item_line(rule, r, urged=str(since), days_unanswered=(ctx.as_of - since).days,
                                  last_report=str(last) if last else "—"))
    return out


def high_risk(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line] | None:
    """In the high band of the data version's saved slip-risk scores; None when the version has none."""
    from analytics.risk import scores

    sel = metrics.Selection(Filters(), ctx.scope, ctx.as_of)
    scored = scores.scoped(ctx.cur, sel, ctx.db_path, ctx.data_version)
    if scored is None:
        return None
    high = scored.filter(pl.col("band") == "high").select("project_id", "probability")
    hit = items.join(high, on="project_id", how="inner")
    return [_item_line(rule, r, probability=f"{100 * r['probability']:.0f}%") for r in hit.iter_rows(named=True)]


def rect_overdue(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    out = []
    for r in ctx.run("notify_rect_overdue").iter_rows(named=True):
        detail = {"project_id": r["project_id"], "description": r["description"], "region": r["region_name"],
                  "owner": r["responsible_dept"], "deadline": str(r["deadline"]), "days_late": r["days_late"],
                  "leaders": r["responsible_leaders"]}
        out.append(Line(rule.key, r["rectification_id"], r["region_code"], r["domain"], detail))
    return out


def silent(ctx: Context, rule: Rule, items: pl.DataFrame) -> list[Line]:
    """Regions whose items in flight have had no progress report for more than `days` days (the cockpit's rule)."""
    sel = metrics.Selection(Filters(), ctx.scope, ctx.as_of)
    out = []
    for r in freshness.regions(ctx.cur, sel, days=rule.param("days")).silent.iter_rows(named=True):
        detail = {"region": r["name"], "days_silent": r["days_silent"], "n_in_flight": r["n_in_flight"],
                  "last_report": str(r["last_report"]) if r["last_report"] else "—"}
        out.append(Line(rule.key, r["region_code"], r["region_code"], None, detail))
    return out


_RULES = {"due_soon": due_soon, "overdue": overdue, "red_weeks": red_weeks, "high_risk": high_risk,
          "unanswered": unanswered,
          "rect_overdue": rect_overdue, "silent": silent}
