"""Drawing the cockpit's blocks from the plain data of `analytics.pages.cockpit`."""
from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from analytics import i18n, metrics
from analytics.figures import lights as figures
from analytics.figures import maps
from analytics import contract
from analytics.metrics import KPI_TABLES, Kpi

from ui import charts, context, filterbar, mapfit, tables
from ui.blocks import annotations as annotation_blocks
from ui.context import Context
from ui.page import md_escape, on_demand


def kpi_cards(ctx: Context, kpis: list[Kpi], per_row: int = 4, why: tuple | None = None) -> None:
    """Cards with change against the previous period (coloured by direction) and against target; a card whose
    table was never uploaded says so. With `why` (the cockpit's `why` block), a card whose change can be taken apart
    (the red share, overdue items, every rate) has a button opening its breakdown (issue 21)."""
    present = context.table_rows(ctx.db_path, ctx.version)
    for start in range(0, len(kpis), per_row):
        for col, k in zip(st.columns(per_row), kpis[start:start + per_row]):
            m = k.metric
            table = KPI_TABLES.get(m.key)
            if table and not present.get(table):
                with col.container(border=True):
                    t = contract.table(table)
                    st.metric(m.label(ctx.lang), "—")
                    st.caption(ctx.t("kpi.not_uploaded", table=t.zh if ctx.lang == "zh" else t.en))
                continue
            with col.container(border=True):
                st.metric(
                    m.label(ctx.lang),
                    i18n.fmt_metric(m.unit, k.value, ctx.lang),
                    delta=i18n.fmt_change(m.unit, k.change, ctx.lang),
                    delta_color="normal" if m.direction == "higher_is_better" else "inverse",
                    help=ctx.t("kpi.help", formula=m.formula_zh if ctx.lang == "zh" else m.formula_en, seed=m.seed),
                )
                notes = [ctx.t("kpi.n", n=i18n.fmt_int(k.n, ctx.lang))]
                if k.n is not None and k.n < ctx.thresholds.min_n and m.unit in ("share", "pp", "days", "rating"):
                    notes.append("⚠ " + ctx.t("kpi.small"))
                notes.append(metrics.comparison_text(ctx.filters, ctx.as_of, ctx.lang) if k.change is not None
                             else ctx.t("kpi.no_previous"))
                if m.target is not None:
                    op = "≥" if m.direction == "higher_is_better" else "≤"
                    target = ctx.t("kpi.target", op=op, target=i18n.fmt_metric(m.unit, m.target, ctx.lang))
                    verdict = {True: "✓ " + ctx.t("kpi.met"), False: "✗ " + ctx.t("kpi.missed"), None: ""}
                    notes.append(f"{target} {verdict[k.meets_target]}".strip())
                st.caption(" · ".join(notes))
                if why is not None and k.change and m.key in EXPLAINED:
                    if st.button(ctx.t("explain.open"), key=f"why_{m.key}", type="tertiary",
                                 icon=":material/troubleshoot:"):
                        why_dialog(ctx, m.key, why)


def _explained() -> tuple[str, ...]:
    from analytics import explain

    return ("red_share", "overdue", "index", *explain.RATES)


EXPLAINED = _explained()  # the cards a click takes apart


def why_dialog(ctx: Context, key: str, why: tuple) -> None:
    """One card's change taken apart, in a dialog opened from the card (computed with the page's `why` block, so
    opening it costs nothing): the red share and overdue items item by item along any dimension, a rate by region
    into rate and mix effects. Every breakdown adds up to the card's change."""
    from analytics import explain

    e, _, late, rates, index = why
    label = metrics.BY_KEY[key].label(ctx.lang)

    @st.dialog(ctx.t("explain.dialog_title", metric=label), width="large")
    def show() -> None:
        if key == "red_share":
            st.markdown(md_escape(explain.summary(e, ctx.lang)))
            parts_table(ctx, e, "dlg_red", share=True)
            st.caption(ctx.t("explain.method", n_before=i18n.fmt_int(e.n_before, ctx.lang),
                             n_after=i18n.fmt_int(e.n_after, ctx.lang), date=i18n.fmt_date(e.before_as_of, ctx.lang)))
        elif key == "overdue":
            st.markdown(md_escape(explain.overdue_summary(late, ctx.lang)))
            parts_table(ctx, late, "dlg_overdue", share=False)
            st.caption(ctx.t("explain.count_method", date=i18n.fmt_date(late.before_as_of, ctx.lang)))
        elif key == "index":
            index_table(ctx, index)
        else:
            rate_table(ctx, rates[key], key, "dlg_rate")

    show()


