"""Why the red share changed (issue 21): the change a KPI card shows, split item by item into what moved it,
so that the parts add up to the change exactly.

The red share is R/N: red items over items in flight with a light. Between the comparison date (R0/N0) and now
(R1/N1) the lit items are those lit on both dates (continuing, Nc of them, Rc0 then Rc1 red), those lit only now
(entered: new items, or items that got their first light) and those lit only then (left: completed, terminated,
or without a light now). The change telescopes through two intermediate shares, the continuing items then
(Rc0/Nc) and now (Rc1/Nc):

    R1/N1 − R0/N0 = (Rc0/Nc − R0/N0)          left:    each item x that left adds (Rc0/Nc − red_x) / N0
                  + (Rc1/Nc − Rc0/Nc)         changed: each continuing item adds (red_now − red_then) / Nc
                  + (R1/N1 − Rc1/Nc)          entered: each item e that entered adds (red_e − Rc1/Nc) / N1

so every item carries one contribution, and any grouping of items (region one level down, lead department,
domain, priority, kind of change) sums to its part of the change, all of them to the change itself. (With no
continuing item: entered items add red_e / N1 and left items −red_x / N0.) Items that stayed red or stayed
not red contribute nothing. Pure functions of the two item lists (`decompose`) and the database reads
(`red_share`); no Streamlit.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import polars as pl

from analytics import i18n, metrics
from analytics.db import queries
from analytics.filters import Filters
from analytics.levels import child_level
from analytics.metrics import Selection

LIT = ("red", "yellow", "green")
KINDS = ("turned_red", "left_red", "entered", "left")  # the kinds of change that move the share
RATES = ("on_time_rate", "rect_completion_rate", "satisfied_share", "answered_in_time", "landing_rate")
ITEM_COLUMNS = ("project_id", "name", "region_code", "lead_dept", "domain", "priority")


@dataclass(frozen=True)
class Explanation:
    """The red share before and after and each item's contribution to the change (a share, not pp)."""

    before: float | None
    after: float | None
    as_of: date
    before_as_of: date
    n_before: int
    n_after: int
    items: pl.DataFrame  # ITEM_COLUMNS, child_code, child_name, kind, red_before, red_after, contribution

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    def by(self, *keys: str) -> pl.DataFrame:
        """Contributions summed by `keys` (columns of `items`, e.g. "child_name", "kind"), with the item count,
        the largest first; groups that moved nothing are left out."""
        moving = self.items.filter(pl.col("contribution") != 0)
        return (moving.group_by(list(keys)).agg(pl.col("contribution").sum(), pl.len().alias("n_items"))
                .sort([pl.col("contribution").abs(), *keys], descending=[True] + [False] * len(keys)))


