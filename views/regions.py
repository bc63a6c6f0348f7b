"""区域分析 / Regions: a metric by region on the map and in a ranking; click to drill, path to go back up."""
import html

import polars as pl
import streamlit as st

from analytics import i18n, metrics
from analytics.figures import maps, palette
from analytics.pages import regions as rg
from ui import context, filterbar, mapfit, page, tables
from ui.blocks import freshness as freshness_ui

ctx = context.current()
tree = st.session_state["_tree"]
page.header(ctx, "nav.regions")
region = ctx.filters.region_code
MAP_COLUMNS = [11, 9]  # the map and the ranking beside it


def _param(name: str, allowed, default):
    """A page parameter from the URL, validated (untrusted text); a bad one is reported, not obeyed."""
    value = filterbar.page_param(name)
    if value is None or value in allowed:
        return value or default
    st.warning(ctx.t("regions.bad_param", param=page.md_escape(name), value=page.md_escape(value[:40])))
    return default


def _control(name: str, key: str, default) -> None:
    """Callback: the widget's value into the URL (the default leaves the URL short)."""
    value = st.session_state.get(key)
    filterbar.set_page_param(name, None if value in (None, default) else value)


def _go(code: str | None) -> None:
    """Callback of the path buttons and the map: the global region filter, back to the default level."""
    filterbar.set_region(code)
    filterbar.set_page_param("level", None)


def _label(m: metrics.Metric) -> str:
    return m.label(ctx.lang)


def _unit(m: metrics.Metric) -> str:
    return ctx.t(f"regions.unit_{m.unit}")


# --- the page's own state, from the URL -------------------------------------------------------
metric_key = _param("metric", metrics.BY_KEY, rg.DEFAULT_METRIC)
layer = _param("layer", rg.LAYERS, "choropleth")
scale = _param("scale", rg.SCALES, "quantile")
light = _param("light", rg.LIGHTS, None)
wanted_level = _param("level", metrics.LEVELS[1:], None)

# the report freshness from the pages' one cached block, not computed a second time by the regions block
data = freshness_ui.for_regions(ctx, ctx.block("regions", metric=metric_key, level=wanted_level or "",
                                               with_lights=layer != "choropleth"))
m = data.metric
if data.total and data.level is not None and data.has_boundaries:  # there will be a map
    mapfit.measure_early("regions", MAP_COLUMNS)  # its width, known with the page's first output

# --- path (breadcrumb): 全国 › 安徽省 › 合肥市 ------------------------------------------------
with st.container(horizontal=True, vertical_alignment="center", gap="small", key="regions_path"):
    path = [None, *tree.path(region)]
    for i, code in enumerate(path):
        if i:
            st.markdown("›")
        name = ctx.t("regions.country") if code is None else i18n.glossary("province", tree.name[code], ctx.lang)
        st.button(page.md_escape(name), key=f"regions_path_{code or 'country'}", on_click=_go, args=(code,),
                  disabled=code == region, type="tertiary" if code != region else "secondary")

if not data.total:
    page.empty_state(ctx, "regions.empty")
    st.stop()

# --- controls ----------------------------------------------------------------------------------
# one wrapping row: at a projector's 1280 px the four controls no longer fit side by side in fixed columns (their
# options were cut, issue 17), so each takes its own width and the row wraps; below a county there is no map, so
# none of the map's controls is offered
controls = st.container(horizontal=True, gap="medium", vertical_alignment="bottom", key="regions_controls")
st.session_state["regions_metric"] = metric_key
controls.selectbox(ctx.t("regions.metric"), [k.key for k in metrics.METRICS], key="regions_metric",
                   format_func=lambda k: _label(metrics.BY_KEY[k]), on_change=_control,
                   args=("metric", "regions_metric", rg.DEFAULT_METRIC), width=240)
if data.levels:
    st.session_state["regions_level"] = data.level
    controls.segmented_control(ctx.t("regions.level"), list(data.levels), key="regions_level",
                               format_func=lambda lv: ctx.t(f"regions.level_{lv}"), on_change=_control,
                               args=("level", "regions_level", data.levels[0]))
if data.level is not None:
    st.session_state["regions_layer"] = layer
    controls.segmented_control(ctx.t("regions.layer"), list(rg.LAYERS), key="regions_layer",
                               format_func=lambda v: ctx.t(f"regions.layer_{v}"), on_change=_control,
                               args=("layer", "regions_layer", "choropleth"))
    if layer == "choropleth":
        st.session_state["regions_scale"] = scale
        controls.segmented_control(ctx.t("regions.scale"), list(rg.SCALES), key="regions_scale",
                                   format_func=lambda v: ctx.t(f"regions.scale_{v}"), on_change=_control,
                                   args=("scale", "regions_scale", "quantile"))
    elif layer == "hexagon":
        st.session_state["regions_light"] = light or "all"
        controls.segmented_control(ctx.t("regions.light"), ["all", *rg.LIGHTS], key="regions_light",
                                   format_func=lambda v: ctx.t(f"regions.light_{v}"),
                                   on_change=_control, args=("light", "regions_light", "all"))

