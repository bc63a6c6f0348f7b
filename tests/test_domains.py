"""The domains page: department league worked out by hand on the fixture, heatmap cells equal to the
metrics functions for the same filters, figures drawing exactly those frames, clicks mapped to filters,
and the page under AppTest in both languages."""
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import metrics, series
from analytics.db import queries
from analytics.pages import domains
from analytics.figures import palette
from analytics.figures.heatmap import NO_DATA, Axis, heatmap, matrix, shows_values, wash
from analytics.filters import Filters
from tests.fixture_db import AS_OF
from tests.app_pages import open_page

ROOT = Path(__file__).resolve().parents[1]


def sel(**filters) -> metrics.Selection:
    return metrics.Selection(Filters(**filters), as_of=AS_OF)


def row(frame: pl.DataFrame, dept: str) -> dict:
    return frame.filter(pl.col("dept") == dept).row(0, named=True)


# --- the department league, by hand -------------------------------------------------------------

def test_league_all_time_is_worked_out_by_hand(fixture_con):
    # in flight at 2026-11-22: A1 (yellow: 90 planned vs 75 actual), A3 (no data), B1 (red: overdue since
    # 2026-09-30); A2 completed on time; N1 terminated; C1 not started. Late items: B1 only (co: 财政局).
    league = domains.dept_league(fixture_con, sel())
    assert row(league, "住房和城乡建设局") == {
        "dept": "住房和城乡建设局", "n_in_flight": 1, "n_completed": 0, "n_on_time": 0, "n_overdue": 1, "n_red": 1,
        "n_rect_open": 1, "n_co_late": 0, "n_late": 1, "is_lead": True, "on_time_rate": None, "co_late_share": 0.0}
    market = row(league, "市场监督管理局")
    assert (market["n_completed"], market["n_on_time"], market["on_time_rate"]) == (1, 1, 1.0)
    assert market["n_rect_open"] == 0  # R2 (合肥, closed) belongs to no item
    finance = row(league, "财政局")  # leads nothing here, but is the co-department of the late B1
    assert (finance["is_lead"], finance["n_in_flight"], finance["n_co_late"], finance["co_late_share"]) == (
        False, 0, 1, 1.0)
    assert "自然资源局" not in league["dept"].to_list()  # co-department of a yellow item only: no row
    tech = row(league, "科学技术局")  # N1 terminated: a lead department with nothing in flight
    assert (tech["n_in_flight"], tech["n_completed"], tech["n_overdue"]) == (0, 0, 0)
    assert set(league["dept"]) == {"住房和城乡建设局", "市场监督管理局", "财政局", "科学技术局", "农业农村局", "发展和改革委员会"}
    # worst first: most overdue, then open rectifications, then coordination load, then name
    rest = sorted(["农业农村局", "发展和改革委员会", "市场监督管理局", "科学技术局"])
    assert league["dept"].to_list() == ["住房和城乡建设局", "财政局", *rest]


def test_league_of_a_past_year(fixture_con):
    # 2025, as of 2025-12-31: A2 completed on 2025-12-20 (on time); B1 in flight, not yet due, no report yet;
    # R1 was found in 2026, so no open rectification; nothing late
    league = domains.dept_league(fixture_con, sel(period="2025"))
    assert set(league["dept"]) == {"市场监督管理局", "住房和城乡建设局", "科学技术局"}
    assert row(league, "市场监督管理局")["on_time_rate"] == 1.0
    housing = row(league, "住房和城乡建设局")
    assert (housing["n_in_flight"], housing["n_overdue"], housing["n_red"], housing["n_rect_open"]) == (1, 0, 0, 0)
    assert housing["n_late"] == 0 and housing["co_late_share"] is None


def test_league_agrees_with_the_metrics_of_each_department(demo_con):
    s = sel(period="2026-Q3")
    league = domains.dept_league(demo_con, s)
    assert league.filter("is_lead").height > 5
    for r in league.filter("is_lead").iter_rows(named=True):
        total = metrics.totals(demo_con, replace(s, filters=replace(s.filters, lead_depts=(r["dept"],))))
        assert (r["n_in_flight"], r["n_overdue"], r["n_completed"], r["n_on_time"], r["n_red"]) == (
            total["n_in_flight"], total["n_overdue"], total["n_completed"], total["n_on_time"], total["n_red"]), r
    assert league["n_late"][0] == metrics.totals(demo_con, s)["n_red"] > 0  # the late items are the red ones
    # n_co_late: how many distinct red items in flight (in the selection) name the department a co-department
    red = queries.run(demo_con, "item_lights", s.filters, s.scope, s.as_of, use_marts=False,
                      **s.thresholds.params()).filter(pl.col("light") == "red")
    co_late = (red.select("project_id", pl.col("co_depts").alias("dept")).explode("dept").drop_nulls("dept")
               .group_by("dept").agg(pl.col("project_id").n_unique().alias("n")))
    expected = dict(co_late.iter_rows())
    assert expected, "no red item has a co-department: the check below would hold vacuously"
    assert set(expected) <= set(league["dept"])  # every co-department of a late item has a row
    assert dict(league.select("dept", "n_co_late").iter_rows()) == {d: expected.get(d, 0) for d in league["dept"]}
    assert league["n_overdue"].to_list() == sorted(league["n_overdue"], reverse=True)


