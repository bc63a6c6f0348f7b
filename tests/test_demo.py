"""Tests of the demo data generator (analytics.demo) on a small scale."""
from __future__ import annotations

import datetime as dt
import re

import duckdb
import polars as pl
import pytest

from analytics import contract, demo
from analytics.db import marts

AS_OF = dt.date(2026, 11, 22)
SCALE = 0.05
SEED = 20261122


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    path = base / "demo.duckdb"
    steps: list[tuple[float, str]] = []
    counts = demo.generate(path, scale=SCALE, seed=SEED, as_of=AS_OF, progress=lambda f, m: steps.append((f, m)))
    con = duckdb.connect(str(path), read_only=True)
    yield {"path": path, "counts": counts, "steps": steps, "con": con}
    con.close()


def q(con, sql, params=None) -> pl.DataFrame:
    return con.sql(sql, params=params).pl() if params else con.sql(sql).pl()


def scalar(con, sql):
    return con.sql(sql).fetchall()[0][0]


def table_frame(con, t: contract.Table) -> pl.DataFrame:
    return q(con, f"SELECT * FROM {t.name} ORDER BY {', '.join(t.key)}")


# --------------------------------------------------------------------------- basics
def test_counts_and_progress(built):
    con, counts = built["con"], built["counts"]
    for t in contract.TABLES:
        n = scalar(con, f"SELECT count(*) FROM {t.name}")
        assert n > 0, t.name
        assert counts[t.name] == n, t.name
    assert counts["projects"] == round(20_000 * SCALE)
    assert counts["progress_reports"] > 30 * counts["projects"]
    fr = [f for f, _ in built["steps"]]
    assert fr == sorted(fr) and fr[-1] == 1.0 and all(0 <= f <= 1 for f in fr)
    assert all(isinstance(m, str) and m for _, m in built["steps"])
    v = q(con, "SELECT * FROM data_versions")
    assert v.height == 1
    assert v["created_by"][0] == "demo" and v["source"][0] == f"demo scale={SCALE} seed={SEED}"
    assert v["as_of"][0] == AS_OF
    assert not built["path"].with_name(built["path"].name + ".tmp").exists()


def test_deterministic(built, tmp_path):
    other = tmp_path / "again.duckdb"
    demo.generate(other, scale=SCALE, seed=SEED, as_of=AS_OF)
    con2 = duckdb.connect(str(other), read_only=True)
    try:
        for t in contract.TABLES:
            if t.name == "regions":  # installed from data/regions.csv, not generated
                continue
            a, b = table_frame(built["con"], t), table_frame(con2, t)
            assert a.equals(b), f"{t.name} differs between two runs with the same seed"
    finally:
        con2.close()
    assert pl.read_parquet(other.with_name(other.name + ".truth") / "duplicates.parquet").equals(
        pl.read_parquet(built["path"].with_name(built["path"].name + ".truth") / "duplicates.parquet"))


def test_small_chunks_give_the_same_tables(built, tmp_path, monkeypatch):
    """Tables are built and written in chunks (see analytics/demo/__init__.py); the draws never depend
    on the chunk size, so tiny chunks give the same rows in the same order, marts included."""
    from analytics.demo import events, feedback, projects

    for module in (events, feedback, projects):
        monkeypatch.setattr(module, "WRITE_CHUNK_ROWS", 97)
    monkeypatch.setattr(marts, "CHUNK_ROWS", 5_000)
    other = tmp_path / "chunked.duckdb"
    demo.generate(other, scale=SCALE, seed=SEED, as_of=AS_OF)
    con2 = duckdb.connect(str(other), read_only=True)
    try:
        names = [t.name for t in contract.TABLES if t.name != "regions"] + ["item_snapshots", "mart_dates"]
        for name in names:
            a, b = q(built["con"], f"SELECT * FROM {name}"), q(con2, f"SELECT * FROM {name}")
            assert a.equals(b), f"{name} differs when written in small chunks"
    finally:
        con2.close()
    for f in ("beautified", "duplicates", "items_latent"):
        truth = [pl.read_parquet(p.with_name(p.name + ".truth") / f"{f}.parquet") for p in (built["path"], other)]
        assert truth[0].equals(truth[1]), f


def test_keys_unique(built):
    con = built["con"]
    for t in contract.TABLES:
        keys = ", ".join(t.key)
        dup = scalar(con, f"SELECT count(*) FROM (SELECT {keys} FROM {t.name} GROUP BY {keys} HAVING count(*) > 1)")
        assert dup == 0, t.name
        for k in t.key:
            assert scalar(con, f"SELECT count(*) FROM {t.name} WHERE {k} IS NULL") == 0


