"""Opening one page of the app under AppTest, as a user arriving by a link would."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(key: str, lang: str = "zh", check: bool = True, **params) -> AppTest:
    """The app run with `lang` and `params` in the URL, then switched to views/<key>.py; with `check`, the page
    must have raised nothing."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"views/{key}.py").run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at
