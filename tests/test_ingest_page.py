"""The upload page under AppTest: upload → tables → mapping → problems → preview → commit, in both
languages; the version list with rollback; a hostile file explained without changing anything."""
from __future__ import annotations

from pathlib import Path

import pytest

from analytics.db import store
from tests.test_ingest_support import (PROGRESS_HEADER, csv_bytes, db, october_changes,  # noqa: F401
                                       october_expected, seed_october_reports)
from tests.app_pages import open_page

ROOT = Path(__file__).resolve().parents[1]
REPORTS = csv_bytes([["2026年11月进度表"], [], PROGRESS_HEADER, ["A1", "2026/11/21", "92", "80", "黄", "<script>x</script>"],
                     ["B1", "2026-11-21", "100", "88", "红", ""], ["A1", "2026-06-30", "45", "41", "绿", ""]],
                    encoding="gb18030")


@pytest.fixture()
def app(db, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_STEWARD", "李四")

    def start(lang="zh", **params):
        return open_page("upload", lang, **params)
    return start


def texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def frame_with(at, column: str):
    """The (first) table on the page that has `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang,title,version_text", [("zh", "数据上传", "数据版本 v1"), ("en", "Data upload", "data version v1")])
def test_the_page_renders_in_both_languages_and_follows_a_filter(app, lang, title, version_text):
    at = app(lang)
    assert at.title[0].value == title
    assert version_text in at.caption[0].value
    assert at.file_uploader  # the first step
    # Streamlit writes the uploader's button and note in English only: in Chinese the page's words replace them
    styles = " ".join(str(h.proto.body) for h in at.get("html"))
    assert ('"选择文件"' in styles and "每个文件不超过 200 MB" in styles) == (lang == "zh")
    versions = at.dataframe[-1].value
    assert list(versions.iloc[:, 0]) == ["v1"]
    at = app(lang, region="340000")  # a drilled link still shows the page (uploads act on whole tables)
    assert at.title[0].value == title and "安徽" in at.caption[0].value or "Anhui" in at.caption[0].value


def test_an_upload_through_every_step_commits_one_version(app, db):
    at = app("zh")
    at.file_uploader[0].set_value(("进度.csv", REPORTS, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "编码 GB18030" in page and "表头在第 3 行" in page
    assert at.selectbox(key="up_table_0").value == "progress_reports"
    mapping = at.data_editor[0].value  # the mapping screen: every header with its column
    assert list(mapping["header"]) == PROGRESS_HEADER
    assert list(mapping["column"])[:2] == ["事项编号 · project_id *", "填报日期 · report_date *"]
    assert "含有 HTML 或脚本标记" in " ".join(frame_with(at, "问题与要求")["问题与要求"])  # a note, not an error
    values = metric_values(at)
    assert (values["新增"], values["变更"], values["不变"], values["保持不变（文件中没有）"]) == ("2 行", "1 行", "0 行", "5 行")
    at.button(key="up_commit").click().run()
    assert not at.exception
    assert "已提交为数据版本 v2" in " ".join(s.value for s in at.success)
    assert "数据版本 v2" in at.caption[0].value  # the header reads the new version at once
    versions = at.dataframe[-1].value
    assert list(versions.iloc[:, 0]) == ["v2", "v1"] and versions.iloc[0, 3] == "李四"
    con = store.connect(db, read_only=True)
    try:
        note = con.execute("SELECT note FROM progress_reports WHERE project_id = 'A1' AND report_date = '2026-11-21'"
                           ).fetchall()
    finally:
        con.close()
    assert note == [("<script>x</script>",)]  # stored as text


def test_errors_reject_the_file_unless_only_valid_rows_are_loaded(app):
    at = app("en")
    bad = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "92", "180", "amber", ""], ["B1", "2026-11-21", "1", "1",
                                                                                         "red", ""]])
    at.file_uploader[0].set_value(("p.csv", bad, "text/csv")).run()
    assert any("1 errors" in e.value for e in at.error)
    summary = frame_with(at, "Rule")
    assert list(summary["Rule"]) == ["out of range"] and list(summary["First row"]) == ["2"]
    assert not [b for b in at.button if b.key == "up_commit"]  # rejected: nothing to commit
    at.radio(key="up_on_errors").set_value("valid_only").run()
    assert metric_values(at)["Rejected"] == "1 rows" and metric_values(at)["New"] == "1 rows"
    at.button(key="up_commit").click().run()
    assert "Committed as data version v2" in " ".join(s.value for s in at.success)


def test_a_hostile_file_is_explained_and_changes_nothing(app):
    at = app("en")
    at.file_uploader[0].set_value(("report.xlsx", b"project_id,report_date\nA1,2026-11-21\n", "text/csv")).run()
    assert not at.exception
    assert any("named as a xlsx file but holds a csv" in e.value for e in at.error)
    assert "data version v1" in at.caption[0].value


def test_rollback_from_the_version_list(app):
    at = app("en")
    at.file_uploader[0].set_value(("p.csv", REPORTS, "text/csv")).run()
    at.button(key="up_commit").click().run()
    assert "data version v2" in at.caption[0].value
    at.selectbox(key="up_restore_to").select(1).run()
    at.checkbox(key="up_restore_sure").check().run()
    at.button(key="up_restore").click().run()
    assert not at.exception
    assert "Restored as the new data version v3" in " ".join(s.value for s in at.success)
    versions = at.dataframe[-1].value
    assert list(versions.iloc[:, 0]) == ["v3", "v2", "v1"] and versions.iloc[0, 4] == "rollback"


def test_unknown_headers_with_a_saved_mapping(app, db):
    from analytics.db import mappings

    mappings.save(db, "区县周报", "progress_reports", {"事项号": "project_id", "日期": "report_date",
                                                     "进度": "actual_progress_pct"}, "李四")
    at = app("zh")
    weekly = csv_bytes([["事项号", "日期", "进度"], ["A1", "2026-11-21", "80"]])
    at.file_uploader[0].set_value(("weekly.csv", weekly, "text/csv")).run()
    assert not at.exception
    assert "未识别出表头" in texts(at)
    at.selectbox(key="up_table_0").select("progress_reports").run()
    assert any("缺少必填列" in e for e in frame_with(at, "问题与要求")["问题与要求"])
    at.selectbox(key="up_saved_0").select("区县周报").run()
    assert not at.exception
    assert "全部 1 行通过校验" in " ".join(s.value for s in at.success)
    assert metric_values(at)["新增"] == "1 行"
    at.button(key="up_commit").click().run()
    assert "已提交为数据版本 v2" in " ".join(s.value for s in at.success)


def test_the_preview_lists_every_changed_row_before_and_after(app, db, monkeypatch):
    """Issue 17, point 16: every changed row on the page (past SHOWN_CHANGED, the first ones and a word on the rest)."""
    from analytics.db import diff

    c = store.connect(db)
    seed_october_reports(c)
    c.close()
    at = app("zh")
    at.file_uploader[0].set_value(("十月.csv", october_changes(), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric_values(at)["变更"] == "30 行"
    changed = frame_with(at, "原值").fillna("")  # an empty value is drawn as —
    assert [tuple(r) for r in changed[["行号", "主键", "原值", "新值"]].itertuples(index=False)] == [
        (row, key, before or "", after) for row, key, _, before, after in october_expected()]  # 30 rows, 40 fields
    assert "全部 30 行变更" in texts(at)
    assert [b for b in at.get("download_button") if b.proto.label == "下载全部 30 行变更（CSV，原值 → 新值）"]
    monkeypatch.setattr(diff, "SHOWN_CHANGED", 25)  # past the limit: the first rows, and a word on the rest
    at.run()
    assert frame_with(at, "原值")["主键"].nunique() == 25
    assert "共 30 行变更，这里显示前 25 行" in texts(at)
