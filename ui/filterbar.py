"""The global filter bar in the sidebar, kept in the URL so a copied link reproduces the view.

The session holds the canonical `Filters`; the URL is rewritten from it on every run (page
switches drop the query string, so it is restored from the session). A URL that differs from the
one we last wrote was edited or pasted by the user: it is parsed, validated and wins.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from analytics import filters as flt
from analytics import i18n
from analytics.filters import Filters, Options
from analytics.region_tree import RegionTree

ALL = ""  # the "all" entry of a select box
PRIORITY_VALUES = ("urgent", "key", "normal")
_KEYS = ("f_period", "f_province", "f_city", "f_county", "f_domain", "f_dept", "f_priority")


def resolve_language() -> str:
    """Language from the URL (`lang=en`), else the session, else Chinese."""
    url_lang = st.query_params.get("lang")
    lang = i18n.normalise_lang(url_lang or st.session_state.get("_lang"))
    st.session_state["_lang"] = lang
    return lang


def resolve_filters(options: Options) -> tuple[Filters, list[flt.Problem]]:
    query = {k: v for k, v in st.query_params.to_dict().items() if k in flt.FILTER_PARAMS}
    last = st.session_state.get("_last_query")
    if "_filters" not in st.session_state or (query and query != last):
        filters, problems = flt.from_query(query, options)
    else:
        filters, problems = st.session_state["_filters"], []
    _store(filters)
    return filters, problems


def _store(filters: Filters) -> None:
    st.session_state["_filters"] = filters
    query = flt.to_query(filters)
    st.session_state["_last_query"] = query
    current = st.query_params.to_dict()
    own = {k: v for k, v in current.items() if k not in flt.FILTER_PARAMS and k != "lang"}  # the page's state
    wanted = query | {"lang": st.session_state.get("_lang", i18n.DEFAULT_LANG)} | own
    if current != wanted:
        st.query_params.from_dict(wanted)


def page_param(name: str) -> str | None:
    """A page's own URL parameter (an item id, a chosen metric): untrusted text, the page validates it."""
    value = st.query_params.get(name)
    return value[:200] if isinstance(value, str) and value else None


def set_page_param(name: str, value: str | None) -> None:
    """Keep a page's own state in the URL beside the filters, so a copied link reproduces it."""
    if name in flt.FILTER_PARAMS or name == "lang":
        raise ValueError(f"{name!r} is a global parameter")
    if value is None:
        st.query_params.pop(name, None)
    else:
        st.query_params[name] = value


def link_params(filters: Filters, **page: str) -> dict[str, str]:
    """Query parameters of a link to another page that keeps the filters and the language."""
    return flt.to_query(filters) | {"lang": st.session_state.get("_lang", i18n.DEFAULT_LANG)} | page


def _from_widgets(tree: RegionTree, changed: str) -> None:
    """Callback: rebuild the filters from the widgets; a changed parent region resets its children."""
    s = st.session_state
    f: Filters = s["_filters"]
    region = f.region_code
    if changed == "province":
        region = s["f_province"] or None
    elif changed == "city":
        region = s["f_city"] or s["f_province"] or None
    elif changed == "county":
        region = s["f_county"] or s["f_city"] or s["f_province"] or None
    _store(replace(f, period=s["f_period"], region_code=region, domains=tuple(s["f_domain"]),
                   lead_depts=tuple(s["f_dept"]), priorities=tuple(s["f_priority"])))


def set_region(code: str | None) -> None:
    """Drill to a region (from a map click): the same path as choosing it in the cascade."""
    _store(replace(st.session_state["_filters"], region_code=code))


def set_filters(**changes) -> None:
    """Narrow to a heatmap cell or a table row: change some filter fields (names of `Filters`), keep the rest."""
    _store(replace(st.session_state["_filters"], **changes))


def reset() -> None:
    _store(Filters())


def _set_language() -> None:
    st.session_state["_lang"] = st.session_state["f_lang"] or i18n.DEFAULT_LANG
    _store(st.session_state["_filters"])


def render(filters: Filters, tree: RegionTree, options: Options, domain_counts: dict[str, int],
           dept_counts: dict[str, int], lang: str) -> None:
    """Draw the filter widgets for `filters`; changes go through the callbacks above."""
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    sel = tree.selection(filters.region_code)
    s = st.session_state
    s["f_period"], s["f_province"] = filters.period, sel.province or ALL
    s["f_city"], s["f_county"] = sel.city or ALL, sel.county or ALL
    s["f_domain"], s["f_dept"] = list(filters.domains), list(filters.lead_depts)
    s["f_priority"] = list(filters.priorities)

    def region_label(code: str, all_key: str = "filters.all_in") -> str:
        if code == ALL:
            return t(all_key)
        name = i18n.glossary("province", tree.name[code], lang)
        if tree.level[code] == "county" and tree.level.get(tree.parent[code]) == "province" \
                and tree.has_city_level(tree.parent[code]):
            return t("filters.direct_county", name=name)
        return name

    st.subheader(t("filters.title"))
    st.selectbox(t("filters.period"), options.periods, key="f_period",
                 format_func=lambda p: i18n.fmt_period(p, lang), on_change=_from_widgets, args=(tree, "period"))
    st.selectbox(t("filters.province"), [ALL, *tree.provinces()], key="f_province",
                 format_func=lambda c: region_label(c, "filters.all_regions"),
                 on_change=_from_widgets, args=(tree, "province"))
    if sel.province and tree.has_city_level(sel.province):
        st.selectbox(t("filters.city"), [ALL, *tree.city_options(sel.province)], key="f_city",
                     format_func=region_label, on_change=_from_widgets, args=(tree, "city"))
    county_parent = sel.city if sel.city and tree.level[sel.city] == "city" else (
        sel.province if sel.province and not tree.has_city_level(sel.province) else None)
    if county_parent:
        st.selectbox(t("filters.county"), [ALL, *tree.county_options(county_parent)], key="f_county",
                     format_func=region_label, on_change=_from_widgets, args=(tree, "county"))
    st.multiselect(t("filters.domain"), list(options.domains), key="f_domain", placeholder=t("filters.any"),
                   format_func=lambda d: f"{i18n.glossary('domain', d, lang)} ({domain_counts.get(d, 0):,})",
                   on_change=_from_widgets, args=(tree, "domain"))
    st.multiselect(t("filters.dept"), list(options.lead_depts), key="f_dept", placeholder=t("filters.any"),
                   format_func=lambda d: f"{i18n.glossary('dept', d, lang)} ({dept_counts.get(d, 0):,})",
                   on_change=_from_widgets, args=(tree, "dept"))
    st.multiselect(t("filters.priority"), list(PRIORITY_VALUES), key="f_priority", placeholder=t("filters.any"),
                   format_func=lambda p: i18n.choice_label("projects", "priority", p, lang),
                   on_change=_from_widgets, args=(tree, "priority"))
    st.button(t("filters.reset"), on_click=reset, width="stretch")
    st.caption(t("filters.link_hint"))


def language_switch(lang: str) -> None:
    st.session_state["f_lang"] = lang
    st.segmented_control(i18n.t("app.language", lang), list(i18n.LANGS), key="f_lang",
                         format_func=lambda code: {"zh": "中文", "en": "English"}[code],
                         on_change=_set_language, label_visibility="collapsed")


def summary(filters: Filters, tree: RegionTree, lang: str) -> str:
    """One line naming the active filters, for page headers, exports and printed screens."""
    names = [tree.name[c] for c in tree.path(filters.region_code)] if filters.region_code else []
    return i18n.describe_filters(filters, names, lang)