def decompose(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Each item's contribution to after's red share minus before's (both: project_id, red as bool, plus any
    columns to carry; only lit items). Items in both take after's columns."""
    b = before.select("project_id", pl.col("red").alias("red_before"))
    a = after.select("project_id", pl.col("red").alias("red_after"))
    n0, n1 = before.height, after.height
    both = a.join(b, on="project_id", how="inner")
    nc = both.height
    rc0 = int(both["red_before"].sum()) if nc else 0
    rc1 = int(both["red_after"].sum()) if nc else 0
    entered = a.join(b, on="project_id", how="anti")
    left = b.join(a, on="project_id", how="anti")
    if nc:
        p0, p1 = rc0 / nc, rc1 / nc
        both = both.with_columns(((pl.col("red_after").cast(pl.Float64) - pl.col("red_before").cast(pl.Float64))
                                  / nc).alias("contribution"))
        entered = entered.with_columns(((pl.col("red_after").cast(pl.Float64) - p1) / n1).alias("contribution"))
        left = left.with_columns(((p0 - pl.col("red_before").cast(pl.Float64)) / n0).alias("contribution"))
    else:
        both = both.with_columns(pl.lit(0.0).alias("contribution"))
        entered = entered.with_columns((pl.col("red_after").cast(pl.Float64) / n1).alias("contribution"))
        left = left.with_columns((-pl.col("red_before").cast(pl.Float64) / n0).alias("contribution"))
    both = both.with_columns(
        pl.when(pl.col("red_after") & ~pl.col("red_before")).then(pl.lit("turned_red"))
        .when(~pl.col("red_after") & pl.col("red_before")).then(pl.lit("left_red"))
        .otherwise(pl.lit("stayed")).alias("kind"))
    parts = [both,
             entered.with_columns(pl.lit(None, pl.Boolean).alias("red_before"), pl.lit("entered").alias("kind")),
             left.with_columns(pl.lit(None, pl.Boolean).alias("red_after"), pl.lit("left").alias("kind"))]
    cols = ["project_id", "kind", "red_before", "red_after", "contribution"]
    moves = pl.concat([p.select(cols) for p in parts], how="vertical_relaxed")
    carried = [c for c in after.columns if c not in ("project_id", "red")]
    info = pl.concat([after.select("project_id", *carried),
                      before.join(after, on="project_id", how="anti").select("project_id", *carried)],
                     how="vertical_relaxed")
    return moves.join(info, on="project_id", how="left")


@dataclass(frozen=True)
class ItemsOnBothDates:
    """The items in flight with their light and rule (item_lights, the cards' own rules) at the comparison date
    and now: read once for both the red share's and the overdue count's explanations."""

    before_as_of: date
    then: pl.DataFrame
    now: pl.DataFrame


def items_on_both_dates(cur: duckdb.DuckDBPyConnection, sel: Selection,
                        before: tuple[Filters, date] | None = None) -> ItemsOnBothDates:
    """`before`: the comparison's filters and as-of date (default: the cockpit's comparison, metrics.previous)."""
    prev_filters, prev_as_of = before or metrics.previous(sel.filters, sel.as_of)
    read = lambda filters, as_of: queries.run(cur, "item_lights", filters, sel.scope, as_of,  # noqa: E731
                                              **sel.thresholds.params())
    return ItemsOnBothDates(prev_as_of, read(prev_filters, prev_as_of), read(sel.filters, sel.as_of))


