"""风险预警 / Slip risk: items likely to slip within the horizon, with the reasons, before they turn red."""
import streamlit as st

from analytics import i18n
from analytics.risk import scores
from ui import context, page
from ui.blocks import risk as risk_blocks

ctx = context.current()
page.header(ctx, "risk.title")
meta = scores.load_meta(ctx.db_path, ctx.version)
st.write(ctx.t("risk.intro", h=(meta or {}).get("horizon_days", 90), t=(meta or {}).get("tolerance_days", 30)))
risk_blocks.training_status(ctx)
if why := scores.refusal(ctx.db_path, ctx.version):  # scores of a model file that fails its checks: not shown
    st.error(ctx.t("risk.model_refused", reason=page.md_escape(why)), icon=":material/gpp_bad:")
    risk_blocks.retrain_button(ctx, primary=True, key="risk_train")
    st.stop()

data = ctx.block("risk", db_path=ctx.db_path, version=ctx.version,
                 stamp=scores.stamp(ctx.db_path, ctx.version, meta))  # scores replaced on the same version show at once
if data is None:
    if not risk_blocks.history_short(ctx):  # a new office: how many more ledgers before the model can learn
        st.info(ctx.t("risk.no_model"))
        risk_blocks.retrain_button(ctx, primary=True, key="risk_train")
    st.stop()

risk_blocks.model_line(ctx, data.meta)
if data.flagged.is_empty():
    page.empty_state(ctx, "risk.none")
else:
    bands = dict(data.flagged["band"].value_counts().iter_rows())
    st.markdown(ctx.t("risk.flagged", high=i18n.fmt_int(bands.get("high", 0), ctx.lang),
                      medium=i18n.fmt_int(bands.get("medium", 0), ctx.lang),
                      n=i18n.fmt_int(data.flagged.height, ctx.lang)))
items_tab, portfolio_tab, regions_tab, card_tab = st.tabs(
    [ctx.t("risk_model.tab_items"), ctx.t("risk_model.tab_portfolio"), ctx.t("risk_model.tab_regions"),
     ctx.t("risk_model.tab_card")])
with items_tab:
    if not data.flagged.is_empty():
        risk_blocks.items_table(ctx, data.flagged)
with portfolio_tab:
    risk_blocks.portfolio(ctx, data)
with regions_tab:
    risk_blocks.regions_table(ctx, data)
with card_tab:
    risk_blocks.model_card(ctx, data.meta)
with st.expander(ctx.t("risk_model.retrain")):
    st.caption(ctx.t("risk_model.retrain_help"))
    risk_blocks.retrain_button(ctx)
