"""群众反馈 / Public feedback, as plain data: satisfaction, complaints, answers in time and resolution by
channel, region and domain and over time; what people complain about (categories over time and the most
frequent phrases of complaint text); and where feedback disagrees with reported progress.

Every rate is a `metrics.METRICS` record computed from the cockpit's counts: the region table is the
cockpit's `region_feedback` query, the domain table the domains page's (the same SQL grouped by domain),
the channel series the trends SQL grouped by channel. So for the same filters each number equals the
cockpit's (a test holds them equal).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache

import duckdb
import numpy as np
import polars as pl

from analytics import metrics, privacy, series
from analytics.db import queries
from analytics import levels
from analytics.levels import child_level
from analytics.filters import period_bounds
from analytics.pages.rectifications import with_metrics
from analytics.metrics import Selection

METRIC_KEYS = ("avg_satisfaction", "satisfied_share", "complaint_rate", "answered_in_time", "resolution_rate")
DEFAULT_METRIC = "satisfied_share"
CHANNELS = ("hotline_12345", "rating", "survey", "third_party", "enterprise")
PERIODS = {"week": 26, "month": 12, "quarter": 8}  # windows drawn per grain
TOP_CATEGORIES = 8  # categories drawn over time; the rest are summed as "other"
OTHER = "__other__"


# --------------------------------------------------------------------------- complaint phrases
# A short lead-in before a colon names a place or the form ("人民路：", "企业反映："), not the problem.
_LEAD_IN = re.compile(r"^[^：:，,。；;！!？?\s]{1,6}[：:]")
_NOT_CJK = re.compile(r"[^\u4e00-\u9fff]+")
# words that say nothing about what is wrong: contact details, forms of address, filler
STOP_TERMS = ("联系人", "联系电话", "电话", "先生", "女士", "反映", "诉求", "希望", "问题", "方面", "情况", "相关",
              "没有", "一直", "目前", "已经", "还是", "我们", "他们", "这个", "那个", "非常", "存在", "要求")
_STOP = re.compile("|".join(sorted(map(re.escape, STOP_TERMS), key=len, reverse=True)))
MAX_TEXTS = 50_000  # distinct texts read for phrases (the most frequent); the page says when it is cut


@lru_cache(maxsize=4 * MAX_TEXTS)  # the same texts come back with every filter change: clean each once
def clean_text(text: str) -> str:
    """Complaint text reduced to its runs of Chinese characters: personal data masked, a short lead-in before
    a colon dropped (twice at most), stop words, digits, Latin letters and punctuation turned into breaks."""
    text = privacy.mask(text) or ""
    for _ in range(2):
        text = _LEAD_IN.sub("", text.strip())
    return " ".join(_NOT_CJK.sub(" ", _STOP.sub(" ", text)).split())


def _containing(phrase: str, cleaned: Sequence[str], weights: np.ndarray) -> int:
    return int(sum(w for t, w in zip(cleaned, weights) if phrase in t))


def top_terms(texts: Sequence[str], weights: Sequence[int] | None = None, k: int = 20,
              ngram_range: tuple[int, int] = (2, 4), min_count: int = 2, cover: float = 0.8,
              cleaned: Sequence[str] | None = None) -> pl.DataFrame:
    """The `k` most frequent phrases of `texts`: term, n (texts containing it, each counted `weights` times),
    share (of all texts). Phrases are character n-grams within runs of Chinese characters (scikit-learn's
    CountVectorizer, analyzer "char_wb"), so no segmentation dictionary is needed. A shorter n-gram is
    dropped where a longer one holding it covers at least `cover` of its texts, and two overlapping
    phrases are joined where the joined phrase does ("影响正常" + "正常经营" → "影响正常经营").
    `cleaned` may pass `clean_text` of each text, when the caller has it already."""
    from sklearn.feature_extraction.text import CountVectorizer

    schema = {"term": pl.Utf8, "n": pl.Int64, "share": pl.Float64}
    w = np.ones(len(texts), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    total = int(w.sum())
    merged: dict[str, int] = {}  # texts that differ only in a lead-in or contact details count as one
    for text, n in zip(cleaned or [clean_text(t) for t in texts], w.tolist()):
        if text:
            merged[text] = merged.get(text, 0) + n
    if not merged or total == 0:
        return pl.DataFrame(schema=schema)
    docs, w_docs = list(merged), np.fromiter(merged.values(), dtype=np.int64, count=len(merged))
    vec = CountVectorizer(analyzer="char_wb", ngram_range=ngram_range, binary=True, lowercase=False)
    try:
        x = vec.fit_transform(docs)
    except ValueError:  # every text shorter than the shortest n-gram
        return pl.DataFrame(schema=schema)
    counts = np.asarray(x.T @ w_docs).ravel()
    terms = vec.get_feature_names_out()
    order = sorted((i for i in range(len(terms)) if " " not in terms[i] and counts[i] >= min_count),
                   key=lambda i: (-counts[i], -len(terms[i]), terms[i]))
    picked: list[list] = []  # [term, n]
    for i in order:
        term, n = terms[i], int(counts[i])
        if any(term in p[0] and p[1] >= cover * n for p in picked):
            continue  # a longer phrase already picked covers it
        # a longer phrase covering shorter ones picked before takes their place
        picked = [p for p in picked if not (p[0] in term and n >= cover * p[1])]
        picked.append([term, n])
        if len(picked) >= 3 * k:
            break
    picked = _join_overlaps(picked, docs, w_docs, cover)
    picked.sort(key=lambda p: (-p[1], p[0]))
    out = picked[:k]
    return pl.DataFrame({"term": [p[0] for p in out], "n": [p[1] for p in out],
                         "share": [p[1] / total for p in out]}, schema=schema)


def _join_overlaps(picked: list[list], docs: Sequence[str], w_docs: np.ndarray, cover: float) -> list[list]:
    """Join two phrases whose end and start overlap when the joined phrase covers `cover` of the rarer."""
    changed = True
    while changed:
        changed = False
        for a in picked:
            for b in picked:
                if a is b:
                    continue
                for j in range(min(len(a[0]), len(b[0])) - 1, 0, -1):
                    if a[0][-j:] == b[0][:j]:
                        joined = a[0] + b[0][j:]
                        n = _containing(joined, docs, w_docs)
                        if n >= cover * min(a[1], b[1]):
                            a[:] = [joined, n]
                            picked = [p for p in picked if p is not b]
                            changed = True
                        break
                if changed:
                    break
            if changed:
                break
    # a phrase now held by a longer joined one that covers it goes
    return [p for p in picked if not any(p is not q and p[0] in q[0] and q[1] >= cover * p[1] for q in picked)]


def examples(texts: Sequence[str], weights: Sequence[int], terms: Sequence[str], per_term: int = 2,
             cleaned: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Up to `per_term` distinct example texts per term (the most frequent first), masked."""
    cleaned = cleaned or [clean_text(t) for t in texts]
    order = np.argsort(-np.asarray(weights), kind="stable")
    out: dict[str, list[str]] = {}
    for term in terms:
        found: list[str] = []
        for i in order:
            if term in cleaned[i]:
                text = privacy.mask(texts[i])
                if text not in found:
                    found.append(text)
                if len(found) >= per_term:
                    break
        out[term] = found
    return out


