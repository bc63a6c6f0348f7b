"""Execution metrics: declared records, editable thresholds and weights, and the per-region table.

Every metric is a `Metric` record (labels, unit, direction, formula, seed source, target) whose
value comes from the grouped queries in `db/sql/metrics.py`. Rates carry their n. The composite
index uses each region's own rates (one region, one period, one weighting: one value on every page),
and regions with fewer than `min_n` items in flight are not ranked at all (listed after the ranked
ones, marked), so that a county with two items cannot top the league by luck.
See docs/metrics.md (generated from these records).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics.db import queries
from analytics import i18n, levels
from analytics.filters import ALL, Filters, period_bounds
from analytics.db.queries import Scope

LEVELS = ("country", "province", "city", "county")


@dataclass(frozen=True)
class Thresholds:
    """Warning thresholds, in percentage points of an item's work (defaults from the seeds)."""

    blue_pp: float = 5.0  # 000 §4.4: blue 5–10
    yellow_pp: float = 10.0  # 000 §1.1, §3.2: deviation > 10% triggers tracking; yellow light
    orange_pp: float = 15.0  # 000 §4.4: orange 15–20
    red_pp: float = 20.0  # 000 §2.3, §3.3: red when key-node lag > 20%
    response_hours: int = 48  # time limit for answering feedback
    min_n: int = 10  # rates on fewer cases are marked and shrunk for ranking

    def __post_init__(self):
        levels = (self.blue_pp, self.yellow_pp, self.orange_pp, self.red_pp)
        if not all(0 <= v <= 100 for v in levels) or list(levels) != sorted(levels):
            raise ValueError(f"thresholds must rise within 0–100 pp: blue {self.blue_pp} ≤ yellow {self.yellow_pp}"
                             f" ≤ orange {self.orange_pp} ≤ red {self.red_pp}")
        if self.response_hours <= 0 or self.min_n < 1:
            raise ValueError("response_hours must be above 0 and min_n at least 1")

    def params(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "min_n"}


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    unit: str  # share (0–1, shown as %), count, pp, days, rating (1–5), score (0–100)
    direction: str  # higher_is_better | lower_is_better
    formula_zh: str
    formula_en: str
    seed: str
    numerator: str | None = None  # rate = numerator / denominator, n = denominator
    denominator: str | None = None
    column: str | None = None  # a value computed directly, n in `n_column`
    n_column: str | None = None
    target: float | None = None  # only where the seeds give one (DOMAIN.md thresholds table)

    @property
    def n_col(self) -> str:
        return self.denominator or self.n_column or self.column

    def label(self, lang: str) -> str:
        """The metric's name as a heading or a card title: Chinese, or English with a capital."""
        return self.zh if lang == "zh" else self.en[:1].upper() + self.en[1:]


