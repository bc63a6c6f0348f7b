"""重复督办 / Duplicate supervision: items that are probably the same task assigned through another channel.

A pair of items is a probable duplicate when every signal below matches (each one is shown as a reason):
  text      — name and description alike: cosine of character 2–3-gram TF-IDF vectors (`char_wb`, which suits
              Chinese without word segmentation) at least `Rules.text_min`; region names and digits are taken
              out first (the region is its own signal, and quantities differ between rewordings), and n-grams
              in more than `Rules.max_df` of all items (boilerplate such as 牵头/督办) carry no weight;
  region    — the same region, or one directly inside the other (a county and its city);
  dates     — starts at most `Rules.start_gap_days` apart and planned ends within `Rules.end_gap_share` of the
              longer planned duration;
  depts     — the lead department of one is among the departments of the other, and the two department sets
              (lead + co-departments) overlap by at least `Rules.dept_jaccard_min` (Jaccard);
  channel   — different sources (领导交办, 群众诉求 …): the same task reaching the office twice.
Only pairs inside one block (a city with its counties; a province's own items; a municipality with its
districts) are compared, so 20,000 items take a few sparse products instead of 200 million pairs.
Pairs are joined into clusters (connected components); pairs an analyst marked "not duplicates" are left
out before clustering. The score of a pair is a weighted mean of its signal strengths (0–1, `SCORE_WEIGHTS`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import polars as pl

from analytics import quality
from analytics.db import queries
from analytics.levels import child_level
from analytics.filters import Filters
from analytics.metrics import Selection
from analytics.db.queries import Scope


@dataclass(frozen=True)
class Rules:
    text_min: float = 0.15
    max_df: float = 0.10
    start_gap_days: int = 45
    end_gap_share: float = 0.30
    dept_jaccard_min: float = 0.5
    other_channel: bool = True  # require different sources


RULES = Rules()
SIGNALS = ("text", "region", "dates", "depts", "channel")
SCORE_WEIGHTS = {"text": 0.4, "start": 0.2, "end": 0.1, "depts": 0.2, "channel": 0.1}
_DIGITS = re.compile(r"[0-9０-９.．%]+")

PAIR_SCHEMA = {"project_a": pl.Utf8, "project_b": pl.Utf8, "text_sim": pl.Float64, "same_region": pl.Boolean,
               "start_gap_days": pl.Int64, "end_gap_share": pl.Float64, "dept_jaccard": pl.Float64,
               "other_channel": pl.Boolean, "score": pl.Float64}


@dataclass(frozen=True)
class Analysis:
    """Everything in the user's scope, for one data version: the items looked at and the matched pairs."""

    items: pl.DataFrame  # quality_items rows
    pairs: pl.DataFrame  # PAIR_SCHEMA, project_a < project_b
    n_compared: int  # pairs looked at inside blocks


def _clean(text: str, *names: str | None) -> str:
    for n in names:
        if n:
            text = text.replace(n, " ")
    return _DIGITS.sub(" ", text)


def _vectors(items: pl.DataFrame, rules: Rules):
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [_clean(f"{n} {n} {d}", r, p)  # the name counts twice: it is what people retitle
            for n, d, r, p in zip(items["name"], items["description"], items["region_name"], items["parent_name"])]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, min_df=1,
                          max_df=rules.max_df if items.height >= 50 else 1.0)
    try:
        return vec.fit_transform(docs)  # rows are L2-normalised: a dot product is the cosine
    except ValueError:  # every n-gram cut by max_df (a handful of near-identical items)
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True).fit_transform(docs)


