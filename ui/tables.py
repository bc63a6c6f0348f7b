"""Every table the same way: sortable (click a header), searchable, exported as CSV and XLSX with its
context, and, where rows are items, a selected row opens the item's detail page."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import export, i18n

from ui import auth as auth_ui
from ui import filterbar
from ui.context import Context
from ui.page import md_escape

ITEM_PAGE = "views/item.py"


def search(frame: pl.DataFrame, text: str) -> pl.DataFrame:
    """Rows where any text column contains `text` (literally, case-insensitive)."""
    text = text.strip()
    cols = [c for c, t in frame.schema.items() if t == pl.Utf8]
    if not text or not cols:
        return frame
    needle = text.lower()
    return frame.filter(pl.any_horizontal(pl.col(c).str.to_lowercase().str.contains(needle, literal=True)
                                          for c in cols))


def meta(ctx: Context, title: str, searched: str = "") -> export.Meta:
    extra = ((ctx.t("tables.searched"), searched),) if searched else ()
    return export.meta_for(title, filterbar.summary(ctx.filters, st.session_state["_tree"], ctx.lang),
                           ctx.as_of, ctx.version, ctx.lang, extra)


MISSING = "—"  # what a table shows for a value that is not there (never "None", "NaN" or an empty cell)


# Streamlit's grid wraps a text cell only when rows are taller than 4rem (64 px): three lines of text
WRAP_ROW_HEIGHT = 72


def grid(data, **kw):
    """st.dataframe with the app's cell for a missing value: every table of the app goes through here."""
    kw.setdefault("placeholder", MISSING)
    return st.dataframe(data, **kw)


SCROLL_HINT_COLUMNS = 6  # from this many columns, the caption says the grid scrolls sideways


def show(ctx: Context, frame: pl.DataFrame, *, key: str, title: str, stem: str,
         item_column: str | None = None, column_config: dict | None = None, height: int | str = "auto",
         shown: int | None = None, searchable: bool = True, wrap: str | None = None) -> None:
    """Draw `frame` (headers already in the reader's language) with search and both downloads.

    `item_column` names the column holding `project_id`: selecting a row opens that item. `shown`
    limits the rows drawn on screen (the downloads always have every matching row). `wrap` names a column of
    long text (reasons, patterns): it gets a wide column and rows tall enough for three lines, which the grid
    then wraps instead of cutting the text off.
    """
    searched = st.text_input(ctx.t("tables.search"), key=f"{key}_search", placeholder=ctx.t("tables.search_hint"),
                             max_chars=100, label_visibility="collapsed") if searchable else ""
    rows = search(frame, searched)
    if searched and rows.is_empty():
        st.info(ctx.t("tables.no_match", text=md_escape(searched)))
    on_screen = rows if shown is None else rows.head(shown)
    # as Arrow: a polars frame would go through pandas and back to Arrow on every run (the largest single
    # cost of the risk and cockpit pages in the 30-session load test); compat level oldest gives plain
    # large_string columns, which Streamlit's frontend reads (not polars' newer string views)
    config = _date_columns(frame, ctx.lang) | _number_columns(frame) | (column_config or {})
    extra = {}
    if wrap is not None:
        config[wrap] = config.get(wrap) or st.column_config.TextColumn(width="large")
        extra["row_height"] = WRAP_ROW_HEIGHT
    event = grid(on_screen.to_arrow(compat_level=pl.CompatLevel.oldest()), hide_index=True, width="stretch",
                 height=height, key=f"{key}_table", column_config=config,
                 on_select="rerun" if item_column else "ignore", selection_mode="single-row", **extra)
    notes = [ctx.t("tables.rows", n=i18n.fmt_int(rows.height, ctx.lang))]
    if shown is not None and rows.height > shown:
        notes.append(ctx.t("tables.shown", n=i18n.fmt_int(shown, ctx.lang)))
    if frame.width >= SCROLL_HINT_COLUMNS:  # a projector or a phone cuts a wide grid with no sign of more
        notes.append(ctx.t("tables.scroll_hint", n=frame.width))
    if item_column:
        notes.append(ctx.t("tables.select_hint"))
    st.caption(" · ".join(notes))
    if item_column:
        picked = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        if picked and picked[0] < on_screen.height and on_screen[item_column][picked[0]]:  # a row may concern no item
            open_item(ctx, on_screen[item_column][picked[0]])
    downloads(ctx, rows, key=key, title=title, stem=stem, searched=searched)


