"""数据与口径 / Data & definitions: the data contract, table sizes, report freshness, event notes and data versions."""
import polars as pl
import streamlit as st

from analytics import contract, i18n
from ui import context, page
from ui import tables
from ui.blocks import annotations as annotation_blocks
from ui.blocks import freshness as freshness_blocks

ctx = context.current()
page.header(ctx, "data.title")
st.write(ctx.t("data.intro"))

st.subheader(ctx.t("data.tables"))
sizes = dict(ctx.query("table_sizes").iter_rows())
tables.grid(
    pl.DataFrame({
        ctx.t("data.table"): [f"{tb.name} · {tb.zh if ctx.lang == 'zh' else tb.en}" for tb in contract.TABLES],
        ctx.t("data.rows"): [i18n.fmt_int(sizes.get(tb.name), ctx.lang) for tb in contract.TABLES],
        ctx.t("data.grain"): [tb.grain_in(ctx.lang) for tb in contract.TABLES],
    }),
    hide_index=True, width="stretch",
)

freshness_blocks.data_table(ctx)
freshness_blocks.data_tables(ctx)
annotation_blocks.data_section(ctx)

st.subheader(ctx.t("data.versions"))
versions = ctx.query("versions")
versions = versions.select(
    pl.col("version").alias(ctx.t("data.version")),
    pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M").alias(ctx.t("data.created_at")),
    pl.col("created_by").alias(ctx.t("data.created_by")),
    pl.Series(ctx.t("data.source"), [i18n.source_label(s, ctx.lang) for s in versions["source"]], pl.Utf8),
    # formatted in Python, never with map_elements (see views/cockpit.py: it can deadlock the server)
    pl.Series(ctx.t("data.as_of"), [i18n.fmt_date(d, ctx.lang) for d in versions["as_of"]], pl.Utf8),
)
tables.grid(versions, hide_index=True, width="stretch")

st.subheader(ctx.t("data.contract"))
names = [tb.name for tb in contract.TABLES]
chosen = st.selectbox(ctx.t("data.choose_table"), names,
                      format_func=lambda n: f"{n} · {contract.table(n).zh if ctx.lang == 'zh' else contract.table(n).en}")
tb = contract.table(chosen)
st.caption(f"{ctx.t('data.grain')}{'：' if ctx.lang == 'zh' else ': '}{page.md_escape(tb.grain_in(ctx.lang))}")
yes, no = ctx.t("data.yes"), ctx.t("data.no")
tables.grid(
    pl.DataFrame({
        ctx.t("data.column"): [c.name for c in tb.columns],
        ctx.t("data.label"): [c.zh if ctx.lang == "zh" else c.en for c in tb.columns],
        ctx.t("data.type"): [contract.type_words(c, ctx.lang) for c in tb.columns],
        ctx.t("data.required"): [yes if c.required else no for c in tb.columns],
        ctx.t("data.allowed"): [contract.allowed_words(c, ctx.lang) for c in tb.columns],
        ctx.t("data.description"): [c.description_in(ctx.lang) for c in tb.columns],
    }),
    hide_index=True, width="stretch",
)
st.download_button(ctx.t("data.download_contract"), contract.markdown(), file_name="data-contract.md",
                   mime="text/markdown")