M = Metric
METRICS: tuple[Metric, ...] = (
    M("in_flight", "在办事项", "items in flight", "count", "higher_is_better",
      "截至日已开始、未完成、未终止的事项数", "items started, not completed and not terminated at the as-of date",
      "000 §3.2", column="n_in_flight", n_column="n_in_flight"),
    M("red_share", "红灯占比", "red share", "share", "lower_is_better",
      "红灯事项 ÷ 有灯色的在办事项", "red items ÷ items in flight with a light", "000 §2.3, §3.3",
      numerator="n_red", denominator="n_lit"),
    M("overdue", "逾期事项", "overdue items", "count", "lower_is_better",
      "已过计划完成日期仍未完成的事项数", "items past their planned end date and not completed", "000 §3.2",
      column="n_overdue", n_column="n_in_flight"),
    M("avg_lag_pp", "平均进度偏差", "average progress lag", "pp", "lower_is_better",
      "计划进度 − 实际进度（百分点），在办且有进度数据的事项平均",
      "planned − actual progress (percentage points), mean over items in flight reporting progress",
      "000 §1.1", column="avg_lag_pp", n_column="n_with_progress"),
    M("on_time_rate", "按期完成率", "on-time completion rate", "share", "higher_is_better",
      "期内完成且不晚于计划完成日期的事项 ÷ 期内完成的事项", "items completed in the period by their planned end ÷ items completed in the period",
      "000 §2.3", numerator="n_on_time", denominator="n_completed"),
    M("landing_rate", "指标落地率", "indicator landing rate", "share", "higher_is_better",
      "达到目标的指标值 ÷ 有目标和实际值的指标值（按指标方向判断）",
      "indicator values meeting target ÷ values with target and actual (respecting direction)", "004 §8.2",
      numerator="n_indicators_met", denominator="n_indicator_values"),
    M("rect_completion_rate", "整改完成率", "rectification completion rate", "share", "higher_is_better",
      "到期整改事项中已销号的 ÷ 到期整改事项", "due rectifications closed ÷ due rectifications", "000 §2.3",
      numerator="n_rect_closed", denominator="n_rect_due", target=0.95),
    M("rect_overdue", "逾期整改", "overdue rectifications", "count", "lower_is_better",
      "已过整改时限仍未销号的整改事项数", "rectifications past their deadline and not closed", "000 §3.2",
      column="n_rect_overdue", n_column="n_rect_overdue"),
    M("avg_days_to_close", "平均整改用时", "average days to close", "days", "lower_is_better",
      "期内销号的整改事项从发现到销号的平均天数", "mean days from found to closed, rectifications closed in the period",
      "001 §8.2", column="avg_days_to_close", n_column="n_rect_closed_in_window", target=7.0),
    M("relapse_rate", "整改反弹率", "relapse rate", "share", "lower_is_better",
      "期内发现的反弹问题 ÷ 期内发现的整改问题", "relapses found in the period ÷ problems found in the period",
      "000 §2.1", numerator="n_relapse", denominator="n_rect_found"),
    M("avg_satisfaction", "平均满意度", "mean satisfaction", "rating", "higher_is_better",
      "期内反馈满意度评分（1–5）的平均值", "mean satisfaction score (1–5) of feedback received in the period",
      "000 §2.4", column="avg_satisfaction", n_column="n_rated"),
    M("satisfied_share", "满意率", "share satisfied", "share", "higher_is_better",
      "满意度 4–5 分的反馈 ÷ 有评分的反馈", "feedback scored 4–5 ÷ feedback with a score", "000 §2.4, 001 §3.1",
      numerator="n_satisfied", denominator="n_rated", target=0.9),
    M("complaint_rate", "投诉占比", "complaint share", "share", "lower_is_better",
      "投诉 ÷ 全部反馈", "complaints ÷ all feedback", "000 §2.1",
      numerator="n_complaints", denominator="n_feedback"),
    M("answered_in_time", "按时答复率", "answered in time", "share", "higher_is_better",
      "时限内答复的 ÷ 须答复的反馈（12345热线、企业诉求和所有投诉；时限可设置）",
      "answered within the time limit ÷ feedback needing an answer (12345 hotline, enterprise, every complaint; "
      "limit configurable)", "000 §2.1", numerator="n_answered_in_time", denominator="n_need_response"),
    M("resolution_rate", "投诉解决率", "complaint resolution rate", "share", "higher_is_better",
      "已解决的投诉 ÷ 投诉", "complaints resolved ÷ complaints", "000 §2.3",
      numerator="n_complaints_resolved", denominator="n_complaints"),
    M("budget_execution", "预算执行率", "budget execution rate", "share", "higher_is_better",
      "在办事项累计支出 ÷ 其预算", "spent ÷ budget of items in flight", "003 §2.3.2",
      numerator="spent_wan_yuan", denominator="budgeted_wan_yuan", n_column="n_budget_gap"),
    M("budget_gap_pp", "资金进度偏差", "budget-vs-progress gap", "pp", "lower_is_better",
      "支出占预算比例 − 实际进度（百分点）的平均值；正值表示花钱快于干活",
      "mean of spent share of budget − actual progress (pp); positive means money ahead of work", "003 §2.3.2",
      column="avg_budget_gap_pp", n_column="n_budget_gap"),
    M("index", "执行综合指数", "execution index", "score", "higher_is_better",
      "加权平均：指标落地率、按期完成率、满意率、资金匹配度（1 − |资金进度偏差|/100），权重可调；无法度量的创新分项不计，权重按可得分项重新归一",
      "weighted mean of landing rate, on-time rate, share satisfied and budget alignment (1 − |gap|/100); "
      "weights editable; the unmeasurable innovation part is left out and weights renormalised",
      "004 §8.2", column="index", n_column="n_index"),
)
BY_KEY = {m.key: m for m in METRICS}

