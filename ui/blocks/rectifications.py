"""Drawing the rectification ledger page's blocks from the plain data of `analytics.pages.rectifications`."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import i18n, metrics
from analytics.pages import rectifications

from ui import charts, filterbar, tables
from analytics.figures import palette
from ui.context import Context
from ui.page import md_escape

# the colour language of docs/colours.md (analytics/figures/palette.py), colour repeating what the words say: the
# steps of the flow are neither good nor bad (the neutral ramp, one shade per step); an open rectification's age
# is, so its buckets run on the quality scale from cool (≤15 days) to dark warm red (over 60 days). Yellow here
# meant the best bucket, while it means the worst on the quality pages' bars.
FLOW_COLOURS = palette.DENSITY[1:]
AGE_COLOURS = tuple(reversed(palette.QUALITY[:4]))
SHOWN = 500  # rows on screen; the downloads have them all
URL_SEP = ","  # department names hold no comma


def metric_name(ctx: Context, key: str) -> str:
    return metrics.BY_KEY[key].label(ctx.lang)


def dept_choice(ctx: Context) -> tuple[str, ...]:
    """The page's responsible-department choice, kept in the URL (`rdept`); unknown names are reported."""
    options = ctx.query("rectifications_dept_options")
    known = dict(options.iter_rows())
    asked = [d for d in (filterbar.page_param("rdept") or "").split(URL_SEP) if d]
    bad = [d for d in asked if d not in known]
    if bad:
        st.warning(ctx.t("rectifications.dept_bad", value=md_escape("、".join(bad))))
    valid = [d for d in asked if d in known]
    if "ledger_rdept" not in st.session_state:  # first drawn: from the link
        st.session_state["ledger_rdept"] = valid
    chosen = st.multiselect(ctx.t("rectifications.dept"), list(known), key="ledger_rdept",
                            placeholder=ctx.t("rectifications.dept_any"),
                            format_func=lambda d: f"{i18n.glossary('dept', d, ctx.lang)} ({known.get(d, 0):,})",
                            help=ctx.t("rectifications.dept_help"))
    if chosen != asked:
        filterbar.set_page_param("rdept", URL_SEP.join(chosen) or None)
    notes = [ctx.t("rectifications.dept_rule")]
    if ctx.filters.lead_depts or ctx.filters.domains:
        notes.append(ctx.t("rectifications.filters_ignored"))
    st.caption(" ".join(notes))
    return tuple(chosen)


def _verdict(ctx: Context, key: str, value: float | None) -> str:
    m = metrics.BY_KEY[key]
    if m.target is None or value is None:
        return ""
    met = value >= m.target if m.direction == "higher_is_better" else value <= m.target
    return "✓ " + ctx.t("kpi.met") if met else "✗ " + ctx.t("kpi.missed")


def kpis(ctx: Context, data: rectifications.Page) -> None:
    """The loop's numbers, each with its n, target and verdict; the same values the cockpit shows."""
    t = data.totals
    date = i18n.period_note(ctx.filters.period, ctx.as_of, ctx.lang)  # what the cards cover: the period, not the as-of day
    cards = [(metric_name(ctx, k), k, t[k], t[metrics.BY_KEY[k].n_col]) for k in rectifications.METRIC_KEYS]
    cards.append((ctx.t("rectifications.relapse_12m"), "relapse_rate", t["relapse_rate_12m"], t["n_rect_found_12m"]))
    cards.append((ctx.t("rectifications.open"), "rect_overdue", t["n_open"], t["n_open"]))
    for start in range(0, len(cards), 3):
        for col, (label, key, value, n) in zip(st.columns(3), cards[start:start + 3]):
            m = metrics.BY_KEY[key]
            with col.container(border=True):
                st.metric(label, i18n.fmt_metric(m.unit, value, ctx.lang),
                          help=ctx.t("kpi.help", formula=m.formula_zh if ctx.lang == "zh" else m.formula_en,
                                     seed=m.seed) if label == metric_name(ctx, key) else None)
                notes = [ctx.t("kpi.n", n=i18n.fmt_int(n, ctx.lang)), date]
                if n is not None and n < ctx.thresholds.min_n and m.unit in ("share", "days"):
                    notes.append("⚠ " + ctx.t("kpi.small"))
                if m.target is not None and label == metric_name(ctx, key):
                    op = "≥" if m.direction == "higher_is_better" else "≤"
                    target = ctx.t("kpi.target", op=op, target=i18n.fmt_metric(m.unit, m.target, ctx.lang))
                    notes.append(f"{target} {_verdict(ctx, key, value)}".strip())
                st.caption(" · ".join(notes))
    st.caption(ctx.t("rectifications.kpi_note", days=rectifications.RELAPSE_DAYS))


