"""The review-meeting page under AppTest: both languages, navigation, presets, notes kept for the next meeting."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters
from analytics.meeting import notes

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/meeting.py"


@pytest.fixture()
def sidecar(app_env):
    path = notes.path_for(app_env)
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


def start(lang="zh", **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at.switch_page(PAGE).run()


def title(at) -> str:
    return next(h.body for h in at.get("html") if 'class="mt-title"' in h.body)


@pytest.mark.parametrize("lang,first,second", [("zh", "总体情况", "红灯与变差事项"),
                                               ("en", "Overview", "Red and worsening items")])
def test_the_page_renders_and_navigates_in_both_languages(app_env, sidecar, lang, first, second):
    at = start(lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == ("会议汇报" if lang == "zh" else "Review meeting")
    assert first in title(at)
    at.button(key="meeting_next").click().run()
    assert second in title(at) and at.query_params["slide"] == "attention"
    at.button(key="meeting_prev").click().run()
    assert first in title(at)
    at.selectbox(key="meeting_jump").select("decisions").run()
    assert at.query_params["slide"] == "decisions" and at.button(key="meeting_next").disabled
    at.button(key="meeting_first").click().run()
    assert first in title(at) and at.button(key="meeting_prev").disabled
    progress = at.get("progress")[0]
    assert ("1 / 7" if lang == "zh" else "1 of 7") in progress.proto.text
    footer = next(h.body for h in at.get("html") if "mt-footer" in h.body)
    assert ("数据版本 v1" if lang == "zh" else "data version v1") in footer


def test_a_filter_and_a_preset_change_the_numbers_and_the_comparison(app_env, sidecar):
    at = start("zh", slide="attention")
    assert "本周红灯事项 1 项，与上周持平" in title_and_text(at)
    at.segmented_control(key="meeting_preset").set_value("quarter").run()
    assert at.query_params["preset"] == "quarter"
    at.button(key="meeting_next").click().run()  # the preset change went back to the first slide
    assert "本季度红灯事项 1 项，较上季度增加 1 项" in title_and_text(at)
    at.selectbox(key="f_province").select("340000").run()  # 安徽: nothing red
    assert not at.exception
    assert "本季度红灯事项 0 项" in title_and_text(at)


def title_and_text(at) -> str:
    return " ".join(h.body for h in at.get("html"))


def test_notes_are_saved_with_the_meeting_and_shown_at_the_next_one(app_env, sidecar):
    at = start("en")
    at.date_input(key="meeting_as_of").set_value(date(2026, 11, 15)).run()
    box = next(t for t in at.text_area if t.key.startswith("meeting_note_week_2026-11-15_overview"))
    box.input("Ask the agriculture bureau for a date").run()
    at.button(key="meeting_save_overview").click().run()
    assert any("Saved by presenter" in c.value for c in at.caption)
    saved = notes.meeting(app_env, "week", Filters(), date(2026, 11, 15))
    assert saved.notes["overview"].text == "Ask the agriculture bureau for a date"
    at.date_input(key="meeting_as_of").set_value(date(2026, 11, 22)).run()  # the next weekly meeting
    assert any("Last meeting (15 Nov 2026): Ask the agriculture bureau for a date (presenter" in i.value
               for i in at.info)
    at.selectbox(key="meeting_jump").select("decisions").run()
    assert "Ask the agriculture bureau for a date" in title_and_text(at)
    at.segmented_control(key="meeting_preset").set_value("month").run()  # another series: nothing carried over
    assert not any("Last meeting" in i.value for i in at.info)


def test_an_empty_selection_offers_the_reset(app_env, sidecar):
    at = start("en", region="410000")
    assert not at.exception
    assert "No supervised items match" in at.info[0].value