# seed 004 §8.2: landing 30%, coordination efficiency 25%, public satisfaction 20%, cost saving 15%,
# innovation 10% (not measurable from these data). Coordination → on-time rate; cost → budget alignment.
DEFAULT_WEIGHTS: dict[str, float] = {"landing_rate": 0.30, "on_time_rate": 0.25, "satisfied_share": 0.20,
                                     "budget_alignment": 0.15}
INDEX_COMPONENTS = {  # component -> (numerator, denominator) for shrinkage, or a direct column
    "landing_rate": ("n_indicators_met", "n_indicator_values"),
    "on_time_rate": ("n_on_time", "n_completed"),
    "satisfied_share": ("n_satisfied", "n_rated"),
}


@dataclass(frozen=True)
class Selection:
    """What a metrics table is computed for: filters, scope, as-of date and grouping level."""

    filters: Filters = Filters()
    scope: Scope = Scope()
    as_of: date = field(default_factory=date.today)
    thresholds: Thresholds = Thresholds()


def summarise(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str | None,
              weights: dict[str, float] | None = None) -> tuple[dict, pl.DataFrame]:
    """The selection's own metrics (one record; {} when nothing matches) and one row per region at
    `level` below it, with every metric, the index and the rank; both from one pass per source."""
    total_code = sel.filters.region_code or "100000"
    total_level = levels.level_of(cur, sel.filters.region_code)
    level = level or total_level
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: expected one of {LEVELS}")
    extra = sel.thresholds.params() | {"group_level": level, "total_code": total_code}
    run = lambda name: queries.run(cur, name, sel.filters, sel.scope, sel.as_of, **extra)  # noqa: E731
    frame = run("region_items")
    for name in ("region_rectifications", "region_feedback", "region_indicators"):
        frame = frame.join(run(name), on="region_code", how="left")
    frame = frame.with_columns(pl.col(c).fill_null(0) for c in frame.columns
                               if c.startswith("n_") and frame.schema[c].is_integer())
    weights = weights or DEFAULT_WEIGHTS
    total = frame.filter(pl.col("region_code") == total_code)
    children = frame.filter(pl.col("level") == level)
    total_row = add_metrics(total, sel.thresholds, weights).row(0, named=True) if total.height else {}
    return total_row, add_metrics(children, sel.thresholds, weights)


def region_table(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str,
                 weights: dict[str, float] | None = None) -> pl.DataFrame:
    """One row per region at `level` within the selection: counts, every metric, index and rank."""
    return summarise(cur, sel, level, weights)[1]


def totals(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None) -> dict:
    """The metrics of the whole selection (the chosen region, or the nation), as one record."""
    return summarise(cur, sel, None, weights)[0]


