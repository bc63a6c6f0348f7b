"""Shared event notes (issue 20): validation, the scope rule, audit, markers on the charts, and the meeting's PPTX.

The notes' store is written beside a path in a temporary folder (never beside the session's fixture database,
which other tests read); the region tree is the fixture's (the full region table)."""
from datetime import date

import pytest

from analytics import annotations as A
from analytics import auth
from analytics.auth import audit
from analytics.auth import store as auth_store
from analytics.db.queries import NATIONAL, Scope
from analytics.filters import Filters

HEFEI_YAOHAI, HEFEI, ANHUI, NATION = "340102", "340100", "340000", "100000"
HEFEI_LUYANG, BEIJING_CHAOYANG = "340103", "110105"
STEWARD = auth.User("wang", "王", "steward")
COUNTY = auth.User("li", "李", "analyst", Scope((HEFEI_YAOHAI,)))
LEADER = auth.User("zhao", "赵", "leader")


@pytest.fixture(scope="module")
def tree(fixture_path):
    from analytics.db import store

    con = store.connect(fixture_path, read_only=True)
    try:
        return A.region_tree(con)
    finally:
        con.close()


@pytest.fixture()
def db(tmp_path):
    return str(tmp_path / "notes.duckdb")  # only its sidecars are written: no DuckDB file is needed


def _add(db, tree, user=STEWARD, **kw):
    fields = dict(start=date(2026, 11, 3), region_code=ANHUI, kind="policy", text="省政府出台新规") | kw
    return A.add(db, tree, user, **fields)


@pytest.mark.parametrize("fields, field, zh, en", [
    (dict(start="2026-13-01"), "start_date", "不是日期", "is not a date"),
    (dict(end=date(2026, 11, 1)), "end_date", "早于开始日期", "is before the start date"),
    (dict(region_code="999999"), "region_code", "不在地区表中", "not in the region table"),
    (dict(kind="rumour"), "kind", "应为以下之一", "expected one of: policy, inspection"),
    (dict(text="   "), "text", "不能为空", "must not be empty"),
    (dict(text="字" * 201), "text", "最多 200 个字，现有 201 个", "at most 200 characters, this has 201"),
    (dict(text="two\nlines"), "text", "控制字符", "control characters"),
    (dict(text="evil \u202e txt"), "text", "控制字符", "control characters"),
])
def test_a_wrong_field_is_refused_naming_it(db, tree, fields, field, zh, en):
    with pytest.raises(A.Invalid) as e:
        _add(db, tree, **fields)
    assert e.value.field == field
    assert e.value.message("zh").startswith(A.i18n.t(f"annotations.field_{field}", "zh")) and zh in e.value.message("zh")
    assert e.value.message("en").startswith(A.i18n.t(f"annotations.field_{field}", "en")) and en in e.value.message("en")
    assert A.for_scope(db, tree, NATIONAL).is_empty()


def test_a_note_is_stored_stripped_and_one_day_ends_when_it_starts(db, tree):
    note = _add(db, tree, text="  省政府出台新规  ", data_version=7)
    assert (note.text, note.start_date, note.end_date, note.data_version) == ("省政府出台新规", date(2026, 11, 3),
                                                                             date(2026, 11, 3), 7)
    listed = A.for_scope(db, tree, NATIONAL)
    assert listed.select("annotation_id", "region_name", "author").rows() == [(note.annotation_id, "安徽省", "wang")]
    assert A.path_for(db).name == "notes.duckdb.annotations.sqlite"