def index_table(ctx: Context, ic) -> None:
    """The index's change over its components, each one's points now minus then (they add up to the card)."""
    from analytics import explain

    st.markdown(md_escape(explain.index_summary(ic, ctx.lang)))
    if ic.change is None or ic.parts.is_empty():
        return
    pct = lambda v: None if v is None else round(100 * v, 1)  # noqa: E731
    parts = ic.parts
    tables.grid(pl.DataFrame({
        ctx.t("explain.col_component"): [explain.component_label(c, ctx.lang) for c in parts["component"]],
        ctx.t("explain.col_weight"): [i18n.fmt_pct(w, ctx.lang, 0) for w in parts["weight"]],
        ctx.t("explain.col_before"): [pct(v) for v in parts["score0"]],
        ctx.t("explain.col_after"): [pct(v) for v in parts["score1"]],
        ctx.t("explain.col_points"): [round(v, 2) for v in parts["contribution"]],
    }), hide_index=True, width="stretch")
    st.caption(ctx.t("explain.index_method", date=i18n.fmt_date(ic.before_as_of, ctx.lang)))


def parts_table(ctx: Context, e, key: str, share: bool) -> None:
    """An item-by-item change summed along a chosen dimension (region one level down, department, domain, priority,
    kind of change): a share in percentage points, or a count in items."""
    if e.items.filter(pl.col("contribution") != 0).is_empty():
        st.caption(ctx.t("explain.nothing_moved"))
        return
    dims = [d for d in WHY_DIMENSIONS if d != "child_name" or e.items["child_name"].is_not_null().any()]
    dim = st.segmented_control(ctx.t("explain.along"), dims, default=dims[0], key=f"{key}_dim",
                               format_func=lambda d: ctx.t(WHY_DIMENSIONS[d])) or dims[0]
    parts = e.by(dim)
    label = {"child_name": lambda v: i18n.glossary("province", v, ctx.lang) if v else ctx.t("explain.own_level"),
             "lead_dept": lambda v: i18n.glossary("dept", v, ctx.lang),
             "domain": lambda v: i18n.glossary("domain", v, ctx.lang),
             "priority": lambda v: i18n.choice_label("projects", "priority", v, ctx.lang),
             "kind": lambda v: ctx.t(f"explain.kind_{v}")}[dim]
    col = ctx.t("explain.col_pp") if share else ctx.t("explain.col_count")
    table = pl.DataFrame({
        ctx.t(WHY_DIMENSIONS[dim]): [label(v) for v in parts[dim]],
        ctx.t("explain.col_items"): parts["n_items"],
        col: [round(100 * c, 2) for c in parts["contribution"]] if share else [int(c) for c in parts["contribution"]],
    }, schema={ctx.t(WHY_DIMENSIONS[dim]): pl.Utf8, ctx.t("explain.col_items"): pl.Int64,
               col: pl.Float64 if share else pl.Int64})
    tables.show(ctx, table, key=f"{key}_parts", title=ctx.t("explain.details"), stem=f"{key}-change",
                searchable=False)


WHY_DIMENSIONS = {"child_name": "explain.by_region", "lead_dept": "explain.by_dept", "domain": "explain.by_domain",
                  "priority": "explain.by_priority", "kind": "explain.by_kind"}