def test_references_resolve(built):
    con = built["con"]
    for t in contract.TABLES:
        for r in t.references:
            missing = scalar(con, f"""SELECT count(*) FROM {t.name} x WHERE x.{r.column} IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM {r.table} y WHERE y.{r.target} = x.{r.column})""")
            assert missing == 0, f"{t.name}.{r.column} → {r.table}.{r.target}"


def test_values_allowed(built):
    con = built["con"]
    for t in contract.TABLES:
        frame = table_frame(con, t)
        for c in t.columns:
            s = frame[c.name]
            if c.required:
                assert s.null_count() == 0, f"{t.name}.{c.name}"
            nn = s.drop_nulls()
            if c.choices:
                assert set(nn.unique().to_list()) <= set(c.allowed), f"{t.name}.{c.name}"
            if c.min_value is not None and nn.len():
                assert nn.min() >= c.min_value, f"{t.name}.{c.name}"
            if c.max_value is not None and nn.len():
                assert nn.max() <= c.max_value, f"{t.name}.{c.name}"
            if c.pattern and nn.len():
                assert nn.str.contains(f"^(?:{c.pattern})$").all(), f"{t.name}.{c.name}"


# --------------------------------------------------------------------------- dates and status
def test_dates_ordered(built):
    con = built["con"]
    checks = {
        "projects": "start_date > planned_end_date OR start_date > actual_end_date",
        "policies": "issued_date > end_date",
        "rectifications": "found_date > deadline OR found_date > closed_date",
        "feedback": "received_at > responded_at",
        "milestones": "planned_date IS NULL",
    }
    for table, bad in checks.items():
        assert scalar(con, f"SELECT count(*) FROM {table} WHERE {bad}") == 0, table
    # reports lie within the item's life
    assert scalar(con, """SELECT count(*) FROM progress_reports r JOIN projects p USING (project_id)
        WHERE r.report_date < p.start_date OR r.report_date > coalesce(p.actual_end_date, DATE '9999-12-31')""") == 0
    assert scalar(con, "SELECT count(*) FROM milestones m JOIN projects p USING (project_id) "
                       "WHERE m.actual_date < p.start_date OR m.actual_date > p.actual_end_date") == 0
    assert scalar(con, "SELECT count(*) FROM rectifications WHERE (status = 'closed') <> (closed_date IS NOT NULL)") == 0


def test_nothing_after_as_of(built):
    con = built["con"]
    a = f"DATE '{AS_OF.isoformat()}'"
    observed = [("projects", "actual_end_date"), ("progress_reports", "report_date"), ("milestones", "actual_date"),
                ("rectifications", "found_date"), ("rectifications", "closed_date"), ("policies", "issued_date"),
                ("feedback", "received_at"), ("feedback", "responded_at")]
    for table, col in observed:
        assert scalar(con, f"SELECT count(*) FROM {table} WHERE CAST({col} AS DATE) > {a}") == 0, f"{table}.{col}"
    # forecasts are never before the report date
    assert scalar(con, "SELECT count(*) FROM progress_reports WHERE forecast_end_date < report_date") == 0


def test_status_consistent(built):
    con = built["con"]
    a = f"DATE '{AS_OF.isoformat()}'"
    p = q(con, f"""SELECT p.*, (SELECT count(*) FROM progress_reports r WHERE r.project_id = p.project_id) AS n_rep,
                   (SELECT max(actual_progress_pct) FROM progress_reports r WHERE r.project_id = p.project_id) AS max_pct
                   FROM projects p""")
    comp = p.filter(pl.col("status") == "completed")
    assert comp["actual_end_date"].null_count() == 0 and (comp["actual_end_date"] <= AS_OF).all()
    assert comp.filter(pl.col("max_pct").is_not_null())["max_pct"].min() == 100
    other = p.filter(pl.col("status") != "completed")
    assert other["actual_end_date"].null_count() == other.height
    ns = p.filter(pl.col("status") == "not_started")
    assert ((ns["start_date"] > AS_OF) | (ns["n_rep"] == 0)).all()
    ip = p.filter(pl.col("status") == "in_progress")
    assert (ip["start_date"] <= AS_OF).all() and (ip["n_rep"] > 0).all()
    assert (p.filter(pl.col("start_date") > AS_OF)["status"] == "not_started").all()
    assert scalar(con, f"SELECT count(*) FROM projects WHERE status IN ('in_progress','completed') AND start_date > {a}") == 0
    shares = p["status"].value_counts(normalize=True)
    assert set(shares["status"].to_list()) == {"not_started", "in_progress", "completed", "terminated"}