def test_a_county_sees_the_nation_its_province_and_itself_not_another_county(db, tree):
    ids = {code: _add(db, tree, region_code=code, text=f"note {code}").annotation_id
           for code in (NATION, ANHUI, HEFEI, HEFEI_YAOHAI, HEFEI_LUYANG, BEIJING_CHAOYANG)}
    seen = set(A.for_scope(db, tree, COUNTY.scope)["region_code"])
    assert seen == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI}
    assert set(A.for_scope(db, tree, Scope((ANHUI,)))["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI,
                                                                          HEFEI_LUYANG}
    assert len(A.for_scope(db, tree, NATIONAL)) == 6
    # a chart of 合肥 for the nation: the city, its ancestors and its counties; not Beijing's
    chart = A.for_chart(db, tree, NATIONAL, HEFEI, date(2026, 11, 1), date(2026, 11, 30))
    assert set(chart["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI, HEFEI_LUYANG}
    # the same chart for the county user: never a note outside the scope, even below the chart's region
    chart = A.for_chart(db, tree, COUNTY.scope, HEFEI, date(2026, 11, 1), date(2026, 11, 30))
    assert set(chart["region_code"]) == {NATION, ANHUI, HEFEI, HEFEI_YAOHAI}
    assert chart["number"].to_list() == [1, 2, 3, 4]
    assert ids[BEIJING_CHAOYANG] not in A.for_chart(db, tree, COUNTY.scope, None, date(2026, 1, 1),
                                                    date(2026, 12, 31))["annotation_id"].to_list()


def test_a_chart_shows_the_notes_whose_dates_overlap_it(db, tree):
    _add(db, tree, start=date(2026, 10, 20), end=date(2026, 11, 2), text="range ending before")
    _add(db, tree, start=date(2026, 10, 25), end=date(2026, 11, 10), text="range overlapping")
    _add(db, tree, start=date(2026, 12, 1), text="after")
    chart = A.for_chart(db, tree, NATIONAL, ANHUI, date(2026, 11, 3), date(2026, 11, 30))
    assert chart["text"].to_list() == ["range overlapping"]


def test_adding_and_deleting_is_audited_and_only_the_author_or_an_admin_deletes(db, tree):
    note = _add(db, tree, user=COUNTY, region_code=HEFEI_YAOHAI, text="防汛检查")
    log = auth_store.path_for(db)
    first = audit.entries(log)[0]
    assert (first.action, first.actor, first.role, first.target) == ("annotation_add", "li", "analyst",
                                                                     f"annotation {note.annotation_id}")
    assert first.detail["text"] == "防汛检查" and first.detail["region"] == HEFEI_YAOHAI
    with pytest.raises(A.Refused, match="only the author or an administrator"):
        A.delete(db, tree, STEWARD, note.annotation_id)
    assert audit.entries(log)[0].action == "annotation_refused"
    A.delete(db, tree, COUNTY, note.annotation_id)
    assert audit.entries(log)[0].action == "annotation_delete"
    assert A.for_scope(db, tree, NATIONAL).is_empty() and A.get(db, note.annotation_id) is None
    other = _add(db, tree, region_code=HEFEI_YAOHAI)
    A.delete(db, tree, auth.User("root", "root", "admin"), other.annotation_id)
    assert [e.action for e in audit.entries(log)][:2] == ["annotation_delete", "annotation_add"]
    assert audit.verify(log)[2] == []


def test_a_role_without_annotate_or_a_region_outside_the_scope_is_refused(db, tree):
    with pytest.raises(A.Refused, match="your role may not"):
        _add(db, tree, user=LEADER)
    with pytest.raises(A.Refused, match="inside your scope"):
        _add(db, tree, user=COUNTY, region_code=ANHUI)  # an ancestor: everyone below would see it
    assert [e.detail["reason"] for e in audit.entries(auth_store.path_for(db))] == ["scope", "role"]
    assert A.for_scope(db, tree, NATIONAL).is_empty()


# ---- markers on the charts ----------------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script> **bold**"


def test_markers_go_on_a_trends_figure_for_notes_in_range_only_and_text_is_escaped(db, tree, fixture_con):
    from analytics import metrics
    from analytics.figures import annotations as F
    from analytics.pages import trends
    from tests import fixture_db

    data = trends.page(fixture_con, metrics.Selection(as_of=fixture_db.AS_OF), metric="red_share", grain="month")
    lo, hi = data.lines["period_start"].min(), data.lines["period_end"].max()
    _add(db, tree, start=date(2026, 11, 3), text=HOSTILE)
    _add(db, tree, start=date(2026, 9, 1), end=date(2026, 9, 20), region_code=NATION, kind="inspection", text="督查")
    _add(db, tree, start=lo.replace(year=lo.year - 1), text="a year before the chart")
    notes = A.for_chart(db, tree, NATIONAL, None, lo, hi)
    assert notes["text"].to_list() == ["督查", HOSTILE]
    fig = trends.metric_figure(data, {None: "all"}, "en", 5)
    before = len(fig.layout.shapes)
    F.add_markers(fig, F.date_markers(notes, "en", lo, hi))
    added = fig.layout.shapes[before:]
    assert [s.type for s in added] == ["rect", "line"]  # a band for the range, a dashed line for the day
    assert (str(added[0].x0)[:10], str(added[0].x1)[:10]) == ("2026-09-01", "2026-09-21")
    labels = {a.text: a.hovertext for a in fig.layout.annotations if a.text in ("①", "②")}
    assert set(labels) == {"①", "②"}
    hover = labels["②"].replace("<br>", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; **bold**" in hover and "<script>" not in hover
    assert hover.startswith("② 3 Nov 2026 · Anhui · policy issued: ")


@pytest.fixture()
def app_copy(fixture_path, tmp_path, monkeypatch):
    """The app on a copy of the fixture (its notes are written beside the copy), read-only."""
    import shutil

    path = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, path)
    monkeypatch.setenv("COCKPIT_DB", str(path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return str(path)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_trends_page_marks_and_lists_the_notes_and_the_data_page_lists_them(app_copy, tree, lang):
    from tests.app_pages import open_page

    _add(app_copy, tree, start=date(2026, 10, 12), text=HOSTILE)
    at = open_page("trends", lang)
    text = " ".join(m.value for m in at.markdown)
    line = ("① 2026年10月12日 · 安徽省 · 政策出台：" if lang == "zh" else "① 12 Oct 2026 · Anhui · policy issued: ")
    assert line.replace(" ", "") in text.replace("\\", "").replace(" ", "").replace("\u2060", "")
    assert "\\<script\\>" in text and "\\*\\*bold\\*\\*" in text  # Markdown-escaped: shown as typed
    import json

    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    label = next(a for a in layout["annotations"] if a.get("text") == "①")
    assert "&lt;script&gt;" in label["hovertext"] and "<script>" not in label["hovertext"]
    at = open_page("data", lang)
    table = next(d.value for d in at.dataframe if ("说明" if lang == "zh" else "Text") in d.value.columns)
    assert table.iloc[0].tolist()[:5] == [1, "2026年10月12日" if lang == "zh" else "12 Oct 2026", HOSTILE,
                                         "安徽省" if lang == "zh" else "Anhui",
                                         "政策出台" if lang == "zh" else "policy issued"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_meeting_deck_its_pptx_and_its_pdf_carry_the_note(db, tree, fixture_con, lang):
    import io
    import re

    import pypdf
    from pptx import Presentation

    from analytics import metrics
    from analytics.meeting import pdf_writer, pptx_writer
    from analytics.pages import meeting
    from tests import fixture_db

    _add(db, tree, start=date(2026, 11, 3), text=HOSTILE)
    _add(db, tree, start=date(2026, 11, 10), end=date(2026, 11, 12), region_code=BEIJING_CHAOYANG, kind="disaster",
         text="暴雨")  # Beijing's: on the national deck too (a descendant), not on 安徽's
    deck = meeting.make_deck(fixture_con, metrics.Selection(as_of=fixture_db.AS_OF), "week", lang, db, 1)
    chart = deck.slide("overview").charts[0]
    assert [m.label for m in chart.marks] == ["①", "②"]
    assert chart.marks[0].line.endswith(HOSTILE) and "①" in chart.category_labels()[chart.marks[0].first]
    prs = Presentation(io.BytesIO(pptx_writer.write(deck)))
    overview = prs.slides[1]
    texts = "\n".join(sh.text_frame.text for sh in overview.shapes if sh.has_text_frame)
    assert chart.marks[0].line in texts and chart.marks[1].line in texts  # the note's text, as typed
    assert chart.marks[0].line in overview.notes_slide.notes_text_frame.text  # and in full in the speaker notes
    categories = next(list(sh.chart.plots[0].categories) for sh in overview.shapes if sh.has_chart)
    assert any(c.endswith("①") for c in categories) and any(c.endswith("②") for c in categories)
    if lang == "zh":  # the PDF once (subsetting its font is the slow part)
        pdf = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf_writer.write_deck(deck))).pages)
        assert re.sub(r"\s+", "", "alert(1)</script> **bold**") in re.sub(r"\s+", "", pdf)
    anhui = meeting.make_deck(fixture_con, metrics.Selection(Filters(region_code=ANHUI), as_of=fixture_db.AS_OF),
                              "week", lang, db, 1)
    assert [m.line[-len(HOSTILE):] for m in anhui.slide("overview").charts[0].marks] == [HOSTILE]


def test_the_cockpit_lights_and_the_item_progress_chart_list_their_notes(app_copy, tree):
    from tests.app_pages import open_page

    _add(app_copy, tree, start=date(2026, 10, 12), text="省里出台新规")
    _add(app_copy, tree, start=date(2026, 10, 12), region_code=BEIJING_CHAOYANG, text="北京的事")
    flat = lambda at: " ".join(m.value for m in at.markdown).replace("\\", "")  # noqa: E731
    cockpit = open_page("cockpit", "zh")
    cockpit.session_state["cockpit_lights"] = True  # the weekly lights chart runs when its expander is opened
    assert "① 2026年10月12日 · 安徽省 · 政策出台：省里出台新规" in flat(cockpit.run())
    item = flat(open_page("item", "en", item="A1"))  # A1 is 瑶海区's: 安徽's note applies, 朝阳区's does not
    assert "① 12 Oct 2026 · Anhui · policy issued: 省里出台新规" in item and "北京的事" not in item


def test_the_command_line_adds_lists_and_deletes_notes_audited(app_copy, capsys):
    from analytics.cli import main

    assert main(["notes", "add", "--db", app_copy, "--start", "2026-11-03", "--end", "2026-11-05", "--region", ANHUI,
                 "--kind", "inspection", "--text", "督查组进驻"]) == 0
    assert main(["notes", "add", "--db", app_copy, "--start", "2026-11-03", "--region", "999", "--kind", "other",
                 "--text", "x"]) == 2
    assert "region code “999” is not in the region table" in capsys.readouterr().err
    assert main(["notes", "list", "--db", app_copy]) == 0
    assert "2026-11-03..2026-11-05  340000 安徽省  inspection  督查组进驻" in capsys.readouterr().out
    assert main(["notes", "delete", "--db", app_copy, "1"]) == 0
    actions = [e.action for e in audit.entries(auth_store.path_for(app_copy))]
    assert actions == ["annotation_delete", "annotation_add"] and all(
        e.actor.startswith("cli") for e in audit.entries(auth_store.path_for(app_copy)))


def test_the_data_page_form_adds_a_note_and_refuses_a_bad_one_in_words(app_copy):
    from tests.app_pages import open_page

    at = open_page("data", "en")
    at.text_input(key="annotations_text").input("two  words ")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception and [s.value for s in at.success] == ["Note 1 added."]
    table = next(d.value for d in at.dataframe if "Text" in d.value.columns)
    assert table["Text"].tolist() == ["two  words"] and table["Region"].tolist() == ["Nation"]
    entry = audit.entries(auth_store.path_for(app_copy))[0]
    assert (entry.action, entry.actor, entry.role) == ("annotation_add", "demo", "demo")
    at.date_input(key="annotations_end").set_value(date(2020, 1, 1))
    at.text_input(key="annotations_text").input("x")
    next(b for b in at.button if b.label == "Add note").click().run()
    # the start date offered is the data's as-of date (the fixture's 22 Nov 2026)
    assert [e.value for e in at.error] == ["End date: the end date 2020-01-01 is before the start date 2026-11-22"]


def test_a_signed_in_county_analyst_lists_and_adds_only_within_the_scope(app_copy, tree):
    from analytics.auth import accounts
    from tests.test_auth_app import PASSWORD, sign_in, start

    accounts.add(auth_store.path_for(app_copy), "li", role="analyst", by="test", password=PASSWORD,
                 region_codes=[HEFEI_YAOHAI])
    for code in (NATION, ANHUI, HEFEI_YAOHAI, HEFEI_LUYANG, BEIJING_CHAOYANG):
        _add(app_copy, tree, region_code=code, text=f"note {code}")
    at = sign_in(start("zh"), "li")
    at.switch_page("views/data.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "说明" in d.value.columns)
    assert sorted(table["说明"]) == [f"note {c}" for c in sorted((NATION, ANHUI, HEFEI_YAOHAI))]
    assert at.selectbox(key="annotations_region").options == ["瑶海区 · 340102"]  # only inside the scope
    assert not [s for s in at.selectbox if s.key == "annotations_delete_pick"]  # none of them is li's