def why_red_share(ctx: Context, e, unusual: pl.DataFrame, late, rates: dict, index=None) -> None:
    """Why the red share changed, in one sentence under the cards (its parts add up to the card's change), and the
    breakdown along each dimension and the items that turned red, one click away (issue 21)."""
    from analytics import explain

    if e.change is None:
        return
    st.markdown(f"**{md_escape(ctx.t('explain.why'))}** {md_escape(explain.summary(e, ctx.lang))}"
                + ("" if late.after == late.before else
                   "  \n" + md_escape(explain.overdue_summary(late, ctx.lang))))
    odd = unusual.filter(pl.col("z").abs() >= explain.UNUSUAL_Z).head(3)
    if odd.height:
        sep = "；" if ctx.lang == "zh" else "; "
        listed = sep.join(ctx.t("explain.unusual_item", name=i18n.glossary("province", r["name"], ctx.lang),
                                change=f"{100 * r['change']:+.1f}", typical=f"{100 * r['typical']:+.1f}",
                                z=f"{abs(r['z']):.1f}", n=i18n.fmt_int(r["n"], ctx.lang))
                          for r in odd.iter_rows(named=True))
        st.markdown("⚠ " + md_escape(ctx.t("explain.unusual", list=listed)))
    if e.items.filter(pl.col("contribution") != 0).is_empty():
        return  # nothing moved: nothing to take apart
    with st.expander(ctx.t("explain.details")):
        parts_table(ctx, e, "why", share=True)
        st.caption(ctx.t("explain.method", n_before=i18n.fmt_int(e.n_before, ctx.lang),
                         n_after=i18n.fmt_int(e.n_after, ctx.lang), date=i18n.fmt_date(e.before_as_of, ctx.lang)))
        rate_changes(ctx, rates)
        red = e.items.filter(pl.col("kind") == "turned_red").sort("child_name", "project_id")
        if red.height:
            title = ctx.t("explain.turned_red_title", n=i18n.fmt_int(red.height, ctx.lang))
            st.markdown(f"**{md_escape(title)}**")
            tables.show(ctx, pl.DataFrame({
                ctx.t("attention.item"): red["name"],
                ctx.t("item.id"): red["project_id"],
                ctx.t("attention.region"): [i18n.glossary("province", v, ctx.lang) if v else "—"
                                            for v in red["child_name"]],
                ctx.t("attention.dept"): [i18n.glossary("dept", v, ctx.lang) for v in red["lead_dept"]],
            }), key="why_red_items", title=title, stem="turned-red", item_column=ctx.t("item.id"))


def rate_changes(ctx: Context, rates: dict) -> None:
    """Any rate card's change over the regions one level down: each region's rate effect and mix effect, adding up
    to the card's change (`rates`: explain.ratio_by_region of each, by key)."""
    key = st.selectbox(ctx.t("explain.rate_metric"), list(rates), key="why_rate",
                       format_func=lambda k: metrics.BY_KEY[k].label(ctx.lang))
    rate_table(ctx, rates[key], key, "why_rate")


def rate_table(ctx: Context, r, key: str, table_key: str) -> None:
    """One rate's change over the regions one level down: each region's rate and mix effect (they add up to it)."""
    if r.change is None or r.regions.is_empty():
        st.caption(ctx.t("explain.no_change_known"))
        return
    m = metrics.BY_KEY[key]
    pct = lambda a, b: None if not b else round(100 * a / b, 1)  # noqa: E731
    regions = r.regions
    table = pl.DataFrame({
        ctx.t("explain.by_region"): [i18n.glossary("province", n, ctx.lang) if c else ctx.t("explain.own_level")
                                     for c, n in zip(regions["region_code"], regions["name"])],
        ctx.t("explain.col_before"): [pct(a, b) for a, b in zip(regions["num0"], regions["den0"])],
        ctx.t("explain.col_after"): [pct(a, b) for a, b in zip(regions["num1"], regions["den1"])],
        ctx.t("explain.col_n"): regions["den1"].cast(pl.Int64),
        ctx.t("explain.col_rate"): [round(100 * x, 2) for x in regions["rate"]],
        ctx.t("explain.col_mix"): [round(100 * x, 2) for x in regions["mix"]],
        ctx.t("explain.col_pp"): [round(100 * x, 2) for x in regions["contribution"]],
    })
    tables.show(ctx, table, key=f"{table_key}_parts", title=m.label(ctx.lang), stem=f"{key}-change", searchable=False)
    st.caption(ctx.t("explain.rate_method", metric=m.label(ctx.lang), before=i18n.fmt_pct(r.before, ctx.lang),
                     after=i18n.fmt_pct(r.after, ctx.lang), change=f"{100 * r.change:+.1f}",
                     date=i18n.fmt_date(r.before_as_of, ctx.lang)))


