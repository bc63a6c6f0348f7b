"""The duplicate and authenticity analyses take at most COCKPIT_QUALITY_MAX_ITEMS items at once; above that they
run per chosen region, and without one the pages say to choose one (at demo scale 100 the national analysis
needed over 14 GB)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import metrics, quality
from analytics.pages import authenticity
from analytics.pages import duplicates
from analytics.filters import Filters
from analytics.db.queries import NATIONAL, Scope
from tests import fixture_db

ROOT = Path(__file__).resolve().parents[1]


def test_a_scope_within_the_limit_is_analysed_whole(fixture_con, monkeypatch):
    monkeypatch.setenv("COCKPIT_QUALITY_MAX_ITEMS", "5")  # the fixture's items but C1, not started
    assert quality.analysis_scope(fixture_con, NATIONAL, None, fixture_db.AS_OF) == NATIONAL


def test_over_the_limit_the_analysis_narrows_to_the_chosen_region(fixture_con, monkeypatch):
    monkeypatch.setenv("COCKPIT_QUALITY_MAX_ITEMS", "3")
    with pytest.raises(quality.TooLarge) as e:
        quality.analysis_scope(fixture_con, NATIONAL, None, fixture_db.AS_OF)
    assert (e.value.n_items, e.value.limit) == (5, 3)
    # 安徽 holds A1, A2, A3: within the limit, so the analysis is Anhui's
    assert quality.analysis_scope(fixture_con, NATIONAL, "340000", fixture_db.AS_OF) == Scope(region_codes=("340000",))
    sel = metrics.Selection(Filters(region_code="340000"), as_of=fixture_db.AS_OF)
    anhui = authenticity.analyse(fixture_con, Scope(region_codes=("340000",)), fixture_db.AS_OF).items
    assert authenticity.page(fixture_con, sel).n_items == anhui.height > 0
    assert duplicates.page(fixture_con, sel).n_items == 3
    with pytest.raises(quality.TooLarge):
        authenticity.page(fixture_con, metrics.Selection(Filters(), as_of=fixture_db.AS_OF))


@pytest.mark.parametrize("page", ["views/duplicates.py", "views/authenticity.py"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_pages_ask_for_a_region_when_the_selection_is_too_large(app_env, monkeypatch, page, lang):
    from ui import context

    monkeypatch.setenv("COCKPIT_QUALITY_MAX_ITEMS", "3")
    context._cached_block.clear()  # other tests' results for this fixture were computed under the default limit
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(i.value for i in at.info)
    assert ("请在左侧筛选栏选择一个省或市" in text) if lang == "zh" else ("Choose a province or city" in text)
    assert "5" in text