def _bars(labels: list[str], values: list[int], colours, title: str, x_title: str) -> go.Figure:
    fig = go.Figure(go.Bar(y=labels, x=values, orientation="h", marker_color=list(colours),
                           text=[f"{v:,}" for v in values], textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:,}<extra></extra>"))
    fig.update_layout(title=title, height=260, margin=dict(l=10, r=40, t=50, b=10), plot_bgcolor="white",
                      xaxis_title=x_title, showlegend=False)
    fig.update_yaxes(autorange="reversed")
    # counts in full with separators (25,000), never the SI "25k", which is no Chinese way of writing a number
    fig.update_xaxes(gridcolor="#e5e8ec", rangemode="tozero", exponentformat="none", separatethousands=True)
    return fig


def status_flow(ctx: Context, status: pl.DataFrame) -> None:
    """Rectifications by recorded status, in the order of the flow open → … → closed."""
    labels = [f"{i + 1}. {i18n.choice_label('rectifications', 'status', s, ctx.lang)}"
              for i, s in enumerate(status["status"])]
    charts.show(_bars(labels, status["n"].to_list(), FLOW_COLOURS, ctx.t("rectifications.flow_title"),
                      ctx.t("rectifications.axis_n")), key="ledger_flow", lang=ctx.lang)
    st.caption(ctx.t("rectifications.flow_note", n=i18n.fmt_int(status["n"].sum(), ctx.lang),
                     date=i18n.fmt_date(ctx.as_of, ctx.lang)))


def bucket_label(ctx: Context, key: str) -> str:
    return ctx.t(f"rectifications.bucket_{key}")


def ageing(ctx: Context, totals: dict) -> None:
    """Open rectifications by days open at the period end."""
    keys = [k for k, _ in rectifications.BUCKETS]
    charts.show(_bars([bucket_label(ctx, k) for k in keys], [totals[f"n_{k}"] for k in keys], AGE_COLOURS,
                      ctx.t("rectifications.age_title"), ctx.t("rectifications.axis_n")), key="ledger_age", lang=ctx.lang)
    st.caption(ctx.t("rectifications.age_note", n=i18n.fmt_int(totals["n_open"], ctx.lang),
                     date=i18n.fmt_date(ctx.as_of, ctx.lang)))


def status_text(ctx: Context, r: dict) -> str:
    label = i18n.choice_label("rectifications", "status", r["status"], ctx.lang)
    if r["status"] == "closed" and not r["is_closed"]:  # closed after the period end: open at the end
        return ctx.t("rectifications.closed_later", date=i18n.fmt_date(r["closed_date"], ctx.lang))
    return label


def ledger_table(ctx: Context, rows: pl.DataFrame) -> pl.DataFrame:
    """The ledger as shown and downloaded, headers in the reader's language."""
    rs = list(rows.iter_rows(named=True))
    t = ctx.t
    return pl.DataFrame({
        t("rectifications.col_id"): [r["rectification_id"] for r in rs],
        t("rectifications.col_overdue"): [t("rectifications.overdue_days", days=r["days_overdue"])
                                          if r["is_overdue"] else "" for r in rs],
        t("rectifications.col_status"): [status_text(ctx, r) for r in rs],
        t("rectifications.col_days_open"): [r["days_open"] for r in rs],
        t("rectifications.col_region"): [i18n.glossary("province", r["region_name"], ctx.lang) for r in rs],
        t("rectifications.col_dept"): [i18n.glossary("dept", r["responsible_dept"], ctx.lang) for r in rs],
        t("rectifications.col_item_name"): [r["item_name"] or "" for r in rs],
        t("rectifications.col_item"): [r["project_id"] or "" for r in rs],
        t("rectifications.col_source"): [i18n.choice_label("rectifications", "source", r["source"], ctx.lang)
                                         for r in rs],
        t("rectifications.col_description"): [r["description"] for r in rs],
        t("rectifications.col_found"): [r["found_date"] for r in rs],
        t("rectifications.col_deadline"): [r["deadline"] for r in rs],
        t("rectifications.col_closed"): [r["closed_date"] for r in rs],
        t("rectifications.col_relapse"): [t("rectifications.relapse_yes") if r["is_relapse"] else "" for r in rs],
    }, schema_overrides={t("rectifications.col_days_open"): pl.Int64, t("rectifications.col_found"): pl.Date,
                         t("rectifications.col_deadline"): pl.Date, t("rectifications.col_closed"): pl.Date})


def overdue(ctx: Context, rows: pl.DataFrame) -> None:
    late = rows.filter(pl.col("is_overdue"))
    if late.is_empty():
        st.success(ctx.t("rectifications.none_overdue"), icon=":material/check_circle:")
        return
    st.caption(ctx.t("rectifications.overdue_intro", n=i18n.fmt_int(late.height, ctx.lang),
                     date=i18n.fmt_date(ctx.as_of, ctx.lang)))
    tables.show(ctx, ledger_table(ctx, late), key="ledger_overdue", title=ctx.t("rectifications.tab_overdue"),
                stem="rectifications-overdue", item_column=ctx.t("rectifications.col_item"), shown=SHOWN)


def full_ledger(ctx: Context, data: rectifications.Page) -> None:
    rows = data.rows
    left, right = st.columns(2)
    statuses = left.pills(ctx.t("rectifications.col_status"), list(rectifications.STATUSES), selection_mode="multi",
                          key="ledger_status",
                          format_func=lambda s: i18n.choice_label("rectifications", "status", s, ctx.lang))
    sources = right.pills(ctx.t("rectifications.col_source"), list(rectifications.SOURCES), selection_mode="multi",
                          key="ledger_source",
                          format_func=lambda s: i18n.choice_label("rectifications", "source", s, ctx.lang))
    red_only = st.toggle(ctx.t("rectifications.red_only", n=i18n.fmt_int(data.n_red_items, ctx.lang),
                               items=i18n.fmt_int(len(data.red_items), ctx.lang)),
                         key="ledger_red_only", disabled=not data.red_items,
                         help=ctx.t("rectifications.red_only_help"))
    if statuses:
        rows = rows.filter(pl.col("status").is_in(statuses))
    if sources:
        rows = rows.filter(pl.col("source").is_in(sources))
    if red_only:
        rows = rows.filter(pl.col("project_id").is_in(list(data.red_items)))
    if rows.is_empty():
        st.info(ctx.t("rectifications.none_match"))
        return
    tables.show(ctx, ledger_table(ctx, rows), key="ledger_all", title=ctx.t("rectifications.tab_all"),
                stem="rectification-ledger", item_column=ctx.t("rectifications.col_item"), shown=SHOWN)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def _days(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def group_table(ctx: Context, frame: pl.DataFrame, first: str, names: list[str]) -> pl.DataFrame:
    """One row per region or department: the loop's numbers with their n and verdicts, and the ageing."""
    rs = list(frame.iter_rows(named=True))
    t = ctx.t
    out = {
        first: names,
        t("rectifications.col_due"): [r["n_rect_due"] for r in rs],
        t("rectifications.col_completion"): [_pct(r["rect_completion_rate"]) for r in rs],
        t("rectifications.col_completion_ok"): [_verdict(ctx, "rect_completion_rate", r["rect_completion_rate"])
                                                for r in rs],
        t("rectifications.col_n_overdue"): [r["n_rect_overdue"] for r in rs],
        t("rectifications.col_days_close"): [_days(r["avg_days_to_close"]) for r in rs],
        t("rectifications.col_closed_n"): [r["n_rect_closed_in_window"] for r in rs],
        t("rectifications.col_days_ok"): [_verdict(ctx, "avg_days_to_close", r["avg_days_to_close"]) for r in rs],
        t("rectifications.col_relapse_rate"): [_pct(r["relapse_rate"]) for r in rs],
        t("rectifications.col_found_n"): [r["n_rect_found"] for r in rs],
        t("rectifications.col_relapse_12m"): [_pct(r["relapse_rate_12m"]) for r in rs],
        t("rectifications.col_open"): [r["n_open"] for r in rs],
    }
    for key, _ in rectifications.BUCKETS:
        out[bucket_label(ctx, key)] = [r[f"n_{key}"] for r in rs]
    floats = (t("rectifications.col_completion"), t("rectifications.col_days_close"),
              t("rectifications.col_relapse_rate"), t("rectifications.col_relapse_12m"))
    return pl.DataFrame(out, schema_overrides={c: pl.Float64 for c in floats})


def by_region(ctx: Context, data: rectifications.Page) -> None:
    if data.level is None or data.by_region.is_empty():
        st.info(ctx.t("rectifications.no_regions"))
        return
    names = [i18n.glossary("province", r["name"], ctx.lang) for r in data.by_region.iter_rows(named=True)]
    table = group_table(ctx, data.by_region, ctx.t("rectifications.col_region"), names)
    st.caption(ctx.t("rectifications.region_intro"))
    tables.show(ctx, table, key="ledger_regions", title=ctx.t("rectifications.tab_regions"),
                stem="rectifications-by-region")


def by_dept(ctx: Context, data: rectifications.Page) -> None:
    if data.by_dept.is_empty():
        st.info(ctx.t("rectifications.none_match"))
        return
    names = [i18n.glossary("dept", d, ctx.lang) for d in data.by_dept["dept"]]
    table = group_table(ctx, data.by_dept, ctx.t("rectifications.col_dept"), names)
    st.caption(ctx.t("rectifications.dept_intro"))
    tables.show(ctx, table, key="ledger_depts", title=ctx.t("rectifications.tab_depts"),
                stem="rectifications-by-department")
