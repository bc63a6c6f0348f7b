"""Every page renders under AppTest in both languages; filters drive the URL and the numbers."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import i18n
from analytics.pages import PAGES as DECLARED

ROOT = Path(__file__).resolve().parents[1]
# every declared page, the default one (the page the app opens on) first
PAGES = [p.file for p in sorted(DECLARED, key=lambda p: not p.default)]


def start(lang=None, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if lang:
        at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_both_languages(app_env, lang, page):
    at = start(lang)
    if page != PAGES[0]:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "page has no title"
    assert at.title[0].value == i18n.t(f"nav.{Path(page).stem}", lang)  # the page asked for, not another one
    assert ("数据截至" in at.caption[0].value) == (lang == "zh")


def test_cockpit_shows_hand_counted_numbers(app_env):
    at = start("zh")
    values = metric_values(at)
    assert values["督办事项"] == "5 项"  # every item but C1, which has not started
    assert values["预算合计"] == "3.25 亿元"  # 500 + 1200 + 30000 + 800 万元
    at = start("en")
    assert metric_values(at)["Supervised items"] == "5 items"


def test_choosing_a_province_narrows_numbers_shows_cities_and_goes_into_the_url(app_env):
    at = start("zh")
    at.selectbox(key="f_province").select("340000").run()
    assert not at.exception
    assert metric_values(at)["督办事项"] == "3 项"
    assert at.query_params["region"] == "340000"
    assert at.selectbox(key="f_city").options  # the city box appears for a province with cities
    at.selectbox(key="f_city").select("340100").run()
    assert at.query_params["region"] == "340100"
    assert metric_values(at)["督办事项"] == "2 项"
    at.selectbox(key="f_province").select("110000").run()  # a new province resets the city…
    assert at.query_params["region"] == "110000"
    assert not [s for s in at.selectbox if s.key == "f_city"]  # …and a municipality has none
    assert at.selectbox(key="f_county").options


def test_a_link_reproduces_the_view(app_env):
    at = start("en", region="340100", priority="normal")
    assert metric_values(at)["Supervised items"] == "1 item"  # A2
    assert at.selectbox(key="f_province").value == "340000"
    assert at.selectbox(key="f_city").value == "340100"


def test_a_bad_link_parameter_is_reported_not_obeyed(app_env):
    at = start("zh", region="999999", domain="<b>x</b>", period="last_4_weeks")
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "999999" in warnings and "domain" in warnings
    # what was expected, in the reader's words (it said "all, YYYY, YYYY-Qn or YYYY-MM" in Chinese mode)
    assert "您权限范围内的地区代码" in warnings and "数据中有的领域" in warnings and "某季度（如 2026-Q3）" in warnings
    assert "YYYY" not in warnings and "within your scope" not in warnings
    assert metric_values(at)["督办事项"] == "5 项"


def test_an_empty_selection_says_so_and_offers_a_reset(app_env):
    at = start("en", region="410000")  # 河南: only C1, which has not started
    assert "No supervised items match" in at.info[0].value
    at.button(key="empty_reset").click().run()
    assert metric_values(at)["Supervised items"] == "5 items"
    assert "region" not in at.query_params


def test_language_switch_keeps_the_filters(app_env):
    at = start("zh", region="340000")
    at.button_group(key="f_lang").set_value("en").run()
    assert at.query_params["lang"] == "en"
    assert at.query_params["region"] == "340000"
    assert "Supervised items" in metric_values(at)


def test_cockpit_kpis_and_needs_attention_from_the_fixture(app_env):
    # in flight at 2026-11-22: A1 yellow (90 planned vs 75 actual), A3 no data, B1 red (overdue since 2026-09-30)
    at = start("zh")
    values = metric_values(at)
    assert values["红灯占比"] == "50.0%" and values["逾期事项"] == "1"
    attention = next(d.value for d in at.dataframe if "逾期天数" in d.value.columns)
    assert list(attention["督办事项"]) == ["老旧小区改造"]
    assert list(attention["原因"]) == ["已逾期 53 天"]
    assert any("样本不足，不作排名" in i.value for i in at.info)  # 安徽 and 北京 both under 10 items: unranked
    assert "样本少" in " ".join(c.value for c in at.caption)  # rates on 2 items say so
    at = start("en", region="340000")  # Anhui: no red items
    assert any("No red items" in s.value for s in at.success)


def test_risk_page_without_a_model_offers_training(app_env):
    at = start("en")
    at.switch_page("views/risk.py").run()
    assert not at.exception
    assert "No slip-risk model" in at.info[0].value
    assert "Train the model" in [b.label for b in at.button]


@pytest.fixture(scope="module")
def scored_db(demo_small_path, demo_small_model, tmp_path_factory):
    """A copy of the small demo database with a trained model's scores saved beside it."""
    import shutil

    from analytics.db import store
    from analytics.risk import scores

    path = tmp_path_factory.mktemp("risk") / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    con = store.connect(path, read_only=True)
    scores.refresh(con, path, demo_small_model)
    con.close()
    return path