def test_regions_and_departments(built):
    con = built["con"]
    provs = q(con, "SELECT DISTINCT substr(region_code, 1, 2) AS p FROM projects")["p"].to_list()
    assert not {"71", "81", "82"} & set(provs)
    assert len(set(provs) - {"10"}) == 31
    lv = q(con, "SELECT r.level, count(*) AS n FROM projects p JOIN regions r USING (region_code) GROUP BY 1")
    levels = dict(zip(lv["level"].to_list(), lv["n"].to_list()))
    assert levels["county"] > levels["city"] > levels["province"] > 0
    depts = q(con, "SELECT DISTINCT lead_dept FROM projects")["lead_dept"].to_list()
    assert len(depts) >= 15
    assert not any(re.match(r".*[省市县区]", d.split("局")[0][:2]) for d in depts if d.startswith(("北京", "河北")))
    co = q(con, "SELECT len(co_depts) AS n, list_contains(co_depts, lead_dept) AS self FROM projects")
    assert co["n"].min() == 0 and co["n"].max() == 6 and not co["self"].any()


def test_feedback_has_personal_data_for_masking(built):
    con = built["con"]
    n_phone = scalar(con, r"SELECT count(*) FROM feedback WHERE regexp_matches(text, '1[3-9][0-9](\*{4}|[0-9]{4})[0-9]{4}')")
    n_name = scalar(con, "SELECT count(*) FROM feedback WHERE regexp_matches(text, '联系人.(先生|女士)')")
    assert n_phone > 0 and n_name > 0
    late = scalar(con, "SELECT avg(CASE WHEN responded_at - received_at <= INTERVAL 72 HOUR THEN 1 ELSE 0 END) "
                       "FROM feedback WHERE channel = 'hotline_12345'")
    assert 0.4 < late < 0.9  # only part answered within the limit, some never


# --------------------------------------------------------------------------- planted mechanics
def _finished(con):
    return q(con, """
        WITH gap AS (
            SELECT r.project_id,
                   max(abs(100 * r.budget_spent_wan_yuan / p.budget_wan_yuan - r.actual_progress_pct)) AS max_gap
            FROM progress_reports r JOIN projects p USING (project_id)
            WHERE r.report_date <= p.planned_end_date - 30 AND p.budget_wan_yuan > 0
            GROUP BY 1)
        SELECT p.project_id, len(p.co_depts) AS n_co,
               (p.actual_end_date - p.planned_end_date > 30) AS slipped, gap.max_gap
        FROM projects p LEFT JOIN gap USING (project_id)
        WHERE p.status = 'completed'""")


def test_slip_rate_realistic(built):
    f = _finished(built["con"])
    rate = f["slipped"].mean()
    assert 0.12 < rate < 0.40, rate


def test_slips_follow_co_departments(built):
    f = _finished(built["con"])
    few = f.filter(pl.col("n_co") <= 1)["slipped"].mean()
    many = f.filter(pl.col("n_co") >= 4)["slipped"].mean()
    assert many > few + 0.05, (few, many)


def test_slips_follow_budget_progress_gap(built):
    f = _finished(built["con"]).drop_nulls("max_gap")
    big = f.filter(pl.col("max_gap") > 20)["slipped"].mean()
    small = f.filter(pl.col("max_gap") <= 20)["slipped"].mean()
    assert big > small + 0.05, (small, big)


def test_slips_follow_late_start(built):
    """Items whose first reports show no progress while the plan moves slip more often."""
    con = built["con"]
    f = q(con, """
        WITH early AS (
            SELECT project_id, max(actual_progress_pct) AS early_max, max(planned_progress_pct) AS early_plan
            FROM (SELECT *, row_number() OVER (PARTITION BY project_id ORDER BY report_date) AS k FROM progress_reports)
            WHERE k <= 6 GROUP BY 1)
        SELECT (p.actual_end_date - p.planned_end_date > 30) AS slipped,
               (early_max <= 1 AND early_plan > 4) AS stalled
        FROM projects p JOIN early USING (project_id)
        WHERE p.status = 'completed' AND early_max IS NOT NULL""")
    stalled = f.filter(pl.col("stalled"))["slipped"].mean()
    moving = f.filter(~pl.col("stalled"))["slipped"].mean()
    assert stalled > moving + 0.1, (moving, stalled)


