"""The meeting deck as PPTX and PDF, and the `export meeting` command, on the hand-made fixture."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from pptx import Presentation
from pptx.oxml.ns import qn

from analytics import i18n, metrics, series
from analytics.pages import meeting
from analytics.cli import main
from analytics.filters import Filters
from analytics.meeting import facts as F
from analytics.meeting import fonts, pdf_writer, pptx_writer
from tests import fixture_db

pypdf = pytest.importorskip("pypdf")

TITLES_ZH = ["总体情况", "红灯与变差事项", "地区排名", "新增风险预警", "整改进展", "群众反馈", "议定事项"]


def _deck(con, lang="zh", preset="week", min_n=10, **filters):
    sel = metrics.Selection(Filters(**filters), as_of=fixture_db.AS_OF, thresholds=metrics.Thresholds(min_n=min_n))
    return sel, meeting.make_deck(con, sel, preset, lang, "", 1)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _charts(prs) -> dict[str, tuple[list, list]]:
    out = {}
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_chart:
                plot = shape.chart.plots[0]
                out[shape.chart.chart_title.text_frame.text] = (list(plot.categories),
                                                               [list(s.values) for s in plot.series])
    return out


def test_pptx_has_the_slides_native_charts_equal_to_the_metrics_and_the_context_on_each_slide(fixture_con):
    sel, deck = _deck(fixture_con, min_n=1)
    prs = Presentation(io.BytesIO(pptx_writer.write(deck)))
    assert len(prs.slides) == 1 + len(TITLES_ZH)  # a cover, then one slide per topic
    texts = [" ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame) for s in prs.slides]
    for title, text in zip(TITLES_ZH, texts[1:]):
        assert title in text
        assert "数据截至 2026年11月22日" in text and "数据版本 v1" in text and "当前筛选：全部数据" in text
    charts = _charts(prs)
    ranked = metrics.region_table(fixture_con, sel, "province").filter(pl.col("rank").is_not_null()).sort("rank")
    cats, values = charts["执行综合指数（已排名地区）"]
    assert cats == ranked["name"].to_list()[::-1]  # PowerPoint lists bar categories bottom-up
    assert values[0] == pytest.approx(ranked["index"].to_list()[::-1])
    trend = series.metric_series(fixture_con, sel, "red_share", "week", F.SERIES_PERIODS)
    cats, values = charts["红灯占比（按周）"]
    assert cats == [i18n.fmt_period_short(p, "zh") for p in trend["period"]]
    assert values[0] == pytest.approx(trend["value"].to_list())
    assert charts["红灯事项（按下级地区）"] == (["北京市"], [[1.0]])


def test_pptx_runs_name_a_cjk_font_for_east_asian_text(fixture_con):
    _, deck = _deck(fixture_con)
    prs = Presentation(io.BytesIO(pptx_writer.write(deck)))
    runs = [r for s in prs.slides for sh in s.shapes if sh.has_text_frame for p in sh.text_frame.paragraphs
            for r in p.runs]
    assert runs and all(r.font._element.find(qn("a:ea")).get("typeface") == pptx_writer.FONT for r in runs)
    assert {r.font._element.get("lang") for r in runs} == {"zh-CN"}


HAS_FONT = any(Path(r).is_file() for r, _ in fonts.CANDIDATES)
needs_font = pytest.mark.skipif(not HAS_FONT,
                                reason="no Noto Sans CJK (apt-get install fonts-noto-cjk)")


@needs_font
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_deck_has_a_page_per_slide_with_selectable_text_and_embedded_fonts(fixture_con, lang):
    _, deck = _deck(fixture_con, lang=lang)
    reader = pypdf.PdfReader(io.BytesIO(pdf_writer.write_deck(deck)))
    assert len(reader.pages) == 1 + len(deck.slides)  # the fixture's tables fit their pages
    pages = [_squash(p.extract_text()) for p in reader.pages]
    for s, text in zip(deck.slides, pages[1:]):
        assert _squash(s.title) in text and _squash(s.narrative) in text
    for text in pages:
        assert _squash(deck.footer) in text  # filters, as-of date and version on every page
    fonts_used = [f.get_object() for p in reader.pages for f in p["/Resources"]["/Font"].values()]
    for font in fonts_used:
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # embedded TrueType, subset
    if lang == "zh":
        assert "高标准农田建设" in pages[2]  # data text, extractable


@needs_font
def test_long_tables_continue_on_further_pages_with_their_title(fixture_con):
    _, deck = _deck(fixture_con)
    slide = deck.slide("attention")
    rows = tuple(slide.tables[0].rows[i % 2] for i in range(120))
    long = replace(deck, slides=(replace(slide, tables=(replace(slide.tables[0], rows=rows),)),))
    reader = pypdf.PdfReader(io.BytesIO(pdf_writer.write_deck(long)))
    assert len(reader.pages) > 2
    assert "红灯与变差事项（续）" in reader.pages[2].extract_text()
    assert "督办事项" in reader.pages[2].extract_text()  # the header row repeats


@needs_font
def test_the_brief_is_one_page_with_every_narrative(fixture_con):
    _, deck = _deck(fixture_con, preset="quarter")
    reader = pypdf.PdfReader(io.BytesIO(pdf_writer.write_brief(deck)))
    assert len(reader.pages) == 1
    text = _squash(reader.pages[0].extract_text())
    assert "季评估会领导简报" in text
    for s in deck.slides:
        assert _squash(s.narrative) in text


def test_cli_writes_both_formats(fixture_path, tmp_path, capsys):
    out = tmp_path / "week.pptx"
    assert main(["export", "meeting", "--db", str(fixture_path), "--period", "week", "--format", "pptx",
                 "--lang", "en", "--out", str(out)]) == 0
    prs = Presentation(str(out))
    assert len(prs.slides) == 8 and "Overview" in prs.slides[1].shapes[0].text_frame.text
    if HAS_FONT:
        pdf = tmp_path / "q.pdf"
        assert main(["export", "meeting", "--db", str(fixture_path), "--as-of", "2026-11-15", "--period", "quarter",
                     "--region", "340000", "--format", "pdf", "--out", str(pdf)]) == 0
        text = pypdf.PdfReader(str(pdf)).pages[1].extract_text()
        assert "安徽省" in text and "2026年11月15日" in text
        brief = tmp_path / "b.pdf"
        assert main(["export", "meeting", "--db", str(fixture_path), "--period", "month", "--format", "pdf",
                     "--brief", "--out", str(brief)]) == 0
        assert len(pypdf.PdfReader(str(brief)).pages) == 1


@pytest.mark.parametrize("args,message", [
    (["--period", "week", "--format", "pptx", "--region", "999999"], "--region 999999: no such region code"),
    (["--period", "week", "--format", "pptx", "--as-of", "2027-01-01"], "after the data's as-of date 2026-11-22"),
    (["--period", "week", "--format", "pptx", "--brief"], "--brief: only with --format pdf"),
])
def test_cli_refuses_bad_arguments_with_clear_messages(fixture_path, tmp_path, capsys, args, message):
    assert main(["export", "meeting", "--db", str(fixture_path), "--out", str(tmp_path / "x"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args,message", [
    (["--period", "year", "--format", "pdf"], "invalid choice: 'year'"),
    (["--period", "week", "--format", "docx"], "invalid choice: 'docx'"),
    (["--period", "week", "--format", "pdf", "--as-of", "22/11/2026"], "expected a date as YYYY-MM-DD"),
])
def test_cli_rejects_unknown_values(fixture_path, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "meeting", "--db", str(fixture_path), "--out", str(tmp_path / "x"), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_cli_names_a_missing_database_or_folder(tmp_path, capsys):
    assert main(["export", "meeting", "--db", str(tmp_path / "none.duckdb"), "--period", "week", "--format", "pptx",
                 "--out", str(tmp_path / "x.pptx")]) == 2
    assert "no such database file" in capsys.readouterr().err