def rate(num: str, den: str) -> pl.Expr:
    """numerator / denominator, None where there is no case."""
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def with_index(frame: pl.DataFrame, weights: dict[str, float]) -> pl.DataFrame:
    """The execution index of every row from its counts: the weighted mean of its own landing, on-time and
    satisfaction rates and budget alignment, weights renormalised over the components it has. One definition for
    the region tables and the time series. Each row's own rates: a region has one index whatever it is compared
    with (its parent's map and table, its own page, the meeting, the exports). Rates were once shrunk toward the
    rows' overall rate, which gave a region another value in every table it appeared in (issue 17); small samples
    are left unranked instead (`add_metrics`) and shown with their n."""
    comps = [rate(num, den).alias(f"{comp}_adj") for comp, (num, den) in INDEX_COMPONENTS.items()]
    comps.append((1 - (pl.col("avg_budget_gap_pp").abs() / 100).clip(0, 1)).alias("budget_alignment_adj"))
    frame = frame.with_columns(comps)
    used = [(f"{c}_adj", w) for c, w in weights.items() if w > 0]
    if not used:  # no component weighs anything: no index (rather than a failed sum of nothing)
        used = [("budget_alignment_adj", 0.0)]
    num = pl.sum_horizontal([pl.col(c).fill_null(0) * w for c, w in used])
    den = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) * w for c, w in used])
    # the index's n: the items it speaks about, in flight and completed in the window (a region whose items all
    # finished has an index from their on-time rate and ratings: "n = 0" beside it read as no data, issue 17)
    n_index = (pl.col("n_in_flight").fill_null(0) + pl.col("n_completed").fill_null(0)).alias("n_index")
    return frame.with_columns(pl.when(den > 0).then(100 * num / den).otherwise(None).alias("index"), n_index)


def add_metrics(frame: pl.DataFrame, th: Thresholds, weights: dict[str, float]) -> pl.DataFrame:
    """Every metric, the index (from each row's own rates) and the rank, from the counts."""
    frame = frame.with_columns(
        [rate(m.numerator, m.denominator).alias(m.key) for m in METRICS if m.numerator]
        + [pl.col(m.column).alias(m.key) for m in METRICS if m.column and m.key != "index"]
    )
    frame = with_index(frame, weights)
    # regions on fewer than min_n items get no rank: they are listed after the ranked ones, marked
    frame = frame.with_columns((pl.col("n_in_flight") < th.min_n).alias("is_small"))
    frame = frame.with_columns(
        pl.when(~pl.col("is_small") & pl.col("index").is_not_null())
        .then(pl.col("index").rank("ordinal", descending=True).over(pl.col("is_small") | pl.col("index").is_null()))
        .otherwise(None).cast(pl.UInt32).alias("rank"))
    return frame.sort(["rank", "index"], descending=[False, True], nulls_last=True)


def previous(filters: Filters, as_of: date) -> tuple[Filters, date]:
    """The comparison point: the period before the chosen one, or four weeks earlier for all time."""
    if filters.period == ALL:
        return filters, as_of - timedelta(days=28)
    start, _ = period_bounds(filters.period, as_of)
    p = filters.period
    if "-Q" in p:
        y, q = int(p[:4]), int(p[-1])
        prev = f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
    elif "-" in p:
        y, m = int(p[:4]), int(p[5:])
        prev = f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
    else:
        prev = str(int(p) - 1)
    return replace(filters, period=prev), start - timedelta(days=1)


def comparison_text(filters: Filters, as_of: date, lang: str) -> str:
    """What a change is compared with, in words and a date: "较 2026年10月25日（4 周前）" / "vs 25 Oct 2026 (4 weeks
    earlier)" for all time, "较 2026年10月（上期）" / "vs Oct 2026 (the period before)" for a period. Every change the
    pages show names it, so "全部时间" never silently means four weeks ago (issue 17)."""
    prev_filters, prev_as_of = previous(filters, as_of)
    if filters.period == ALL:
        return i18n.t("kpi.vs_weeks", lang, date=i18n.fmt_date(prev_as_of, lang), weeks=4)
    return i18n.t("kpi.vs_period", lang, period=i18n.fmt_period(prev_filters.period, lang),
                  date=i18n.fmt_date(prev_as_of, lang))


