"""The app's pages, declared once: which file, which menu section, which URL and icon.

app.py builds `st.navigation` from this list (the title is the locale key `nav.<key>`); a test checks
that every file in views/ is declared and every declared file exists. Access rules attach here too.
"""
from __future__ import annotations

from dataclasses import dataclass

SECTIONS = ("overview", "analysis", "manage")  # menu order; titles are the locale keys nav.section_<name>


@dataclass(frozen=True)
class PageDef:
    key: str  # nav.<key> is its title; also its url_path
    section: str
    icon: str
    default: bool = False
    permission: str = "view"  # what a role needs to see it in the menu and open it (analytics/auth/roles.py)

    @property
    def file(self) -> str:
        return f"views/{self.key}.py"


PAGES: tuple[PageDef, ...] = (
    PageDef("cockpit", "overview", ":material/dashboard:", default=True),
    PageDef("risk", "overview", ":material/warning:"),
    PageDef("meeting", "overview", ":material/co_present:"),
    PageDef("regions", "analysis", ":material/map:"),
    PageDef("domains", "analysis", ":material/grid_view:"),
    PageDef("trends", "analysis", ":material/show_chart:"),
    PageDef("rectifications", "analysis", ":material/task_alt:"),
    PageDef("feedback", "analysis", ":material/forum:"),
    PageDef("duplicates", "analysis", ":material/content_copy:"),
    PageDef("authenticity", "analysis", ":material/fact_check:"),
    PageDef("item", "analysis", ":material/description:"),
    PageDef("data", "manage", ":material/table_view:"),
    PageDef("upload", "manage", ":material/upload_file:", permission="upload"),
    PageDef("admin", "manage", ":material/admin_panel_settings:", permission="view_audit"),
)
BY_KEY = {p.key: p for p in PAGES}