def candidate_pairs(items: pl.DataFrame, rules: Rules = RULES) -> tuple[pl.DataFrame, int]:
    """Pairs matching every signal, with their strengths; and how many pairs were compared."""
    if items.height < 2:
        return pl.DataFrame(schema=PAIR_SCHEMA), 0
    X = _vectors(items, rules)
    blocks = items["block_code"].to_numpy()
    order = np.argsort(blocks, kind="stable")
    _, starts = np.unique(blocks[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    left, right, sims, compared = [], [], [], 0
    for k in range(len(bounds) - 1):
        idx = order[bounds[k]:bounds[k + 1]]
        if idx.size < 2:
            continue
        sub = X[idx]
        s = (sub @ sub.T).toarray()
        iu = np.triu_indices(idx.size, 1)
        v = s[iu]
        compared += v.size
        keep = v >= rules.text_min
        left.append(idx[iu[0][keep]])
        right.append(idx[iu[1][keep]])
        sims.append(v[keep])
    if not left:
        return pl.DataFrame(schema=PAIR_SCHEMA), compared
    a, b, sim = np.concatenate(left), np.concatenate(right), np.concatenate(sims)
    return _signals(items, a, b, sim, rules), compared


def _signals(items: pl.DataFrame, a: np.ndarray, b: np.ndarray, sim: np.ndarray, rules: Rules) -> pl.DataFrame:
    rc, par = items["region_code"].to_numpy(), items["parent_code"].to_numpy()
    start = items["start_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    end = items["planned_end_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    src = items["source"].fill_null("").to_numpy()
    depts = [frozenset([lead, *co]) for lead, co in zip(items["lead_dept"], items["co_depts"])]
    lead = items["lead_dept"].to_list()
    same = rc[a] == rc[b]
    nested = same | (par[a] == rc[b]) | (par[b] == rc[a])
    start_gap = np.abs(start[a] - start[b])
    longer = np.maximum(np.maximum(end[a] - start[a], end[b] - start[b]), 1)
    end_gap = np.abs(end[a] - end[b]) / longer
    jac = np.array([len(depts[x] & depts[y]) / len(depts[x] | depts[y]) for x, y in zip(a, b)], dtype=float)
    lead_in = np.array([lead[x] in depts[y] or lead[y] in depts[x] for x, y in zip(a, b)], dtype=bool)
    other = src[a] != src[b]
    ok = (nested & (start_gap <= rules.start_gap_days) & (end_gap <= rules.end_gap_share) & lead_in
          & (jac >= rules.dept_jaccard_min) & (other | (not rules.other_channel)))
    w = SCORE_WEIGHTS
    score = (w["text"] * np.minimum(sim, 1.0) + w["start"] * (1 - start_gap / max(rules.start_gap_days, 1))
             + w["end"] * (1 - end_gap / max(rules.end_gap_share, 1e-9)) + w["depts"] * jac + w["channel"] * other)
    ids = items["project_id"].to_numpy()
    pa, pb = ids[a[ok]], ids[b[ok]]
    swap = pa > pb
    frame = pl.DataFrame({
        "project_a": np.where(swap, pb, pa).tolist(), "project_b": np.where(swap, pa, pb).tolist(),
        "text_sim": np.round(sim[ok], 4), "same_region": same[ok], "start_gap_days": start_gap[ok],
        "end_gap_share": np.round(end_gap[ok], 4), "dept_jaccard": np.round(jac[ok], 4), "other_channel": other[ok],
        "score": np.round(np.clip(score[ok], 0, 1), 4)}, schema=PAIR_SCHEMA)
    return frame.sort("project_a", "project_b")


def analyse(cur: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, rules: Rules = RULES) -> Analysis:
    """Every matched pair among the items the scope allows (started by `as_of`); cached on the data version."""
    def compute() -> Analysis:
        items = queries.run(cur, "quality_items", Filters(), scope, as_of)
        pairs, compared = candidate_pairs(items, rules)
        return Analysis(items, pairs, compared)

    if rules != RULES:
        return compute()
    return quality.cached("duplicates", cur, scope, as_of, compute)


def clusters(pairs: pl.DataFrame, dismissed: tuple[tuple[str, str], ...] = ()) -> pl.DataFrame:
    """project_id → cluster_key (connected components of the pairs not dismissed)."""
    if dismissed:
        gone = pl.DataFrame(list(dismissed), schema={"project_a": pl.Utf8, "project_b": pl.Utf8}, orient="row")
        pairs = pairs.join(gone, on=["project_a", "project_b"], how="anti")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.select("project_a", "project_b").iter_rows():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    rows = []
    for members in groups.values():
        key = cluster_key(members)
        rows += [(m, key, len(members)) for m in sorted(members)]
    return pl.DataFrame(rows, schema={"project_id": pl.Utf8, "cluster_key": pl.Utf8, "n_members": pl.Int64},
                        orient="row").sort("cluster_key", "project_id")


def cluster_key(members) -> str:
    return hashlib.sha1("|".join(sorted(members)).encode()).hexdigest()[:12]


def signals_of(pair: dict) -> tuple[str, ...]:
    """The signals a matched pair shows (all required ones hold; `same_region` tells same vs nested)."""
    out = ["text", "same_region" if pair["same_region"] else "nested_region", "dates", "depts"]
    if pair["other_channel"]:
        out.append("channel")
    return tuple(out)


@dataclass(frozen=True)
class Page:
    clusters: pl.DataFrame  # one row per cluster shown (worst = highest score first)
    members: pl.DataFrame  # one row per item of a shown cluster
    pairs: pl.DataFrame  # the matched pairs inside shown clusters
    by_region: pl.DataFrame  # child region: n_items, n_in_clusters, share
    n_items: int  # items under the filters
    n_in_clusters: int
    n_compared: int
    n_dismissed_pairs: int
    group_level: str
    all_pairs: pl.DataFrame = field(repr=False, default=None)  # every matched pair in scope (for evaluation)
    universe: frozenset = frozenset()  # every item looked at in scope


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None, *,
         dismissed: tuple[tuple[str, str], ...] = ()) -> Page:
    """Clusters touching the items under the filters (a cluster is shown whole, with members outside the
    filters marked), and the share of items in clusters by region one level below the selection. Over more than
    COCKPIT_QUALITY_MAX_ITEMS items, per the filters' region (`quality.analysis_scope`; TooLarge without one)."""
    whole = analyse(cur, quality.analysis_scope(cur, sel.scope, sel.filters.region_code, sel.as_of), sel.as_of)
    universe = frozenset(whole.items["project_id"])
    # marks on items outside what is analysed change nothing here and are not counted (nor shown: issue 22)
    dismissed = tuple(p for p in dismissed if p[0] in universe and p[1] in universe)
    membership = clusters(whole.pairs, dismissed)
    shown_ids = set(queries.run(cur, "quality_filtered_ids", sel.filters, sel.scope, sel.as_of)["project_id"])
    touching = membership.filter(pl.col("project_id").is_in(list(shown_ids)))["cluster_key"].unique()
    members = (membership.filter(pl.col("cluster_key").is_in(touching.to_list()))
               .join(whole.items, on="project_id", how="left")
               .with_columns(pl.col("project_id").is_in(list(shown_ids)).alias("in_filters")))
    key_of = dict(membership.select("project_id", "cluster_key").iter_rows())
    pairs = whole.pairs.filter(pl.col("project_a").is_in(members["project_id"].to_list()))
    if dismissed:
        pairs = pairs.join(pl.DataFrame(list(dismissed), schema={"project_a": pl.Utf8, "project_b": pl.Utf8},
                                        orient="row"), on=["project_a", "project_b"], how="anti")
    pairs = pairs.with_columns(pl.col("project_a").replace_strict(key_of, default=None).alias("cluster_key"))
    summary = _cluster_rows(members, pairs)
    level, by_region = _by_region(cur, sel, whole.items, shown_ids, set(membership["project_id"]))
    in_clusters = len(shown_ids & set(membership["project_id"]))
    return Page(summary, members.sort("cluster_key", "start_date"), pairs, by_region, len(shown_ids), in_clusters,
                whole.n_compared, len(dismissed), level, whole.pairs, universe)


def _cluster_rows(members: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    schema = {"cluster_key": pl.Utf8, "n_members": pl.Int64, "score": pl.Float64, "min_score": pl.Float64,
              "text_sim": pl.Float64, "signals": pl.List(pl.Utf8), "names": pl.List(pl.Utf8),
              "project_ids": pl.List(pl.Utf8), "region_code": pl.Utf8, "region_name": pl.Utf8, "domain": pl.Utf8,
              "sources": pl.List(pl.Utf8), "first_start": pl.Date}
    if members.is_empty():
        return pl.DataFrame(schema=schema)
    sig = {}
    for p in pairs.iter_rows(named=True):
        sig.setdefault(p["cluster_key"], set()).update(signals_of(p))
    pair_stats = pairs.group_by("cluster_key").agg(pl.col("score").max().alias("score"),
                                                   pl.col("score").min().alias("min_score"),
                                                   pl.col("text_sim").max().alias("text_sim"))
    m = (members.sort("region_level", "start_date")
         .group_by("cluster_key", maintain_order=True)
         .agg(pl.len().cast(pl.Int64).alias("n_members"), pl.col("name").alias("names"),
              pl.col("project_id").alias("project_ids"),
              pl.col("region_code").first(), pl.col("region_name").first(), pl.col("domain").first(),
              pl.col("source").unique(maintain_order=True).alias("sources"), pl.col("start_date").min().alias("first_start")))
    out = m.join(pair_stats, on="cluster_key", how="left").with_columns(
        pl.col("cluster_key").replace_strict({k: sorted(v, key=_SIGNAL_ORDER.index) for k, v in sig.items()},
                                             default=[], return_dtype=pl.List(pl.Utf8)).alias("signals"))
    return out.select(list(schema)).sort(["score", "cluster_key"], descending=[True, False])


_SIGNAL_ORDER = ["text", "same_region", "nested_region", "dates", "depts", "channel"]


def _by_region(cur: duckdb.DuckDBPyConnection, sel: Selection, items: pl.DataFrame, shown: set[str],
               clustered: set[str]) -> tuple[str, pl.DataFrame]:
    """Items under the filters and those in clusters per region one level below the selection (the
    selected county itself when there is none below)."""
    region = sel.filters.region_code
    level = child_level(cur, region) or "county"  # below a county there is nothing: the county itself
    extra = {"group_level": level, "total_code": region or "100000"}
    mapping = queries.run(cur, "quality_child_regions", sel.filters, sel.scope, sel.as_of, **extra)
    items = items.select("project_id", "region_code").filter(pl.col("project_id").is_in(list(shown))).with_columns(
        pl.col("project_id").is_in(list(clustered)).alias("in_cluster"))
    table = (items.join(mapping, on="region_code", how="inner")
             .group_by("child_code", "child_name")
             .agg(pl.len().cast(pl.Int64).alias("n_items"), pl.col("in_cluster").sum().cast(pl.Int64).alias("n_in_clusters"))
             .with_columns((pl.col("n_in_clusters") / pl.col("n_items")).alias("share"))
             .rename({"child_code": "region_code", "child_name": "region_name"})
             .sort(["share", "n_items", "region_code"], descending=[True, True, False]))
    return level, table