# dates as the reader writes them (moment.js formats, as Streamlit's grid takes them): 2026年11月22日 / 22 Nov 2026
DATE_FORMATS = {"zh": ("YYYY年M月D日", "YYYY年M月D日 HH:mm"), "en": ("D MMM YYYY", "D MMM YYYY HH:mm")}


def _date_columns(frame: pl.DataFrame, lang: str = "zh") -> dict:
    """Dates as dates in the reader's words (st.dataframe would show midnight times), timestamps to the minute."""
    day, minute = DATE_FORMATS.get(lang, DATE_FORMATS["en"])
    out = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            out[name] = st.column_config.DateColumn(name, format=day)
        elif isinstance(dtype, pl.Datetime):
            out[name] = st.column_config.DatetimeColumn(name, format=minute)
    return out


def number_format(values: pl.Series) -> str | None:
    """One printf format for a numeric column: thousands separators, and the same decimals on every row (as many
    as its values need, at most two): 1,610 and 43,890; 7.00 and 7.07, never 7 beside 7.07. None for a column of
    years (1990-2100 whole numbers), which must not read 2,026."""
    known = values.drop_nulls()
    if values.dtype.is_integer():
        if known.len() and known.min() >= 1990 and known.max() <= 2100:
            return None
        return "%,d"
    if not values.dtype.is_float():
        return None
    known = known.filter(known.is_finite())
    if known.is_empty():
        return None
    rounded = known.round(2)
    if (rounded == rounded.round(0)).all():
        return "%,.0f"
    return "%,.1f" if (rounded == rounded.round(1)).all() else "%,.2f"


def _number_columns(frame: pl.DataFrame) -> dict:
    out = {}
    for name in frame.columns:
        fmt = number_format(frame[name])
        if fmt is not None:
            out[name] = st.column_config.NumberColumn(name, format=fmt)
    return out


def downloads(ctx: Context, frame: pl.DataFrame, *, key: str, title: str, stem: str, searched: str = "") -> None:
    """CSV and XLSX of `frame`, each with the filters, as-of date and data version written in; only for a role
    with the `export` permission, and each download is written to the audit log when it is made."""
    if not ctx.may("export"):
        st.caption(ctx.t("auth.no_export"))
        return
    info = meta(ctx, title, searched)
    row = st.container(horizontal=True, gap="small")  # side by side, each as wide as its label
    left = right = row
    # built only when asked (a workbook of many rows takes a moment); a download does not rerun the page
    csv_name = export.filename(stem, ctx.as_of, ctx.version, "csv")
    left.download_button(ctx.t("tables.csv"), auth_ui.logged_download(ctx, lambda: export.to_csv(frame, info),
                                                                      target=csv_name, fmt="csv", rows=frame.height),
                         key=f"{key}_csv", on_click="ignore", file_name=csv_name, mime="text/csv",
                         icon=":material/download:")
    if frame.height <= export.MAX_XLSX_ROWS:
        xlsx_name = export.filename(stem, ctx.as_of, ctx.version, "xlsx")
        right.download_button(ctx.t("tables.xlsx"),
                              auth_ui.logged_download(ctx, lambda: export.to_xlsx(frame, info), target=xlsx_name,
                                                      fmt="xlsx", rows=frame.height),
                              key=f"{key}_xlsx", on_click="ignore", file_name=xlsx_name,
                              mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                              icon=":material/table:")


def open_item(ctx: Context, project_id: str) -> None:
    """Go to the item's detail page, keeping the filters and the language."""
    st.switch_page(ITEM_PAGE, query_params=filterbar.link_params(ctx.filters, item=project_id))