def light_reason(ctx: Context, row: dict) -> str:
    """Why an item has its light, in words (the rule that fired and its number)."""
    rule = row["rule"]
    if rule == "overdue":
        return ctx.t("attention.overdue", days=row["days_late"])
    if rule == "progress":
        return i18n.progress_gap(row["lag_pp"], ctx.lang)
    if rule == "milestones":
        return ctx.t("attention.milestones", missed=row["n_missed"])
    if rule == "forecast":
        return ctx.t("attention.forecast", lag=f"{row['lag_pp']:.0f}")
    return ctx.t("attention.rag", rag=i18n.choice_label("progress_reports", "rag", row["rag"], ctx.lang))


def _saved_scores(ctx: Context) -> pl.DataFrame | None:
    """The selection's saved risk scores and finish dates (scoped in SQL), or None (no model, or a refused one)."""
    from analytics.risk import scores

    path = scores.path_for(ctx.db_path, ctx.version)
    if not path.exists() or scores.refusal(ctx.db_path, ctx.version):  # a refused model's scores are not shown
        return None
    # the file's time keys the cache, so a retraining shows at once
    return scores.with_forecast_columns(ctx.query("risk_scores", scores_path=str(path), stamp=path.stat().st_mtime_ns))


def _finish(ctx: Context, when, beyond) -> str:
    if when is None:
        return "—"
    shown = i18n.fmt_date(when, ctx.lang)
    return ctx.t("risk.later_than", date=shown) if beyond else shown


def attention_table(ctx: Context, items: pl.DataFrame) -> pl.DataFrame:
    """The needs-attention list as shown and downloaded, with headers in the reader's language; with the items'
    80 % finish date (issue 21) when the saved scores carry one."""
    scored = _saved_scores(ctx)
    p80 = {}
    if scored is not None and scored["p80_date"].is_not_null().any():
        p80 = {r["project_id"]: _finish(ctx, r["p80_date"], r["p80_beyond"])
               for r in scored.select("project_id", "p80_date", "p80_beyond").iter_rows(named=True)}
    rows = list(items.iter_rows(named=True))
    finish = {ctx.t("risk.p80"): [p80.get(r["project_id"], "—") for r in rows]} if p80 else {}
    return pl.DataFrame({
        ctx.t("attention.item"): [r["name"] for r in rows],
        ctx.t("item.id"): [r["project_id"] for r in rows],
        ctx.t("attention.region"): [i18n.glossary("province", r["region_name"], ctx.lang) for r in rows],
        ctx.t("attention.dept"): [i18n.glossary("dept", r["lead_dept"], ctx.lang) for r in rows],
        **finish,  # when it will be done, beside who is responsible
        ctx.t("attention.days_late"): [r["days_late"] for r in rows],
        ctx.t("attention.lag"): [None if r["lag_pp"] is None else round(r["lag_pp"], 1) for r in rows],
        ctx.t("attention.rel_lag"): [i18n.fmt_pct(r["rel_lag"], ctx.lang) for r in rows],
        ctx.t("attention.co_depts"): [r["n_co_depts"] for r in rows],
        ctx.t("attention.reason"): [light_reason(ctx, r) for r in rows],
    }, schema_overrides={ctx.t("attention.days_late"): pl.Int64, ctx.t("attention.lag"): pl.Float64,
                         ctx.t("attention.co_depts"): pl.Int64})


SHOWN = 200  # rows on screen; the download has them all


def attention(ctx: Context, items: pl.DataFrame) -> None:
    st.subheader(ctx.t("attention.title"))
    if items.is_empty():
        st.success(ctx.t("attention.none"), icon=":material/check_circle:")
        return
    shown = "" if items.height <= SHOWN else " " + ctx.t("attention.shown", n=i18n.fmt_int(SHOWN, ctx.lang))
    st.caption(ctx.t("attention.intro", n=i18n.fmt_int(items.height, ctx.lang)) + shown)
    table = attention_table(ctx, items)
    tables.show(ctx, table, key="attention", title=ctx.t("attention.title"), stem="needs-attention",
                item_column=ctx.t("item.id"), shown=SHOWN, height=min(38 + 35 * min(table.height, SHOWN), 400))