here = ctx.t("regions.country") if region is None else i18n.glossary("province", tree.name[region], ctx.lang)
st.markdown("**" + page.md_escape(ctx.t(
    "regions.total", region=here, metric=_label(m), value=i18n.fmt_metric(m.unit, data.total.get(m.key), ctx.lang),
    n=i18n.fmt_int(data.total.get(rg.n_column(m)), ctx.lang), date=i18n.fmt_date(ctx.as_of, ctx.lang))) + "**")

freshness_ui.cockpit_line(ctx)  # how fresh the numbers above are: the regions in the selection gone silent

if data.level is None:  # a county: no region below to compare, so its own items (issue 17: no dead end)
    st.info(ctx.t("regions.no_level_below"), icon=":material/location_on:")
    from ui.blocks.cockpit import light_reason

    items = ctx.query("item_lights", **ctx.thresholds.params())  # the items in flight, with light and rule
    if items.is_empty():
        st.caption(ctx.t("regions.county_no_items"))
        st.stop()
    order = {"red": 0, "yellow": 1, "green": 2, "none": 3}
    items = items.with_columns(pl.col("light").replace_strict(order, default=4).alias("_o")).sort("_o", "project_id")
    word = {k: ctx.t(f"lights.{k}") for k in order}
    rows = list(items.iter_rows(named=True))
    table = pl.DataFrame({
        ctx.t("item.id"): [r["project_id"] for r in rows],
        ctx.t("risk.item"): [r["name"] for r in rows],
        ctx.t("risk.light"): [word.get(r["light"], "—") for r in rows],
        ctx.t("regions.col_reason"): [light_reason(ctx, r) for r in rows],
        ctx.t("risk.dept"): [i18n.glossary("dept", r["lead_dept"], ctx.lang) for r in rows],
        ctx.t("risk.planned_end"): [i18n.fmt_date(r["planned_end_date"], ctx.lang) for r in rows],
    }, schema={k: pl.Utf8 for k in (ctx.t("item.id"), ctx.t("risk.item"), ctx.t("risk.light"),
                                     ctx.t("regions.col_reason"), ctx.t("risk.dept"), ctx.t("risk.planned_end"))})
    title = ctx.t("regions.county_items", region=here, n=i18n.fmt_int(len(rows), ctx.lang))
    st.subheader(title)
    tables.show(ctx, table, key="regions_items", title=title, stem="county-items", item_column=ctx.t("item.id"),
                shown=500)
    st.stop()


# --- map and legend ---------------------------------------------------------------------------
def fmt(v: float) -> str:
    return i18n.fmt_metric(m.unit, v, ctx.lang)


def legend_html(spec: maps.MapSpec) -> str:
    if layer == "points":
        counts = data.lights.group_by("light").agg(pl.col("n_items").sum()) if data.lights.height else None
        total = int(counts["n_items"].sum()) if counts is not None else 0
        items = "".join(maps.swatch_html(palette.LIGHT_COLOURS[k], ctx.t(f"lights.{k}"), "50%") for k in rg.LIGHTS)
        return (f"<div style='font-size:0.85rem;line-height:1.9'>"
                f"{html.escape(ctx.t('regions.points_legend', n=i18n.fmt_int(total, ctx.lang)))} {items}</div>")
    if layer == "hexagon":
        which = ctx.t("regions.light_all") if light is None else ctx.t(f"lights.{light}")
        bar = maps.gradient_html([palette.hex_colour(c) for c in palette.density_colours(6)],
                                 ctx.t("regions.fewer"), ctx.t("regions.more"))
        return (f"<div style='font-size:0.85rem;line-height:1.9'>"
                f"{html.escape(ctx.t('regions.hex_legend', light=which))}<br>{bar}</div>")
    return maps.legend_html(spec, fmt, note=maps.scale_note(m.direction == "higher_is_better", ctx.lang))


def silent_legend() -> str:
    """The silent regions' ring (issue 20), when the map draws any."""
    if not rg.silent_rows(data.silent, region is None):
        return ""
    return ("<div style='font-size:0.85rem;line-height:1.9'>" + maps.silent_swatch(ctx.t(
        "freshness.map_legend", n=i18n.fmt_int(data.silent.height, ctx.lang), days=data.cycle_days)) + "</div>")


