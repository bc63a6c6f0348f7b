"""Screen-reader labels in the reader's language (issue 17, point 15).

Streamlit's frontend names every help icon "Help for <label>" (and a bare "Help"), in English whatever the page's
language, so a screen reader on the Chinese page reads English. The strings are fixed in Streamlit's JavaScript, so
a zero-height component placed once per run rewrites them in the browser: on the Chinese page "Help for X" becomes
"X的说明" (the English text kept in `data-aria-en`, and put back when the reader switches to English). A
MutationObserver follows the elements Streamlit adds later (tabs, dialogs, reruns), batched to one sweep a frame.
"""
from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  const zh = data && data.lang === "zh";
  const suffix = (data && data.suffix) || "的说明";
  const bare = (data && data.bare) || "说明";
  const fix = (el) => {
    const label = el.getAttribute("aria-label") || "";
    if (zh) {
      const m = /^Help for ([\\s\\S]*)$/.exec(label);
      if (m) { el.setAttribute("data-aria-en", label); el.setAttribute("aria-label", m[1] + suffix); }
      else if (label === "Help") { el.setAttribute("data-aria-en", label); el.setAttribute("aria-label", bare); }
    } else if (el.hasAttribute("data-aria-en")) {
      el.setAttribute("aria-label", el.getAttribute("data-aria-en"));
      el.removeAttribute("data-aria-en");
    }
  };
  const sweep = () => document.querySelectorAll(zh ? '[aria-label^="Help"]' : "[data-aria-en]").forEach(fix);
  let queued = false;
  const later = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; sweep(); }); } };
  const observer = new MutationObserver(later);
  observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
  sweep();
  return () => observer.disconnect();
}
"""
_CSS = ":host { display: block; height: 0; overflow: hidden; }"

_labels = st.components.v2.component("cockpit_aria_labels", js=_JS, css=_CSS)


def labels(lang: str) -> None:
    """Mount the rewriter for this run's language (call once per run, anywhere: it draws nothing)."""
    _labels(key="aria_labels", data={"lang": lang, "suffix": "的说明", "bare": "说明"}, height="content")