# --- domain × region equals the region table of each domain --------------------------------------

@pytest.fixture()
def demo_con(demo_small_path):
    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("filters", [dict(), dict(period="2026-Q3"), dict(region_code="440000", period="2026")])
def test_domain_region_cells_equal_the_region_table_with_that_domain(demo_con, filters):
    s = sel(**filters)
    level, _ = domains.compared_level(demo_con, s.filters.region_code)
    table = domains.domain_region_table(demo_con, s, level)
    assert table["domain"].n_unique() >= 5
    compared = [m.key for m in metrics.METRICS]
    for domain in table["domain"].unique():
        expected = metrics.region_table(demo_con, replace(s, filters=replace(s.filters, domains=(domain,))), level)
        got = table.filter(pl.col("domain") == domain)
        assert sorted(got["region_code"]) == sorted(expected["region_code"]), domain
        joined = got.join(expected, on="region_code", suffix="_expected")
        for key in compared:
            a, b = joined[key].to_list(), joined[f"{key}_expected"].to_list()
            assert a == pytest.approx(b, nan_ok=True), (domain, key)


def test_page_cells_of_one_metric_equal_the_region_table(demo_con):
    s = sel(period="2026-Q3")
    for metric in ("red_share", "index", "satisfied_share"):
        page = domains.page(demo_con, s, None, metric=metric)
        domain = page.domains[0]
        expected = metrics.region_table(demo_con, replace(s, filters=replace(s.filters, domains=(domain,))),
                                        page.level)
        got = page.domain_region.filter(pl.col("row") == domain).join(
            expected.select("region_code", pl.col(metric).alias("expected"),
                            pl.col(series.n_of(metrics.BY_KEY[metric])).alias("n_expected")),
            left_on="col", right_on="region_code")
        assert got.height == expected.height
        assert got["value"].to_list() == pytest.approx(got["expected"].to_list(), nan_ok=True)
        assert got["n"].to_list() == got["n_expected"].to_list()


def test_fixture_cells_by_hand(fixture_con):
    page = domains.page(fixture_con, sel(), None, metric="red_share")
    assert page.level == "province" and page.has_children
    cells = {(r, c): (v, n) for r, c, v, n in page.domain_region.iter_rows()}
    assert cells[("民生保障", "110000")] == (1.0, 1)  # B1 red (overdue)
    assert cells[("乡村振兴", "340000")] == (0.0, 1)  # A1 yellow
    assert cells[("营商环境", "340000")] == (None, 0)  # A3 has no light yet, A2 is completed
    assert ("民生保障", "340000") not in cells  # no such item: a no-data cell
    assert page.regions["region_code"].to_list() == ["110000", "340000"]  # provinces with items only
    assert page.domains[0] in ("营商环境", "乡村振兴", "民生保障")
    # over time: B1 turned red when it went past its planned end (2026-09-30)
    months = {(r, c): v for r, c, v, _ in page.region_month.iter_rows()}
    assert months[("110000", "2026-09")] == 0.0  # 80 planned vs 70 actual: 10 pp, not above yellow
    assert months[("110000", "2026-10")] == 1.0
    depts = {(r, c): v for r, c, v, _ in page.dept_month.iter_rows()}
    assert depts[("住房和城乡建设局", "2026-09")] == 0.0 and depts[("住房和城乡建设局", "2026-10")] == 1.0


def test_a_county_has_no_region_by_month_map(fixture_con):
    page = domains.page(fixture_con, sel(region_code="340102"), None, metric="red_share")
    assert not page.has_children and page.region_month.is_empty()
    assert page.regions["region_code"].to_list() == ["340102"]  # the county's own row


# --- the figure draws the frames ------------------------------------------------------------------

