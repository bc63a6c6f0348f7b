"""The app's pages, declared once: key, menu section, icon, permission, and the function behind each page.

A page key names one file in every layer, so every path can be guessed from it:
`views/<key>.py` (layout) → `ui/blocks/<key>.py` (its Streamlit blocks) → `analytics/pages/<key>.py` (its data,
the `page()` function declared here) → `analytics/db/sql/<key>.py` (its SQL) → `analytics/locales/<key>.*.toml`
(its words). Not every page has every layer (the data page has no SQL of its own); none has a file under
another name.

app.py builds `st.navigation` from `PAGES` (the title is the locale key `nav.<key>`); `ui.context.Context.block`
computes `BLOCKS[name]` cached on the data version; the bench and the scope test run the same functions.
A test checks that every file in views/ is declared and every declared file exists.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics import freshness
from analytics.pages import (authenticity, cockpit, domains, duplicates, feedback, item, meeting, rectifications,
                             regions, risk, trends)

SECTIONS = ("overview", "analysis", "manage")  # menu order; titles are the locale keys nav.section_<name>

# what a page computes: fn(cur, selection, weights, **extra) -> plain data (its own hashable parameters in extra)
PageData = Callable[..., object]


@dataclass(frozen=True)
class PageDef:
    key: str  # nav.<key> is its title; also its url_path and the name of its file in every layer
    section: str
    icon: str
    data: PageData | None = None  # the page's `page()` function (None: the page reads named queries only)
    default: bool = False
    permission: str = "view"  # what a role needs to see it in the menu and open it (analytics/auth/roles.py)
    # the tables it cannot show anything without: while the database holds no row of one, the page says which
    # extract to upload instead of drawing zeros (app.py)
    needs: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"views/{self.key}.py"


PAGES: tuple[PageDef, ...] = (
    PageDef("cockpit", "overview", ":material/dashboard:", cockpit.page, default=True, needs=("projects",)),
    PageDef("risk", "overview", ":material/warning:", risk.page, needs=("projects", "progress_reports")),
    PageDef("meeting", "overview", ":material/co_present:", meeting.page, needs=("projects",)),
    PageDef("regions", "analysis", ":material/map:", regions.page, needs=("projects",)),
    PageDef("domains", "analysis", ":material/grid_view:", domains.page, needs=("projects",)),
    PageDef("trends", "analysis", ":material/show_chart:", trends.page, needs=("projects", "progress_reports")),
    PageDef("rectifications", "analysis", ":material/task_alt:", rectifications.page,
            needs=("rectifications",)),
    PageDef("feedback", "analysis", ":material/forum:", feedback.page, needs=("feedback",)),
    PageDef("duplicates", "analysis", ":material/content_copy:", duplicates.page, needs=("projects",)),
    PageDef("authenticity", "analysis", ":material/fact_check:", authenticity.page,
            needs=("projects", "progress_reports")),
    PageDef("item", "analysis", ":material/description:", item.page, needs=("projects",)),
    PageDef("data", "manage", ":material/table_view:"),
    PageDef("upload", "manage", ":material/upload_file:", permission="upload"),
    PageDef("admin", "manage", ":material/admin_panel_settings:", permission="view_audit"),
)
BY_KEY = {p.key: p for p in PAGES}

# what a page may compute through `Context.block`: the pages' data, and one block the item page shares with
# the authenticity page. A fixed list, so a cache key names a known function.
BLOCKS: dict[str, PageData] = {p.key: p.data for p in PAGES if p.data} | {"credibility": authenticity.item_credibility,
                                                                          "why_red_share": cockpit.why,
                                                                          "item_forecast": item.forecast,
                                                                          "freshness": freshness.block}
