"""Entry point: language, first-run data, the global filters, and navigation."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics import i18n, queries, settings
from analytics.filters import Filters, Options, recent_periods
from analytics.region_tree import RegionTree
from ui import context, filterbar, metric_settings, setup

st.set_page_config(page_title="政策执行驾驶舱 · Policy Execution Cockpit", page_icon="📊", layout="wide")

lang = filterbar.resolve_language()
db_path = Path(settings.get("COCKPIT_DB"))
setup.ensure_database(db_path, lang)

db = context.database(str(db_path))
version_rows = queries.run(db.cursor(), "data_version")
if version_rows.is_empty():
    st.error(i18n.t("app.no_data", lang))
    st.stop()
version, as_of = version_rows["version"][0], version_rows["as_of"][0]

scope = queries.NATIONAL  # access control replaces this with the signed-in user's scope
base = context.Context(lang, Filters(), scope, version, as_of, str(db_path))
regions = base.query("region_options")
tree = RegionTree(regions)
domain_counts = dict(base.query("domain_options").iter_rows())
dept_counts = dict(base.query("dept_options").iter_rows())
options = Options(region_codes=frozenset(regions["region_code"]), domains=tuple(domain_counts),
                  lead_depts=tuple(dept_counts), periods=recent_periods(as_of))
filters, problems = filterbar.resolve_filters(options)
thresholds, weights = metric_settings.current()
st.session_state["_context"] = context.Context(lang, filters, scope, version, as_of, str(db_path), thresholds, weights)
st.session_state["_tree"] = tree

pages = {
    i18n.t("nav.section_overview", lang): [
        st.Page("views/cockpit.py", title=i18n.t("nav.cockpit", lang), icon=":material/dashboard:",
                url_path="cockpit", default=True),
        st.Page("views/risk.py", title=i18n.t("nav.risk", lang), icon=":material/warning:", url_path="risk"),
        st.Page("views/meeting.py", title=i18n.t("nav.meeting", lang), icon=":material/co_present:", url_path="meeting"),
    ],
    i18n.t("nav.section_analysis", lang): [
        st.Page("views/regions.py", title=i18n.t("nav.regions", lang), icon=":material/map:", url_path="regions"),
        st.Page("views/domains.py", title=i18n.t("nav.domains", lang), icon=":material/grid_view:",
                url_path="domains"),
        st.Page("views/trends.py", title=i18n.t("nav.trends", lang), icon=":material/show_chart:", url_path="trends"),
        st.Page("views/item.py", title=i18n.t("nav.item", lang), icon=":material/description:", url_path="item"),
    ],
    i18n.t("nav.section_manage", lang): [
        st.Page("views/data.py", title=i18n.t("nav.data", lang), icon=":material/table_view:", url_path="data"),
        st.Page("views/upload.py", title=i18n.t("nav.upload", lang), icon=":material/upload_file:", url_path="upload"),
    ],
}
page = st.navigation(pages)

with st.sidebar:
    st.markdown(f"**{i18n.t('app.title', lang)}**  \n{i18n.t('app.subtitle', lang)}")
    filterbar.language_switch(lang)
    filterbar.render(filters, tree, options, domain_counts, dept_counts, lang)

for p in problems:
    st.warning(i18n.t("filters.dropped", lang, param=p.param, value=p.value, expected=p.expected))

page.run()