def test_heatmap_z_values_equal_the_frame_and_cells_say_small_and_missing(fixture_con):
    page = domains.page(fixture_con, sel(), None, metric="red_share")
    rows = Axis.of(page.domains, str)
    cols = Axis.of(page.regions["region_code"], str)
    fig = heatmap(page.domain_region, rows, cols, metrics.BY_KEY["red_share"], "en", 10, title="t",
                  row_title="r", col_title="c")
    heat, layer = fig.data[0], fig.data[1]
    z = [list(r) for r in heat.z]
    assert z == matrix(page.domain_region, rows, cols)
    lookup = {(r, c): v for r, c, v, _ in page.domain_region.iter_rows()}
    for i, r in enumerate(rows.keys):
        for j, c in enumerate(cols.keys):
            assert z[i][j] == lookup.get((r, c))
    i, j = rows.keys.index("民生保障"), cols.keys.index("110000")
    assert heat.text[i][j] == "100%*"  # n = 1 < min_n: marked
    k = rows.keys.index("民生保障") * len(cols.keys) + cols.keys.index("340000")
    assert layer.text[k] == NO_DATA and "no data" in layer.customdata[k][2]  # missing, not low
    assert list(layer.customdata[k][:2]) == ["民生保障", "340000"]
    # lower red share is better: the lowest values take the good end (pale blue), the highest the bad end (dark red)
    assert heat.colorscale[0][1] == palette.QUALITY[-1] and heat.colorscale[-1][1] == palette.QUALITY[0]
    on_time = heatmap(page.domain_region.with_columns(pl.lit(0.5).alias("value")), rows, cols,
                      metrics.BY_KEY["on_time_rate"], "zh", 10, title="t", row_title="r", col_title="c")
    assert on_time.data[0].colorscale[0][1] == palette.QUALITY[0]  # higher is better: low values are the bad end


def test_series_heatmaps_draw_the_series_frames(fixture_con):
    page = domains.page(fixture_con, sel(), None, metric="red_share")
    months = Axis.of(page.region_month["col"].unique().sort(), str)
    assert len(months.keys) == domains.N_MONTHS and months.keys[-1] == "2026-11"
    rows = Axis.of(page.regions["region_code"], str)
    fig = heatmap(page.region_month, rows, months, metrics.BY_KEY["red_share"], "zh", 10, title="t",
                  row_title="r", col_title="c")
    expected = series.metric_series(fixture_con, sel(), "red_share", "month", 12, by="region", level="province")
    for i, r in enumerate(rows.keys):
        for j, c in enumerate(months.keys):
            want = expected.filter((pl.col("group") == r) & (pl.col("period") == c))["value"].to_list()
            assert fig.data[0].z[i][j] == (want[0] if want else None)


# --- a click maps to filters ---------------------------------------------------------------------

def click(row, col) -> dict:
    return {"selection": {"points": [{"x": "label", "y": "label", "point_index": 3, "curve_number": 1,
                                      "customdata": [row, col, "hover"]}], "point_indices": [3], "box": [],
                          "lasso": []}}


def test_a_cell_click_becomes_filters():
    rows, cols = ("营商环境", "教育"), ("340000", "110000")
    assert domains.cell_filters("domain_region", click("教育", "110000"), rows, cols) == {
        "domains": ("教育",), "region_code": "110000"}
    assert domains.cell_filters("region_month", click("340000", "2026-05"), ("340000",), ("2026-05",)) == {
        "region_code": "340000", "period": "2026-05"}
    assert domains.cell_filters("dept_month", click("财政局", "2026-05"), ("财政局",), ("2026-05",)) == {
        "lead_depts": ("财政局",), "period": "2026-05"}
    Filters(**domains.cell_filters("dept_month", click("财政局", "2026-05"), ("财政局",), ("2026-05",)))


