"""风险预警 / Slip risk: items likely to slip within the horizon, with the reasons, before they turn red."""
import polars as pl
import streamlit as st

from analytics import i18n
from analytics.risk import model as risk_model
from analytics.risk import scores
from ui import context, page, tables

ctx = context.current()
page.header(ctx, "risk.title")
meta = scores.load_meta(ctx.db_path, ctx.version)
st.write(ctx.t("risk.intro", h=(meta or {}).get("horizon_days", 90), t=(meta or {}).get("tolerance_days", 30)))


def train_and_score() -> None:
    with st.status(ctx.t("risk.training"), expanded=False) as status:
        try:
            cur = context.database(ctx.db_path).cursor()
            trained = risk_model.train(cur)
            scores.refresh(cur, ctx.db_path, trained)
            status.update(label=ctx.t("risk.trained"), state="complete")
        except Exception as exc:  # shown, not swallowed: the page keeps working without a model
            status.update(label=ctx.t("risk.failed", error=str(exc)), state="error")
            return
    st.rerun()


scored = scores.load(ctx.db_path, ctx.version)
if scored is None:
    st.info(ctx.t("risk.no_model"))
    if st.button(ctx.t("risk.train"), type="primary"):
        train_and_score()
    st.stop()

st.caption(ctx.t("risk.model", when=meta["trained_at"].replace("T", " "), version=meta["data_version"],
                 rows=i18n.fmt_int(meta["n_rows"], ctx.lang), seconds=meta["fit_seconds"]))
items = ctx.query("item_lights", **ctx.thresholds.params())
names = dict(ctx.query("region_options").select("region_code", "name").iter_rows())
flagged = items.join(scored, on="project_id", how="inner").sort("probability", descending=True)
if flagged.is_empty():
    st.info(ctx.t("risk.none"))
    st.stop()

bands = dict(flagged["band"].value_counts().iter_rows())
st.markdown(ctx.t("risk.flagged", high=i18n.fmt_int(bands.get("high", 0), ctx.lang),
                  medium=i18n.fmt_int(bands.get("medium", 0), ctx.lang),
                  n=i18n.fmt_int(flagged.height, ctx.lang)))
light_word = {"red": ctx.t("lights.red"), "yellow": ctx.t("lights.yellow"), "green": ctx.t("lights.green"),
              "none": ctx.t("lights.none")}
rows = list(flagged.iter_rows(named=True))
table = pl.DataFrame({
    ctx.t("risk.item"): [r["name"] for r in rows],
    ctx.t("item.id"): [r["project_id"] for r in rows],
    ctx.t("risk.probability"): [i18n.fmt_pct(r["probability"], ctx.lang) for r in rows],
    ctx.t("risk.band"): [ctx.t(f"risk.{r['band']}") for r in rows],
    ctx.t("risk.light"): [light_word.get(r["light"], "—") for r in rows],
    ctx.t("risk.region"): [i18n.glossary("province", names.get(r["region_code"], r["region_code"]), ctx.lang)
                           for r in rows],
    ctx.t("risk.dept"): [i18n.glossary("dept", r["lead_dept"], ctx.lang) for r in rows],
    ctx.t("risk.planned_end"): [i18n.fmt_date(r["planned_end_date"], ctx.lang) for r in rows],
    ctx.t("risk.reasons"): [scores.reasons_text(r["top_reasons"], ctx.lang) for r in rows],
})
tables.show(ctx, table, key="risk", title=ctx.t("risk.title"), stem="slip-risk", item_column=ctx.t("item.id"),
            shown=300, height=460)
with st.expander(ctx.t("risk.train")):
    if st.button(ctx.t("risk.train"), key="retrain"):
        train_and_score()