def test_signals_lead_the_slip(built):
    """Before the planned end, slipping items already report worse RAG and later forecasts."""
    con = built["con"]
    f = q(con, """
        SELECT (p.actual_end_date - p.planned_end_date > 30) AS slipped,
               avg(CASE WHEN r.rag IN ('amber', 'amber_red', 'red') THEN 1 ELSE 0 END) AS bad_rag,
               avg(CASE WHEN r.forecast_end_date > p.planned_end_date + 14 THEN 1 ELSE 0 END) AS revised
        FROM progress_reports r JOIN projects p USING (project_id)
        WHERE p.status = 'completed' AND r.report_date <= p.planned_end_date - 14
        GROUP BY 1""")
    by = {row["slipped"]: row for row in f.iter_rows(named=True)}
    assert by[True]["bad_rag"] > by[False]["bad_rag"] + 0.05
    assert by[True]["revised"] > by[False]["revised"] + 0.05


def test_no_planted_labels_in_db(built):
    con = built["con"]
    cols = q(con, "SELECT table_name, column_name FROM information_schema.columns")
    pattern = re.compile(r"slip|beaut|dup|truth|label|latent|fake|plant|risk|hidden|synthetic", re.I)
    bad = [f"{t}.{c}" for t, c in cols.iter_rows() if pattern.search(c) or pattern.search(t)]
    assert not bad, bad
    tables = set(q(con, "SELECT table_name FROM information_schema.tables")["table_name"].to_list())
    assert tables == {t.name for t in contract.TABLES} | {"data_versions", "region_closure"} | set(marts.TABLES)


def test_truth_sidecar(built):
    con = built["con"]
    truth = built["path"].with_name(built["path"].name + ".truth")
    ids = set(q(con, "SELECT project_id FROM projects")["project_id"].to_list())
    b = pl.read_parquet(truth / "beautified.parquet")
    d = pl.read_parquet(truth / "duplicates.parquet")
    lat = pl.read_parquet(truth / "items_latent.parquet")
    n = len(ids)
    assert 0.02 * n <= b.height <= 0.06 * n and set(b["project_id"]) <= ids
    assert 0.03 * n <= d.height <= 0.07 * n
    assert set(d["project_id"]) <= ids and set(d["duplicate_id"]) <= ids
    assert set(lat["project_id"]) == ids
    pairs = q(con, """SELECT a.domain = b.domain AS same_domain, a.name <> b.name AS reworded,
                          a.source <> b.source AS other_source,
                          (SELECT count(*) FROM region_closure c WHERE (c.ancestor_code = a.region_code
                               AND c.region_code = b.region_code) OR (c.ancestor_code = b.region_code
                               AND c.region_code = a.region_code)) > 0 AS nested
                   FROM d JOIN projects a ON a.project_id = d.project_id
                   JOIN projects b ON b.project_id = d.duplicate_id""".replace(
        "FROM d", f"FROM read_parquet('{truth / 'duplicates.parquet'}') d"))
    assert pairs["same_domain"].all() and pairs["other_source"].all() and pairs["nested"].all()
    assert pairs["reworded"].mean() > 0.8
    # beautified items show runs of identical progress values while spending moves
    runs = q(con, f"""
        WITH r AS (SELECT project_id, actual_progress_pct AS a, budget_spent_wan_yuan AS s,
                          lag(actual_progress_pct) OVER w AS a0, lag(budget_spent_wan_yuan) OVER w AS s0
                   FROM progress_reports WINDOW w AS (PARTITION BY project_id ORDER BY report_date))
        SELECT project_id IN (SELECT project_id FROM read_parquet('{truth / 'beautified.parquet'}')) AS beautified,
               avg(CASE WHEN a = a0 AND a < 100 AND s > s0 THEN 1 ELSE 0 END) AS frozen_share
        FROM r WHERE a0 IS NOT NULL AND s0 IS NOT NULL GROUP BY 1""")
    fr = dict(zip(runs["beautified"].to_list(), runs["frozen_share"].to_list()))
    assert fr[True] > 2 * fr[False]


def test_seasonality(built):
    con = built["con"]
    f = q(con, """
        WITH d AS (SELECT report_date, actual_progress_pct - lag(actual_progress_pct) OVER w AS inc,
                          report_date - lag(report_date) OVER w AS days
                   FROM progress_reports WINDOW w AS (PARTITION BY project_id ORDER BY report_date))
        SELECT month(report_date) AS m, avg(inc) AS inc FROM d WHERE days = 7 GROUP BY 1""")
    inc = dict(zip(f["m"].to_list(), f["inc"].to_list()))
    assert inc[2] < inc[4] and inc[12] > inc[11]