def test_a_click_that_is_not_a_cell_changes_nothing():
    rows, cols = ("营商环境",), ("340000",)
    empty = {"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}}
    assert domains.cell_filters("domain_region", empty, rows, cols) is None
    assert domains.cell_filters("domain_region", None, rows, cols) is None
    assert domains.cell_filters("domain_region", click("<b>x</b>", "340000"), rows, cols) is None  # not a row
    assert domains.cell_filters("domain_region", click("营商环境", "999999"), rows, cols) is None
    no_data = {"selection": {"points": [{"point_index": 0}]}}  # a click on the heatmap itself carries no keys
    assert domains.cell_filters("domain_region", no_data, rows, cols) is None
    with pytest.raises(ValueError):
        domains.cell_filters("bogus", empty, rows, cols)


# --- the page under AppTest ----------------------------------------------------------------------

def start(lang: str, **params) -> AppTest:
    return open_page("domains", lang, check=False, **params)


def league_table(at):
    return at.dataframe[-1].value


@pytest.mark.parametrize("lang,title,dept,overdue", [("zh", "领域与部门", "住房和城乡建设局", "逾期事项"),
                                                      ("en", "Domains & departments",
                                                       "Housing & Urban-Rural Development Bureau", "Overdue items")])
def test_page_renders_in_both_languages(app_env, lang, title, dept, overdue):
    at = start(lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == title
    assert len(at.tabs) == 3 and len(at.get("plotly_chart")) == 1  # only the chosen tab's heatmap is drawn
    table = league_table(at)
    assert table.iloc[0, 0] == dept and table[overdue].iloc[0] == 1
    assert ("数据截至" in at.caption[0].value) == (lang == "zh")


def test_choosing_a_metric_goes_into_the_url_and_explains_what_cannot_be_split(app_env):
    at = start("en")
    at.selectbox(key="domains_metric").select("on_time_rate").run()
    assert not at.exception
    assert at.query_params["metric"] == "on_time_rate"
    assert [t.label for t in at.tabs] == ["Domain × region", "Region × month", "Lead department × month"]
    for label, kind in (("Lead department × month", "dept_month"), ("Region × month", "region_month")):
        at.session_state["domains_cut"] = label  # another tab: its heatmap runs and is the one drawn
        at.run()
        [chart] = at.get("plotly_chart")
        assert not at.exception and f"-domains_{kind}_on_time_rate_" in chart.proto.id, label
    at.selectbox(key="domains_metric").select("rect_completion_rate").run()
    infos = " ".join(i.value for i in at.info)
    assert "not split by domain" in infos and "not tied to a lead department" in infos
    assert [t.label for t in at.tabs] == ["Region × month"] and len(at.get("plotly_chart")) == 1


def test_a_bad_metric_in_the_link_is_reported_and_the_default_used(app_env):
    at = start("zh", metric="<script>")
    assert not at.exception
    assert any("\\<script\\>" in w.value for w in at.warning)  # echoed escaped: shown as text
    assert at.selectbox(key="domains_metric").value == domains.DEFAULT_METRIC


def test_a_county_and_an_empty_selection(app_env):
    at = start("en", region="340102")
    assert not at.exception
    assert any("no smaller regions" in i.value for i in at.info)
    at = start("en", region="410000")  # 河南: only C1, not started
    assert not at.exception
    assert "No supervised items match" in at.info[0].value


def test_a_metric_with_a_target_is_coloured_around_it_within_the_values():
    rows, cols = Axis.of(("a",), str), Axis.of(("x", "y"), str)
    satisfied = metrics.BY_KEY["satisfied_share"]  # target 90%, higher is better
    frame = pl.DataFrame({"row": ["a", "a"], "col": ["x", "y"], "value": [0.5, 0.95], "n": [40, 40]})
    heat = heatmap(frame, rows, cols, satisfied, "en", 10, title="t", row_title="r", col_title="c").data[0]
    assert (heat.zmin, heat.zmax) == (0.5, 0.95)  # never past 100% to make room for a symmetric scale
    positions = [p for p, _ in heat.colorscale]
    assert positions[0] == 0 and positions[-1] == 1 and positions == sorted(set(positions))
    at_target = [c for p, c in heat.colorscale if p == pytest.approx((0.9 - 0.5) / 0.45)]
    assert at_target == [palette.QUALITY_BETTER[0]]  # the cool half starts at the target, the warm half below it
    below = frame.with_columns(pl.Series("value", [0.5, 0.6]))  # all short of the target: only the dark half
    heat = heatmap(below, rows, cols, satisfied, "en", 10, title="t", row_title="r", col_title="c").data[0]
    assert (heat.zmin, heat.zmax) == (0.5, 0.9) and [c for _, c in heat.colorscale] == list(palette.QUALITY_WORSE)


def test_names_from_data_are_plain_text_in_the_figure():
    rows, cols = Axis.of(("<a href='http://x'>d</a>",), str), Axis.of(("x",), str)
    frame = pl.DataFrame({"row": [rows.keys[0]], "col": ["x"], "value": [0.5], "n": [40]})
    fig = heatmap(frame, rows, cols, metrics.BY_KEY["red_share"], "en", 10, title="t", row_title="r", col_title="c")
    assert fig.data[0].y[0] == "&lt;a href='http://x'&gt;d&lt;/a&gt;"
    assert "<a" not in fig.data[1].customdata[0][2] and fig.data[1].customdata[0][0] == rows.keys[0]


def test_cells_print_their_values_only_where_they_fit():
    """31 provinces at a 1280 px projector: "11%*" ran into its neighbours, so the cells go without text there
    (the hover and the table keep the values); at 1920 px, or with a few columns, they print them."""
    provinces = [f"p{i:02d}" for i in range(31)]
    rows, cols = Axis.of(("d",), str), Axis.of(provinces, str)
    frame = pl.DataFrame({"row": ["d"] * 31, "col": provinces, "value": [0.11] * 31, "n": [40] * 31})

    def texts(**kw):
        fig = heatmap(frame, rows, cols, metrics.BY_KEY["red_share"], "en", 10, title="t", row_title="r",
                      col_title="c", **kw)
        return {v for row in fig.data[0].text for v in row}

    assert texts() == {"11%"}  # width unknown (no browser): as before
    assert texts(width=1450) == {"11%"}  # (1450 - 230) / 31 = 39 px a column
    assert texts(width=820) == {""}  # 19 px: no room
    assert texts(narrow=True) == {""}  # a phone, more than 8 columns
    assert shows_values(5, width=820) and shows_values(8, narrow=True) and not shows_values(31, width=820)


def test_the_grid_fills_its_plot_with_no_band_above_or_below():
    """Autorange padded the axes for the click layer's markers: on a phone a white band of about 40 px lay between
    the colour bar and the first row. The axes now span exactly the cells, first row on top."""
    rows, cols = Axis.of([f"r{i}" for i in range(31)], str), Axis.of([f"c{j}" for j in range(12)], str)
    frame = pl.DataFrame({"row": [r for r in rows.keys for _ in cols.keys], "col": [c for _ in rows.keys for c in cols.keys],
                          "value": [0.1] * 372, "n": [40] * 372})
    for narrow in (False, True):
        fig = heatmap(frame, rows, cols, metrics.BY_KEY["red_share"], "en", 10, title="t", row_title="r",
                      col_title="c", narrow=narrow)
        assert list(fig.layout.yaxis.range) == [30.5, -0.5] and fig.layout.yaxis.autorange is False
        assert list(fig.layout.xaxis.range) == [-0.5, 11.5]


def test_a_small_cell_does_not_set_the_colour_range():
    """Issue 17, point 6: a cell of 3 items took the darkest colour and stretched the scale for every other cell.
    The range comes from the cells with at least min_n cases; the small one is marked and clamped to the scale."""
    frame = pl.DataFrame({"row": ["a", "a", "b", "b"], "col": ["x", "y", "x", "y"],
                          "value": [0.10, 0.20, 0.15, 0.90], "n": [50, 40, 60, 3]})
    rows, cols = Axis.of(["a", "b"], str), Axis.of(["x", "y"], str)
    fig = heatmap(frame, rows, cols, metrics.BY_KEY["red_share"], "en", 10, title="t", row_title="r", col_title="c")
    heat = fig.data[0]
    assert (heat.zmin, heat.zmax) == (0.10, 0.20) and heat.text[1][1] == "90%*"
    # drawn over in the same scale washed out: the small cell alone, never the full darkest colour
    over = fig.data[2]
    assert [list(r) for r in over.z] == [[None, None], [None, 0.90]] and over.showscale is False
    assert over.colorscale[-1][1] == wash(palette.QUALITY[0]) != palette.QUALITY[0]
    assert wash("#000000") == "#aaaaaa" and wash("#ffffff") == "#ffffff"
    alone = heatmap(frame.filter(pl.col("n") < 10), Axis.of(["b"], str), Axis.of(["y"], str),
                    metrics.BY_KEY["red_share"], "en", 10, title="t", row_title="r", col_title="c")
    assert alone.data[0].zmin is not None  # every cell small: they set the range themselves


def test_the_month_the_as_of_date_cuts_short_says_so():
    from datetime import date

    assert domains.month_labels(("2026-11", "2026-12"), date(2026, 12, 3), "zh") == ["2026年11月", "12月（截至12月3日）"]
    assert domains.month_labels(("2026-11", "2026-12"), date(2026, 12, 3), "en") == ["Nov 2026", "Dec (to 3 Dec)"]
    assert domains.month_labels(("2026-11", "2026-12"), date(2026, 12, 31), "en") == ["Nov 2026", "Dec"]  # whole
