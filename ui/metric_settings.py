"""Thresholds and index weights for this session: seed defaults, editable, validated."""
from __future__ import annotations

from dataclasses import asdict

import polars as pl
import streamlit as st

from analytics import metrics
from analytics.metrics import Thresholds

from ui.context import Context
from ui.page import md_escape
from ui import tables

WEIGHT_LABELS = {"landing_rate": "thresholds.weight_landing_rate", "on_time_rate": "thresholds.weight_on_time_rate",
                 "satisfied_share": "thresholds.weight_satisfied_share",
                 "budget_alignment": "thresholds.weight_budget_alignment"}
_FIELDS = (("blue_pp", "thresholds.blue"), ("yellow_pp", "thresholds.yellow"), ("orange_pp", "thresholds.orange"),
           ("red_pp", "thresholds.red"), ("response_hours", "thresholds.response_hours"),
           ("min_n", "thresholds.min_n"))


def current() -> tuple[Thresholds, tuple[tuple[str, float], ...]]:
    return (st.session_state.get("_thresholds", Thresholds()),
            st.session_state.get("_weights", tuple(metrics.DEFAULT_WEIGHTS.items())))


def _apply() -> None:
    s = st.session_state
    values = {name: s[f"th_{name}"] for name, _ in _FIELDS}
    try:
        s["_thresholds"] = Thresholds(**{k: (int(v) if k in ("response_hours", "min_n") else float(v))
                                         for k, v in values.items()})
        s.pop("_thresholds_error", None)
    except ValueError as exc:
        s["_thresholds"] = Thresholds()
        s["_thresholds_error"] = str(exc)
    weights = tuple((k, s.get(f"w_{k}")) for k in metrics.DEFAULT_WEIGHTS)
    if any(w is None for _, w in weights) or sum(float(w) for _, w in weights) <= 0:
        # all weights zero leaves the index nothing to weigh: keep the weights in use and say so (an interrupted
        # rerun once reset the inputs to their minimum, 0, and the cockpit failed on an index of no component)
        s["_weights_error"] = True
    else:
        s["_weights"] = tuple((k, float(w)) for k, w in weights)
        s.pop("_weights_error", None)


def render(ctx: Context) -> None:
    """The expander under the cockpit: thresholds, weights, the metric definitions, with the formula."""
    with st.expander(ctx.t("thresholds.title")):
        st.caption(ctx.t("thresholds.intro"))
        if "_thresholds_error" in st.session_state:
            st.error(ctx.t("thresholds.invalid", error=st.session_state["_thresholds_error"]))
        current_th = asdict(ctx.thresholds)
        cols = st.columns(3)
        # each input's default is the value in use (not the input's minimum): a rerun that remounts the inputs
        # (opening a card's dialog on a phone did) then reports the same values, never a reset to 0
        for i, (name, label) in enumerate(_FIELDS):
            integer = name in ("response_hours", "min_n")
            cols[i % 3].number_input(ctx.t(label), key=f"th_{name}", on_change=_apply, value=current_th[name],
                                     min_value=1 if integer else 0.0, max_value=10_000 if integer else 100.0,
                                     step=1 if integer else 1.0)
        st.markdown(f"**{ctx.t('thresholds.weights')}**")
        if st.session_state.get("_weights_error"):
            st.error(ctx.t("thresholds.weights_invalid", weights=", ".join(
                f"{ctx.t(WEIGHT_LABELS[k])} {w:.0%}" for k, w in ctx.weights)))
        cols = st.columns(len(metrics.DEFAULT_WEIGHTS))
        for col, (key, weight) in zip(cols, dict(ctx.weights).items()):
            col.number_input(ctx.t(WEIGHT_LABELS[key]), key=f"w_{key}", value=weight, min_value=0.0, max_value=1.0,
                             step=0.05, on_change=_apply)
        st.markdown(f"**{ctx.t('thresholds.metrics_table')}**")
        zh = ctx.lang == "zh"
        tables.grid(pl.DataFrame({
            ctx.t("thresholds.metric"): [m.zh if zh else m.en for m in metrics.METRICS],
            ctx.t("thresholds.formula"): [m.formula_zh if zh else m.formula_en for m in metrics.METRICS],
            ctx.t("thresholds.seed"): [m.seed for m in metrics.METRICS],
        }), hide_index=True, width="stretch")
        st.caption(md_escape(ctx.t("league.formula", formula=metrics.BY_KEY["index"].formula_zh if zh
                                   else metrics.BY_KEY["index"].formula_en,
                                   weights=", ".join(f"{ctx.t(WEIGHT_LABELS[k])} {w:.0%}"
                                                     for k, w in ctx.weights))))
