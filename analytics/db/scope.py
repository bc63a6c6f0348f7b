"""SQL fragments that apply the user's scope and the global filters; every query builds on them.

The scope is ANDed with the filter, so a filter (for example a hand-edited URL) can only narrow
what a user sees, never widen it.

A domain scope has one rule for every table: a row's domain is its own (items, feedback) or else its item's
(feedback without a domain, rectifications, reports, milestones); a row with no domain either way (a complaint
about no item and no domain, a rectification of no item) lies in no domain scope, so a domain-scoped account
does not see it. Region scope goes by the row's own region.

Fragments are constants: values only ever arrive as `$name` parameters.
"""
from __future__ import annotations

_IN_SCOPE = """(len($scope_regions::VARCHAR[]) = 0 OR {col} IN (
        SELECT region_code FROM region_closure WHERE list_contains($scope_regions::VARCHAR[], ancestor_code)))
    AND ($region::VARCHAR IS NULL OR {col} IN (
        SELECT region_code FROM region_closure WHERE ancestor_code = $region::VARCHAR))"""


def region_predicate(column: str) -> str:
    # `column` is one of the fixed names below, never input
    return _IN_SCOPE.replace("{col}", column)


SCOPED_ITEMS = """scoped_items AS (
    SELECT p.* FROM projects p
    WHERE """ + region_predicate("p.region_code") + """
      AND (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
      AND (len($domains::VARCHAR[]) = 0 OR list_contains($domains::VARCHAR[], p.domain))
      AND (len($depts::VARCHAR[]) = 0 OR list_contains($depts::VARCHAR[], p.lead_dept))
      AND (len($priorities::VARCHAR[]) = 0 OR list_contains($priorities::VARCHAR[], p.priority))
      AND p.start_date <= $period_end::DATE
      AND ($period_start::DATE IS NULL OR coalesce(p.actual_end_date, $period_end::DATE) >= $period_start::DATE)
)"""

SCOPED_FEEDBACK = """scoped_feedback AS (
    SELECT f.* FROM feedback f
    WHERE """ + region_predicate("f.region_code") + """
      AND (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], coalesce(f.domain, (
            SELECT p.domain FROM projects p WHERE p.project_id = f.project_id))))
      AND (len($domains::VARCHAR[]) = 0 OR list_contains($domains::VARCHAR[], f.domain))
      AND f.received_at < $period_end::DATE + INTERVAL 1 DAY
      AND ($period_start::DATE IS NULL OR f.received_at >= $period_start::DATE)
)"""

SCOPED_RECTIFICATIONS = """scoped_rectifications AS (
    SELECT r.* FROM rectifications r
    WHERE """ + region_predicate("r.region_code") + """
      AND (len($scope_domains::VARCHAR[]) = 0 OR r.project_id IN (
            SELECT project_id FROM projects WHERE list_contains($scope_domains::VARCHAR[], domain)))
      AND r.found_date <= $period_end::DATE
      AND ($period_start::DATE IS NULL OR coalesce(r.closed_date, $period_end::DATE) >= $period_start::DATE)
)"""

SCOPED_REGIONS = """scoped_regions AS (
    SELECT g.* FROM regions g
    WHERE len($scope_regions::VARCHAR[]) = 0
       OR g.region_code IN (SELECT region_code FROM region_closure WHERE list_contains($scope_regions::VARCHAR[], ancestor_code))
)"""