def league(ctx: Context, table: pl.DataFrame) -> None:
    st.subheader(ctx.t("league.title"))
    if table.is_empty():
        st.info(ctx.t("league.none"))
        return
    # what the trend compares with, once above the tables (in the narrow column header it was cut)
    st.caption(ctx.t("league.trend_vs", vs=metrics.comparison_text(ctx.filters, ctx.as_of, ctx.lang)))
    ranked = table.filter(pl.col("rank").is_not_null())
    small = table.filter(pl.col("is_small"))
    trend = {"up": ctx.t("league.up"), "down": ctx.t("league.down"), "flat": ctx.t("league.flat"), None: "—"}

    def frame_of(frame: pl.DataFrame) -> pl.DataFrame:
        rows = list(frame.iter_rows(named=True))
        return pl.DataFrame({
            "#": pl.Series([r["rank"] for r in rows], dtype=pl.UInt32),
            ctx.t("league.region"): [i18n.glossary("province", r["name"], ctx.lang) for r in rows],
            ctx.t("league.index"): [None if r["index"] is None else round(r["index"], 1) for r in rows],
            ctx.t("league.trend"): [trend[r["trend"]] for r in rows],
            ctx.t("league.n_items"): [r["n_in_flight"] for r in rows],
            ctx.t("league.red_share"): [i18n.fmt_pct(r["red_share"], ctx.lang) for r in rows],
        })

    def show(frame: pl.DataFrame) -> None:
        tables.grid(frame_of(frame), hide_index=True, width="stretch")

    if ranked.is_empty():  # every region is too small to rank: list them, marked, rather than show nothing
        st.info(ctx.t("league.all_small", min_n=ctx.thresholds.min_n))
        show(small.sort("index", descending=True, nulls_last=True))
        tables.downloads(ctx, frame_of(small.sort("index", descending=True, nulls_last=True)), key="league",
                         title=ctx.t("league.title"), stem="league")
        return
    if ranked.height <= 10:  # best five and worst five would overlap: one table
        show(ranked)
    else:
        st.markdown(f"**{ctx.t('league.best')}**")
        show(ranked.head(5))
        st.markdown(f"**{ctx.t('league.worst')}**")
        show(ranked.tail(5).reverse())
    if small.height:
        st.caption(ctx.t("league.small", min_n=ctx.thresholds.min_n, n=small.height))
    # the whole league, ranked regions first, the small ones after them
    tables.downloads(ctx, frame_of(pl.concat([ranked, small.sort("index", descending=True, nulls_last=True)])),
                     key="league", title=ctx.t("league.title"), stem="league")


def lights(ctx: Context, weekly: pl.DataFrame) -> None:
    if weekly.is_empty():
        st.caption(ctx.t("lights.no_weeks"))
        return
    labels = {k: ctx.t(f"lights.{k}") for k in ("red", "yellow", "green", "none")}
    lo, hi = weekly["week_end"].min() - timedelta(days=6), weekly["week_end"].max()  # the first bar's whole week
    events = annotation_blocks.for_chart(ctx, lo, hi)
    fig = figures.lights_over_time(weekly, labels, ctx.t("lights.title"), ctx.t("lights.y"), ctx.lang)
    charts.show(annotation_blocks.mark(fig, ctx, events, lo, hi), key="cockpit_lights_chart", lang=ctx.lang)
    st.caption(ctx.t("lights.note"))
    annotation_blocks.listing(ctx, events)