def _lit(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(pl.col("light").is_in(LIT)).select(*ITEM_COLUMNS, (pl.col("light") == "red").alias("red"))


def red_share(cur: duckdb.DuckDBPyConnection, sel: Selection, before: tuple[Filters, date] | None = None,
              items: ItemsOnBothDates | None = None) -> Explanation:
    """The red share's change for `sel` against `before` (see items_on_both_dates; or the `items` already read),
    item by item, each item placed in the region one level below the selection."""
    items = items or items_on_both_dates(cur, sel, before)
    earlier, after = _lit(items.then), _lit(items.now)
    parts = _with_child(cur, sel, decompose(earlier, after))
    shares = [None if f.height == 0 else float(f["red"].sum()) / f.height for f in (earlier, after)]
    return Explanation(shares[0], shares[1], sel.as_of, items.before_as_of, earlier.height, after.height, parts)


def pp(x: float) -> float:
    """A share's change in percentage points, to one decimal (as the cards show it)."""
    return round(100 * x, 1)


def rounded_parts(values: list[float], total: float) -> list[float]:
    """`values` (pp) rounded to one decimal so that they add up to `total` rounded to one decimal on screen:
    largest remainders first (each part moves at most 0.1 from its own rounding)."""
    tenths = [v * 10 for v in values]
    floors = [int(t // 1) for t in tenths]
    missing = round(total * 10) - sum(floors)
    order = sorted(range(len(values)), key=lambda i: tenths[i] - floors[i], reverse=missing > 0)
    for i in order[:abs(missing)]:
        floors[i] += 1 if missing > 0 else -1
    return [f / 10 for f in floors]


def summary(e: Explanation, lang: str, top: int = 3, head: bool = True) -> str:
    """The change in words: its parts by kind of change, adding up on screen, then the regions one level down that
    moved it most. "红灯占比较2026年11月6日 -0.2 个百分点：251 个事项转红 +3.3；442 个事项移出（…）-2.5；…。
    变化最大的地区：云南省 +0.1、安徽省 -0.1。" """
    t = lambda key, **kw: i18n.t(f"explain.{key}", lang, **kw)  # noqa: E731
    if e.change is None:
        return t("no_change_known")
    total = pp(e.change)
    kinds = e.by("kind")
    kinds = kinds.sort(pl.col("kind").replace_strict({k: i for i, k in enumerate(KINDS)}, default=len(KINDS)))
    shown = rounded_parts([100 * c for c in kinds["contribution"]], total)
    sep = "；" if lang == "zh" else "; "
    words = [t("part", n=i18n.fmt_int(n, lang), kind=t(f"kind_{k}"), value=f"{v:+.1f}")
             for k, n, v in zip(kinds["kind"], kinds["n_items"], shown)]
    opening = (t("head", value=f"{total:+.1f}", date=i18n.fmt_date(e.before_as_of, lang)) if head
               else t("parts_head"))  # the meeting's sentence has just said the change and its comparison
    text = opening + (sep.join(words) if words else t("nothing_moved"))
    if e.items["child_name"].is_not_null().any():
        regions = e.by("child_name").filter(pl.col("child_name").is_not_null()).head(top)
        named = [f"{i18n.glossary('province', r['child_name'], lang)} {pp(r['contribution']):+.1f}"
                 for r in regions.iter_rows(named=True) if pp(r["contribution"]) != 0]
        if named:
            text += t("regions", list=("、" if lang == "zh" else ", ").join(named))
    if (cell := top_cell(e)) is not None:
        text += t("cell", value=f"{pp(cell['contribution']):+.1f}", n=i18n.fmt_int(cell["n_items"], lang),
                  region=i18n.glossary("province", cell["child_name"], lang),
                  domain=i18n.glossary("domain", cell["domain"], lang), kind=t(f"kind_{cell['kind']}"))
    return text + ("。" if lang == "zh" else ".")


def top_cell(e: Explanation) -> dict | None:
    """The one region (one level down) × domain × kind of change that moved the share most ("0.8 from 14 items of
    合肥市's housing domain that turned red"): named when it holds at least MIN_CELL_ITEMS items, moved the share by
    at least 0.1 pp on screen, moved it more than any other group (no tie picked at random), and is not all the
    items of its kind of change (already said by the kinds, e.g. in a selection of one region and one domain)."""
    cells = e.by("child_name", "domain", "kind").filter(pl.col("child_name").is_not_null()
                                                        & pl.col("domain").is_not_null())
    if cells.is_empty():
        return None
    first = cells.row(0, named=True)
    kind = e.by("kind").filter(pl.col("kind") == first["kind"])
    if kind["n_items"][0] == first["n_items"]:  # the group is all of its kind: the sentence has said it already
        return None
    runner_up = abs(cells["contribution"][1]) if cells.height > 1 else 0.0
    if first["n_items"] < MIN_CELL_ITEMS or pp(first["contribution"]) == 0 or abs(first["contribution"]) - runner_up < 1e-12:
        return None
    return first


MIN_CELL_ITEMS = 3  # fewer items than this in one region × domain × kind is an anecdote, not where a change came from


# --- unusual changes: a region's change against its own history ----------------------------------------------

MIN_HISTORY = 8  # past changes a region needs before its change can be called unusual
UNUSUAL_Z = 3.5  # |modified z| from which a change is unusual (Iglewicz & Hoaglin)


def robust_z(now: float, history: list[float]) -> tuple[float | None, float, float]:
    """(modified z-score of `now` against `history`, the history's median, its MAD); z is None when the history
    is too short or does not vary (MAD 0): nothing to compare with."""
    hist = list(history)
    if len(hist) < MIN_HISTORY:
        return None, float("nan"), float("nan")
    med = statistics.median(hist)
    mad = statistics.median(abs(x - med) for x in hist)
    if mad == 0:
        return None, med, mad
    return 0.6745 * (now - med) / mad, med, mad


def _history_grain(filters: Filters) -> tuple[str, int] | None:
    """The series grain and lag whose changes are like the card's: four weeks for all time, one month or quarter
    for a month or quarter (a year has too few past years to judge)."""
    p = filters.period
    if p == "all":
        return "week", 4
    if "-Q" in p:
        return "quarter", 1
    if "-" in p and "-W" not in p:
        return "month", 1
    return None


@dataclass(frozen=True)
class Summaries:
    """metrics.summarise of the selection at the comparison date (0) and now (1), the regions one level down as
    children: read once for the unusual changes and every rate's split."""

    level: str | None
    before_as_of: date
    total0: dict
    kids0: pl.DataFrame
    total1: dict
    kids1: pl.DataFrame


def summaries(cur: duckdb.DuckDBPyConnection, sel: Selection,
              before: tuple[Filters, date] | None = None) -> Summaries:
    prev_filters, prev_as_of = before or metrics.previous(sel.filters, sel.as_of)
    level = child_level(cur, sel.filters.region_code)
    total1, kids1 = metrics.summarise(cur, sel, level)
    total0, kids0 = metrics.summarise(cur, replace(sel, filters=prev_filters, as_of=prev_as_of), level)
    return Summaries(level, prev_as_of, total0, kids0, total1, kids1)


def unusual_regions(cur: duckdb.DuckDBPyConnection, sel: Selection, periods: int = 30,
                    sums: Summaries | None = None) -> pl.DataFrame:
    """The regions one level down whose red share moved far outside their own history: each region's change
    against the card's comparison (metrics.previous), its modified z-score against the same-length changes of
    the preceding windows (which end before the comparison date), n items now. Unusual first, largest |z| first;
    only regions with enough items (min_n) and history."""
    from analytics import series

    schema = {"region_code": pl.Utf8, "name": pl.Utf8, "change": pl.Float64, "typical": pl.Float64,
              "mad": pl.Float64, "z": pl.Float64, "n": pl.Int64, "n_history": pl.Int64}
    grain = _history_grain(sel.filters)
    if grain is None:
        return pl.DataFrame(schema=schema)
    sums = sums or summaries(cur, sel)
    level, prev_as_of, now, before = sums.level, sums.before_as_of, sums.kids1, sums.kids0
    if level is None:
        return pl.DataFrame(schema=schema)
    grain, lag = grain
    if now.is_empty() or before.is_empty():
        return pl.DataFrame(schema=schema)
    both = now.select("region_code", "name", pl.col("red_share").alias("after"), pl.col("n_lit").alias("n")).join(
        before.select("region_code", pl.col("red_share").alias("before"), pl.col("n_lit").alias("n_before")),
        on="region_code", how="inner")
    hist = series.metric_series(cur, replace(sel, filters=replace(sel.filters, period="all")), "red_share", grain,
                                periods + lag, by="region", level=level)
    hist = hist.filter(pl.col("n") >= sel.thresholds.min_n).sort("group", "period_end")
    by_region: dict[str, list[tuple]] = {}
    for g, end, v in hist.select("group", "period_end", "value").iter_rows():
        by_region.setdefault(g, []).append((end, v))
    rows = []
    for r in both.iter_rows(named=True):
        if r["after"] is None or r["before"] is None or min(r["n"], r["n_before"]) < sel.thresholds.min_n:
            continue
        points = [(e, v) for e, v in by_region.get(r["region_code"], []) if v is not None and e <= prev_as_of]
        changes = [b[1] - a[1] for a, b in zip(points, points[lag:])]
        change = r["after"] - r["before"]
        z, med, mad = robust_z(change, changes)
        if z is None:
            continue
        rows.append((r["region_code"], r["name"], change, med, mad, z, r["n"], len(changes)))
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.sort(pl.col("z").abs(), descending=True)


# --- any rate: its change over the regions one level down, rate and mix ----------------------------------------

@dataclass(frozen=True)
class RatioChange:
    """A rate's change (numerator / denominator) split over the regions one level down (and the selection's own
    level: items or facts placed at the selected region itself), each region's part split into a rate effect
    (its own rate moved) and a mix effect (its weight in the denominator moved): with w = den / DEN and r = num /
    den, w1·r1 − w0·r0 = ½(w0 + w1)(r1 − r0) + ½(r0 + r1)(w1 − w0) exactly (a region absent on one date takes
    its other rate there, so its part is all mix), and the parts add up to N1/D1 − N0/D0."""

    metric: str
    before: float | None
    after: float | None
    before_as_of: date
    regions: pl.DataFrame  # region_code (None: own level), name, num0, den0, num1, den1, rate, mix, contribution

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


def ratio_by_region(cur: duckdb.DuckDBPyConnection, sel: Selection, key: str,
                    before: tuple[Filters, date] | None = None, sums: Summaries | None = None) -> RatioChange:
    """`key`'s change split over the regions (see RatioChange), from `sums` when already read."""
    m = metrics.BY_KEY[key]
    if not (m.numerator and m.denominator):
        raise ValueError(f"{key} is not a rate (numerator / denominator)")
    sums = sums or summaries(cur, sel, before)
    level, prev_as_of = sums.level, sums.before_as_of
    total0, kids0, total1, kids1 = sums.total0, sums.kids0, sums.total1, sums.kids1
    schema = {"region_code": pl.Utf8, "name": pl.Utf8, "num0": pl.Float64, "den0": pl.Float64, "num1": pl.Float64,
              "den1": pl.Float64, "rate": pl.Float64, "mix": pl.Float64, "contribution": pl.Float64}
    n0, d0 = float(total0.get(m.numerator) or 0), float(total0.get(m.denominator) or 0)
    n1, d1 = float(total1.get(m.numerator) or 0), float(total1.get(m.denominator) or 0)
    after, earlier = (n1 / d1 if d1 else None), (n0 / d0 if d0 else None)
    if after is None or earlier is None:
        return RatioChange(key, earlier, after, prev_as_of, pl.DataFrame(schema=schema))

    def counts(kids: pl.DataFrame) -> dict[str, tuple]:
        if kids.is_empty() or level is None:
            return {}
        return {c: (nm, float(a or 0), float(b or 0)) for c, nm, a, b in
                kids.select("region_code", "name", m.numerator, m.denominator).iter_rows()}

    c0, c1 = counts(kids0), counts(kids1)
    rows = {c: (c1.get(c, c0.get(c))[0], c0.get(c, (None, 0.0, 0.0))[1:], c1.get(c, (None, 0.0, 0.0))[1:])
            for c in {*c0, *c1}}
    own0 = (n0 - sum(v[1] for v in c0.values()), d0 - sum(v[2] for v in c0.values()))
    own1 = (n1 - sum(v[1] for v in c1.values()), d1 - sum(v[2] for v in c1.values()))
    if own0[1] or own1[1]:
        rows[None] = (None, own0, own1)
    out = []
    for code, (name, (a0, b0), (a1, b1)) in rows.items():
        if not b0 and not b1:
            continue
        w0, w1 = b0 / d0, b1 / d1
        r1 = a1 / b1 if b1 else None
        r0 = a0 / b0 if b0 else r1
        r1 = r0 if r1 is None else r1
        rate, mix = (w0 + w1) / 2 * (r1 - r0), (r0 + r1) / 2 * (w1 - w0)
        out.append((code, name, a0, b0, a1, b1, rate, mix, rate + mix))
    frame = pl.DataFrame(out, schema=schema, orient="row")
    return RatioChange(key, earlier, after, prev_as_of, frame.sort(pl.col("contribution").abs(), descending=True))


# --- a count: overdue items ----------------------------------------------------------------------------------

COUNT_KINDS = ("became_overdue", "finished", "no_longer_overdue")


def overdue(cur: duckdb.DuckDBPyConnection, sel: Selection, before: tuple[Filters, date] | None = None,
            items: ItemsOnBothDates | None = None) -> Explanation:
    """The overdue card's change, item by item: +1 for each item overdue now and not then (became_overdue), −1 for
    each item overdue then and not now, split into those no longer in flight (finished: completed or stopped) and
    those still in flight (no_longer_overdue: their deadline moved). The parts add up to the card's change; the
    shares of `Explanation` hold the two counts here."""
    items = items or items_on_both_dates(cur, sel, before)
    flying = lambda rows: rows.select(*ITEM_COLUMNS,  # noqa: E731
                                      (pl.col("rule") == "overdue").fill_null(False).alias("overdue"))
    now, then = flying(items.now), flying(items.then)
    late_now, late_then = now.filter("overdue"), then.filter("overdue")
    became = late_now.join(late_then.select("project_id"), on="project_id", how="anti").with_columns(
        pl.lit("became_overdue").alias("kind"), pl.lit(1.0).alias("contribution"))
    gone = late_then.join(late_now.select("project_id"), on="project_id", how="anti")
    still = set(now["project_id"].to_list())
    gone = gone.with_columns(
        pl.when(pl.col("project_id").is_in(list(still))).then(pl.lit("no_longer_overdue"))
        .otherwise(pl.lit("finished")).alias("kind"), pl.lit(-1.0).alias("contribution"))
    moved = pl.concat([became.drop("overdue"), gone.drop("overdue")], how="vertical_relaxed")
    moved = moved.with_columns(pl.lit(None, pl.Boolean).alias("red_before"), pl.lit(None, pl.Boolean).alias("red_after"))
    return Explanation(float(late_then.height), float(late_now.height), sel.as_of, items.before_as_of, then.height,
                       now.height, _with_child(cur, sel, moved))


def _with_child(cur: duckdb.DuckDBPyConnection, sel: Selection, items: pl.DataFrame) -> pl.DataFrame:
    """`items` with child_code and child_name: the region one level below the selection each item lies in."""
    level = child_level(cur, sel.filters.region_code)
    if level is not None and items.height:
        up = queries.run(cur, "region_ancestor_at", scope=sel.scope, level=level,
                         codes=items["region_code"].unique().to_list())
        return items.join(up, on="region_code", how="left")
    return items.with_columns(pl.col("region_code").alias("child_code"), pl.lit(None, pl.Utf8).alias("child_name"))


def overdue_summary(e: Explanation, lang: str, top: int = 3) -> str:
    """"逾期事项较2026年11月6日 -14 项：新逾期 35 项；已完成或终止 41 项；不再逾期（计划调整）8 项。变化最大的地区：…" """
    t = lambda key, **kw: i18n.t(f"explain.{key}", lang, **kw)  # noqa: E731
    change = int(e.after - e.before)
    kinds = e.by("kind")
    order = {k: i for i, k in enumerate(COUNT_KINDS)}
    words = [t(f"count_{k}", n=i18n.fmt_int(n, lang)) for k, n in
             sorted(zip(kinds["kind"], kinds["n_items"]), key=lambda kv: order.get(kv[0], 9))]
    sep = "；" if lang == "zh" else "; "
    text = t("count_head", value=f"{change:+,d}", date=i18n.fmt_date(e.before_as_of, lang)) + (
        sep.join(words) if words else t("nothing_moved"))
    if e.items["child_name"].is_not_null().any():
        regions = e.by("child_name").filter(pl.col("child_name").is_not_null()).head(top)
        named = [f"{i18n.glossary('province', r['child_name'], lang)} {int(r['contribution']):+d}"
                 for r in regions.iter_rows(named=True) if r["contribution"]]
        if named:
            text += t("regions", list=("、" if lang == "zh" else ", ").join(named))
    return text + ("。" if lang == "zh" else ".")


# --- the execution index: its change over its components ------------------------------------------------------

INDEX_PARTS = tuple(metrics.DEFAULT_WEIGHTS)  # landing, on-time, satisfaction, budget alignment


@dataclass(frozen=True)
class IndexChange:
    """The index before and after and each component's contribution in index points (they add up to the change)."""

    before: float | None
    after: float | None
    before_as_of: date
    parts: pl.DataFrame  # component, weight, score0, score1 (0–1, null = absent), contribution (points)

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


def index_terms(total: dict, weights: dict[str, float]) -> dict[str, float]:
    """Each present component's term of the index, 100 × w × score / (sum of the present components' weights):
    the terms add up to the index exactly as `metrics.with_index` computes it."""
    scores = {c: total.get(f"{c}_adj") for c, w in weights.items() if w > 0}
    scores = {c: float(s) for c, s in scores.items() if s is not None and s == s}
    weight = sum(weights[c] for c in scores)
    return {c: 100 * weights[c] * s / weight for c, s in scores.items()} if weight else {}


def index_change(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None,
                 before: tuple[Filters, date] | None = None, sums: Summaries | None = None) -> IndexChange:
    """The index card's change split over its components: component c contributes its term now minus its term then
    (`index_terms`; a component present on one date only contributes that term, with the weights renormalised as
    the index renormalises them), so the parts add up to the change exactly."""
    weights = weights or metrics.DEFAULT_WEIGHTS
    sums = sums or summaries(cur, sel, before)
    t0, t1 = index_terms(sums.total0, weights), index_terms(sums.total1, weights)
    rows = []
    for c in weights:
        if c in t0 or c in t1:
            s0, s1 = sums.total0.get(f"{c}_adj"), sums.total1.get(f"{c}_adj")
            rows.append((c, weights[c], s0 if c in t0 else None, s1 if c in t1 else None, t1.get(c, 0.0) - t0.get(c, 0.0)))
    parts = pl.DataFrame(rows, schema={"component": pl.Utf8, "weight": pl.Float64, "score0": pl.Float64,
                                       "score1": pl.Float64, "contribution": pl.Float64}, orient="row")
    return IndexChange(sum(t0.values()) if t0 else None, sum(t1.values()) if t1 else None, sums.before_as_of,
                       parts.sort(pl.col("contribution").abs(), descending=True))


def component_label(component: str, lang: str) -> str:
    m = metrics.BY_KEY.get(component)
    return m.label(lang) if m is not None else i18n.t(f"explain.comp_{component}", lang)


def index_summary(e: IndexChange, lang: str) -> str:
    """"执行综合指数较2026年11月6日 -1.2：按期完成率 -0.8；群众满意率 -0.3；…。" (parts rounded to add up)"""
    t = lambda key, **kw: i18n.t(f"explain.{key}", lang, **kw)  # noqa: E731
    if e.change is None:
        return t("no_change_known")
    total = round(e.change, 1)
    shown = rounded_parts(e.parts["contribution"].to_list(), total)
    sep = "；" if lang == "zh" else "; "
    words = [f"{component_label(c, lang)} {v:+.1f}" for c, v in zip(e.parts["component"], shown) if v]
    return (t("index_head", value=f"{total:+.1f}", date=i18n.fmt_date(e.before_as_of, lang))
            + (sep.join(words) if words else t("nothing_moved")) + ("。" if lang == "zh" else "."))
