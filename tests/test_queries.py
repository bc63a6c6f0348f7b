"""Named queries on the hand-made fixture; every expected number is worked out in the docstring there."""
import pytest

from analytics.db import queries
from analytics.filters import Filters
from analytics.db.queries import Scope
from tests.fixture_db import AS_OF


def n_items(con, filters=Filters(), scope=queries.NATIONAL):
    return queries.run(con, "overview_counts", filters, scope, AS_OF)["n_items"][0]


@pytest.mark.parametrize("filters,expected", [
    (Filters(), 5),  # all but C1, which starts after the as-of date
    (Filters(region_code="340000"), 3),  # A1 (county), A2 (city), A3 (province level itself)
    (Filters(region_code="340100"), 2),  # A1, A2
    (Filters(region_code="340102"), 1),  # A1
    (Filters(region_code="110000"), 1),  # B1 in a municipality's district
    (Filters(region_code="410000"), 0),  # C1 not started yet
    (Filters(period="2026-Q3"), 3),  # A1, A3, B1; A2 ended 2025-12-20, N1 terminated 2025-05-01
    (Filters(period="2025"), 3),  # A2, B1, N1 (A1 and A3 start in 2026)
    (Filters(domains=("营商环境",)), 2),
    (Filters(lead_depts=("农业农村局",)), 1),  # A1 (C1 is in the future)
    (Filters(priorities=("key", "urgent")), 4),  # A1, A3, B1, N1
    (Filters(region_code="340000", priorities=("normal",)), 1),  # A2
])
def test_items_in_view(fixture_con, filters, expected):
    assert n_items(fixture_con, filters) == expected


def test_overview_counts_other_tables_within_period(fixture_con):
    row = queries.run(fixture_con, "overview_counts", Filters(period="2026"), as_of=AS_OF).row(0, named=True)
    # items A1, A3, B1 (N1 ended 2025); reports of those dated 2026: A1 ×3, B1 ×2
    assert (row["n_items"], row["n_reports"]) == (3, 5)
    assert row["n_feedback"] == 2  # F1, F2 (F3 is 2025)
    assert row["n_rectifications"] == 1  # R1; R2 closed 2025-11-20


def test_items_by_status_sums_budget(fixture_con):
    got = {r["status"]: (r["n_items"], r["budget_wan_yuan"])
           for r in queries.run(fixture_con, "items_by_status", Filters(), as_of=AS_OF).iter_rows(named=True)}
    assert got == {"completed": (1, 1200.0), "in_progress": (3, 31300.0), "terminated": (1, None)}


def test_scope_limits_rows_and_a_filter_cannot_widen_it(fixture_con):
    anhui = Scope(region_codes=("340000",))
    assert n_items(fixture_con, Filters(), anhui) == 3
    assert n_items(fixture_con, Filters(region_code="110000"), anhui) == 0  # Beijing asked for, not granted
    assert n_items(fixture_con, Filters(region_code="340100"), anhui) == 2
    assert n_items(fixture_con, Filters(), Scope(domains=("营商环境",))) == 2
    regions = queries.run(fixture_con, "region_options", Filters(), Scope(region_codes=("340100",)), AS_OF)
    assert set(regions["region_code"]) >= {"340100", "340102"}
    assert all(code.startswith("3401") for code in regions["region_code"])


def test_domain_and_department_options_follow_scope(fixture_con):
    got = dict(queries.run(fixture_con, "domain_options", Filters(), Scope(region_codes=("340000",)), AS_OF)
               .iter_rows())
    assert got == {"营商环境": 2, "乡村振兴": 1}


def test_run_refuses_unknown_query_and_reports_missing_parameters(fixture_con):
    with pytest.raises(KeyError):
        queries.run(fixture_con, "drop_everything")
    with pytest.raises(KeyError, match="code"):
        queries.run(fixture_con, "region_path")


def test_region_path_runs_from_the_nation_down(fixture_con):
    path = queries.run(fixture_con, "region_path", code="419001")
    assert path["region_code"].to_list() == ["100000", "410000", "419001"]
