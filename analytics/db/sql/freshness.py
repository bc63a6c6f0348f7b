"""SQL of report freshness (issue 20): how recently each region's items in flight were reported on."""
from __future__ import annotations

from analytics.db.scope import SCOPED_FEEDBACK, SCOPED_ITEMS, SCOPED_RECTIFICATIONS
from analytics.db.sql.metrics import INDICATOR_VALUES
from analytics.db.sql.rules import in_flight


QUERIES: dict[str, str] = {
    # grain: one row per region that holds items in flight at $period_end (the items' own region, any level), in
    # scope and filter: how many, the latest progress report on any of them up to $period_end, the earliest start
    # among them, and how many were reported on in the $cycle_days days up to it; lon/lat: the point drawn for the
    # region (a point inside it) where a map marks it silent
    "region_freshness": "WITH " + SCOPED_ITEMS + """,
        flying AS (SELECT i.project_id, i.region_code, i.start_date FROM scoped_items i WHERE """ + in_flight("i", "$period_end::DATE") + """),
        latest AS (
            SELECT r.project_id, max(r.report_date) AS last_report FROM progress_reports r
            SEMI JOIN flying f ON f.project_id = r.project_id
            WHERE r.report_date <= $period_end::DATE GROUP BY r.project_id)
        SELECT f.region_code, g.name, g.level, g.lon, g.lat, count(*) AS n_in_flight, max(l.last_report) AS last_report,
            min(f.start_date) AS first_start,
            count(*) FILTER (WHERE l.last_report > $period_end::DATE - $cycle_days::INTEGER) AS n_reported_in_cycle
        FROM flying f LEFT JOIN latest l USING (project_id) JOIN regions g ON g.region_code = f.region_code
        GROUP BY f.region_code, g.name, g.level, g.lon, g.lat
        ORDER BY max(l.last_report) NULLS FIRST, f.region_code""",
    # grain: one row per region × dated table that holds a dated row for the region up to $period_end, in scope and
    # filter (the row's own region): the latest date. progress_reports: the latest report on the region's items in
    # flight (as region_freshness); feedback: the day the latest piece was received; rectifications: the later of
    # the day one was found and the day one was closed (a close dated after $period_end is not known yet);
    # indicator_values: the last day of the latest period holding a value (target and actual, as the metrics count
    # them) that has ended by $period_end
    "region_table_freshness": "WITH " + SCOPED_ITEMS + ", " + SCOPED_FEEDBACK + ", " + SCOPED_RECTIFICATIONS + ", "
    + INDICATOR_VALUES + """,
        flying AS (SELECT i.project_id, i.region_code FROM scoped_items i WHERE """ + in_flight("i", "$period_end::DATE") + """),
        dated AS (
            SELECT f.region_code, 'progress_reports' AS table_name, r.report_date AS day FROM progress_reports r
            JOIN flying f ON f.project_id = r.project_id WHERE r.report_date <= $period_end::DATE
            UNION ALL
            SELECT region_code, 'feedback', CAST(received_at AS DATE) FROM scoped_feedback
            UNION ALL
            SELECT region_code, 'rectifications',
                greatest(found_date, CASE WHEN closed_date <= $period_end::DATE THEN closed_date END)
            FROM scoped_rectifications
            UNION ALL
            SELECT region_code, 'indicator_values', period_end_date FROM vals WHERE period_end_date <= $period_end::DATE)
        SELECT d.region_code, g.name, g.level, d.table_name, max(d.day) AS latest
        FROM dated d JOIN regions g ON g.region_code = d.region_code
        GROUP BY d.region_code, g.name, g.level, d.table_name
        ORDER BY d.region_code, d.table_name""",
}
