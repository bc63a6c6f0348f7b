"""The rules every page shares, each written once as SQL text that the named queries build on.

- `in_flight`: an item is in flight at a date when it has started, has not ended by then and is not terminated
  (the `in_flight` state of the item mart in `sql/metrics.py` is the same rule as a CASE over all states).
- `rect_closed`, `rect_overdue`, `rect_due`: a rectification (整改) is closed (销号) at a date when it has a closure
  date on or before it; overdue when its deadline is before the date and it is not closed by then (a past period
  is judged as it stood at its end, not by today's status); due when its deadline falls by the date and it was
  found in the window.
- `in_window`: a date inside the selected period (open start for "all time").
- `GROUP_CODES`: each region code with its ancestor at `$group_level`.
- `item_is`: an item light's conditions the counts and the notification rules share (overdue, deviating).
- `item_counts`: the execution counts over item lights (in flight, lit, red, yellow, green, overdue, completed,
  on time, budget), shared by the cockpit's region table, the trend series and the department league.

Each function fills a fixed template with table aliases and date expressions that the query modules pass as
constants (checked against `_NAME`): values only ever arrive as `$name` parameters.

Why Python fragments and not DuckDB macros or views created with the schema: a macro stored in the database
would have to be created (and migrated) in every existing file, which a read-only reader cannot do, and a
temporary macro would have to be created again on every cursor, since DuckDB keeps temporary objects per
connection; a view cannot take the as-of date, which every rule depends on. A fragment is inlined like a
macro, so the plans are the ones DuckDB built before, and a test (tests/test_rules.py) holds every page's
numbers to the cockpit's.
"""
from __future__ import annotations

import re

# what a template's holes may be filled with: an alias, a column, a date column or a `$name::TYPE` parameter
_NAME = re.compile(r"^(\$?[a-z_][a-z_0-9]*(::[A-Z]+)?|[a-z_][a-z_0-9]*\.[a-z_][a-z_0-9]*)$")
PERIOD_START = "$period_start::DATE"
PERIOD_END = "$period_end::DATE"


def _check(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"rules: {value!r} is not an alias, column or parameter")
    return value


def _fill(template: str, **names: str) -> str:
    for key, value in names.items():
        template = template.replace("{" + key + "}", _check(value))
    return template


def in_flight(p: str = "p", at: str = PERIOD_END) -> str:
    """Item `p` has started by `at`, has not ended by then, and is not terminated."""
    return _fill("({p}.start_date <= {at} AND ({p}.actual_end_date IS NULL OR {p}.actual_end_date > {at})"
                 " AND coalesce({p}.status, '') <> 'terminated')", p=p, at=at)


def rect_closed(r: str = "r", at: str = PERIOD_END) -> str:
    """Rectification `r` was closed (销号) on or before `at`."""
    return _fill("({r}.closed_date IS NOT NULL AND {r}.closed_date <= {at})", r=r, at=at)


def rect_overdue(r: str = "r", at: str = PERIOD_END) -> str:
    """Rectification `r` was past its deadline at `at` and not closed by then."""
    return _fill("({r}.deadline < {at} AND NOT ", r=r, at=at) + rect_closed(r, at) + ")"


def in_window(column: str, start: str = PERIOD_START, end: str = PERIOD_END) -> str:
    """`column` falls in the window from `start` (NULL: from the beginning) to `end`, both included."""
    return _fill("({start} IS NULL OR {col} >= {start}) AND {col} <= {end}", col=column, start=start, end=end)


def rect_due(r: str = "r", start: str = PERIOD_START, end: str = PERIOD_END) -> str:
    """Rectification `r` was found in the window and its deadline falls by its end (the completion rate's base)."""
    return _fill("{r}.deadline <= {end} AND ", r=r, end=end) + in_window(r + ".found_date", start, end)


# region code -> its ancestor at $group_level (at most one per code)
GROUP_CODES = """group_codes AS (
    SELECT c.region_code, c.ancestor_code AS group_code
    FROM region_closure c JOIN regions g ON g.region_code = c.ancestor_code
    WHERE g.level = $group_level::VARCHAR
)"""

# conditions on one `item_light` row (sql/metrics.py) that the counts below and the notification rules
# (sql/notify.py) share; {s} is the row alias with its dot (or nothing)
ITEM_IS = {
    "overdue": "{s}state = 'in_flight' AND {s}rule = 'overdue'",  # past its planned end, not completed
    "deviating": "{s}state = 'in_flight' AND {s}lag_pp > $yellow_pp",  # behind plan by more than the yellow line
}