def lights_on_demand(ctx: Context, weekly: pl.DataFrame) -> None:
    """The weekly lights chart in an expander that runs only when opened, its label saying the last week's counts.
    Drawn at once it was the cockpit's only Plotly chart, and Plotly's code and drawing took a first visit from
    2.4 to 3.7 s in software rendering (docs/performance.md, issue 17 point 14); below the map it is out of view
    anyway."""
    if weekly.is_empty():
        st.caption(ctx.t("lights.no_weeks"))
        return
    last = weekly.sort("week_end").row(-1, named=True)
    label = ctx.t("lights.box", date=i18n.fmt_date(last["week_end"], ctx.lang),
                  red=i18n.fmt_int(last["red"], ctx.lang), yellow=i18n.fmt_int(last["yellow"], ctx.lang))
    if box := on_demand(label, key="cockpit_lights"):
        with box:
            lights(ctx, weekly)


MAP_METRICS = ("index", "red_share")
MAP_COLUMNS = [3, 2]  # the map and the league beside it (views/cockpit.py; mapfit.measure_early lays out the same)
MAP_HEIGHT = 480


def region_map(ctx: Context, table: pl.DataFrame, level: str | None) -> None:
    """The regions one level down coloured by the index or red share; a click drills into a region."""
    if table.is_empty() or level is None:
        return
    metric = st.segmented_control(ctx.t("map.colour_by"), MAP_METRICS, default="index", key="map_metric",
                                  format_func=lambda k: ctx.t(f"map.{k}"))
    metric = metric or "index"
    is_share = metric == "red_share"
    values = table.select("region_code", pl.col(metric).alias("value"), pl.col("n_in_flight").alias("n"))
    fmt = (lambda v: i18n.fmt_pct(v, ctx.lang)) if is_share else (lambda v: f"{v:.1f}")
    fitted = mapfit.fit("cockpit", level, ctx.filters.region_code, MAP_HEIGHT, measured_early=True)
    chart_key = f"map_{ctx.filters.region_code}_{metric}"
    if mapfit.waiting("cockpit"):  # a first visit: the map comes once the browser has reported its width
        mapfit.empty(chart_key, fitted["height"])
        return
    try:
        spec = maps.choropleth(level, values, parent_code=ctx.filters.region_code, lang=ctx.lang, value_format=fmt, inset=True,
                               higher_is_better=not is_share, **fitted, tooltip_labels={"value": ctx.t(f"map.{metric}"), "n": ctx.t("league.n_items")})
    except ValueError:  # no boundaries below this region (e.g. 东莞 has no counties)
        st.info(ctx.t("map.no_boundaries"))
        return
    event = st.pydeck_chart(spec.deck, on_select="rerun", selection_mode="single-object", height=fitted["height"],
                            key=chart_key)
    st.markdown(maps.legend_html(spec, fmt, title=ctx.t(f"map.{metric}"), note=maps.scale_note(not is_share, ctx.lang)),
                unsafe_allow_html=True)
    st.caption(ctx.t("map.hint"))
    code = maps.selected_region_code(event, spec)
    if code and code != ctx.filters.region_code and code in table["region_code"].to_list():
        filterbar.set_region(code)
        st.rerun()


def model_flags(ctx: Context, limit: int = 10) -> None:
    """The risk model's high-risk items that are not red yet: the early warnings."""
    from analytics.risk import scores

    scored = _saved_scores(ctx)
    if scored is None:
        return
    items = ctx.query("item_lights", **ctx.thresholds.params())
    early = (items.filter(pl.col("light") != "red").join(scored.filter(pl.col("band") == "high"), on="project_id")
             .sort("probability", descending=True))
    st.markdown(f"**{ctx.t('risk.cockpit_title')}**")
    if early.is_empty():
        st.caption(ctx.t("risk.cockpit_none"))
        return
    rows = list(early.head(limit).iter_rows(named=True))
    tables.grid(pl.DataFrame({
        ctx.t("risk.item"): [r["name"] for r in rows],
        ctx.t("risk.probability"): [i18n.fmt_pct(r["probability"], ctx.lang) for r in rows],
        ctx.t("risk.p80"): [_finish(ctx, r["p80_date"], r["p80_beyond"]) for r in rows],
        ctx.t("risk.dept"): [i18n.glossary("dept", r["lead_dept"], ctx.lang) for r in rows],
        ctx.t("risk.reasons"): [scores.reasons_text(r["top_reasons"], ctx.lang) for r in rows],
    }), hide_index=True, width="stretch")
