"""The Streamlit edge both data-quality pages share (duplicates, authenticity): a block that may be too large to
compute, the share of items by region, and the evaluation against the demo's planted truth."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import i18n, quality
from analytics.figures import palette
from analytics.pages import authenticity
from ui import charts, tables
from ui.context import Context
from ui.page import md_escape

MAX_BARS = 20


def block_or_stop(ctx: Context, name: str, **extra):
    """`ctx.block(name)` of a quality page; when the selection is too large for one analysis, say so (with the
    way out: choose a region) and stop the page."""
    try:
        return ctx.block(name, **extra)
    except quality.TooLarge as e:
        st.info(ctx.t("quality.too_large", n=i18n.fmt_int(e.n_items, ctx.lang), limit=i18n.fmt_int(e.limit, ctx.lang)),
                icon=":material/filter_alt:")
        st.stop()


def region_label(ctx: Context, name: str | None, code: str) -> str:
    """A region's name as the reader's language writes it (the code when the name is missing)."""
    tree = st.session_state.get("_tree")
    label = name or (tree.name.get(code, code) if tree else code)
    return i18n.glossary("province", label, ctx.lang)


def share_by_region(ctx: Context, table: pl.DataFrame, count_col: str, *, prefix: str, key: str, stem: str) -> None:
    """Bar chart (share with n on each bar, worst first) and the same numbers as a table."""
    t = ctx.t
    st.subheader(t(f"{prefix}.by_region_title"))
    if table.is_empty():
        st.info(t(f"{prefix}.empty"))
        return
    names = [region_label(ctx, n, c) for n, c in zip(table["region_name"], table["region_code"])]
    top = table.head(MAX_BARS)
    labels = names[:MAX_BARS]
    fig = go.Figure(go.Bar(
        x=[round(100 * s, 1) for s in top["share"]], y=labels, orientation="h",
        # a larger share is worse: the quality scale's bad end (dark red) at the top of the range
        marker={"color": [round(100 * s, 1) for s in top["share"]], "colorscale": palette.plotly_scale(False),
                "cmin": 0, "line": {"color": "#555555", "width": 0.5}},
        text=[f"{i18n.fmt_pct(s, ctx.lang)} (n = {i18n.fmt_int(n, ctx.lang)})" for s, n in zip(top["share"], top["n_items"])],
        textposition="auto",
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.update_layout(height=max(240, 26 * top.height + 90), margin={"l": 10, "r": 10, "t": 10, "b": 40},
                      yaxis={"autorange": "reversed", "automargin": True},
                      xaxis={"title": t(f"{prefix}.fig_x"), "rangemode": "tozero"})
    charts.show(fig, key=f"{key}_fig", lang=ctx.lang)
    share_key = "duplicates.by_region_caption" if prefix == "duplicates" else "authenticity.share_caption"
    st.caption(t(share_key, date=i18n.fmt_date(ctx.as_of, ctx.lang), cut=authenticity.FLAGGED_BELOW))
    if table.height > MAX_BARS:  # never drop regions from the chart silently (issue 17)
        st.caption(t("duplicates.bars_top", shown=MAX_BARS, n=table.height))
    shown = pl.DataFrame({
        t(f"{prefix}.col_region"): names,
        t(f"{prefix}.col_items"): table["n_items"],
        t("duplicates.col_in_clusters" if prefix == "duplicates" else "authenticity.col_flagged"): table[count_col],
        t(f"{prefix}.col_share"): [round(100 * s, 1) for s in table["share"]],
    })
    tables.show(ctx, shown, key=key, title=t(f"{prefix}.by_region_title"), stem=stem)


def evaluation(ctx: Context, result: dict | None, prefix: str) -> None:
    if result is None:
        st.info(ctx.t(f"{prefix}.eval_none"))
        return
    fmt = lambda x: "—" if x is None else i18n.fmt_pct(x, ctx.lang)  # noqa: E731
    st.markdown(md_escape(ctx.t(f"{prefix}.eval_body", n_true=i18n.fmt_int(result["n_true"], ctx.lang),
                                n_found=i18n.fmt_int(result["n_found"], ctx.lang),
                                n_correct=i18n.fmt_int(result["n_correct"], ctx.lang),
                                precision=fmt(result["precision"]), recall=fmt(result["recall"]))))


# ---- authenticity
