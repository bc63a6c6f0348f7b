"""Global filters: URL round trip, validation of untrusted values, periods, the region cascade."""
from datetime import date

import pytest

from analytics import filters as flt
from analytics.filters import Filters, Options
from analytics.region_tree import RegionTree, Selection
from analytics.db.store import read_regions_csv

OPTIONS = Options(region_codes=frozenset({"340000", "340100", "340102", "110105"}), domains=("乡村振兴", "营商环境"),
                  lead_depts=("农业农村局",), periods=flt.recent_periods(date(2026, 11, 22)))


def test_url_round_trip():
    f = Filters(period="2026-Q3", region_code="340100", domains=("乡村振兴", "营商环境"), lead_depts=("农业农村局",),
                priorities=("key",))
    back, problems = flt.from_query(flt.to_query(f), OPTIONS)
    assert back == f and problems == []
    assert flt.to_query(Filters()) == {}


def test_untrusted_url_values_are_dropped_and_reported():
    f, problems = flt.from_query({"period": "2026-13", "region": "'; DROP TABLE projects;--",
                                  "domain": "乡村振兴,<script>", "priority": "key,highest"}, OPTIONS)
    assert f == Filters(domains=("乡村振兴",), priorities=("key",))
    assert [(p.param, p.value) for p in problems] == [
        ("period", "2026-13"), ("region", "'; DROP TABLE projects;--"), ("domain", "<script>"),
        ("priority", "highest")]


def test_a_region_outside_the_offered_set_is_refused():
    f, problems = flt.from_query({"region": "110000"}, OPTIONS)
    assert f.region_code is None and problems[0].expected == "a region code within your scope"


def test_too_many_values_are_capped():
    f, problems = flt.from_query({"domain": ",".join(["乡村振兴"] * 80)}, OPTIONS)
    assert f.domains == ("乡村振兴",) and problems[0].value == "80 values"


@pytest.mark.parametrize("period,bounds", [
    ("all", (None, date(2026, 11, 22))),
    ("2026", (date(2026, 1, 1), date(2026, 11, 22))),  # clipped to the as-of date
    ("2025", (date(2025, 1, 1), date(2025, 12, 31))),
    ("2026-Q1", (date(2026, 1, 1), date(2026, 3, 31))),
    ("2025-Q4", (date(2025, 10, 1), date(2025, 12, 31))),
    ("2024-02", (date(2024, 2, 1), date(2024, 2, 29))),
    ("2025-12", (date(2025, 12, 1), date(2025, 12, 31))),
])
def test_period_bounds(period, bounds):
    assert flt.period_bounds(period, date(2026, 11, 22)) == bounds


def test_recent_periods_stop_at_the_as_of_date():
    periods = flt.recent_periods(date(2026, 2, 10))
    assert periods[:4] == ("all", "2026", "2025", "2024")
    assert "2026-Q1" in periods and "2026-Q2" not in periods
    assert "2026-02" in periods and "2026-03" not in periods and "2024-01" in periods


@pytest.fixture(scope="module")
def tree():
    return RegionTree(read_regions_csv())


def test_cascade_for_an_ordinary_county(tree):
    assert tree.selection("340102") == Selection("340000", "340100", "340102")
    assert "340102" in tree.county_options("340100")


def test_cascade_goes_straight_to_counties_in_municipalities(tree):
    for muni in ("110000", "120000", "310000", "500000"):
        assert not tree.has_city_level(muni) and tree.city_options(muni) == []
    assert tree.selection("110105") == Selection(province="110000", county="110105")
    assert "500101" in tree.county_options("500000") and "500229" in tree.county_options("500000")  # 城口县


def test_province_administered_counties_are_offered_beside_cities(tree):
    henan = tree.city_options("410000")
    assert "410100" in henan and henan[-1] == "419001"  # 济源 after the cities
    assert tree.selection("419001") == Selection(province="410000", city="419001")
    assert tree.county_options("419001") == []
    assert tree.path("419001") == ["410000", "419001"]


def test_cities_without_counties_select_as_cities(tree):
    assert tree.selection("441900") == Selection(province="440000", city="441900")  # 东莞
    assert tree.county_options("441900") == []