def item_is(name: str, s: str = "") -> str:
    """The condition `name` (a key of ITEM_IS) on item lights aliased `s` ("" for none)."""
    return "(" + ITEM_IS[name].replace("{s}", _check(s) + "." if s else "") + ")"


# the execution counts over `item_light` rows (sql/metrics.py), by output column; {s} is the row alias with its
# dot (or nothing), {completed} the window condition on the completion date
_ITEM_COUNTS = {
    "n_in_flight": "count(*) FILTER (WHERE {s}state = 'in_flight')",
    "n_lit": "count(*) FILTER (WHERE {s}light IN ('red', 'yellow', 'green'))",
    "n_red": "count(*) FILTER (WHERE {s}light = 'red')",
    "n_yellow": "count(*) FILTER (WHERE {s}light = 'yellow')",
    "n_green": "count(*) FILTER (WHERE {s}light = 'green')",
    "n_no_data": "count(*) FILTER (WHERE {s}light = 'none')",
    "n_overdue": "count(*) FILTER (WHERE " + ITEM_IS["overdue"] + ")",
    "n_deviating": "count(*) FILTER (WHERE " + ITEM_IS["deviating"] + ")",
    "avg_lag_pp": "avg({s}lag_pp) FILTER (WHERE {s}state = 'in_flight' AND {s}planned_pct IS NOT NULL)",
    "n_with_progress": "count(*) FILTER (WHERE {s}state = 'in_flight' AND {s}planned_pct IS NOT NULL)",
    "avg_planned_pct": "avg({s}planned_pct) FILTER (WHERE {s}state = 'in_flight' AND {s}planned_pct IS NOT NULL)",
    "avg_actual_pct": "avg({s}actual_pct) FILTER (WHERE {s}state = 'in_flight' AND {s}planned_pct IS NOT NULL)",
    "n_completed": "count(*) FILTER (WHERE {s}state = 'completed' AND {completed})",
    "n_on_time": "count(*) FILTER (WHERE {s}state = 'completed' AND {completed}"
                 " AND {s}actual_end_date <= coalesce({s}planned_end_date, {s}actual_end_date))",
    "spent_wan_yuan": "sum({s}spent_wan_yuan) FILTER (WHERE {s}state = 'in_flight' AND {s}budget_wan_yuan > 0"
                      " AND {s}spent_wan_yuan IS NOT NULL)",
    "budgeted_wan_yuan": "sum({s}budget_wan_yuan) FILTER (WHERE {s}state = 'in_flight' AND {s}budget_wan_yuan > 0"
                         " AND {s}spent_wan_yuan IS NOT NULL)",
    "avg_budget_gap_pp": "avg(100.0 * {s}spent_wan_yuan / {s}budget_wan_yuan - {s}actual_pct) FILTER ("
                         "WHERE {s}state = 'in_flight' AND {s}budget_wan_yuan > 0 AND {s}spent_wan_yuan IS NOT NULL"
                         " AND {s}actual_pct IS NOT NULL)",
    "n_budget_gap": "count(*) FILTER (WHERE {s}state = 'in_flight' AND {s}budget_wan_yuan > 0"
                    " AND {s}spent_wan_yuan IS NOT NULL AND {s}actual_pct IS NOT NULL)",
}
REGION_ITEM_COUNTS = ("n_in_flight", "n_lit", "n_red", "n_yellow", "n_green", "n_no_data", "n_overdue", "n_deviating",
                      "avg_lag_pp", "n_with_progress", "n_completed", "n_on_time", "spent_wan_yuan",
                      "budgeted_wan_yuan", "avg_budget_gap_pp", "n_budget_gap")


def item_counts(names: tuple[str, ...], s: str = "", start: str = PERIOD_START, end: str = PERIOD_END) -> str:
    """The select list of `names` (keys of `_ITEM_COUNTS`) over item lights aliased `s` ("" for none), counting a
    completion when its date falls in the window from `start` to `end`."""
    prefix = _check(s) + "." if s else ""
    completed = in_window(prefix + "actual_end_date", start, end)
    return ",\n            ".join(_ITEM_COUNTS[n].replace("{completed}", completed).replace("{s}", prefix) + " AS " + n
                                  for n in names)