# --------------------------------------------------------------------------- disagreement
@dataclass(frozen=True)
class DisagreementRule:
    """Feedback disagreeing with reported progress: complaints rising while the reports say all is well.

    Region: at least `green_share` of its lit items in flight are green at the period end, and its
    complaints in the last `window_days` days (to the period end) are at least `min_recent_region` and at
    least (1 + `min_rise`) times those of the `window_days` days before. Item: green at the period end,
    with at least `min_recent_item` complaints about it in the recent window and the same rise."""

    window_days: int = 28
    min_rise: float = 0.5
    min_recent_region: int = 10
    min_recent_item: int = 3
    green_share: float = 0.6

    def rises(self, recent: pl.Expr, previous: pl.Expr, minimum: int) -> pl.Expr:
        return (recent >= minimum) & (recent >= (1 + self.min_rise) * previous)


def windows_of(rule: DisagreementRule, end: date) -> tuple[date, date]:
    """(start of the previous window, start of the recent window); the recent one ends at `end`."""
    recent = end - timedelta(days=rule.window_days - 1)
    return recent - timedelta(days=rule.window_days), recent


def disagreement(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str | None,
                 rule: DisagreementRule = DisagreementRule()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(regions, items) matching the rule, largest rise first. Regions: region_code, name, n_lit, n_green,
    green_share, n_recent, n_previous, rise (recent ÷ previous − 1; None from zero). Items: project_id,
    name, region_code, lead_dept, light, region_name, n_recent, n_previous, rise."""
    _, end = period_bounds(sel.filters.period, sel.as_of)
    previous_start, recent_start = windows_of(rule, end)
    win = {"period_start": previous_start, "recent_start": recent_start}
    rise = (pl.when(pl.col("n_previous") > 0).then(pl.col("n_recent") / pl.col("n_previous") - 1).otherwise(None)
            .alias("rise"))
    th = sel.thresholds.params()
    with ThreadPoolExecutor(max_workers=2) as pool:
        lights = pool.submit(queries.run, cur.cursor(), "item_lights", sel.filters, sel.scope, sel.as_of, **th)
        item_counts = pool.submit(queries.run, cur.cursor(), "feedback_complaint_rise_items", sel.filters,
                                  sel.scope, sel.as_of, **win)
        if level:
            counts = queries.run(cur, "feedback_complaint_rise_regions", sel.filters, sel.scope, sel.as_of,
                                 group_level=level, **win).filter(~pl.col("is_total"))
            states = queries.run(cur, "region_items", sel.filters, sel.scope, sel.as_of, group_level=level,
                                 total_code=sel.filters.region_code or "100000", **th).filter(pl.col("level") == level)
            regions = (states.select("region_code", "name", "n_lit", "n_green")
                       .join(counts.drop("is_total"), on="region_code", how="inner")
                       .with_columns((pl.col("n_green") / pl.col("n_lit")).alias("green_share"), rise)
                       .filter((pl.col("n_lit") > 0) & (pl.col("green_share") >= rule.green_share)
                               & rule.rises(pl.col("n_recent"), pl.col("n_previous"), rule.min_recent_region))
                       .sort(["n_recent", "region_code"], descending=[True, False]))
        else:
            regions = pl.DataFrame(schema={"region_code": pl.Utf8, "name": pl.Utf8, "n_lit": pl.Int64,
                                           "n_green": pl.Int64, "n_recent": pl.Int64, "n_previous": pl.Int64,
                                           "green_share": pl.Float64, "rise": pl.Float64})
        green = lights.result().filter(pl.col("light") == "green").select(
            "project_id", "name", "region_code", "lead_dept", "light")
        names = levels.names(cur, column="region_name")
        green = green.join(names, on="region_code", how="left")
        items = (green.join(item_counts.result(), on="project_id", how="inner")
                 .filter(rule.rises(pl.col("n_recent"), pl.col("n_previous"), rule.min_recent_item))
                 .with_columns(rise).sort(["n_recent", "project_id"], descending=[True, False]))
    return (regions.with_columns(pl.col("rise").fill_nan(None)).sort("rise", "n_recent", descending=True,
                                                                     nulls_last=False),
            items.sort("n_recent", "rise", descending=True, nulls_last=False))


# --------------------------------------------------------------------------- the page
def _windows(sel: Selection, grain: str) -> list[tuple[str, date, date]]:
    _, end = period_bounds(sel.filters.period, sel.as_of)
    return series.windows(grain, end, PERIODS[grain])


def channel_series(cur: duckdb.DuckDBPyConnection, sel: Selection, wins: list[tuple[str, date, date]]) -> pl.DataFrame:
    """One row per window and channel (channel None = every channel): the feedback counts and metrics."""
    extra = sel.thresholds.params() | {
        "w_periods": [w[0] for w in wins], "w_starts": [w[1] for w in wins], "w_ends": [w[2] for w in wins],
        "period_start": wins[0][1], "period_end": wins[-1][2], "group_level": "none", "by": "channel"}
    frame = queries.run(cur, "feedback_channel_series", sel.filters, sel.scope, sel.as_of, **extra)
    periods = pl.DataFrame({"w_period": [w[0] for w in wins], "period_start": [w[1] for w in wins],
                            "period_end": [w[2] for w in wins]})
    frame = with_metrics(frame.with_columns(pl.when(pl.col("is_total")).then(None).otherwise(pl.col("grp"))
                                            .alias("channel")).drop("grp"), METRIC_KEYS)
    return (periods.join(frame, on="w_period", how="left").rename({"w_period": "period"})
            .filter(pl.col("is_total").is_not_null()).sort("period_end", "channel", nulls_last=False))


def category_series(cur: duckdb.DuckDBPyConnection, sel: Selection, wins: list[tuple[str, date, date]],
                    top: int = TOP_CATEGORIES) -> pl.DataFrame:
    """Complaints per window and category: the `top` categories of all windows, the rest as OTHER."""
    extra = {"w_periods": [w[0] for w in wins], "w_starts": [w[1] for w in wins], "w_ends": [w[2] for w in wins],
             "period_start": wins[0][1], "period_end": wins[-1][2]}
    frame = queries.run(cur, "feedback_category_windows", sel.filters, sel.scope, sel.as_of, **extra)
    ranked = (frame.group_by("category").agg(pl.col("n_complaints").sum())
              .sort(["n_complaints", "category"], descending=[True, False])["category"].head(top).to_list())
    out = (frame.with_columns(pl.when(pl.col("category").is_in(ranked)).then(pl.col("category"))
                              .otherwise(pl.lit(OTHER)).alias("category"))
           .group_by("w_period", "category").agg(pl.col("n_complaints").sum().cast(pl.Int64)))
    order = {c: i for i, c in enumerate([*ranked, OTHER])}
    return (out.rename({"w_period": "period"})
            .with_columns(pl.col("category").replace_strict(order, return_dtype=pl.Int32).alias("_order"))
            .sort("period", "_order").drop("_order"))


@dataclass(frozen=True)
class Terms:
    frame: pl.DataFrame  # term, n, share, examples (list of masked texts)
    n_complaints: int  # complaints with text read
    n_distinct: int  # distinct texts among them
    truncated: bool  # only the MAX_TEXTS most frequent distinct texts were read


def complaint_terms(cur: duckdb.DuckDBPyConnection, sel: Selection, k: int = 20) -> Terms:
    texts = queries.run(cur, "feedback_complaint_texts", sel.filters, sel.scope, sel.as_of, max_texts=MAX_TEXTS)
    n_all, n_distinct = (int(texts["n_all"][0]), int(texts["n_distinct"][0])) if texts.height else (0, 0)
    words, weights = texts["text"].to_list(), texts["n"].to_list()
    cleaned = [clean_text(t) for t in words]
    terms = top_terms(words, weights, k=k, cleaned=cleaned)
    ex = examples(words, weights, terms["term"].to_list(), cleaned=cleaned)
    frame = terms.with_columns(pl.Series("examples", [ex[t] for t in terms["term"]], dtype=pl.List(pl.Utf8)),
                               (pl.col("n") / max(n_all, 1)).alias("share"))
    return Terms(frame, n_all, n_distinct, n_distinct > MAX_TEXTS)


@dataclass(frozen=True)
class Page:
    """Everything the feedback page draws for one selection, grain and trend grouping."""

    level: str | None  # the level of the regions compared
    totals: dict  # the selection's feedback counts and metrics ({} when it has no feedback)
    by_channel: pl.DataFrame  # channel (None = all), counts and metrics, the filter period
    by_region: pl.DataFrame  # region_code, name, counts and metrics (the cockpit's region table)
    by_domain: pl.DataFrame  # domain, counts and metrics
    trend: pl.DataFrame  # period, period_start, period_end, group, value, n of `metric` (see page())
    complaints: pl.DataFrame  # period, group, n: complaints per window by the same grouping
    categories: pl.DataFrame  # period, category (OTHER = the rest), n_complaints
    terms: Terms
    disagree_regions: pl.DataFrame
    disagree_items: pl.DataFrame
    rule: dict  # the disagreement rule's settings, for the page to state
    partial: tuple[str, date] | None = None  # (period, its last day) when the as-of date cuts the last period short


def breakdowns(cur, sel: Selection, level: str | None) -> tuple[dict, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(totals, by region, by channel, by domain) for the filter period, from one scan of the feedback.
    The totals and the region rows are the cockpit's (`region_feedback`), the domain rows the domains page's
    total row per domain; by channel holds a row per channel and the total (channel None)."""
    total_code = sel.filters.region_code or "100000"
    frame = queries.run(cur, "feedback_breakdowns", sel.filters, sel.scope, sel.as_of,
                        **sel.thresholds.params() | {"group_level": level or "none", "total_code": total_code})
    frame = with_metrics(frame, METRIC_KEYS)
    kind, at_total = pl.col("kind"), pl.col("region_code") == total_code
    regions = frame.filter(kind == "region").drop("kind", "domain", "channel")
    total = regions.filter(at_total)
    children = regions.filter(~at_total)
    if level:
        names = levels.names(cur, level)
        children = children.join(names, on="region_code", how="left")
    by_channel = pl.concat([total.with_columns(pl.lit(None, pl.Utf8).alias("channel")),
                            frame.filter((kind == "channel") & at_total).drop("kind", "domain")], how="diagonal")
    by_domain = (frame.filter((kind == "domain") & at_total & pl.col("domain").is_not_null())
                 .drop("kind", "channel", "region_code").sort(["n_feedback", "domain"], descending=[True, False]))
    return ((total.row(0, named=True) if total.height else {}), children.sort("region_code"),
            by_channel.drop("region_code").sort("channel", nulls_last=False), by_domain)


def trend_of(cur, sel: Selection, metric: str, grain: str, by: str, level: str | None,
             wins: list[tuple[str, date, date]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the metric, complaints) per window and group: by channel from the channel series; by region or domain
    from `series.metric_series` (each point what the cockpit computes for that window)."""
    m = metrics.BY_KEY[metric]
    if by == "channel":
        frame = channel_series(cur, sel, wins).filter(pl.col("channel").is_not_null())
        trend = frame.select("period", "period_start", "period_end", pl.col("channel").alias("group"),
                             pl.col(metric).cast(pl.Float64).alias("value"),
                             pl.col(series.n_of(m)).cast(pl.Int64).alias("n"))
        complaints = frame.select("period", pl.col("channel").alias("group"),
                                  pl.col("n_complaints").cast(pl.Int64).alias("n"))
        return trend, complaints
    kw = {"level": level} if by == "region" else {}
    trend = series.metric_series(cur, sel, metric, grain, PERIODS[grain], by=by, **kw)
    counts = series.panel(cur, sel, ("complaint_rate",), grain, PERIODS[grain], by=by, **kw)
    complaints = counts.filter(pl.col("group").is_not_null()).select(
        "period", "group", pl.col("n_complaints").cast(pl.Int64).alias("n"))
    return trend, complaints


BY_OPTIONS = ("channel", "region", "domain")


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None,
         metric: str = DEFAULT_METRIC, grain: str = "month", by: str = "channel") -> Page:
    if metric not in METRIC_KEYS:
        raise ValueError(f"metric {metric!r}: expected one of {METRIC_KEYS}")
    if grain not in PERIODS:
        raise ValueError(f"grain {grain!r}: expected one of {tuple(PERIODS)}")
    if by not in BY_OPTIONS:
        raise ValueError(f"by {by!r}: expected one of {BY_OPTIONS}")
    level = child_level(cur, sel.filters.region_code)
    if by == "region" and level is None:
        by = "channel"  # a county has no regions below it
    wins = _windows(sel, grain)
    rule = DisagreementRule()
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent blocks, each on its own cursor
        terms = pool.submit(complaint_terms, cur.cursor(), sel)
        trend = pool.submit(trend_of, cur.cursor(), sel, metric, grain, by, level, wins)
        totals, by_region, by_channel, by_domain = breakdowns(cur, sel, level)
        categories = category_series(cur, sel, wins)
        regions, items = disagreement(cur, sel, level, rule)
        trend_frame, complaints = trend.result()
        terms = terms.result()
    last, start, end = wins[-1]
    partial = (last, end) if series.cut_short(start, end, grain) else None
    return Page(level, totals if totals.get("n_feedback") else {}, by_channel, by_region, by_domain, trend_frame,
                complaints, categories, terms, regions, items, asdict(rule) | {"by": by}, partial)