def test_risk_page_ranks_scored_items_in_scope(scored_db, monkeypatch):
    from analytics.risk import scores

    monkeypatch.setenv("COCKPIT_DB", str(scored_db))
    at = start("zh", region="440000")
    at.switch_page("views/risk.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    probs = [float(p.rstrip("%")) for p in table["延误概率"]]
    assert probs == sorted(probs, reverse=True) and len(probs) > 0
    saved = scores.load(scored_db, 1)
    assert len(probs) <= saved.height  # only Guangdong's items in flight, not all scored items
    flagged = table[table["风险等级"].isin(["高", "中"])]
    assert len(flagged) > 0 and all(r for r in flagged["主要原因"])  # every flagged item says why
    assert list(table.columns[:4]) == ["督办事项", "延误概率", "风险等级", "主要原因"]  # why, beside how likely
    files = [c.value for c in at.caption if ".skops" in c.value]  # a file name is for analysts: the model card only
    assert all(f.startswith("模型文件") for f in files)


def test_every_view_is_a_declared_page_and_every_page_has_a_view_and_a_title():
    from analytics import i18n
    from analytics.pages import PAGES, SECTIONS

    views = {p.stem for p in (ROOT / "views").glob("*.py")}
    assert views == {p.key for p in PAGES}
    assert [p.key for p in PAGES if p.default] == ["cockpit"]
    for p in PAGES:
        assert p.section in SECTIONS
        for lang in i18n.LANGS:
            assert i18n.has(f"nav.{p.key}", lang) and i18n.has(f"nav.section_{p.section}", lang)


def test_every_table_shows_a_missing_value_as_a_dash():
    """No raw None reaches a reader: every table goes through ui.tables.grid, which sets the missing-value cell."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    direct = [str(p.relative_to(root)) for folder in ("ui", "views") for p in (root / folder).rglob("*.py")
              if "st.dataframe(" in p.read_text(encoding="utf-8") and p.name != "tables.py"]
    assert direct == [], f"call ui.tables.grid instead of st.dataframe in {direct}"
    assert "st.dataframe(" not in (root / "app.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang, period, words", [
    ("en", None, "vs 25 Oct 2026 (4 weeks earlier)"), ("zh", "2026-10", "较 2026年9月（上期，截至 2026年9月30日）")])
def test_the_cockpits_changes_say_what_they_compare_with(app_env, lang, period, words):
    """Issue 17, point 2: the KPI cards and the league's trend name the comparison in words and a date."""
    at = start(lang, **({"period": period} if period else {}))
    assert not at.exception
    said = [c.value for c in at.caption if words in c.value]
    assert len(said) >= 2 and any(("趋势" if lang == "zh" else "Trend") in c for c in said)  # cards and league


def test_the_cockpit_draws_its_weekly_lights_chart_on_demand_and_its_label_says_the_last_week(app_env):
    """The cockpit's one Plotly chart is drawn when its expander is opened (a first visit in software rendering:
    docs/performance.md); the closed expander's label gives the last week's red and yellow counts, the same as
    the chart's last bars."""
    at = start("en")
    assert not at.exception and at.get("plotly_chart") == []
    label = next(e.label for e in at.expander if e.label.startswith("Items by traffic light, weekly"))
    at.session_state["cockpit_lights"] = True
    at.run()
    assert not at.exception
    [chart] = at.get("plotly_chart")
    import json

    bars = {t["name"]: t["y"][-1] for t in json.loads(chart.proto.spec)["data"] if t.get("type") == "bar"}
    red = next(v for k, v in bars.items() if "red" in k)
    yellow = next(v for k, v in bars.items() if "yellow" in k)
    assert f": {red:,} red and {yellow:,} yellow in the week to " in label, (label, bars)


def test_a_charts_table_is_built_when_its_expander_is_opened(app_env):
    """ui/page.on_demand: the table under a chart runs only when its expander is opened (each drawn with the page
    cost every first visit); opened, it is there with the chart's numbers."""
    at = start("en")
    at.switch_page("views/feedback.py").run()
    assert not at.exception
    closed = [tuple(d.value.columns) for d in at.dataframe]
    at.session_state["fb_trend_as_table"] = True
    at.run()
    assert not at.exception
    opened = [tuple(d.value.columns) for d in at.dataframe]
    [added] = [cols for cols in opened if cols not in closed]
    assert "n" in added and len(opened) == len(closed) + 1, added
