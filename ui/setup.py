"""First start: create the demo database with visible progress, once, whichever session comes first."""
from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import streamlit as st

from analytics import i18n, settings


@st.cache_resource(show_spinner=False)
def _generation_lock() -> threading.Lock:
    return threading.Lock()


def ensure_database(path: Path, lang: str) -> None:
    """Generate the demo database at `path` if it does not exist, showing progress; stop on failure."""
    if path.exists():
        return
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    lock = _generation_lock()
    st.title(t("setup.title"))
    if not lock.acquire(blocking=False):
        with st.spinner(t("setup.waiting")):
            lock.acquire()  # another session is generating; wait for it, then carry on
        lock.release()
        return
    try:
        if path.exists():
            return
        from analytics import demo  # imported here: only the first start needs it

        scale = settings.get("COCKPIT_DEMO_SCALE")
        as_of_text = settings.get("COCKPIT_DEMO_AS_OF")
        as_of = date.fromisoformat(as_of_text) if as_of_text else date.today()
        st.info(t("setup.body", path=str(path), items=i18n.fmt_int(20_000 * scale, lang)))
        bar = st.progress(0.0, text=t("setup.progress", pct="0%"))

        def progress(fraction: float, message: str) -> None:
            label = t("setup.progress", pct=f"{fraction:.0%}") + ("" if lang == "zh" else f" ({message})")
            bar.progress(min(max(fraction, 0.0), 1.0), text=label)

        started = time.perf_counter()
        counts = demo.generate(path, scale=scale, seed=settings.get("COCKPIT_DEMO_SEED"), as_of=as_of,
                               progress=progress)
        st.success(t("setup.done", items=i18n.fmt_int(counts["projects"], lang),
                     reports=i18n.fmt_int(counts["progress_reports"], lang),
                     seconds=f"{time.perf_counter() - started:.0f}"))
    except Exception as exc:  # shown to the user; the half-written file was never moved into place
        st.error(t("setup.failed", error=str(exc)))
        st.stop()
    finally:
        lock.release()