def markdown() -> str:
    """docs/metrics.md, generated (`python -m analytics metrics-doc > docs/metrics.md`)."""
    th = Thresholds()
    out = ["# Metrics", "", "Generated from `analytics/metrics.py` by `python -m analytics metrics-doc`; a test fails "
           "when this file and the module disagree.", "",
           "Every metric is computed by the grouped queries in `analytics/db/sql/metrics.py` for the current "
           "filters and scope, as of the end of the chosen period (clipped to the data's as-of date). Rates are "
           "shown with their n.", "",
           "## Traffic light and four-level warning of an item in flight", "",
           "The evidence used, in order: **overdue** (past the planned end date: red) > **progress** (planned − "
           "actual progress of the latest report) > **milestones** (weight of milestones due and not achieved, as "
           "a share of all milestones' weight) > **forecast** (forecast delay beyond the planned end, as a share of "
           "the planned duration) > **reported RAG** > no data. All lags are in percentage points (pp) of the "
           "item's work, so one set of thresholds serves every rule; the rule that fired is shown with each item. "
           "Where progress figures exist the relative lag, (planned − actual) ÷ planned, is shown beside it.",
           "", "| setting | default | meaning |", "|---|---|---|",
           f"| blue_pp | {th.blue_pp:g} | blue warning from this lag (seed 000 §4.4) |",
           f"| yellow_pp | {th.yellow_pp:g} | yellow light and warning above this lag (000 §1.1, §3.2) |",
           f"| orange_pp | {th.orange_pp:g} | orange warning above this lag (000 §4.4) |",
           f"| red_pp | {th.red_pp:g} | red light and warning above this lag (000 §2.3, §3.3) |",
           f"| response_hours | {th.response_hours} | time limit for answering feedback |",
           f"| min_n | {th.min_n} | regions with fewer items in flight are marked and not ranked |", "",
           "Reported RAG maps to lights as red/amber-red → red, amber → yellow, amber-green/green → green, and to "
           "warnings as red → red, amber-red → orange, amber → yellow, amber-green → blue.", "",
           "### On a monthly ledger alone", "",
           "A ledger (docs/uploads.md, “The monthly ledger”) gives each item a deadline, a reported progress without "
           "a planned one, and a status word; it has no milestones and no forecast. Of the rules above, these fire: "
           "**overdue** when the deadline has passed and the item is not completed (red; an item without a deadline, "
           "长期坚持 or 持续推进, is never overdue, and counts as on time when it is completed); else, where the "
           "ledger gives a start date (a 开始时间 column) and the deadline is a date, **progress against elapsed "
           "time**: the planned progress is the share of the time from start to deadline gone by at the ledger's "
           "date (序时进度, stored with `planned_basis` = `elapsed`, linear, 0–100%), and the progress rule above "
           "judges the reported progress against it (an item whose progress cell is blank gets no planned progress "
           "either; as everywhere, the progress rule comes before the reported rating, whose 滞后 stays what the "
           "authenticity page compares the gap with); else **reported RAG** "
           "from the month's status word: 滞后 → red, 正在推进 and 序时推进 → green (reported as not lagging, the "
           "绿灯 of supervision practice). An item 未启动, or one whose status cell is blank, has no light (“no data”, "
           "grey) rather than a guessed one, and counts in no red share. Uploading planned progress "
           "(`progress_reports.planned_progress_pct`) or milestones lights items by the progress or milestone "
           "rule, which comes first.", "",
           "## Metrics", "", "| key | 中文 | English | unit | better | formula | seed | target |",
           "|---|---|---|---|---|---|---|---|"]
    for m in METRICS:
        better = "higher" if m.direction == "higher_is_better" else "lower"
        target = "" if m.target is None else f"{m.target:g}"
        out.append(f"| `{m.key}` | {m.zh} | {m.en} | {m.unit} | {better} | {m.formula_en} | {m.seed} | {target} |")
    w = ", ".join(f"{k} {v:.0%}" for k, v in DEFAULT_WEIGHTS.items())
    out += ["", "## Execution index", "",
            f"Default weights: {w} (seed 004 §8.2: landing rate 30%, coordination efficiency 25%, public "
            "satisfaction 20%, cost saving 15%, innovation 10%; innovation cannot be measured from these data and "
            "is left out, the other weights renormalised over the components a region has). Coordination "
            "efficiency is measured by the on-time completion rate, cost by budget alignment "
            "= 1 − |budget-vs-progress gap| / 100.", "",
            "The index takes each region's own landing, on-time and satisfaction rates, so a region has one index "
            "for a period and a weighting on every page (its parent's map and table, its own page, the meeting and "
            "the exports); they were once shrunk toward the rate of the regions compared, which gave a region "
            "another value in every comparison. Small samples are not ranked instead: regions with fewer than "
            "min_n items in flight are listed after the ranked ones, marked, with their n. Items recorded at a coarser level than the "
            "one compared (a province-level item in a city ranking) count in their own region's totals only.", "",
            "The trend beside a region compares its index with the previous period (the period before the chosen "
            "one; for all time, four weeks earlier): up or down when it moved by more than one point.", "",
            "## Weekly light counts", "",
            "The weekly chart judges each week as of its Sunday with the same rules as the current light, read from the "
            "item snapshot mart (`analytics/db/marts.py`), so its last week equals the KPI cards. A database without a "
            "current mart falls back to judging each week on its latest report (progress gap, else reported RAG) "
            "and on being overdue only.", "",
            "## Why the red share changed", "",
            "Under the cockpit's cards, and from `python -m analytics explain`, the red share's change against the "
            "card's comparison is split item by item (`analytics/explain.py`). With N0, R0 the lit items and red items "
            "then, N1, R1 now, and Nc items lit on both dates (Rc0 red then, Rc1 now): a continuing item adds "
            "(red now − red then) / Nc, an item lit only now (new, or newly lit) adds (red − Rc1/Nc) / N1, an item "
            "lit only then (finished, stopped or unlit) adds (Rc0/Nc − red) / N0. These telescope to R1/N1 − R0/N0 "
            "exactly, so the parts by kind, region one level down, lead department, domain or priority add up to the "
            "card's change (the sentence rounds them so they add up on screen too).", "",
            "Each card whose change can be taken apart has a \"why it changed\" button opening its own breakdown: "
            "the red share as above; overdue items item by item (+1 for each item overdue now and not then, −1 for "
            "each overdue then and not now, finished or with a moved deadline); a rate by region one level down, each "
            "region's part = (mean weight) × (its rate's change) + (mean rate) × (its weight's change), which adds "
            "up to the rate's change; and the execution index over its components, each contributing its points now "
            "minus its points then, 100 × w × score / (sum of the weights of the components with data), which adds "
            "up to the index's change also when a component appears or disappears.", ""]
    return "\n".join(out)


# the cards leadership reads first, in order (the cockpit's and the meeting's overview)
# the table a metric is computed from, where that is not the items and their reports: with no row of it in the
# database a card says which extract is missing rather than showing n = 0 (cockpit, meeting)
KPI_TABLES = {"landing_rate": "indicator_values", "rect_completion_rate": "rectifications",
              "rect_overdue": "rectifications", "avg_days_to_close": "rectifications", "relapse_rate": "rectifications",
              "avg_satisfaction": "feedback", "satisfied_share": "feedback", "complaint_rate": "feedback",
              "answered_in_time": "feedback", "resolution_rate": "feedback"}
KPI_KEYS = ("red_share", "overdue", "on_time_rate", "index", "rect_completion_rate", "satisfied_share",
            "answered_in_time", "landing_rate")


@dataclass(frozen=True)
class Kpi:
    metric: Metric
    value: float | None
    previous: float | None
    n: int | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def meets_target(self) -> bool | None:
        m = self.metric
        if m.target is None or self.value is None:
            return None
        return self.value >= m.target if m.direction == "higher_is_better" else self.value <= m.target
