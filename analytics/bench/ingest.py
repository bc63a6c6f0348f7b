"""Upload throughput: 1,000,000 progress reports from a GB18030 CSV, 20,000 items from XLSX, and a weekly upload
(the last two weeks' reports, as a steward sends every Monday), whose commit is timed twice: rebuilding only the
item snapshots from its first report on (what a commit does) and rebuilding them all (as it did before).

The CSV is the database's own progress reports re-spelled as a steward's extract (Chinese headers, 2026/3/1
dates, GB18030) with one report in fifty changed (scale 1 has about 890,000 reports: the rest are new ones a
day after existing ones); the XLSX is every item with Chinese headers and region names instead of codes, one
in twenty renamed. Each run reads, checks, previews and commits (the contract gate and the mart rebuild
included) on a fresh copy of the database; the original is never written.
"""
from __future__ import annotations

import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from analytics.db import store
from analytics.ingest import pipeline, readers
from analytics.db import versions

LIMITS = readers.Limits(max_bytes=500 * 1024 * 1024, max_rows=3_000_000, max_text=10_000)


def progress_csv(con) -> bytes:
    frame = con.sql("SELECT project_id, report_date, planned_progress_pct, actual_progress_pct, rag, note "
                    "FROM progress_reports ORDER BY project_id, report_date LIMIT 1000000").pl()
    if 500_000 < frame.height < 1_000_000:  # scale 1 has about 890,000: the rest are new reports a day after
        extra = frame.with_columns(pl.col("report_date") + pl.duration(days=1)).join(
            frame.select("project_id", "report_date"), on=["project_id", "report_date"], how="anti")
        frame = pl.concat([frame, extra.head(1_000_000 - frame.height)])
    frame = frame.with_row_index("i").with_columns(
        pl.when(pl.col("i") % 50 == 0).then((pl.col("actual_progress_pct") + 0.5).clip(0, 100))
        .otherwise(pl.col("actual_progress_pct")).alias("actual_progress_pct"),
        pl.col("report_date").dt.strftime("%Y/%-m/%-d"),
        pl.col("rag").replace({"green": "绿", "amber": "黄", "red": "红", "amber_green": "黄绿", "amber_red": "橙"}),
    ).drop("i")
    frame.columns = ["项目编号", "填报日期", "计划进度", "实际进度", "红黄绿评级", "备注"]
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue().decode("utf-8").encode("gb18030")


def weekly_csv(con) -> bytes:
    """The last two weeks' progress reports, one in fifty changed: a steward's weekly extract."""
    frame = con.sql("""SELECT project_id, report_date, planned_progress_pct, actual_progress_pct, rag, note
                       FROM progress_reports
                       WHERE report_date > (SELECT max(as_of) FROM data_versions) - INTERVAL 14 DAY
                       ORDER BY project_id, report_date""").pl()
    frame = frame.with_row_index("i").with_columns(
        pl.when(pl.col("i") % 50 == 0).then((pl.col("actual_progress_pct") + 0.5).clip(0, 100))
        .otherwise(pl.col("actual_progress_pct")).alias("actual_progress_pct")).drop("i")
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


def projects_xlsx(con) -> bytes:
    frame = con.sql("""SELECT p.project_id, p.name, p.domain, g.name AS region, p.lead_dept, p.start_date,
                              p.planned_end_date, p.priority, p.status, p.actual_end_date, p.budget_wan_yuan
                       FROM projects p JOIN regions g USING (region_code) ORDER BY project_id LIMIT 20000""").pl()
    # a county's bare name can be ambiguous (several 朝阳区): a steward's extract names it in full, or by code
    names = con.sql("SELECT name, count(*) AS n FROM regions GROUP BY name").pl()
    dup = set(names.filter(pl.col("n") > 1)["name"])
    codes = con.sql("SELECT project_id, region_code FROM projects").pl()
    frame = frame.join(codes, on="project_id").with_columns(
        pl.when(pl.col("region").is_in(list(dup))).then(pl.col("region_code")).otherwise(pl.col("region"))
        .alias("region")).drop("region_code")
    frame = frame.with_row_index("i").with_columns(  # one item in twenty renamed
        pl.when(pl.col("i") % 20 == 0).then(pl.col("name") + "（调整）").otherwise(pl.col("name")).alias("name")).drop("i")
    frame.columns = ["督办事项编号", "事项名称", "领域", "所属地区", "牵头单位", "开始日期", "计划完成时间", "优先级",
                     "状态", "实际完成日期", "预算（万元）"]
    buf = io.BytesIO()
    frame.write_excel(buf, worksheet="督办事项")
    return buf.getvalue()


def run_once(db: Path, data: bytes, name: str, table: str, incremental: bool = True) -> dict[str, float]:
    versions.INCREMENTAL_MART = incremental
    work = Path(tempfile.mkdtemp()) / "bench.duckdb"
    shutil.copy(db, work)
    con = store.connect(work)
    t = {}
    start = time.perf_counter()
    up = pipeline.read(data, name, LIMITS, table=table)
    t["read"] = time.perf_counter() - start
    s = time.perf_counter()
    checked = pipeline.check(con, up, limits=LIMITS)
    t["check"] = time.perf_counter() - s
    s = time.perf_counter()
    changes = pipeline.to_changes(checked, "upsert", valid_only=True)
    previews = pipeline.preview(con, changes)
    t["preview"] = time.perf_counter() - s
    s = time.perf_counter()
    out = versions.commit(con, changes, who="bench", file_name=name, sha256=up.sha256)
    t["commit"] = time.perf_counter() - s
    t["total"] = time.perf_counter() - start
    p = previews[table]
    t["rows"] = sum(c.frame.height for c in checked)
    t["counts"] = f"new {p.rows_new}, changed {p.rows_changed}, unchanged {p.rows_unchanged}, version {out.version}"
    con.close()
    shutil.rmtree(work.parent)
    versions.INCREMENTAL_MART = True
    return t


def times(db: Path, runs: int = 3) -> list[dict]:
    """Median seconds per step of each upload, with its row count and what it changed."""
    source = Path(tempfile.mkdtemp()) / "source.duckdb"
    shutil.copy(db, source)
    try:
        con = store.connect(source, read_only=True)
        n_reports = con.execute("SELECT count(*) FROM progress_reports").fetchall()[0][0]
        cases = [("progress.csv", "progress_reports", progress_csv(con)), ("items.xlsx", "projects", projects_xlsx(con)),
                 ("weekly.csv", "progress_reports", weekly_csv(con))]
        con.close()
        out = []
        for name, table, data in cases:
            done, whole = [], []
            for _ in range(runs):  # alternated, so both see the same machine
                done.append(run_once(source, data, name, table))
                if name == "weekly.csv":
                    whole.append(run_once(source, data, name, table, incremental=False)["commit"])
            out.append({"file": name, "table": table, "rows": done[0]["rows"], "mb": round(len(data) / 1048576, 1),
                        "changes": done[0]["counts"], "source_reports": n_reports,
                        **{f"{k}_s": round(statistics.median(r[k] for r in done), 2)
                           for k in ("read", "check", "preview", "commit", "total")},
                        **({"commit_whole_mart_s": round(statistics.median(whole), 2)} if whole else {})})
        return out
    finally:
        shutil.rmtree(source.parent, ignore_errors=True)