map_col, table_col = st.columns(MAP_COLUMNS)
with map_col:
    if not data.has_boundaries:
        st.info(ctx.t("regions.no_boundaries"), icon=":material/map:")
    else:
        labels = {"value": _label(m), "n": ctx.t("regions.n"), "rank": ctx.t("regions.rank"),
                  "items": ctx.t("regions.items"), "unit": ctx.t("regions.unit_items"),
                  **{k: ctx.t(f"lights.{k}") for k in rg.LIGHTS}}
        width = mapfit.known_width("regions")
        height = mapfit.map_height(width, 560)
        chart_key = f"regions_map_{region}_{data.level}_{layer}_{metric_key}_{scale}_{light}"
        if mapfit.waiting("regions"):  # a first visit: the map comes once the browser has reported its width
            mapfit.empty(chart_key, height)
        else:
            spec = rg.map_deck(data, region, lang=ctx.lang, layer=layer, scale=scale, value_format=fmt,
                               labels=labels, light=light, width=width, height=height)
            event = st.pydeck_chart(spec.deck, on_select="rerun", selection_mode="single-object", height=height,
                                    key=chart_key)
            st.markdown(legend_html(spec) + silent_legend(), unsafe_allow_html=True)
            drawn = data.values.filter(pl.col("region_code").is_in(spec.region_codes) & pl.col("value").is_not_null())
            with_data = drawn.height if layer == "choropleth" else data.values.filter(pl.col("value").is_not_null()).height
            level_words = ctx.t(f"regions.level_in_text_{data.level}")  # mid-sentence ("of 31 provinces")
            notes = [ctx.t("regions.caption", metric=_label(m), level=level_words,
                           regions=i18n.fmt_int(len(spec.region_codes), ctx.lang),
                           with_data=i18n.fmt_int(with_data, ctx.lang), unit=_unit(m),
                           date=i18n.fmt_date(ctx.as_of, ctx.lang))] if layer == "choropleth" else [
                ctx.t("regions.caption_items", level=level_words,
                      date=i18n.fmt_date(ctx.as_of, ctx.lang))]
            if layer == "points":
                notes.append(ctx.t("regions.hint_points_national" if region is None else "regions.hint_points"))
            elif layer == "hexagon":
                shown = data.lights if light is None else data.lights.filter(pl.col("light") == light)
                n_items = shown["n_items"].sum() if shown.height else 0
                notes.append(ctx.t("regions.hint_hexagon", n=i18n.fmt_int(n_items, ctx.lang)))
            else:
                notes.append(ctx.t("regions.hint"))
            if region is None and data.level not in maps.SHAPE_PICKED_LEVELS:  # a picture picked by points
                notes.append(ctx.t("regions.hint_picture"))
            if region is None:
                notes.append(ctx.t("regions.inset"))
            st.caption(" ".join(notes))
            code = maps.selected_code(event, spec=spec)
            if code and code != region and code in tree and tree.level[code] != "country":
                _go(code)
                st.rerun()

# --- ranking -----------------------------------------------------------------------------------
with table_col:
    st.subheader(ctx.t("regions.table_title"))
    if data.table.is_empty():
        st.info(ctx.t("regions.no_regions"))
    else:
        factor = 100 if m.unit == "share" else 1
        digits = {"count": 0, "rating": 2}.get(m.unit, 1)
        rows = (data.table.join(data.freshness.select("region_code", "last_report", "n_silent"), on="region_code",
                                how="left").sort("metric_rank", nulls_last=True))
        frame = pl.DataFrame({
            ctx.t("regions.col_rank"): rows["metric_rank"],
            ctx.t("regions.col_region"): [i18n.glossary("province", n, ctx.lang) for n in rows["name"]],
            ctx.t("regions.col_value", metric=_label(m), unit=_unit(m)):
                (rows[m.key].cast(pl.Float64) * factor).round(digits),
            ctx.t("regions.col_n"): rows[rg.n_column(m)].cast(pl.Float64).round(0).cast(pl.Int64),
            ctx.t("regions.col_in_flight"): rows["n_in_flight"],
            ctx.t("freshness.last_report"): [i18n.fmt_date(d, ctx.lang) if d else "—" for d in rows["last_report"]],
            ctx.t("freshness.col_silent", days=data.cycle_days): [i18n.fmt_int(n, ctx.lang) if n else ""
                                                                   for n in rows["n_silent"]],
            ctx.t("regions.col_note"): [ctx.t("regions.note_small") if s else "" for s in rows["is_small"]],
            ctx.t("regions.col_code"): rows["region_code"],
        })
        tables.show(ctx, frame, key="regions_rank", title=ctx.t("regions.table_title"), stem="regions-ranking",
                    height=470)
        small = int(rows["is_small"].sum())
        if small:
            st.caption(ctx.t("regions.small", n=i18n.fmt_int(small, ctx.lang), min_n=ctx.thresholds.min_n))
